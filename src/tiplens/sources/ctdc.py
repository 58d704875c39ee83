"""CTDC (Counter Trafficking Data Collaborative, IOM / Polaris / Liberty Shared) case-level victim data.

The CTDC files themselves are distributed by ctdatacollaborative.org under its terms of use; tiplens
ships none of them. This loader is written to CTDC's two published data dictionaries:

``ctdc_2017``
    the first public Global Dataset, ``CTDC_DATA_DICTIONARY_version_28_11_2017.xlsx`` (sheet
    ``Main``, 62 variables, :data:`COLUMNS_2017`).
``ctdc_kanon_2021``
    the Global K-anonymised Dataset (15 July 2021 release),
    ``CTDC_Global_K-anon_Dataset_DATA_DICTIONARY_version_20210825.xlsx`` (sheet ``Main``,
    :data:`COLUMNS_KANON_2021`).

Both dictionaries list the *same* 62 variables. What tells the 2021 file apart is a column neither
dictionary documents, ``isSlaveryAndPractices``, which the real K-anon file carries (a third party's
per-column summary of that file lists it, and writes ``majorityEntry`` with a lower-case ``m``,
so column names are matched without regard to case). A file with the dictionary columns and
``isSlaveryAndPractices`` is ``ctdc_kanon_2021``; one without it is ``ctdc_2017``. Other extra
columns (the K-anon ``Terms of Use`` column) are read but not stored. CSV (UTF-8) and xlsx (the
first sheet whose first row holds the dictionary columns) are accepted.

Output: no observations (counts of victims may only leave the store through disclosure control);
one record table ``ctdc_victims`` (stored as ``records_ctdc_victims``, a sensitive table), one row
per victim record, columns :data:`RECORD_COLUMNS`: registration year, data source, gender, age band,
majority status, ISO3 of citizenship and of the country of exploitation, every
means-of-control / type-of-exploitation / recruiter-relation flag as a nullable boolean, and the
``;``-joined concatenated description fields as published.

Traps handled:

* Missing has three spellings: ``-99`` (IOM case-management rows), ``Unknown`` (Polaris hotline
  rows) and a blank cell (newer releases). All three become None; so does the country code ``00``
  (``Unknown Country`` in the 2017 country lookup).
* Namibia's ISO2 code is ``NA``; the file is read without NA guessing, so ``NA`` stays Namibia.
* Country codes are ISO 3166-1 alpha-2 and include CTDC's own and retired codes (``Y1`` Kosovo,
  ``TP`` Timor-Leste, ``ZR`` Zaire ...), resolved through the override table. A code that matches no
  country quarantines the row (``country not matched: <code>``); so does a code that is not a
  country.
* Age is in bands (``0--8``, ``9--17``, ..., ``48+``, double hyphen) and kept as those labels;
  :data:`AGE_BANDS` gives their order.
* Flags are ``"0"``/``"1"``/missing; an xlsx copy gives numbers (``1.0``, ``-99.0``), read back as
  the text a reader sees. Any other value, an unknown gender, data source, age band or majority
  status, or a year that is not a year becomes None and is named in the row's ``flag``.
* A row with no usable cell at all is quarantined (``no usable value``).
* Counts reflect which agencies contributed (half the K-anon records are US hotline cases), not
  prevalence; see :data:`COVERAGE_NOTE`.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from ..errors import InputFileError
from ..harmonise.countries import resolve
from ._base import (Normalised, Raw, check_file, check_xlsx_size, concat_quarantine, quarantine_frame, read_csv_text,
                    require_rows, row_numbers, sniff_text, xlsx_peek)

NAME = "ctdc"
TITLE = "Counter Trafficking Data Collaborative (CTDC) global victim case data"
PUBLISHER = "International Organization for Migration (IOM), Polaris and Liberty Shared (CTDC)"
CITATION = ("Counter Trafficking Data Collaborative (CTDC), Global Dataset / Global K-anonymised Dataset, "
            "ctdatacollaborative.org")
TERMS = ("CTDC terms of use (ctdatacollaborative.org/terms-use): cite CTDC, do not attempt to re-identify "
         "individuals; tiplens does not redistribute the data.")
REDISTRIBUTABLE = False

DATASET_2017 = "ctdc_2017"
DATASET_KANON_2021 = "ctdc_kanon_2021"

#: The variables of ``CTDC_DATA_DICTIONARY_version_28_11_2017.xlsx``, sheet ``Main``, in order.
COLUMNS_2017: tuple[str, ...] = (
    "yearOfRegistration", "Datasource", "gender", "ageBroad", "majorityStatus", "majorityStatusAtExploit",
    "MajorityEntry", "citizenship",
    "meansOfControlDebtBondage", "meansOfControlTakesEarnings", "meansOfControlRestrictsFinancialAccess",
    "meansOfControlThreats", "meansOfControlPsychologicalAbuse", "meansOfControlPhysicalAbuse",
    "meansOfControlSexualAbuse", "meansOfControlFalsePromises", "meansOfControlPsychoactiveSubstances",
    "meansOfControlRestrictsMovement", "meansOfControlRestrictsMedicalCare",
    "meansOfControlExcessiveWorkingHours", "meansOfControlUsesChildren", "meansOfControlThreatOfLawEnforcement",
    "meansOfControlWithholdsNecessities", "meansOfControlWithholdsDocuments", "meansOfControlOther",
    "meansOfControlNotSpecified", "meansOfControlConcatenated",
    "isForcedLabour", "isSexualExploit", "isOtherExploit", "isSexAndLabour", "isForcedMarriage",
    "isForcedMilitary", "isOrganRemoval", "typeOfExploitConcatenated",
    "typeOfLabourAgriculture", "typeOfLabourAquafarming", "typeOfLabourBegging", "typeOfLabourConstruction",
    "typeOfLabourDomesticWork", "typeOfLabourHospitality", "typeOfLabourIllicitActivities",
    "typeOfLabourManufacturing", "typeOfLabourMiningOrDrilling", "typeOfLabourPeddling",
    "typeOfLabourTransportation", "typeOfLabourOther", "typeOfLabourNotSpecified", "typeOfLabourConcatenated",
    "typeOfSexProstitution", "typeOfSexPornography", "typeOfSexRemoteInteractiveServices",
    "typeOfSexPrivateSexualServices", "typeOfSexConcatenated", "isAbduction", "RecruiterRelationship",
    "CountryOfExploitation", "recruiterRelationIntimatePartner", "recruiterRelationFriend",
    "recruiterRelationFamily", "recruiterRelationOther", "recruiterRelationUnknown",
)
#: The variables of ``CTDC_Global_K-anon_Dataset_DATA_DICTIONARY_version_20210825.xlsx``, sheet
#: ``Main``. The 2021 dictionary repeats the 2017 list unchanged (tests pin both to the documents).
COLUMNS_KANON_2021: tuple[str, ...] = COLUMNS_2017
#: Present in the real K-anon 2021 file, documented in neither dictionary: the 2021 marker.
KANON_2021_EXTRA: tuple[str, ...] = ("isSlaveryAndPractices",)

#: Band labels of the dictionaries' ``Age range 2`` lookup, youngest first.
AGE_BANDS: tuple[str, ...] = ("0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+")
GENDERS = ("Male", "Female", "Transgender/NonConforming")
DATA_SOURCES = ("Case management", "Hotline")
MAJORITY = ("Adult", "Minor")
#: Cells meaning "missing" (compared case-insensitively after stripping): -99 for IOM rows,
#: Unknown for Polaris rows, blank in newer releases.
MISSING_CODES = frozenset({"", "-99", "unknown"})
#: Country code for "Unknown Country" in the 2017 country lookup.
UNKNOWN_COUNTRY = "00"
COVERAGE_NOTE = ("CTDC counts reflect which agencies contribute case records (in the K-anon 2021 file about half "
                 "are US hotline cases, and 2020-2021 collapse), not the prevalence of trafficking.")

#: The detection key: a file is CTDC when its header holds all of these (case-insensitively).
_KEY_COLUMNS = ("yearOfRegistration", "Datasource", "citizenship", "CountryOfExploitation", "isForcedLabour")
_TEXT_COLUMNS = ("meansOfControlConcatenated", "typeOfExploitConcatenated", "typeOfLabourConcatenated",
                 "typeOfSexConcatenated", "RecruiterRelationship")
_CATEGORY_COLUMNS = {"Datasource": DATA_SOURCES, "gender": GENDERS, "ageBroad": AGE_BANDS,
                     "majorityStatus": MAJORITY, "majorityStatusAtExploit": MAJORITY}
_COUNTRY_COLUMNS = {"citizenship": "citizenship_iso3", "CountryOfExploitation": "exploitation_iso3"}
_RENAMED = {"yearOfRegistration": "year_of_registration", "Datasource": "data_source", "ageBroad": "age_band",
            "MajorityEntry": "majority_entry", "RecruiterRelationship": "recruiter_relationship"}


def _snake(name: str) -> str:
    return _RENAMED.get(name) or re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _flag_columns(dataset_columns) -> list[str]:
    """The Bool variables: every column that is not a year, category, country, age or text field."""
    not_flags = {"yearOfRegistration", "MajorityEntry", *_CATEGORY_COLUMNS, *_COUNTRY_COLUMNS, *_TEXT_COLUMNS}
    return [c for c in dataset_columns if c not in not_flags]


FLAG_COLUMNS_2017 = _flag_columns(COLUMNS_2017)
FLAG_COLUMNS_KANON_2021 = _flag_columns(COLUMNS_KANON_2021 + KANON_2021_EXTRA)

#: Columns of the ``ctdc_victims`` record table, in order.
RECORD_COLUMNS: tuple[str, ...] = (
    "year_of_registration", "data_source", "gender", "age_band", "majority_status", "majority_status_at_exploit",
    "majority_entry", "citizenship_iso3", "exploitation_iso3",
    *[_snake(c) for c in FLAG_COLUMNS_KANON_2021],
    *[_snake(c) for c in _TEXT_COLUMNS],
    "source_row", "flag",
)


# -- detection and reading --------------------------------------------------------------------
def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def _folded(names) -> set[str]:
    return {str(n).strip().casefold() for n in names}


def _is_ctdc_header(names) -> bool:
    return _folded(_KEY_COLUMNS) <= _folded(names)


def _xlsx_sheet_rows(path: Path, nrows: int | None = None):
    """(sheet name, rows) of the first sheet whose first row is a CTDC header, else (None, None)."""
    from python_calamine import CalamineWorkbook
    workbook = CalamineWorkbook.from_path(str(path))
    for name in workbook.sheet_names:
        head = workbook.get_sheet_by_name(name).to_python(nrows=1)
        if head and _is_ctdc_header(head[0]):
            sheet = workbook.get_sheet_by_name(name)
            return name, (sheet.to_python(nrows=nrows) if nrows else sheet.to_python())
    return None, None


def detect(path: Path) -> bool:
    """True for a CTDC victim file (CSV or xlsx) whose header holds the dictionary's key variables."""
    path = Path(path)
    try:
        if _is_xlsx(path):
            # cheap look first: loading every sheet of a large workbook takes close to a second
            peek = xlsx_peek(path)
            if peek is None or not all(name.casefold() in peek.text.casefold() for name in _KEY_COLUMNS):
                return False
            check_xlsx_size(path, "")  # loading even one row parses the whole sheet: refuse a zip bomb here too
            return _xlsx_sheet_rows(path, nrows=1)[0] is not None
        text = sniff_text(path)
        if not text:
            return False
        header = next(csv.reader(io.StringIO(text.splitlines()[0])))
        return _is_ctdc_header(header)
    except Exception:  # detection never raises: an unreadable file is simply not this source
        return False


def _cell_text(cell) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None or cell != cell else str(cell)


def dataset_of(columns) -> str:
    """``ctdc_kanon_2021`` when the undocumented 2021 column is present, else ``ctdc_2017``."""
    return DATASET_KANON_2021 if _folded(KANON_2021_EXTRA) <= _folded(columns) else DATASET_2017


def read(path: Path) -> Raw:
    """The file as published, every cell text. No edition: CTDC files do not state one inside."""
    path = check_file(Path(path))
    fix = "Download the dataset again from ctdatacollaborative.org (CSV or xlsx as published)"
    if _is_xlsx(path):
        check_xlsx_size(path, fix)
        try:
            sheet, rows = _xlsx_sheet_rows(path)
        except Exception as exc:
            raise InputFileError(path, f"cannot be opened as an xlsx workbook ({exc})", fix) from None
        if sheet is None:
            raise InputFileError(path, "no sheet has a CTDC header row (yearOfRegistration, Datasource, "
                                 "citizenship, ...) in its first row", fix, row=1)
        header = [str(c).strip() for c in rows[0]]
        frame = pd.DataFrame(rows[1:], columns=header)
        for name in frame.columns:
            frame[name] = frame[name].map(_cell_text).astype("str")
    else:
        frame = read_csv_text(path, fix=fix)
        frame.columns = [str(c).strip() for c in frame.columns]
    dataset = dataset_of(frame.columns)
    expected = COLUMNS_KANON_2021 + KANON_2021_EXTRA if dataset == DATASET_KANON_2021 else COLUMNS_2017
    present = _folded(frame.columns)
    missing = [c for c in expected if c.casefold() not in present]
    if missing:
        raise InputFileError(path, f"is missing column(s) {', '.join(missing)} of the CTDC data dictionary", fix,
                             row=1)
    require_rows(path, frame, fix)
    return Raw(path=path, dataset=dataset, frame=frame, first_row=2, edition=None)


# -- normalisation ----------------------------------------------------------------------------
def _missing(text: pd.Series) -> pd.Series:
    return text.str.casefold().isin(MISSING_CODES)


def _problem(mask: pd.Series, column: str, text: pd.Series, what: str) -> pd.Series:
    """Per-row flag text ``<column> <what>: '<value>'`` where ``mask``, else ''."""
    return ("" + column + " " + what + ": '" + text + "'").where(mask, "")


def normalise(raw: Raw) -> Normalised:
    """One ``ctdc_victims`` record per victim row; rows with an unknown country are quarantined."""
    frame = raw.frame
    n = len(frame)
    row_number = row_numbers(raw)
    by_fold = {str(c).strip().casefold(): c for c in frame.columns}
    columns = list(COLUMNS_KANON_2021 + KANON_2021_EXTRA) if raw.dataset == DATASET_KANON_2021 else list(COLUMNS_2017)
    text = {c: frame[by_fold[c.casefold()]].astype("str").str.strip() for c in columns}
    missing = {c: _missing(text[c]) for c in columns}

    out: dict[str, pd.Series] = {}
    problems: list[pd.Series] = []

    year = pd.to_numeric(text["yearOfRegistration"].where(~missing["yearOfRegistration"]), errors="coerce")
    good_year = year.notna() & (year % 1 == 0) & year.between(1990, 2100)
    problems.append(_problem(~missing["yearOfRegistration"] & ~good_year, "yearOfRegistration",
                             text["yearOfRegistration"], "is not a year"))
    out["year_of_registration"] = year.where(good_year).astype("Int64")

    for column, allowed in _CATEGORY_COLUMNS.items():
        known = text[column].isin(allowed)
        problems.append(_problem(~missing[column] & ~known, column, text[column], "not in the dictionary's codes"))
        out[_snake(column)] = text[column].where(known, None)
    out["majority_entry"] = text["MajorityEntry"].where(~missing["MajorityEntry"], None)

    quarantine_parts = []
    for column, target in _COUNTRY_COLUMNS.items():
        code = text[column]
        absent = missing[column] | code.eq(UNKNOWN_COUNTRY)
        table = resolve(code[~absent].unique(), "iso2").set_index("value")
        status = code.map(table["status"]).where(~absent)
        unmatched = ~absent & (status.isna() | status.eq("unmatched"))
        non_country = ~absent & status.eq("non_country")
        if unmatched.any():
            quarantine_parts.append(quarantine_frame(frame[unmatched], row_number=row_number[unmatched],
                                                     column=by_fold[column.casefold()],
                                                     reason="country not matched: " + code[unmatched]))
        if non_country.any():
            note = code.map(table["note"]).fillna("")
            quarantine_parts.append(quarantine_frame(
                frame[non_country], row_number=row_number[non_country], column=by_fold[column.casefold()],
                reason="not a country: " + code[non_country] + " (" + note[non_country] + ")"))
        out[target] = code.map(table["iso3"]).where(~absent & ~unmatched & ~non_country, None)

    flag_columns = FLAG_COLUMNS_KANON_2021 if raw.dataset == DATASET_KANON_2021 else FLAG_COLUMNS_2017
    for column in FLAG_COLUMNS_KANON_2021:
        if column not in flag_columns:  # a 2017 file has no isSlaveryAndPractices
            out[_snake(column)] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
            continue
        value = text[column]
        valid = value.isin(("0", "1"))
        problems.append(_problem(~missing[column] & ~valid, column, value, "is not 0, 1 or -99"))
        out[_snake(column)] = value.map({"0": False, "1": True}).astype("boolean")

    for column in _TEXT_COLUMNS:
        out[_snake(column)] = text[column].where(~missing[column], None)

    records = pd.DataFrame(out, index=frame.index)
    records["source_row"] = row_number.astype("int64")
    flag = pd.Series("", index=frame.index)
    for part in problems:
        flag = flag.str.cat(part, sep="; ").str.strip("; ")
    records["flag"] = flag.where(flag != "", None)

    usable = pd.concat([~missing[c] for c in columns], axis=1).any(axis=1)
    if (~usable).any():
        quarantine_parts.append(quarantine_frame(frame[~usable], row_number=row_number[~usable], column=None,
                                                 reason="no usable value (every cell is missing)"))
    quarantine = concat_quarantine(*quarantine_parts)
    loaded = ~row_number.isin(quarantine["row_number"])
    records = records.loc[loaded, list(RECORD_COLUMNS)].reset_index(drop=True)
    notes = [COVERAGE_NOTE]
    if raw.dataset == DATASET_2017:
        notes.append("ctdc_2017 layout: isSlaveryAndPractices is not in this file and is left empty.")
    return Normalised(observations=pd.DataFrame(columns=["iso3"]), quarantine=quarantine, rows_read=n,
                      rows_loaded=int(loaded.sum()), records={"ctdc_victims": records}, notes=notes)
