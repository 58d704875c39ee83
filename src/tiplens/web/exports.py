"""CSV and Excel downloads of a view's table, safe to open in a spreadsheet.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before them) as a formula, so a country name or a reference title crafted that way would run
when the download is opened. Some spreadsheets drop leading blanks and quotes when they import a
CSV file, so a formula character after those counts too. Every such text cell and column name
(text, categorical or mixed columns alike) gets a leading apostrophe, which spreadsheets read as
"this is text". Numbers stay numbers (a negative count is a number, not a formula).
"""

from __future__ import annotations

import io
import re

import pandas as pd

from .._spreadsheet import FORMULA_STARTS, neutralise, safe_frame  # noqa: F401  (re-exported)

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def to_bytes(frame: pd.DataFrame, fmt: str, *, sheet: str = "data") -> bytes:
    """The table as CSV (UTF-8 with BOM, so spreadsheets read accents right) or an xlsx workbook."""
    safe = safe_frame(frame)
    if fmt == "csv":
        # CRLF rows (RFC 4180): a cell holding a lone carriage return is then quoted, not split
        return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        # Excel sheet names are at most 31 characters and cannot contain []:*?/\
        safe.to_excel(buffer, index=False, sheet_name=re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "data",
                      engine="openpyxl")
        return buffer.getvalue()
    raise ValueError(f"unknown export format {fmt!r}")


def file_name(view_id: str, fmt: str) -> str:
    """A download name made only of safe characters."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", view_id).strip("_") or "table"
    return f"tiplens_{stem}.{fmt}"
