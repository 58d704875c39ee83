"""GDP per capita, PPP: World Bank WDI series NY.GDP.PCAP.PP.KD as exported by Our World in Data.

Dataset (``Raw.dataset``): ``owid_gdp_per_capita``: OWID's grapher export
``gdp-per-capita-worldbank.csv`` with columns ``Entity, Code, Year, GDP per capita, PPP (constant
2021 international $)``; one row per entity and year.

Indicator emitted: ``gdp_per_capita_ppp`` (measure ``covariate``, ``year`` = the data year). Its
unit is read from the value column's header: ``constant 2021 international $ (PPP)`` for this file;
an export in another price base (e.g. constant 2017 $) gets that base's unit, so two vintages are
never mixed silently.

Traps handled:

* Mixed entities. Rows with a three-letter ISO3 ``Code`` are countries and territories; ``OWID_KOS``
  is Kosovo (override to ``XKX``); ``OWID_WRL`` (World) and the aggregates without a code
  (``High-income countries``, ``Sub-Saharan Africa (WB)``, ``European Union (27)``...) are
  quarantined as ``not a country`` (the override table lists them). A code-less entity whose
  name is a country (``Faeroe Islands`` in this export) is resolved by name and kept, with a flag.
* A row without a number is quarantined (``no value``); a key (iso3, year) given twice is kept on
  both rows with ``status='conflict'``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.codes import resolve_rows
from ._base import (NA_TOKENS, Normalised, Raw, check_file, collect_quarantine, csv_header, parse_number, read_csv_text,
                    require_rows, row_numbers)

NAME = "gdp"
TITLE = "GDP per capita, PPP (constant international $), World Bank via Our World in Data"
PUBLISHER = "World Bank, World Development Indicators (NY.GDP.PCAP.PP.KD); processed by Our World in Data"
CITATION = "World Bank (2024), processed by Our World in Data: GDP per capita, PPP (constant 2021 international $)"
TERMS = ("CC BY 4.0 (the publishers' terms for Our World in Data grapher data and World Bank WDI; the copy itself "
         "states none): cite the World Bank and Our World in Data.")
REDISTRIBUTABLE = True

DATASET = "owid_gdp_per_capita"
INDICATOR = "gdp_per_capita_ppp"
KEY_COLUMNS = ["Entity", "Code", "Year"]
_VALUE_HEADER = re.compile(r"^GDP per capita, PPP\b", re.IGNORECASE)
_PRICE_BASE = re.compile(r"constant (\d{4}) international \$", re.IGNORECASE)
_FIX = ("Download the Our World in Data export gdp-per-capita-worldbank.csv again "
        "(columns Entity, Code, Year, GDP per capita, PPP (constant 2021 international $))")


def _value_column(columns) -> str | None:
    return next((c for c in columns if _VALUE_HEADER.match(str(c).strip())), None)


def detect(path: Path) -> bool:
    """True for an OWID export with ``Entity, Code, Year`` and a ``GDP per capita, PPP`` column."""
    try:
        header = [c.strip() for c in csv_header(Path(path))]
        return set(KEY_COLUMNS) <= set(header) and _value_column(header) is not None
    except Exception:  # detection never raises
        return False


def unit_of(value_header: str) -> str:
    """The unit stated by the value column header, e.g. ``constant 2021 international $ (PPP)``."""
    match = _PRICE_BASE.search(value_header)
    return f"constant {match.group(1)} international $ (PPP)" if match else value_header


def read(path: Path) -> Raw:
    """The export as published, every cell text."""
    path = check_file(Path(path))
    frame = read_csv_text(path, required=set(KEY_COLUMNS), fix=_FIX)
    frame.columns = [str(c).strip() for c in frame.columns]
    value_column = _value_column(frame.columns)
    if value_column is None:
        raise InputFileError(path, "is missing the column 'GDP per capita, PPP (...)'", _FIX, row=1)
    require_rows(path, frame, _FIX)
    return Raw(path=path, dataset=DATASET, frame=frame, first_row=2, edition=None,
               meta={"value_column": value_column})


def normalise(raw: Raw) -> Normalised:
    """One observation per country-year with a value; aggregates and World quarantined."""
    frame = raw.frame
    n = len(frame)
    value_column = raw.meta.get("value_column") or _value_column(frame.columns)
    row_number = row_numbers(raw)
    entity = frame["Entity"].astype("str").str.strip()
    code = frame["Code"].astype("str").str.strip()
    text_value = frame[value_column].astype("str").str.strip()

    # codes first (ISO3, OWID_KOS, OWID_WRL); the entity name only where OWID gives no code
    blank = code.eq("")
    code_iso3, code_status, code_note = resolve_rows(code, "iso3")
    name_iso3, name_status, name_note = resolve_rows(entity[blank], "name")
    iso3 = code_iso3.where(~blank, name_iso3)
    status = code_status.where(~blank, name_status)
    note = code_note.where(~blank, name_note)
    label = code.where(~blank, entity)

    year = pd.to_numeric(frame["Year"].astype("str").str.strip(), errors="coerce")
    value = parse_number(text_value).where(~text_value.isin(NA_TOKENS))
    problems = [
        (status.eq("non_country"), "Code", "not a country: " + label + " (" + note + ")"),
        (status.eq("unmatched"), "Code", "country not matched: " + label + " / " + entity),
        (year.isna() | (year % 1 != 0) | ~year.between(1800, 2100), "Year",
         "year is not a year: " + frame["Year"].astype("str")),
        (value.isna(), value_column, "no value: " + text_value.where(text_value.ne(""), "(blank)")),
        (value < 0, value_column, pd.Series("negative GDP per capita", index=frame.index)),
    ]
    quarantine, rejected = collect_quarantine(frame, row_number, problems)

    keep = ~rejected
    conflict = keep & pd.DataFrame({"i": iso3, "y": year}).where(keep).duplicated(keep=False)
    by_name_kept = keep & blank
    notes = []
    if by_name_kept.any():
        notes.append(f"{int(by_name_kept.sum())} rows without a code resolved by name and kept: "
                     f"{', '.join(sorted(entity[by_name_kept].unique()))}")
    if conflict.any():
        notes.append(f"{int(conflict.sum())} rows share (country, year) with another row: kept, "
                     "flagged status='conflict'")
    flag = np.where(conflict, "conflict: country-year given on several rows",
                    np.where(blank, "no code in the file: country resolved from the entity name", None))
    kept_value = value[keep].to_numpy()
    obs = pd.DataFrame({
        "iso3": iso3[keep].to_numpy(),
        "country": entity[keep].to_numpy(),
        "year": year[keep].astype("int64").to_numpy(),
        "indicator": INDICATOR,
        "measure": "covariate",
        "value": kept_value, "lower": kept_value, "upper": kept_value,
        "censored": False,
        "unit": unit_of(value_column),
        "status": np.where(conflict[keep], "conflict", "ok"),
        "flag": flag[keep.to_numpy()],
        "source_row": row_number[keep].to_numpy(),
        "source_rows": 1,
    })
    return Normalised(observations=obs, quarantine=quarantine, rows_read=n, rows_loaded=int(keep.sum()),
                      notes=notes)
