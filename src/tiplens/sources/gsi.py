"""Walk Free Global Slavery Index (GSI) 2023.

Datasets (``Raw.dataset``):

``summary``
    the sheet ``GSI 2023 summary data`` of the official workbook
    ``2023-Global-Slavery-Index-Data.xlsx`` (a source line on row 2, the header on row 3), or the
    same sheet saved as CSV (header on row 1). One row per country, 180 countries. The workbook
    and its CSV copy share the dataset name, so one edition loaded in both formats replaces itself
    in the store instead of counting twice. The other 12 sheets (codebooks, the 144 government
    response indicator ratings, business assessments, G20 imports) are not loaded.
``palermo_indicator``
    a CSV DERIVED from the sheet ``Govt response - Indicators`` (columns ``Region, Country,
    M2121_palermo_protocol_ratified_as_of_2022-08-31, M2122_trafficking_criminalised_standalone``).

Indicators emitted (``summary``), with the reference year each one is stored under:

======================================================  ==========  ========  =====================
indicator                                               measure     year      unit
======================================================  ==========  ========  =====================
``gsi_prevalence_per_1000``                             estimated   2021      per 1,000 population
``gsi_victims_estimated``                               estimated   2021      persons (rounded)
``gsi_vulnerability`` (Total Vulnerability score)       rated       2021      %
``gsi_vulnerability_<dimension>`` (5 dimensions)        rated       2021      score (0-100)
``gsi_government_response`` (total)                     rated       2022      %
``gsi_government_response_m1_...`` to ``_m5_...``       rated       2022      %
``gsi_population``                                      covariate   2020      persons (rounded)
======================================================  ==========  ========  =====================

Years: the prevalence and number estimates are Walk Free's estimates *for 2021* (the workbook's
columns do not repeat the year; see the data folder's PROVENANCE.md); the vulnerability index is
their model input, built from data published up to 2021 (sheet ``Vulnerability codebook``: access
dates 2021, reference periods up to 2021), and is stored under 2021 too. Government response
ratings assess evidence from 15 February 2019 to 31 August 2022 (sheet ``Govt response
framework``), so they are stored under 2022 with ``date='2022-08-31'``. Population is UN WPP 2019
(workbook note 2), whose values are the WPP 2019 estimates for 2020 (Afghanistan 38,928,000: WPP
2019 gives 38,928,346 for 2020), so it is stored under 2020.
The GSI is ONE cross-section, not a time series, and is not comparable with GSI 2018.

``palermo_indicator``: ``gsi_m2121_palermo_protocol_ratified`` and
``gsi_m2122_trafficking_criminalised_standalone`` (measure ``rated``, 1 = met, 0 = not met,
year 2022; M2121's date ``2022-08-31`` comes from its column name).

Traps handled:

* Names only, no ISO codes (``Cape Verde``, ``Taiwan``, ``Kosovo``, ``Hong Kong``): resolved by
  name; an unmatched name is quarantined, never guessed.
* 20 small states have no prevalence, number or vulnerability values and Afghanistan, South Sudan,
  Syria and Yemen no government response: missing cells are simply not observations; the row
  is loaded if any cell of it is.
* Population is 0 for Cape Verde, Kosovo, Liechtenstein and Palau: a placeholder for a missing
  figure (Kosovo's 14,000 people in modern slavery at 8.0 per 1,000 imply about 1.7 million
  inhabitants), so not loaded (a note names the countries).
* Kosovo and Taiwan cannot ratify conventions and were re-scored (milestone 2 out of 22, total out
  of 74; workbook note 3): their government-response observations carry a ``flag``.
* Edition: the workbook states "Global Slavery Index 2023" (source line, sheet name), so
  ``Raw.edition='2023'``; the CSV copies state no edition (``--edition`` is needed).
* Terms: "Copyright (c) 2023 Minderoo Foundation Limited. All Rights reserved": not redistributable.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.codes import resolve_rows
from ._base import (NA_TOKENS, Normalised, Raw, check_file, check_xlsx_size, collect_quarantine, csv_header,
                    parse_number, read_csv_text, require_rows, row_numbers)

NAME = "gsi"
TITLE = "Walk Free Global Slavery Index 2023"
PUBLISHER = "Walk Free (Minderoo Foundation)"
CITATION = ("Walk Free 2023, The Global Slavery Index 2023, Minderoo Foundation, Available from: "
            "https://www.walkfree.org/global-slavery-index/downloads/")
TERMS = ("Copyright (c) 2023 Minderoo Foundation Limited. All rights reserved. Cite Walk Free 2023; "
         "check Walk Free's terms before redistributing the data.")
REDISTRIBUTABLE = False

SUMMARY = "summary"
PALERMO = "palermo_indicator"

ESTIMATE_YEAR = 2021
GOVERNMENT_RESPONSE_YEAR = 2022
GOVERNMENT_RESPONSE_DATE = "2022-08-31"
POPULATION_YEAR = 2020
RESCORED = {"XKX", "TWN"}
CANNOT_RATIFY_FLAG = "cannot ratify UN conventions (workbook note 3): 0 is not a decision not to ratify"
RESCORED_FLAG = ("re-scored by Walk Free: cannot ratify conventions (milestone 2 out of 22, total out of 74; "
                 "workbook note 3)")

PREVALENCE_COLUMN = "Estimated prevalence of modern slavery per 1,000 population"
_VULNERABILITY_UNIT = "score (0-100)"

#: summary-sheet column -> (indicator, measure, unit, year, date)
SUMMARY_COLUMNS: dict[str, tuple[str, str, str, int, str | None]] = {
    "Population": ("gsi_population", "covariate", "persons (UN WPP 2019, rounded to thousands)",
                   POPULATION_YEAR, None),
    PREVALENCE_COLUMN: ("gsi_prevalence_per_1000", "estimated", "per 1,000 population", ESTIMATE_YEAR, None),
    "Estimated number of people in modern slavery": ("gsi_victims_estimated", "estimated",
                                                     "persons (rounded to thousands)", ESTIMATE_YEAR, None),
    "Governance issues": ("gsi_vulnerability_governance_issues", "rated", _VULNERABILITY_UNIT,
                          ESTIMATE_YEAR, None),
    "Lack of basic needs": ("gsi_vulnerability_lack_of_basic_needs", "rated", _VULNERABILITY_UNIT,
                            ESTIMATE_YEAR, None),
    "Inequality": ("gsi_vulnerability_inequality", "rated", _VULNERABILITY_UNIT, ESTIMATE_YEAR, None),
    "Disenfranchised groups": ("gsi_vulnerability_disenfranchised_groups", "rated", _VULNERABILITY_UNIT,
                               ESTIMATE_YEAR, None),
    "Effects of conflict": ("gsi_vulnerability_effects_of_conflict", "rated", _VULNERABILITY_UNIT,
                            ESTIMATE_YEAR, None),
    "Total Vulnerability score (%)": ("gsi_vulnerability", "rated", "%", ESTIMATE_YEAR, None),
    "Survivors of slavery are identified and supported to exit and remain out of modern slavery (%)": (
        "gsi_government_response_m1_survivors", "rated", "%", GOVERNMENT_RESPONSE_YEAR, GOVERNMENT_RESPONSE_DATE),
    "Criminal justice mechanisms function effectively to prevent modern slavery (%)": (
        "gsi_government_response_m2_criminal_justice", "rated", "%", GOVERNMENT_RESPONSE_YEAR,
        GOVERNMENT_RESPONSE_DATE),
    "Coordination occurs at the national and regional level and across borders, and governments are held "
    "to account for their response (%)": (
        "gsi_government_response_m3_coordination", "rated", "%", GOVERNMENT_RESPONSE_YEAR,
        GOVERNMENT_RESPONSE_DATE),
    "Risk factors, such as attitudes, social systems, and institutions that enable modern slavery are "
    "addressed (%)": (
        "gsi_government_response_m4_risk_factors", "rated", "%", GOVERNMENT_RESPONSE_YEAR,
        GOVERNMENT_RESPONSE_DATE),
    "Government and business stop sourcing goods and services produced by forced labour (%)": (
        "gsi_government_response_m5_supply_chains", "rated", "%", GOVERNMENT_RESPONSE_YEAR,
        GOVERNMENT_RESPONSE_DATE),
    "Government response total (%)": ("gsi_government_response", "rated", "%", GOVERNMENT_RESPONSE_YEAR,
                                      GOVERNMENT_RESPONSE_DATE),
}
SUMMARY_REQUIRED = ["Country", "Region", PREVALENCE_COLUMN, "Estimated number of people in modern slavery",
                    "Total Vulnerability score (%)", "Government response total (%)"]

_SUMMARY_SHEET = re.compile(r"GSI (\d{4}) summary data", re.IGNORECASE)
_EDITION = re.compile(r"Global Slavery Index (\d{4})", re.IGNORECASE)
_M_COLUMN = re.compile(r"^(M\d{4})_(.+?)(?:_as_of_(\d{4}-\d{2}-\d{2}))?$")
_RATING_UNIT = "rating: 1 = met, 0 = not met, -1 = negative indicator met"
_FIX = "Download 2023-Global-Slavery-Index-Data.xlsx again from walkfree.org/global-slavery-index/downloads/"


# -- detection and reading --------------------------------------------------------------------
def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def _summary_sheet_name(sheet_names: list[str]) -> str | None:
    return next((name for name in sheet_names if _SUMMARY_SHEET.fullmatch(name.strip())), None)


def _palermo_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if _M_COLUMN.match(c.strip())]


def detect(path: Path) -> bool:
    """True for the GSI workbook (by sheet names) or its summary / indicator CSVs (by header)."""
    path = Path(path)
    try:
        if _is_xlsx(path):
            from python_calamine import CalamineWorkbook
            return _summary_sheet_name(CalamineWorkbook.from_path(str(path)).sheet_names) is not None
        header = {c.strip() for c in csv_header(path)}
        if {"Country", "Region", PREVALENCE_COLUMN} <= header:
            return True
        return {"Country", "Region"} <= header and any(c.startswith("M2121") for c in header)
    except Exception:  # detection never raises: an unreadable file is simply not this source
        return False


def read(path: Path) -> Raw:
    """The summary sheet (workbook or CSV) or the derived indicator CSV, every cell as text."""
    path = check_file(Path(path))
    if _is_xlsx(path):
        return _read_workbook(path)
    frame = read_csv_text(path, fix=_FIX)
    frame.columns = [str(c).strip() for c in frame.columns]
    if PREVALENCE_COLUMN in frame.columns:
        _require(path, frame, SUMMARY_REQUIRED, header_row=1)
        return Raw(path=path, dataset=SUMMARY, frame=frame, first_row=2, edition=None)
    _require(path, frame, ["Country", "Region"], header_row=1)
    if not any(c.startswith("M2121") for c in _palermo_columns(list(frame.columns))):
        raise InputFileError(path, "has neither the GSI summary columns nor an M2121 indicator column", _FIX, row=1)
    return Raw(path=path, dataset=PALERMO, frame=frame, first_row=2, edition=None)


def _read_workbook(path: Path) -> Raw:
    from python_calamine import CalamineWorkbook
    check_xlsx_size(path, _FIX)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet_name = _summary_sheet_name(workbook.sheet_names)
        if sheet_name is None:
            raise InputFileError(path, "has no sheet 'GSI <year> summary data'", _FIX)
        sheet = workbook.get_sheet_by_name(sheet_name)
        rows = sheet.to_python()
        first_sheet_row = sheet.start[0] + 1 if sheet.start else 1  # calamine skips leading empty rows
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(path, f"cannot be opened as an xlsx workbook ({exc})", _FIX) from None
    header_at = next((i for i, row in enumerate(rows[:10]) if row and str(row[0]).strip() == "Country"), None)
    if header_at is None:
        raise InputFileError(path, f"sheet {sheet_name!r} has no header row starting with 'Country' in its "
                             "first 10 rows: the layout has changed", _FIX)
    header_row = first_sheet_row + header_at
    header = [str(c).strip() for c in rows[header_at]]
    body = rows[header_at + 1:]
    while body and all(_cell_text(c) == "" for c in body[-1]):
        body = body[:-1]  # trailing empty rows are sheet formatting, not data
    frame = pd.DataFrame([[_cell_text(c) for c in row] for row in body], columns=header, dtype="str")
    _require(path, frame, SUMMARY_REQUIRED, header_row=header_row)
    preamble = " ".join(str(c) for row in rows[:header_at] for c in row)
    stated = _EDITION.search(preamble) or _SUMMARY_SHEET.fullmatch(sheet_name.strip())
    return Raw(path=path, dataset=SUMMARY, frame=frame, first_row=header_row + 1,
               edition=stated.group(1) if stated else None, meta={"sheet": sheet_name})


def _cell_text(cell) -> str:
    if cell is None or (isinstance(cell, float) and cell != cell):
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _require(path: Path, frame: pd.DataFrame, columns: list[str], header_row: int) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFileError(path, f"is missing column(s) {', '.join(missing)}", _FIX, row=header_row)
    require_rows(path, frame, _FIX)


# -- normalisation ----------------------------------------------------------------------------
def _numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(value, unparseable mask): NA tokens and blanks are missing, other text is unparseable."""
    stripped = text.astype("str").str.strip()
    value = parse_number(stripped)
    missing_token = stripped.isin(NA_TOKENS)
    return value.where(~missing_token), value.isna() & ~missing_token


def normalise(raw: Raw) -> Normalised:
    """Observations (one per country and indicator column with a value) and quarantine rows."""
    frame = raw.frame
    n = len(frame)
    row_number = row_numbers(raw)
    country = frame["Country"].astype("str").str.strip()
    region = frame["Region"].astype("str").str.strip().replace("", None)
    if raw.dataset == PALERMO:
        specs = {}
        for column in _palermo_columns(list(frame.columns)):
            code, label, as_of = _M_COLUMN.match(column.strip()).groups()
            specs[column] = (f"gsi_{code.lower()}_{label.lower()}", "rated", _RATING_UNIT,
                             int(as_of[:4]) if as_of else GOVERNMENT_RESPONSE_YEAR,
                             as_of or None)
        known = {"Country", "Region", *specs}
    else:
        specs = {c: s for c, s in SUMMARY_COLUMNS.items() if c in frame.columns}
        known = {"Country", "Region", *specs}
    notes = [f"column {c!r} is not a documented GSI column: not loaded" for c in frame.columns if c not in known]

    iso3, status, country_note = resolve_rows(country, "name")

    long_parts, unparseable = [], []
    for column, (indicator, measure, unit, year, date) in specs.items():
        value, bad = _numbers(frame[column])
        if indicator == "gsi_population":
            # 0 stands for a missing figure, not a population: Kosovo has 14,000 people in modern
            # slavery at 8.0 per 1,000, i.e. about 1.7 million inhabitants, yet population 0
            placeholder = value.le(0)
            if placeholder.any():
                notes.append(f"population 0 (a placeholder, not a value) not loaded for "
                             f"{', '.join(country[placeholder])}")
                value = value.where(~placeholder)
        if bad.any():
            unparseable.append((column, bad))
        have = value.notna()
        long_parts.append(pd.DataFrame({
            "row": frame.index[have], "indicator": indicator, "measure": measure, "unit": unit,
            "year": year, "date": date, "value": value[have].to_numpy()}))
    long = pd.concat(long_parts, ignore_index=True)
    has_value = pd.Series(frame.index.isin(long["row"]), index=frame.index)

    problems = [
        (country.eq(""), "Country", pd.Series("no country name", index=frame.index)),
        (status.eq("non_country") & country.ne(""), "Country",
         "not a country: " + country + " (" + country_note + ")"),
        (status.eq("unmatched") & country.ne(""), "Country", "country not matched: " + country),
        (~has_value, None, pd.Series("no value in any indicator column", index=frame.index)),
    ]
    for column, bad in unparseable:
        notes.append(f"{int(bad.sum())} cell(s) of {column!r} are not numbers and were not loaded "
                     f"(rows {', '.join(str(r) for r in row_number[bad].head(10))})")
    quarantine, rejected = collect_quarantine(frame, row_number, problems)

    kept_iso3 = iso3.where(~rejected)
    duplicated = kept_iso3.notna() & kept_iso3.duplicated(keep=False)
    long = long[~long["row"].map(rejected).to_numpy()]
    rows = long["row"]
    flag = pd.Series(None, index=long.index, dtype=object)
    rescored = rows.map(iso3).isin(RESCORED).to_numpy() & long["indicator"].str.startswith(
        "gsi_government_response").to_numpy()
    flag[rescored] = RESCORED_FLAG
    if raw.dataset == PALERMO:
        flag[rows.map(iso3).isin(RESCORED).to_numpy()] = CANNOT_RATIFY_FLAG
    conflict = rows.map(duplicated).to_numpy()
    if conflict.any():
        flag[conflict] = "conflict: several rows of this file name the same country"
        notes.append(f"{int(duplicated.sum())} rows name a country that another row names too: kept, "
                     "flagged status='conflict'")
    obs = pd.DataFrame({
        "iso3": rows.map(iso3).to_numpy(),
        "country": rows.map(country).to_numpy(),
        "source_region": rows.map(region).to_numpy(),
        "year": long["year"].astype("int64").to_numpy(),
        "date": long["date"].to_numpy(),
        "indicator": long["indicator"].to_numpy(),
        "measure": long["measure"].to_numpy(),
        "value": long["value"].to_numpy(),
        "lower": long["value"].to_numpy(),
        "upper": long["value"].to_numpy(),
        "censored": False,
        "unit": long["unit"].to_numpy(),
        "status": np.where(conflict, "conflict", "ok"),
        "flag": flag.to_numpy(),
        "source_row": rows.map(row_number).to_numpy(),
        "source_rows": 1,
    })
    if raw.dataset == SUMMARY:
        notes.append(f"years: estimates and vulnerability stored under {ESTIMATE_YEAR}, government response "
                     f"under {GOVERNMENT_RESPONSE_YEAR} (assessment period to {GOVERNMENT_RESPONSE_DATE}), "
                     f"population under {POPULATION_YEAR} (UN WPP 2019)")
    return Normalised(observations=obs, quarantine=quarantine, rows_read=n,
                      rows_loaded=int(n - len(quarantine)), notes=notes)
