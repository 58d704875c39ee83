"""Tables that are safe to open in a spreadsheet: one rule for every CSV and Excel tiplens writes.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return) as a formula, so a country name or a reference title crafted that way would run when the
file is opened. Some spreadsheets drop leading blanks and quotes when they import a CSV file, so a
formula character after those counts too. Every such text cell and column name gets a leading
apostrophe, which spreadsheets read as "this is text". Numbers stay numbers.
"""

from __future__ import annotations

import re

import pandas as pd

#: Characters that make a spreadsheet cell a formula when they come first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


#: Blanks and quotes a spreadsheet may drop before it looks for a formula.
_LEADING_BLANKS_AND_QUOTES = re.compile(r"^[\s\"'\u00a0\u2000-\u200b\u3000\ufeff]+")


def neutralise(value):
    """``value`` with a leading apostrophe if it is text a spreadsheet would run as a formula
    (a formula character first, or after leading blanks and quotes)."""
    if not isinstance(value, str) or value.startswith("'"):  # already marked as text
        return value
    if value.startswith(FORMULA_STARTS) or _LEADING_BLANKS_AND_QUOTES.sub("", value).startswith(FORMULA_STARTS):
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
        elif (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
              or isinstance(values.dtype, pd.CategoricalDtype)):
            out[column] = values.astype(object).map(neutralise, na_action="ignore").astype(object)
    return out
