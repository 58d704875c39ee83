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
from . import _base
from ._base import (Normalised, Raw, Stream, check_file, check_xlsx_size, concat_quarantine, quarantine_frame,
                    read_csv_chunks, read_csv_text, sniff_text, xlsx_peek)

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
#: Longer than any country's name in any language (the longest official names have about 60 letters).
MAX_NAME_LENGTH = 200
SUMMED_LABEL = "Other forms of exploitation"
CENSORING_NOTE = ("'<5' is a suppressed count stored as the interval 0-4: UNODC publishes no 0 and no "
                  "value from 1 to 4, so a '<5' cell may hide a zero.")

_FIX = "Download data_glotip.xlsx again from the UNODC data portal"
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
    fix = _FIX
    if _is_xlsx(path):
        from python_calamine import CalamineWorkbook
        check_xlsx_size(path, fix)
        try:
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        except Exception as exc:
            raise InputFileError(path, f"cannot be opened as an xlsx workbook ({exc})", fix) from None
    else:
        skip, edition = _csv_head(path)
        frame = read_csv_text(path, skiprows=skip, fix=_FIX)
        return _raw_from_frame(path, frame, skip, edition, _FIX)
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


def _csv_head(path: Path) -> tuple[int, str | None]:
    """(preamble lines before the header, edition the preamble states) of a GLOTIP CSV."""
    head = sniff_text(path, 1 << 16).splitlines()[:10]
    skip = _header_index([line.split(",") for line in head])
    if skip is None:
        raise InputFileError(path, "has no GLOTIP header row (Iso3_code, ..., txtVALUE)", _FIX, row=1)
    return skip, _edition_from_preamble([[line] for line in head[:skip]])


def _cell_text(cell) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None or cell != cell else str(cell)


def _raw_from_frame(path: Path, frame: pd.DataFrame, header_at: int, edition: str | None, fix: str) -> Raw:
    frame = _published_columns(path, frame, header_at, fix)
    if len(frame) == 0:
        raise InputFileError(path, "has a header but no data rows", fix)
    # file row numbers: header is row header_at + 1, data start on the next row
    return Raw(path=path, dataset=DATASET, frame=frame, first_row=header_at + 2, edition=edition)


def _published_columns(path: Path, frame: pd.DataFrame, header_at: int, fix: str) -> pd.DataFrame:
    """The frame's :data:`COLUMNS` (names stripped), or an error naming the missing ones."""
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputFileError(path, f"is missing column(s) {', '.join(missing)}", fix, row=header_at + 1)
    return frame[COLUMNS]


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
    obs, quarantine, unmapped = _normalise_rows(raw.frame, raw.first_row, _row_keys)
    obs, counts = _shared_keys(obs)
    return Normalised(observations=obs.drop(columns=["category_raw", "_key"]), quarantine=quarantine,
                      rows_read=len(raw.frame), rows_loaded=int(obs["source_rows"].sum()),
                      notes=_notes(unmapped, counts))


def _normalise_rows(frame: pd.DataFrame, first_row: int, row_keys) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The row-level part of :func:`normalise`: every rule that looks at one row only.

    Returns the observations before shared keys are resolved (one per loaded row, with
    ``category_raw`` and ``_key`` from ``row_keys(levels)`` over :data:`_KEY_COLUMNS`), the
    quarantine, and the unmapped citizenship labels with their row counts (in order of appearance).
    """
    n = len(frame)
    row_number = np.arange(first_row, first_row + n)
    col = {c: _Levels(frame[c]) for c in COLUMNS}

    parsed = [_parse_value(v) for v in col["txtVALUE"].values]
    value, lower, upper = (col["txtVALUE"].spread(np.array([p[i] for p in parsed], dtype=float)) for i in range(3))
    censored = col["txtVALUE"].spread(np.array([p[3] for p in parsed], dtype=bool))
    year = col["Year"].spread(np.array([_parse_year(v) for v in col["Year"].values], dtype=float))
    indicator = col["Indicator"].spread(lambda v: INDICATORS.get(v, (None, None))[0])
    measure = col["Indicator"].spread(lambda v: INDICATORS.get(v, (None, None))[1])
    dimension = col["Dimension"].spread(lambda v: DIMENSIONS.get(v))
    questionnaire = col["Category"].spread(np.array([bool(re.match(r"Q\d", v)) for v in col["Category"].values]))

    # country: the published ISO3 code; the name where the code is blank (Sark). Only those names
    # are matched, and none longer than a country's name can be: matching names by regex costs
    # minutes on a damaged file's megabyte-long cell
    by_code = resolve(col["Iso3_code"].values, "iso3").set_index("value")
    blank = col["Iso3_code"].spread(col["Iso3_code"].values == "")
    names = [name for name in pd.unique(col["Country"].rows()[blank]) if len(name) <= MAX_NAME_LENGTH]
    by_name = resolve(names, "name").reindex(columns=["value", "iso3", "status", "note"]).set_index("value")

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
        "_key": row_keys([col[c] for c in _KEY_COLUMNS])[keep],
    })
    obs, unmapped = _categories(obs)
    return obs, quarantine, unmapped


def _categories(obs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Map citizenship/repatriation free text; other dimensions keep their category.

    Returns the frame and the labels left unmapped with their row counts, in order of appearance.
    """
    from ..harmonise.citizenship import classify
    obs["category"] = obs["category_raw"]
    obs["category_iso3"] = None
    obs["category_class"] = None
    obs["flag"] = None
    free = obs["dimension"].isin(["citizenship", "repatriation"]).to_numpy()
    unmapped: dict[str, int] = {}
    if free.any():
        raw = obs.loc[free, "category_raw"]
        table = classify(raw.unique()).set_index("value")
        moji = raw.map(table["mojibake"])
        obs.loc[free, "category"] = raw.map(table["repaired"]).fillna(raw)
        obs.loc[free, "category_iso3"] = raw.map(table["category_iso3"])
        obs.loc[free, "category_class"] = raw.map(table["category_class"])
        counts = raw[obs.loc[free, "category_class"].eq("unmapped")].value_counts(sort=False)
        unmapped = {str(label): int(count) for label, count in counts.items()}
        obs.loc[free, "flag"] = [
            f"mojibake repaired from: {r}" if m == "repaired" else
            "mojibake: text unrecoverable" if m == "unrecoverable" else None for r, m in zip(raw, moji)]
    obs["status"] = "ok"
    return obs, unmapped


def _shared_keys(obs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Sum sub-forms under one label as intervals; flag every other shared key as a conflict.

    Every row of a key must be in ``obs``. Returns the frame and the counts the notes report
    (``summed_rows`` into ``summed_observations``, ``conflict_rows``), which add up across parts
    of a file that share no key.
    """
    shared = obs["_key"].duplicated(keep=False).to_numpy()
    counts = {"summed_rows": 0, "summed_observations": 0, "conflict_rows": 0}
    if not shared.any():
        return obs, counts
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
        counts.update(summed_rows=int(summable.sum()), summed_observations=len(summed))
    counts["conflict_rows"] = int(conflict.sum())
    return obs, counts


def _notes(unmapped: dict[str, int], counts: dict[str, int]) -> list[str]:
    """The file's notes from the unmapped labels and the shared-key counts of all its rows."""
    notes = []
    if unmapped:
        # most rows first; ties in order of appearance, so a file read in chunks gives the same note
        ranked = pd.Series(unmapped, dtype="int64").sort_values(ascending=False, kind="stable")
        listed = ", ".join(f"{label!r} ({count})" for label, count in ranked.head(8).items())
        more = f" and {len(ranked) - 8} more" if len(ranked) > 8 else ""
        notes.append(f"{len(ranked)} citizenship/repatriation labels ({int(ranked.sum())} rows) are not "
                     f"mapped to a country or class, never guessed: {listed}{more}; the rows are kept "
                     "with category_class='unmapped'")
    if counts["summed_rows"]:
        notes.append(f"{counts['summed_rows']} rows of '{SUMMED_LABEL}' summed into "
                     f"{counts['summed_observations']} observations")
    if counts["conflict_rows"]:
        notes.append(f"{counts['conflict_rows']} rows share a key with no rule to combine them: kept, "
                     "flagged status='conflict', out of every total")
    return notes


# -- streamed reading (CSV files too large to hold in memory) ---------------------------------
#: Observation columns staged beside the published ones until shared keys are resolved: the
#: category as published and the row's key as text (exact, and the same in every chunk).
STAGING_COLUMNS = {"category_raw": "VARCHAR", "_key": "VARCHAR"}


def streams(path: Path) -> bool:
    """True for a GLOTIP CSV of at least :data:`tiplens.sources._base.STREAM_FROM_BYTES`."""
    path = Path(path)
    return path.is_file() and path.stat().st_size >= _base.STREAM_FROM_BYTES and not _is_xlsx(path)


def stream(path: Path, chunk_rows: int | None = None) -> Stream:
    """A GLOTIP CSV read and normalised ``chunk_rows`` rows at a time (see :class:`~._base.Stream`).

    Gives the store what :func:`read` then :func:`normalise` give, in pieces: the row-level rules
    run per chunk, the shared-key rules (:func:`_shared_keys`) per partition of the staged rows
    by ``_key``, so no key is split; the notes add up the counts of every chunk and partition.
    """
    path = check_file(Path(path))
    skip, edition = _csv_head(path)
    unmapped: dict[str, int] = {}
    counts = {"summed_rows": 0, "summed_observations": 0, "conflict_rows": 0}

    def chunks():
        first_row = skip + 2  # the header is file row skip + 1
        for chunk in read_csv_chunks(path, skiprows=skip, fix=_FIX, chunk_rows=chunk_rows):
            frame = _published_columns(path, chunk, skip, _FIX)
            if len(frame) == 0:
                continue
            obs, quarantine, labels = _normalise_rows(frame, first_row, _key_texts)
            for label, count in labels.items():
                unmapped[label] = unmapped.get(label, 0) + count
            first_row += len(frame)
            result.rows_read += len(frame)
            yield obs, quarantine
        if result.rows_read == 0:
            raise InputFileError(path, "has a header but no data rows", _FIX)

    def combine(part: pd.DataFrame) -> pd.DataFrame:
        obs, part_counts = _shared_keys(part)
        for name, count in part_counts.items():
            counts[name] += count
        return obs.drop(columns=list(STAGING_COLUMNS))

    result = Stream(path=path, dataset=DATASET, edition=edition, chunks=chunks(), staging_columns=STAGING_COLUMNS,
                    partition_by="_key", combine=combine, notes=lambda: _notes(unmapped, counts))
    return result


def _key_texts(levels: list[_Levels]) -> np.ndarray:
    """One text per row joining its stripped texts in ``levels``: a key that means the same in every chunk."""
    key = levels[0].rows()
    for level in levels[1:]:
        key = key + "\x1f" + level.rows()
    return key
