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
  :func:`conflicts`.
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
from ._base import Normalised, Raw, check_file, concat_quarantine, quarantine_frame, sniff_text, xlsx_peek

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
def _parse_values(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(value, lower, upper, censored) from txtVALUE; value NaN where not a number."""
    stripped = text.str.strip()
    censored = stripped.eq("<5")
    number = pd.to_numeric(stripped.str.replace(",", "", regex=False).where(~censored), errors="coerce")
    lower = number.where(~censored, 0.0)
    upper = number.where(~censored, 4.0)
    return number, lower, upper, censored


def normalise(raw: Raw) -> Normalised:
    frame = raw.frame
    n = len(frame)
    row_number = pd.Series(np.arange(raw.first_row, raw.first_row + n), index=frame.index)
    text = {c: frame[c].astype("str").str.strip() for c in COLUMNS}

    value, lower, upper, censored = _parse_values(text["txtVALUE"])
    year = pd.to_numeric(text["Year"], errors="coerce")
    mapped = text["Indicator"].map(INDICATORS)
    dimension = text["Dimension"].map(DIMENSIONS)

    # country: the published ISO3 code; the name where the code is blank (Sark)
    code = text["Iso3_code"]
    by_code = resolve(code.unique(), "iso3").set_index("value")
    by_name = resolve(text["Country"][code.eq("")].unique(), "name").set_index("value")
    iso3 = code.map(by_code["iso3"])
    status = code.map(by_code["status"])
    blank = code.eq("")
    iso3 = iso3.where(~blank, text["Country"].map(by_name["iso3"]))
    status = status.where(~blank, text["Country"].map(by_name["status"]))
    country_note = code.map(by_code["note"]).where(~blank, text["Country"].map(by_name["note"]))

    problems = [
        (text["Category"].str.match(r"^Q\d"), "Category",
         "category is a questionnaire cell code, not a category (corrupt row)"),
        (value > MAX_PLAUSIBLE, "txtVALUE",
         "value above 100,000: not a plausible count (a questionnaire code read as a number)"),
        (value.isna() & ~censored, "txtVALUE", "value is neither a number nor '<5'"),
        (value < 0, "txtVALUE", "negative count"),
        (mapped.isna(), "Indicator", "unknown indicator"),
        (dimension.isna(), "Dimension", "unknown dimension"),
        (year.isna() | (year % 1 != 0) | ~year.between(1990, 2100), "Year", "year is not a year"),
        (status.eq("non_country"), "Iso3_code",
         lambda m: "not a country: " + code[m] + " (" + country_note[m].fillna("") + ")"),
        (status.isna() | status.eq("unmatched"), "Iso3_code",
         lambda m: "country not matched: " + code[m] + " / " + text["Country"][m]),
    ]
    parts = []
    bad = pd.Series(False, index=frame.index)
    for mask, column, reason in problems:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            reason_s = reason(mask) if callable(reason) else reason
            parts.append(quarantine_frame(frame[mask], row_number=row_number[mask], column=column,
                                          reason=reason_s))
            bad |= mask
    quarantine = concat_quarantine(*parts)

    keep = ~bad
    ind = mapped[keep]
    obs = pd.DataFrame({
        "iso3": iso3[keep],
        "country": text["Country"][keep],
        "source_region": text["Region"][keep].replace("", None),
        "source_subregion": text["Subregion"][keep].replace("", None),
        "year": year[keep].astype("int64"),
        "indicator": ind.str[0],
        "measure": ind.str[1],
        "dimension": dimension[keep],
        "category_raw": text["Category"][keep],
        "sex": text["Sex"][keep],
        "age": text["Age"][keep],
        "value": value[keep],
        "lower": lower[keep],
        "upper": upper[keep],
        "censored": censored[keep],
        "unit": "count",
        "source_row": row_number[keep],
        "source_rows": 1,
    })
    obs = _categories(obs)
    obs, notes = _shared_keys(obs)
    rows_loaded = int(obs["source_rows"].sum())
    return Normalised(observations=obs.drop(columns=["category_raw"]), quarantine=quarantine,
                      rows_read=n, rows_loaded=rows_loaded, notes=notes)


def _categories(obs: pd.DataFrame) -> pd.DataFrame:
    """Map citizenship/repatriation free text; other dimensions keep their category."""
    from ..harmonise.citizenship import classify
    obs["category"] = obs["category_raw"]
    obs["category_iso3"] = None
    obs["category_class"] = None
    obs["flag"] = None
    free = obs["dimension"].isin(["citizenship", "repatriation"])
    if free.any():
        table = classify(obs.loc[free, "category_raw"].unique()).set_index("value")
        raw = obs.loc[free, "category_raw"]
        obs.loc[free, "category"] = raw.map(table["repaired"]).fillna(raw)
        obs.loc[free, "category_iso3"] = raw.map(table["category_iso3"])
        obs.loc[free, "category_class"] = raw.map(table["category_class"])
        moji = raw.map(table["mojibake"])
        obs.loc[free, "flag"] = np.where(moji.eq("repaired"), "mojibake repaired from: " + raw,
                                         np.where(moji.eq("unrecoverable"), "mojibake: text unrecoverable", None))
    obs["status"] = "ok"
    return obs


def _shared_keys(obs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Sum sub-forms under one label as intervals; flag every other shared key as a conflict."""
    size = obs.groupby(_KEY, dropna=False, sort=False)["source_row"].transform("size")
    shared = size > 1
    summable = shared & obs["dimension"].eq("form") & obs["category_raw"].eq(SUMMED_LABEL)
    conflict = shared & ~summable
    obs.loc[conflict, "status"] = "conflict"
    obs.loc[conflict, "flag"] = size[conflict].map(
        lambda k: f"conflict: {k} rows share this key with no rule to combine them")
    notes = []
    if summable.any():
        group = obs[summable]
        summed = group.groupby(_KEY, dropna=False, sort=False).agg(
            source_region=("source_region", "first"), source_subregion=("source_subregion", "first"),
            measure=("measure", "first"), category=("category", "first"),
            category_iso3=("category_iso3", "first"), category_class=("category_class", "first"),
            value=("value", lambda s: s.sum() if s.notna().all() else np.nan),
            lower=("lower", "sum"), upper=("upper", "sum"), censored=("censored", "any"),
            unit=("unit", "first"), source_row=("source_row", "min"), source_rows=("source_rows", "sum"),
        ).reset_index()
        summed["status"] = "ok"
        summed["flag"] = "summed " + summed["source_rows"].astype(str) + " sub-forms filed under one label"
        obs = pd.concat([obs[~summable], summed], ignore_index=True)
        notes.append(f"{int(summable.sum())} rows of '{SUMMED_LABEL}' summed into {len(summed)} observations")
    if conflict.any():
        notes.append(f"{int(conflict.sum())} rows share a key with no rule to combine them: kept, "
                     "flagged status='conflict', out of every total")
    return obs, notes


def conflicts(observations: pd.DataFrame) -> pd.DataFrame:
    """The conflicting rows of GLOTIP observations (``status == 'conflict'``), grouped by key."""
    key = ["edition", "iso3", "country", "indicator", "dimension", "category", "sex", "age", "year"]
    key = [k for k in key if k in observations.columns]
    rows = observations[observations["status"].eq("conflict")]
    return rows.sort_values(key + ["source_row"], ignore_index=True)[
        key + ["value", "lower", "upper", "censored", "source_row"]]
