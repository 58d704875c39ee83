"""UNDP Human Development Report 2023/24: composite indices, complete time series 1990-2022.

Dataset (``Raw.dataset``): ``composite_indices``: the wide file
``HDR23-24_Composite_indices_complete_time_series.csv``, one row per country or aggregate,
identifier columns ``iso3, country, hdicode, region`` and 1,072 ``<indicator>_<year>`` columns.

Indicators emitted (measure ``covariate``; ``year`` = the year in the column name): every
indicator-year cell with a value, as ``hdr_<indicator>`` in lower case (``hdr_le``, ``hdr_gnipc``,
``hdr_gni_pc_f``, ``hdr_mmr``, ``hdr_hdi_rank`` ...), except the two with canonical tiplens names:
``hdi`` (Human Development Index) and ``gii`` (Gender Inequality Index). Units are in
:data:`UNITS` (from the HDR technical notes; ``pop_total`` is in millions). ``hdicode``, the HDI
group, becomes ``hdr_hdicode`` (value 1 Low ... 4 Very high, ``category`` = the label as published)
under the file's latest year, the year of the HDI it classifies (2022 here). ``region`` (UNDP's
developing-country regions ``AS, EAP, ECA, LAC, SA, SSA``; blank for developed countries) is
``source_region``.

Traps handled:

* Latin-1 encoding (``C\\xf4te d'Ivoire``, ``T\\xfcrkiye``): read as Latin-1 (a copy re-saved as
  UTF-8 is read as UTF-8).
* Indicator prefixes contain underscores (``gni_pc_f``, ``diff_hdi_phdi``, ``hdi_rank``): columns
  are split on the LAST underscore, and only a four-digit year counts as one.
* The 11 ``ZZ*`` rows (``ZZA.VHHD`` ... ``ZZK.WORLD``) are aggregates: quarantined as
  ``not a country`` (the override table lists them). Nothing is dropped silently.
* Blank cells and the one ``NaN`` text (Rwanda, ``diff_hdi_phdi_1994``) are missing values, not
  observations. A country row with no value at all would be quarantined (``no value``).
* The series is back-cast in each HDR edition: values differ from older HDR tables for the same
  year, so never mix editions.

The reshape is vectorised (one flat array of about 220,000 cells, no per-cell Python).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.codes import resolve_rows
from ._base import (NA_TOKENS, Normalised, Raw, check_file, collect_quarantine, csv_header, parse_number, read_csv_text,
                    require_rows, row_numbers, text_encoding)

NAME = "hdr"
TITLE = "UNDP Human Development Report 2023/24, composite indices complete time series"
PUBLISHER = "United Nations Development Programme (UNDP), Human Development Report Office"
CITATION = ("UNDP (United Nations Development Programme) 2024. Human Development Report 2023/2024. "
            "Composite indices complete time series. New York. https://hdr.undp.org/data-center")
TERMS = ("UNDP HDRO data; cite UNDP HDR 2023/24. The copy used here states no licence and UNDP's terms were "
         "not checked, so its rows are not shipped until they are.")
REDISTRIBUTABLE = True

DATASET = "composite_indices"
ID_COLUMNS = ["iso3", "country", "hdicode", "region"]
CANONICAL = {"hdi": "hdi", "gii": "gii"}
HDI_GROUPS = {"low": 1.0, "medium": 2.0, "high": 3.0, "very high": 4.0}
HDI_GROUP_UNIT = "HDI group: 1 Low, 2 Medium, 3 High, 4 Very high"

#: indicator prefix -> unit (HDR 2023/24 technical notes)
UNITS: dict[str, str] = {
    "hdi": "index (0-1)", "hdi_f": "index (0-1)", "hdi_m": "index (0-1)",
    "le": "years", "le_f": "years", "le_m": "years",
    "eys": "years", "eys_f": "years", "eys_m": "years",
    "mys": "years", "mys_f": "years", "mys_m": "years",
    "gnipc": "2017 PPP $", "gni_pc_f": "2017 PPP $", "gni_pc_m": "2017 PPP $",
    "gdi": "ratio (female HDI / male HDI)", "gdi_group": "GDI group (1-5)",
    "ihdi": "index (0-1)", "coef_ineq": "%", "loss": "%",
    "ineq_le": "%", "ineq_edu": "%", "ineq_inc": "%",
    "gii": "index (0-1, higher is more unequal)",
    "mmr": "deaths per 100,000 live births", "abr": "births per 1,000 women aged 15-19",
    "se_f": "% of population aged 25 and older", "se_m": "% of population aged 25 and older",
    "pr_f": "% of parliamentary seats", "pr_m": "% of parliamentary seats",
    "lfpr_f": "% of population aged 15 and older", "lfpr_m": "% of population aged 15 and older",
    "phdi": "index (0-1)", "diff_hdi_phdi": "%",
    "co2_prod": "tonnes per capita", "mf": "tonnes per capita",
    "pop_total": "millions",
    "hdi_rank": "rank", "gii_rank": "rank", "rankdiff_hdi_phdi": "rank difference",
}
_YEAR_COLUMN = re.compile(r"^(.+)_(\d{4})$")
_FIX = ("Download HDR23-24_Composite_indices_complete_time_series.csv again from hdr.undp.org/data-center "
        "(a Latin-1 CSV with columns iso3, country, hdicode, region, hdi_1990, ...)")


def detect(path: Path) -> bool:
    """True for a header with ``iso3, country, hdicode, region`` and ``hdi_<year>`` columns."""
    try:
        header = [c.strip() for c in csv_header(Path(path))]
        return set(ID_COLUMNS) <= set(header) and any(re.fullmatch(r"hdi_\d{4}", c) for c in header)
    except Exception:  # detection never raises
        return False


def read(path: Path) -> Raw:
    """The wide file as published, every cell text."""
    path = check_file(Path(path))
    encoding = text_encoding(path)
    frame = read_csv_text(path, encoding=encoding, required=set(ID_COLUMNS), fix=_FIX)
    frame.columns = [str(c).strip() for c in frame.columns]
    if not any(_YEAR_COLUMN.match(c) for c in frame.columns):
        raise InputFileError(path, "has no <indicator>_<year> columns (e.g. hdi_2022)", _FIX, row=1)
    require_rows(path, frame, _FIX)
    return Raw(path=path, dataset=DATASET, frame=frame, first_row=2, edition=None)


def indicator_name(prefix: str) -> str:
    """tiplens indicator for an HDR column prefix: ``hdi``/``gii`` as is, else ``hdr_<prefix>``."""
    prefix = prefix.lower()
    return CANONICAL.get(prefix, f"hdr_{prefix}")


def normalise(raw: Raw) -> Normalised:
    """Every indicator-year cell with a value as one observation; aggregates quarantined."""
    frame = raw.frame
    n = len(frame)
    row_number = row_numbers(raw)
    code = frame["iso3"].astype("str").str.strip()
    name = frame["country"].astype("str").str.strip()
    region = frame["region"].astype("str").str.strip().replace("", None)
    hdicode = frame["hdicode"].astype("str").str.strip()

    year_columns = {c: _YEAR_COLUMN.match(c).groups() for c in frame.columns if _YEAR_COLUMN.match(c)}
    notes = [f"column {c!r} is neither an identifier nor <indicator>_<year>: not loaded"
             for c in frame.columns if c not in year_columns and c not in ID_COLUMNS]
    latest_year = max(int(y) for _, y in year_columns.values())

    iso3, status, country_note = resolve_rows(code, "iso3")

    # wide -> long: one flat array of cells with their row and column positions (no per-cell Python)
    columns = list(year_columns)
    cells = frame[columns].to_numpy(dtype=object)
    row_pos = np.repeat(np.arange(n), len(columns))
    col_pos = np.tile(np.arange(len(columns)), n)
    text = pd.Series(cells.ravel(), dtype="str").str.strip()
    token = text.isin(NA_TOKENS)  # includes '' and Rwanda's 'NaN'
    value = parse_number(text).where(~token)
    garbage = (value.isna() & ~token).to_numpy()
    if garbage.any():
        notes.append(f"{int(garbage.sum())} cell(s) are not numbers and were not loaded: " + ", ".join(
            f"row {raw.first_row + r} {columns[c]}={t!r}"
            for r, c, t in zip(row_pos[garbage][:10], col_pos[garbage][:10], text[garbage][:10])))
    present = value.notna().to_numpy()
    row_pos, col_pos, value = row_pos[present], col_pos[present], value.to_numpy()[present]

    group = hdicode.str.lower().map(HDI_GROUPS)
    unknown_group = hdicode.ne("") & group.isna()
    if unknown_group.any():
        notes.append(f"unknown hdicode value(s) not loaded: {', '.join(sorted(hdicode[unknown_group].unique()))}")
    has_value = pd.Series(np.isin(np.arange(n), row_pos), index=frame.index) | group.notna()

    problems = [
        (status.eq("non_country"), "iso3", "not a country: " + code + " / " + name + " (" + country_note + ")"),
        (status.eq("unmatched"), "iso3", "country not matched: " + code + " / " + name),
        (~has_value, None, pd.Series("no value in any indicator column", index=frame.index)),
    ]
    quarantine, rejected = collect_quarantine(frame, row_number, problems)
    keep = (~rejected).to_numpy()

    # per-column attributes, then the hdicode groups appended as one more "column"
    column_prefix = [year_columns[c][0].lower() for c in columns]
    column_indicator = np.array([indicator_name(p) for p in column_prefix] + ["hdr_hdicode"], dtype=object)
    column_unit = np.array([UNITS.get(p) for p in column_prefix] + [HDI_GROUP_UNIT], dtype=object)
    column_year = np.array([int(year_columns[c][1]) for c in columns] + [latest_year])
    grouped = keep & group.notna().to_numpy()
    loaded_cell = keep[row_pos]
    row_pos = np.concatenate([row_pos[loaded_cell], np.flatnonzero(grouped)])
    col_pos = np.concatenate([col_pos[loaded_cell], np.full(int(grouped.sum()), len(columns))])
    value = np.concatenate([value[loaded_cell], group.to_numpy()[grouped]]).astype("float64")
    category = np.concatenate([np.full(int(loaded_cell.sum()), None, dtype=object),
                               hdicode.to_numpy(dtype=object)[grouped]])

    kept_iso3 = iso3.where(keep)
    conflict = (kept_iso3.notna() & kept_iso3.duplicated(keep=False)).to_numpy()
    if conflict.any():
        notes.append(f"{int(conflict.sum())} rows give the same iso3 as another row: kept, flagged "
                     "status='conflict'")
    is_conflict = conflict[row_pos]
    obs = pd.DataFrame({
        "iso3": iso3.to_numpy(dtype=object)[row_pos],
        "country": name.to_numpy(dtype=object)[row_pos],
        "source_region": region.to_numpy(dtype=object)[row_pos],
        "year": column_year[col_pos].astype("int64"),
        "indicator": column_indicator[col_pos],
        "measure": "covariate",
        "category": category,
        "value": value, "lower": value, "upper": value,
        "censored": False,
        "unit": column_unit[col_pos],
        "status": np.where(is_conflict, "conflict", "ok"),
        "flag": np.where(is_conflict, "conflict: iso3 given on several rows", None),
        "source_row": row_number.to_numpy()[row_pos],
        "source_rows": 1,
    })
    unknown_units = sorted({p for p in column_prefix if p not in UNITS})
    if unknown_units:
        notes.append(f"indicator(s) without a known unit (unit left empty): {', '.join(unknown_units)}")
    return Normalised(observations=obs.reset_index(drop=True), quarantine=quarantine, rows_read=n,
                      rows_loaded=int(keep.sum()), notes=notes)
