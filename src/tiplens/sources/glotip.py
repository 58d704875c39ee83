"""UNODC GLOTIP country data (the ``data_glotip`` file of the UNODC data portal).

Layouts: the xlsx as published (two preamble rows, ``UNODC`` and the release date
``dd/mm/yyyy``, then the header) and the same sheet as CSV (with or without the preamble).
Columns: ``Iso3_code, Country, Region, Subregion, Indicator, Dimension, Category, Sex, Age,
Year, Unit of measurement, txtVALUE, Source``.

Indicators emitted (``indicator`` = ``measure``): ``detected_victims`` (measure ``detected``),
``suspected`` (persons brought into formal contact), ``prosecuted``, ``convicted``, ``offences``.
``dimension`` is ``total``, ``form`` (form of exploitation), ``citizenship`` or ``repatriation``.

Traps handled, with what happens to each row:

* ``txtVALUE`` is text. ``<5`` is a suppressed count: ``censored=True, value=None, lower=0,
  upper=4``. UNODC publishes no 0 and no value from 1 to 4, so ``<5`` may hide a zero; the
  lower bound is 0, not 1 (:data:`CENSORING_NOTE`). ``"1,757"`` is 1757.
* Corrupt rows go to quarantine with a reason: a ``Category`` that is a questionnaire cell code
  (``Q6.1_10s_2019``), any value above 100,000 (the largest real count is 32,022), a value that
  is not a number, an unknown indicator, a year that is not a year, a reporting unit that is not
  a country (the 2023 release's undocumented ``CAR``/``CAS``/... codes and ``Aruba/Curacao``).
* Rows sharing a key (country, indicator, dimension, category, sex, age, year): several
  sub-forms filed under the one label ``Other forms of exploitation`` are *summed as intervals*
  into one observation (``source_rows`` says how many); any other shared key is a *conflict*:
  every row is kept, ``status='conflict'``, left out of every total, and listed by
  ``Store.observations(include_conflicts=True)`` (they are loaded, so not in the quarantine).
* Citizenship and repatriation categories are free text in many languages; they are mapped by
  :func:`tiplens.harmonise.citizenship.classify` to ``category_iso3`` or a non-country class in
  ``category_class``; mojibake is repaired where possible and flagged otherwise.
* Sark has no ISO3 code (see the country override table).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.countries import resolve
from ._base import (Normalised, Raw, check_file, check_xlsx_size, concat_quarantine, quarantine_frame, sniff_text,
                    xlsx_peek)

NAME = "glotip"
TITLE = "UNODC Global Report on Trafficking in Persons (GLOTIP) country data"
PUBLISHER = "United Nations Office on Drugs and Crime (UNODC), Research and Trend Analysis Branch"
CITATION = "UNODC, Global Report on Trafficking in Persons, country data (data_glotip), UNODC data portal"
TERMS = "UNODC published statistics, no open licence: personal, non-commercial use; cite UNODC."
REDISTRIBUTABLE = False  # UN terms allow personal, non-commercial use only (default/sources.yaml)

DATASET = "country_data"
COLUMNS = ["Iso3_code", "Country", "Region", "Subregion", "Indicator", "Dimension", "Category",
           "Sex", "Age", "Year", "Unit of measurement", "txtVALUE", "Source"]
INDICATORS = {
    "Detected trafficking victims": ("detected_victims", "detected"),
    "Persons brought into formal contact": ("suspected", "suspected"),
    "Persons prosecuted": ("prosecuted", "prosecuted"),
    "Persons convicted": ("convicted", "convicted"),
    "Offences of trafficking in persons": ("offences", "offences"),
}
DIMENSIONS = {"Total": "total", "by form of exploitation": "form", "by citizenship": "citizenship",
              "by country of repatriation": "repatriation"}
MAX_PLAUSIBLE = 100_000
SUMMED_LABEL = "Other forms of exploitation"
CENSORING_NOTE = ("'<5' is a suppressed count stored as the interval 0-4: UNODC publishes no 0 and no "
                  "value from 1 to 4, so a '<5' cell may hide a zero.")

_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
#: The natural key of a GLOTIP row (PROVENANCE note 4), as published columns.
_KEY_COLUMNS = ["Iso3_code", "Country", "Indicator", "Dimension", "Category", "Sex", "Age", "Year"]
_KEY = ["iso3", "country", "indicator", "dimension", "category_raw", "sex", "age", "year"]


# -- detection and reading --------------------------------------------------------------------
def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def _header_index(rows: list[list]) -> int | None:
    for i, row in enumerate(rows[:10]):
        cells = {str(c).strip() for c in row}
        if {"Iso3_code", "txtVALUE", "Indicator"} <= cells:
            return i
    return None


def detect(path: Path) -> bool:
    path = Path(path)
    try:
        if _is_xlsx(path):
            peek = xlsx_peek(path)
            return peek is not None and all(name in peek.text for name in ("Iso3_code", "txtVALUE", "Indicator"))
        text = sniff_text(path)
        return _header_index([line.split(",") for line in text.splitlines()[:10]]) is not None
    except OSError:  # detection never raises: an unreadable file is simply not this source
        return False


def _edition_from_preamble(rows: list[list]) -> str | None:
    for row in rows:
        for cell in row:
            match = _DATE.fullmatch(str(cell).strip())
            if match:
                day, month, year = (int(g) for g in match.groups())
                return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def read(path: Path) -> Raw:
    """The sheet as published, all cells text; the edition from the preamble date if present."""
    path = check_file(Path(path))
    fix = "Download data_glotip.xlsx again from the UNODC data portal"
    if _is_xlsx(path):
        from python_calamine import CalamineWorkbook
        check_xlsx_size(path, fix)
        try:
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        except Exception as exc:
            raise InputFileError(path, f"cannot be opened as an xlsx workbook ({exc})", fix) from None
    else:
        text = sniff_text(path, 1 << 16)
        head = text.splitlines()[:10]
        skip = _header_index([line.split(",") for line in head])
        if skip is None:
            raise InputFileError(path, "has no GLOTIP header row (Iso3_code, ..., txtVALUE)", fix, row=1)
        from ._base import read_csv_text
        frame = read_csv_text(path, skiprows=skip, fix=fix)
        preamble = [[line] for line in head[:skip]]
        return _raw_from_frame(path, frame, skip, _edition_from_preamble(preamble), fix)
    header_at = _header_index(rows)
    if header_at is None:
        raise InputFileError(path, "the first sheet has no GLOTIP header row (Iso3_code, ..., txtVALUE) "
                             "in its first 10 rows: the layout has changed", fix, row=1)
    header = [str(c).strip() for c in rows[header_at]]
    frame = pd.DataFrame(rows[header_at + 1:], columns=header)
    for name in frame.columns:
        if frame[name].dtype != "str":  # numeric or mixed cells (Year): back to the text a reader sees
            frame[name] = frame[name].map(_cell_text).astype("str")
    return _raw_from_frame(path, frame, header_at, _edition_from_preamble(rows[:header_at]), fix)


def _cell_text(cell) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None or cell != cell else str(cell)


def _raw_from_frame(path: Path, frame: pd.DataFrame, header_at: int, edition: str | None, fix: str) -> Raw:
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputFileError(path, f"is missing column(s) {', '.join(missing)}", fix, row=header_at + 1)
    if len(frame) == 0:
        raise InputFileError(path, "has a header but no data rows", fix)
    # file row numbers: header is row header_at + 1, data start on the next row
    return Raw(path=path, dataset=DATASET, frame=frame[COLUMNS], first_row=header_at + 2, edition=edition)


# -- normalisation ----------------------------------------------------------------------------
def _object_frame(columns: dict) -> pd.DataFrame:
    """A DataFrame that keeps text columns as Python objects (no conversion to Arrow strings)."""
    n = next(len(v) for v in columns.values() if isinstance(v, np.ndarray))
    # a constant text column is spread to the rows' length (a 1-row Series would set the index,
    # which fails when every row was quarantined)
    return pd.DataFrame({name: pd.Series(np.full(n, values, dtype=object) if isinstance(values, str) else values,
                                         dtype=object) if _is_text(values) else values
                         for name, values in columns.items()})


def _is_text(values) -> bool:
    return isinstance(values, str) or (isinstance(values, np.ndarray) and values.dtype == object)


class _Levels:
    """A text column as integer codes into its distinct stripped values.

    GLOTIP columns repeat a few hundred values over 58,769 rows; parsing, mapping and checking
    each distinct value once and spreading the result by code is what keeps ingest fast.
    """

    def __init__(self, series: pd.Series):
        codes, uniques = series.factorize(use_na_sentinel=False)
        self.codes = codes
        self.values = np.array(["" if u is None or u != u else str(u).strip() for u in uniques], dtype=object)

    def spread(self, per_level) -> np.ndarray:
        """Per-row array from a per-level array (or a function of the level texts)."""
        if callable(per_level):
            per_level = np.array([per_level(v) for v in self.values], dtype=object)
        return np.asarray(per_level)[self.codes]

    def rows(self) -> np.ndarray:
        return self.values[self.codes]

    def text_codes(self) -> tuple[np.ndarray, int]:
        """Codes of the stripped texts (two raw spellings that strip alike share one), and their count."""
        ids, distinct = pd.factorize(self.values)
        return ids[self.codes], len(distinct)


def _row_keys(levels: list[_Levels]) -> np.ndarray:
    """One int64 per row identifying its combination of texts in ``levels`` (mixed radix)."""
    key = np.zeros(len(levels[0].codes), dtype=np.int64)
    for level in levels:
        codes, size = level.text_codes()
        key = key * (size + 1) + codes
    return key


def _parse_value(text: str) -> tuple[float, float, float, bool]:
    """(value, lower, upper, censored) of one txtVALUE; value NaN when not a number."""
    if text == "<5":
        return np.nan, 0.0, 4.0, True
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return np.nan, np.nan, np.nan, False
    return number, number, number, False


def _parse_year(text: str) -> float:
    try:
        year = float(text)
    except ValueError:
        return np.nan
    return year if year.is_integer() and 1990 <= year <= 2100 else np.nan


def normalise(raw: Raw) -> Normalised:
    frame = raw.frame
    n = len(frame)
    row_number = np.arange(raw.first_row, raw.first_row + n)
    col = {c: _Levels(frame[c]) for c in COLUMNS}

    parsed = [_parse_value(v) for v in col["txtVALUE"].values]
    value, lower, upper = (col["txtVALUE"].spread(np.array([p[i] for p in parsed], dtype=float)) for i in range(3))
    censored = col["txtVALUE"].spread(np.array([p[3] for p in parsed], dtype=bool))
    year = col["Year"].spread(np.array([_parse_year(v) for v in col["Year"].values], dtype=float))
    indicator = col["Indicator"].spread(lambda v: INDICATORS.get(v, (None, None))[0])
    measure = col["Indicator"].spread(lambda v: INDICATORS.get(v, (None, None))[1])
    dimension = col["Dimension"].spread(lambda v: DIMENSIONS.get(v))
    questionnaire = col["Category"].spread(np.array([bool(re.match(r"Q\d", v)) for v in col["Category"].values]))

    # country: the published ISO3 code; the name where the code is blank (Sark)
    by_code = resolve(col["Iso3_code"].values, "iso3").set_index("value")
    by_name = resolve(col["Country"].values, "name").set_index("value")
    blank = col["Iso3_code"].spread(col["Iso3_code"].values == "")

    def country_attr(attr: str) -> np.ndarray:
        from_code = col["Iso3_code"].spread(pd.Series(col["Iso3_code"].values).map(by_code[attr]).to_numpy(object))
        from_name = col["Country"].spread(pd.Series(col["Country"].values).map(by_name[attr]).to_numpy(object))
        return np.where(blank, from_name, from_code)

    iso3, status, country_note = country_attr("iso3"), country_attr("status"), country_attr("note")
    code_text, country_text = col["Iso3_code"].rows(), col["Country"].rows()

    with np.errstate(invalid="ignore"):
        problems = [
            (questionnaire, "Category", "category is a questionnaire cell code, not a category (corrupt row)"),
            (value > MAX_PLAUSIBLE, "txtVALUE",
             "value above 100,000: not a plausible count (a questionnaire code read as a number)"),
            (np.isnan(value) & ~censored, "txtVALUE", "value is neither a number nor '<5'"),
            (value < 0, "txtVALUE", "negative count"),
            (indicator == None, "Indicator", "unknown indicator"),  # noqa: E711 (elementwise)
            (dimension == None, "Dimension", "unknown dimension"),  # noqa: E711
            (np.isnan(year), "Year", "year is not a year"),
            (status == "non_country", "Iso3_code",
             lambda m: [f"not a country: {c} ({note})" for c, note in zip(code_text[m], country_note[m])]),
            (pd.isna(status) | (status == "unmatched"), "Iso3_code",
             lambda m: [f"country not matched: {c} / {name}" for c, name in zip(code_text[m], country_text[m])]),
        ]
    parts = []
    bad = np.zeros(n, dtype=bool)
    for mask, column, reason in problems:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            reasons = pd.Series(reason(mask) if callable(reason) else reason, index=frame.index[mask])
            parts.append(quarantine_frame(frame[mask], row_number=pd.Series(row_number[mask], index=frame.index[mask]),
                                          column=column, reason=reasons))
            bad |= mask
    quarantine = concat_quarantine(*parts)

    keep = ~bad
    region = col["Region"].rows()[keep]
    subregion = col["Subregion"].rows()[keep]
    # object columns: converting 58k Python strings to Arrow strings and back costs more than it saves
    obs = _object_frame({
        "iso3": iso3[keep],
        "country": country_text[keep],
        "source_region": np.where(region == "", None, region),
        "source_subregion": np.where(subregion == "", None, subregion),
        "year": year[keep].astype("int64"),
        "indicator": indicator[keep],
        "measure": measure[keep],
        "dimension": dimension[keep],
        "category_raw": col["Category"].rows()[keep],
        "sex": col["Sex"].rows()[keep],
        "age": col["Age"].rows()[keep],
        "value": value[keep],
        "lower": lower[keep],
        "upper": upper[keep],
        "censored": censored[keep],
        "unit": "count",
        "source_row": row_number[keep],
        "source_rows": 1,
        "_key": _row_keys([col[c] for c in _KEY_COLUMNS])[keep],
    })
    notes: list[str] = []
    obs = _categories(obs, notes)
    obs, key_notes = _shared_keys(obs)
    notes += key_notes
    rows_loaded = int(obs["source_rows"].sum())
    return Normalised(observations=obs.drop(columns=["category_raw", "_key"]), quarantine=quarantine,
                      rows_read=n, rows_loaded=rows_loaded, notes=notes)


def _categories(obs: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Map citizenship/repatriation free text; other dimensions keep their category."""
    from ..harmonise.citizenship import classify
    obs["category"] = obs["category_raw"]
    obs["category_iso3"] = None
    obs["category_class"] = None
    obs["flag"] = None
    free = obs["dimension"].isin(["citizenship", "repatriation"]).to_numpy()
    if free.any():
        raw = obs.loc[free, "category_raw"]
        table = classify(raw.unique()).set_index("value")
        moji = raw.map(table["mojibake"])
        obs.loc[free, "category"] = raw.map(table["repaired"]).fillna(raw)
        obs.loc[free, "category_iso3"] = raw.map(table["category_iso3"])
        obs.loc[free, "category_class"] = raw.map(table["category_class"])
        unmapped = raw[obs.loc[free, "category_class"].eq("unmapped")].value_counts()
        if len(unmapped):
            listed = ", ".join(f"{label!r} ({count})" for label, count in unmapped.head(8).items())
            more = f" and {len(unmapped) - 8} more" if len(unmapped) > 8 else ""
            notes.append(f"{len(unmapped)} citizenship/repatriation labels ({int(unmapped.sum())} rows) are not "
                         f"mapped to a country or class, never guessed: {listed}{more}; the rows are kept "
                         "with category_class='unmapped'")
        obs.loc[free, "flag"] = [
            f"mojibake repaired from: {r}" if m == "repaired" else
            "mojibake: text unrecoverable" if m == "unrecoverable" else None for r, m in zip(raw, moji)]
    obs["status"] = "ok"
    return obs


def _shared_keys(obs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Sum sub-forms under one label as intervals; flag every other shared key as a conflict."""
    shared = obs["_key"].duplicated(keep=False).to_numpy()
    notes = []
    if not shared.any():
        return obs, notes
    size = pd.Series(0, index=obs.index)
    size[shared] = obs.loc[shared, "_key"].map(obs.loc[shared, "_key"].value_counts())
    summable = shared & obs["dimension"].eq("form").to_numpy() & obs["category_raw"].eq(SUMMED_LABEL).to_numpy()
    conflict = shared & ~summable
    obs.loc[conflict, "status"] = "conflict"
    obs.loc[conflict, "flag"] = [f"conflict: {k} rows share this key with no rule to combine them"
                                 for k in size[conflict]]
    if summable.any():
        group = obs[summable].assign(value_known=lambda f: f["value"].notna())
        summed = group.groupby("_key", sort=False).agg(
            **{k: (k, "first") for k in _KEY},
            source_region=("source_region", "first"), source_subregion=("source_subregion", "first"),
            measure=("measure", "first"), category=("category", "first"),
            category_iso3=("category_iso3", "first"), category_class=("category_class", "first"),
            value=("value", "sum"), value_known=("value_known", "all"),
            lower=("lower", "sum"), upper=("upper", "sum"), censored=("censored", "any"),
            unit=("unit", "first"), source_row=("source_row", "min"), source_rows=("source_rows", "sum"),
        ).reset_index()
        # a sum with a censored part has no point value, only its bounds
        summed["value"] = summed["value"].where(summed.pop("value_known"))
        summed["status"] = "ok"
        summed["flag"] = [f"summed {k} sub-forms filed under one label" for k in summed["source_rows"]]
        obs = pd.concat([obs[~summable], summed], ignore_index=True)
        notes.append(f"{int(summable.sum())} rows of '{SUMMED_LABEL}' summed into {len(summed)} observations")
    if conflict.any():
        notes.append(f"{int(conflict.sum())} rows share a key with no rule to combine them: kept, "
                     "flagged status='conflict', out of every total")
    return obs, notes
