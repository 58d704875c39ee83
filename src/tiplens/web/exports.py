"""CSV and Excel downloads of a view's table, safe to open in a spreadsheet.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before them) as a formula, so a country name or a reference title crafted that way would run
when the download is opened. Every text cell and column name that starts with one of those
characters gets a leading apostrophe, which spreadsheets read as "this is text". Numbers stay numbers
(a negative count is a number, not a formula).
"""

from __future__ import annotations

import io
import re

import pandas as pd

#: Characters that make a spreadsheet cell a formula when they come first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def neutralise(value):
    """``value`` with a leading apostrophe if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot start a formula."""
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):  # Excel has no time zones: write UTC
            out[column] = values.dt.tz_convert("UTC").dt.tz_localize(None)
        elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            out[column] = values.map(neutralise, na_action="ignore").astype(object)
    return out


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
