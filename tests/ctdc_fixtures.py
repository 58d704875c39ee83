"""Synthetic CTDC victim files in the two published layouts (no real person behind any row).

The real CTDC files are distributed under CTDC's terms of use and are not in the test data, so
the tests build small files with the data dictionaries' exact variable names and code values:
``-99`` (IOM missing), ``Unknown`` (Polaris missing), blank cells, Namibia ``NA``, the
``Unknown Country`` code ``00`` and CTDC's own country code ``Y1`` (Kosovo).

:data:`ROWS` holds the cells that differ from a row's default; every other Bool variable takes the
row's missing code (``-99`` for case-management rows, ``Unknown`` for hotline rows, as the
dictionary's lookup sheet says). File row ``i + 2`` holds ``ROWS[i]``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tiplens.sources.ctdc import COLUMNS_2017, COLUMNS_KANON_2021, KANON_2021_EXTRA

#: Cells set explicitly per synthetic row (everything else: the row's missing code).
ROWS: list[dict[str, str]] = [
    # row 2: an IOM case-management record; citizenship Namibia written as its ISO2 code NA
    {"yearOfRegistration": "2016", "Datasource": "Case management", "gender": "Female", "ageBroad": "18--20",
     "majorityStatus": "Adult", "majorityStatusAtExploit": "Adult", "MajorityEntry": "9--17",
     "citizenship": "NA", "CountryOfExploitation": "ZA", "isSexualExploit": "1", "isForcedLabour": "0",
     "meansOfControlDebtBondage": "1", "meansOfControlConcatenated": "Debt bondage",
     "typeOfExploitConcatenated": "Sexual exploitation", "typeOfSexProstitution": "1",
     "isSlaveryAndPractices": "0"},
    # row 3: a Polaris hotline record, missing written as Unknown
    {"yearOfRegistration": "2019", "Datasource": "Hotline", "gender": "Male", "ageBroad": "Unknown",
     "majorityStatus": "Unknown", "majorityStatusAtExploit": "Unknown", "MajorityEntry": "Unknown",
     "citizenship": "Unknown", "CountryOfExploitation": "US", "isForcedLabour": "1", "isSexualExploit": "0",
     "typeOfLabourAgriculture": "1", "RecruiterRelationship": "Employer", "recruiterRelationOther": "1",
     "isSlaveryAndPractices": "Unknown"},
    # row 4: blanks (newer releases), exploited in Namibia
    {"yearOfRegistration": "", "Datasource": "Case management", "gender": "", "ageBroad": "",
     "citizenship": "", "CountryOfExploitation": "NA", "isForcedLabour": "", "isSexualExploit": "1",
     "isSlaveryAndPractices": ""},
    # row 5: Unknown Country code 00, CTDC's Kosovo code Y1, oldest age band
    {"yearOfRegistration": "2008", "Datasource": "Case management", "gender": "Transgender/NonConforming",
     "ageBroad": "48+", "majorityStatus": "Adult", "citizenship": "00", "CountryOfExploitation": "Y1",
     "isForcedMarriage": "1", "isSlaveryAndPractices": "1"},
    # row 6: a citizenship code that is no country: quarantined
    {"yearOfRegistration": "2012", "Datasource": "Case management", "gender": "Female", "ageBroad": "0--8",
     "citizenship": "QQ", "CountryOfExploitation": "UA", "isSexualExploit": "1"},
    # row 7: nothing usable at all: quarantined
    {"Datasource": "-99", "yearOfRegistration": "-99", "gender": "-99", "citizenship": "-99",
     "CountryOfExploitation": "-99", "MajorityEntry": "-99", "ageBroad": "-99", "majorityStatus": "-99",
     "majorityStatusAtExploit": "-99"},
    # row 8: values outside the dictionary's codes: loaded as None and flagged
    {"yearOfRegistration": "20x6", "Datasource": "Hotline", "gender": "M", "ageBroad": "18-20",
     "citizenship": "PH", "CountryOfExploitation": "PH", "isForcedLabour": "2", "isSexualExploit": "1"},
]

_TEXT_VARIABLES = {"yearOfRegistration", "Datasource", "gender", "ageBroad", "majorityStatus",
                   "majorityStatusAtExploit", "MajorityEntry", "citizenship", "CountryOfExploitation",
                   "RecruiterRelationship", "meansOfControlConcatenated", "typeOfExploitConcatenated",
                   "typeOfLabourConcatenated", "typeOfSexConcatenated"}


def layout_columns(layout: str) -> list[str]:
    """The header of a file in ``layout`` (``ctdc_2017`` or ``ctdc_kanon_2021``).

    The 2021 file writes ``majorityEntry`` with a lower-case ``m`` and adds
    ``isSlaveryAndPractices`` after ``isOrganRemoval`` (as the real K-anon file does).
    """
    if layout == "ctdc_2017":
        return list(COLUMNS_2017)
    columns = ["majorityEntry" if c == "MajorityEntry" else c for c in COLUMNS_KANON_2021]
    at = columns.index("isOrganRemoval") + 1
    return columns[:at] + list(KANON_2021_EXTRA) + columns[at:]


def _missing_code(row: dict[str, str]) -> str:
    return "Unknown" if row.get("Datasource") == "Hotline" else "-99"


def table(layout: str, rows: list[dict[str, str]] | None = None) -> list[list[str]]:
    """Header plus one list of cells per synthetic row."""
    rows = ROWS if rows is None else rows
    header = layout_columns(layout)
    out = [header]
    for row in rows:
        cells = []
        for column in header:
            key = "MajorityEntry" if column == "majorityEntry" else column
            default = "" if key in _TEXT_VARIABLES else _missing_code(row)
            cells.append(row.get(key, default))
        out.append(cells)
    return out


def write_csv(path: Path, layout: str, rows: list[dict[str, str]] | None = None, *,
              encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(table(layout, rows))
    return path


def write_xlsx(path: Path, layout: str, rows: list[dict[str, str]] | None = None,
               sheet: str = "CTDC_K_anon_ds") -> Path:
    """The same table as an xlsx sheet, numbers stored as numbers (as Excel does)."""
    from openpyxl import Workbook
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for i, cells in enumerate(table(layout, rows)):
        if i == 0:
            worksheet.append(cells)
            continue
        worksheet.append([int(c) if c.lstrip("-").isdigit() and c != "00" else (c or None) for c in cells])
    workbook.save(path)
    return path
