"""World Bank Worldwide Governance Indicators (WGI), 2020 update (1996-2019), long format.

Dataset (``Raw.dataset``): ``wgi_long``: one row per economy x year x indicator, columns
``"" (R row index), Country/Territory, Code, Year, Estimate, Lower, NumSrc, Rank, StdErr, Upper,
Indicator`` (the layout of ``2020_Worldwide_Governance_Indicators_1996-2019.csv``).

Indicators emitted (measure ``covariate``, ``year`` = the data year), for each of the six WGI
dimensions ``wgi_voice_accountability``, ``wgi_political_stability``,
``wgi_government_effectiveness``, ``wgi_regulatory_quality``, ``wgi_rule_of_law``,
``wgi_control_of_corruption``:

=================================  ==========  =================================================
indicator                          column      unit
=================================  ==========  =================================================
``wgi_<dimension>``                Estimate    governance score (about -2.5 to 2.5)
``wgi_<dimension>_se``             StdErr      standard error of the governance score
``wgi_<dimension>_pct_rank``       Rank        percentile rank (0-100)
``wgi_<dimension>_pct_lower``      Lower       percentile rank, lower bound of the 90% interval
``wgi_<dimension>_pct_upper``      Upper       percentile rank, upper bound of the 90% interval
``wgi_<dimension>_num_sources``    NumSrc      number of data sources
=================================  ==========  =================================================

Traps handled:

* Latin-1 encoding (``C\\xf4te d'Ivoire``): read as Latin-1 (a copy re-saved as UTF-8 is read as
  UTF-8, so no mojibake either way). The first column is an unnamed R row index (ignored).
* ``Lower``/``Upper``/``Rank`` are percentile ranks, not bounds of ``Estimate``: they are separate
  indicators, never the ``lower``/``upper`` of the estimate (those are censoring bounds in tiplens
  and equal the value here).
* 983 country-years have ``NA`` in every value column (no source covered them): quarantined with
  the reason ``no value``. Years are biennial before 2002 (no 1997, 1999, 2001): absent, not zero.
* Codes are World Bank codes, some not ISO (``KSV`` Kosovo, ``ROM`` Romania, ``ZAR`` DR Congo,
  ``TMP`` Timor-Leste, ``ADO`` Andorra, ``WBG`` West Bank and Gaza): mapped by the override table.
  Territories (Puerto Rico, Hong Kong, ...) keep their own ISO3; a code that is not a country is
  quarantined (``not a country``), an unknown one too (``country not matched``).
* A key (code, year, indicator) given twice is kept on both rows with ``status='conflict'``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..harmonise.codes import resolve_rows
from ._base import (NA_TOKENS, Normalised, Raw, check_file, collect_quarantine, csv_header, parse_number, read_csv_text,
                    require_rows, row_numbers, text_encoding)

NAME = "wgi"
TITLE = "Worldwide Governance Indicators (WGI), 2020 update, 1996-2019"
PUBLISHER = "World Bank (Kaufmann, Kraay and Mastruzzi)"
CITATION = ("Kaufmann, D., Kraay, A. and Mastruzzi, M., The Worldwide Governance Indicators, 2020 update, "
            "World Bank, www.govindicators.org")
TERMS = ("World Bank data product: cite Kaufmann, Kraay and Mastruzzi. The long-format copy is published under "
         "CC0 1.0 (Global-Development-and-Politics-of-Data/Chapter12_Governance); it does not state the World "
         "Bank's own terms.")
REDISTRIBUTABLE = True

DATASET = "wgi_long"
COLUMNS = ["Country/Territory", "Code", "Year", "Estimate", "Lower", "NumSrc", "Rank", "StdErr", "Upper",
           "Indicator"]
INDICATORS = {
    "VoiceandAccountability": "wgi_voice_accountability",
    "PoliticalStability": "wgi_political_stability",
    "GovernmentEffectiveness": "wgi_government_effectiveness",
    "RegulatoryQuality": "wgi_regulatory_quality",
    "RuleofLaw": "wgi_rule_of_law",
    "ControlofCorruption": "wgi_control_of_corruption",
}
#: value column -> (indicator suffix, unit)
VALUE_COLUMNS: dict[str, tuple[str, str]] = {
    "Estimate": ("", "governance score (about -2.5 to 2.5)"),
    "StdErr": ("_se", "standard error of the governance score"),
    "Rank": ("_pct_rank", "percentile rank (0-100)"),
    "Lower": ("_pct_lower", "percentile rank, lower bound of the 90% interval"),
    "Upper": ("_pct_upper", "percentile rank, upper bound of the 90% interval"),
    "NumSrc": ("_num_sources", "number of data sources"),
}
_FIX = "Download the WGI long-format file again (Latin-1 CSV with columns " + ", ".join(COLUMNS) + ")"


def detect(path: Path) -> bool:
    """True when the header has the WGI long-format columns."""
    try:
        header = {c.strip() for c in csv_header(Path(path))}
        return {"Country/Territory", "Code", "Estimate", "StdErr", "NumSrc", "Indicator"} <= header
    except Exception:  # detection never raises
        return False


def read(path: Path) -> Raw:
    """The file as published, every cell text; the R row index column is kept as read."""
    path = check_file(Path(path))
    encoding = text_encoding(path)
    frame = read_csv_text(path, encoding=encoding, required=set(COLUMNS), fix=_FIX)
    require_rows(path, frame, _FIX)
    return Raw(path=path, dataset=DATASET, frame=frame, first_row=2, edition=None)


def normalise(raw: Raw) -> Normalised:
    """Up to six observations per source row (estimate, SE, percentile rank and bounds, sources)."""
    frame = raw.frame
    n = len(frame)
    row_number = row_numbers(raw)
    text = {c: frame[c].astype("str").str.strip() for c in COLUMNS}
    code, name = text["Code"], text["Country/Territory"]

    iso3, status, country_note = resolve_rows(code, "iso3")
    indicator = text["Indicator"].map(INDICATORS)
    year = pd.to_numeric(text["Year"], errors="coerce")

    values, notes = {}, []
    for column in VALUE_COLUMNS:
        number = parse_number(text[column]).where(~text[column].isin(NA_TOKENS))
        garbage = number.isna() & ~text[column].isin(NA_TOKENS)
        if garbage.any():
            notes.append(f"{int(garbage.sum())} cell(s) of {column!r} are not numbers and were not loaded "
                         f"(rows {', '.join(str(r) for r in row_number[garbage].head(10))})")
        values[column] = number
    no_value = pd.concat(values, axis=1).isna().all(axis=1)

    problems = [
        (status.eq("non_country"), "Code", "not a country: " + code + " (" + country_note + ")"),
        (status.eq("unmatched"), "Code", "country not matched: " + code + " / " + name),
        (indicator.isna(), "Indicator", "unknown indicator: " + text["Indicator"]),
        (year.isna() | (year % 1 != 0) | ~year.between(1900, 2100), "Year", "year is not a year: " + text["Year"]),
        (no_value, "Estimate", pd.Series("no value: Estimate, StdErr, Rank, Lower, Upper and NumSrc all missing "
                                         "(no source covered this country-year)", index=frame.index)),
    ]
    quarantine, rejected = collect_quarantine(frame, row_number, problems)

    keep = ~rejected
    key = pd.DataFrame({"iso3": iso3, "year": year, "indicator": indicator})[keep]
    conflict = key.duplicated(keep=False).reindex(frame.index, fill_value=False)
    if conflict.any():
        notes.append(f"{int(conflict.sum())} rows share (code, year, indicator) with another row: kept, "
                     "flagged status='conflict'")
    long_parts = []
    for column, (suffix, unit) in VALUE_COLUMNS.items():
        have = keep & values[column].notna()
        value = values[column][have].to_numpy()
        long_parts.append(pd.DataFrame({
            "iso3": iso3[have].to_numpy(),
            "country": name[have].to_numpy(),
            "year": year[have].astype("int64").to_numpy(),
            "indicator": (indicator[have] + suffix).to_numpy(),
            "measure": "covariate",
            "value": value, "lower": value, "upper": value,
            "censored": False,
            "unit": unit,
            "status": np.where(conflict[have], "conflict", "ok"),
            "flag": np.where(conflict[have], "conflict: key given on several rows", None),
            "source_row": row_number[have].to_numpy(),
            "source_rows": 1,
        }))
    obs = pd.concat(long_parts, ignore_index=True)
    return Normalised(observations=obs, quarantine=quarantine, rows_read=n,
                      rows_loaded=int(keep.sum()), notes=notes)
