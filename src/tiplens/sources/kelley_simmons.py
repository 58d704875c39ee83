"""Kelley & Simmons (AJPS 2015) replication panel, criminalization coding and Palermo ratification tables.

Datasets (detected by header):

``ajps_panel``
    ``kelley_simmons_ajps_2014_replication.csv`` (converted from Stata; 8,100 rows x 155 columns,
    1967-2011, keyed by ``cowcode`` and ``year``). Only 1999-2011 is substantive; earlier rows are
    padding and are quarantined whole ("padding row outside the substantive years 1999-2011").
``criminalization``
    ``criminalization_jk_2015-08-10.csv``: ``country, uncountrycode, year, ccode, crimlevel,
    adjcrimlevel, month, crim`` (1967-2014).
``palermo_year``
    ``palermo_ratification_year_derived.csv`` (DERIVED from the panel): one row per country.
``ratification_counts``
    ``palermo_ratifications_count.csv``: new and cumulative Palermo ratifications per year for the
    world, not per country: stored as ``records_palermo_ratification_counts``, not as observations.

Indicators
    From ``criminalization`` (every country-year as coded, 1967-2014; measure ``rated``, unit
    ``level 0-2``): ``criminalization`` = ``crimlevel`` (0 no, 1 partial, 2 full criminalization of
    trafficking in domestic law; category ``none``/``partial``/``full``) and
    ``criminalization_adjusted`` = ``adjcrimlevel``, the same level with a change that came late in
    the year moved to the next year (read from the data: the two differ only in years with a
    ``month`` of enactment; the file has no codebook). ``crim`` = 1 and ``month`` mark the year and
    month of a change and go into ``flag``.
    From ``palermo_year``: ``palermo_ratification_year`` (measure ``treaty_event``, unit ``year``),
    value = first panel year with ``ratproto2000 == 1``. The panel ends in 2011: a country not
    ratified by then is *censored*, not "never": ``value`` None, ``lower`` 2012, ``upper`` None,
    ``censored`` True, ``year`` 2011 (the last year observed), category ``not ratified by 2011``.
    From ``ajps_panel`` (1999-2011; see :data:`PANEL_VARIABLES`): ``palermo_ratified``,
    ``untoc_ratified`` (treaty_event, status 0/1 in that year), ``rule_of_law``, ``corruption``
    (covariates flagged as per-country constants), ``polity_democracy``, ``polity_autocracy``,
    ``fh_political_rights``, ``fh_civil_liberties``, ``women_in_parliament_pct``, ``gdp_per_capita``,
    ``population``, ``trade_pct_gdp`` (covariates). The panel's tier and 3P columns duplicate the
    sources ``tip_tiers`` and ``policy_3p`` and are not loaded.

Traps handled
    * ``protocoldate``/``unctocdate`` hold only a year and use 2012 for "not ratified when coded"
      (China, India and Ireland show 2012 although ``ratproto2000`` turns 1 in 2010-2011): never used as
      a ratification year; a disagreement with the derived year is flagged.
    * ``rule_of_law`` and ``corruption`` are one value per country repeated over the years (a country
      average, not annual WGI) and NA in 2010-2011: flagged ``per-country constant``.
    * ``women_par`` = -1 is a missing-value code, not a share: not loaded.
    * ``tier`` 555/666 are sentinels (the tier column is not loaded here).
    * Countries by COW number (``cowcode``/``ccode``) through ``cow_codes.csv``, never by the compressed
      names; ``un_ccode``/``uncountrycode`` are the authors' serial numbers, not UN M49 codes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.codes import country_keys
from ._base import (Normalised, Raw, check_file, collect_quarantine, country_problems, csv_header, observation_frame,
                    parse_number, read_csv_text, require_rows, row_numbers, typed_records, year_of)

NAME = "kelley_simmons"
TITLE = "Kelley & Simmons country-year panel: criminalization, Palermo/UNTOC ratification, covariates"
PUBLISHER = "Judith G. Kelley and Beth A. Simmons (replication data); Kelley & Heiss (Scorecard Diplomacy)"
CITATION = ("Kelley, J. G. & Simmons, B. A. (2015) Politics by Number: Indicators as Social Pressure in "
            "International Relations, American Journal of Political Science 59(1); Kelley, J. G. (2017) "
            "Scorecard Diplomacy, Cambridge University Press")
TERMS = ("scorecard-diplomacy repository, MIT licence (Kelley & Heiss 2017); covariates inside the panel "
         "belong to their original publishers (World Bank, Freedom House, Polity, ICRG).")
REDISTRIBUTABLE = False

PANEL_KEY = ["name", "un_ccode", "year", "cowcode", "ratproto2000", "protocoldate", "rule_of_law"]
CRIM_COLUMNS = ["country", "uncountrycode", "year", "ccode", "crimlevel", "adjcrimlevel", "month", "crim"]
PALERMO_COLUMNS = ["name", "cowcode", "protocoldate_raw", "unctocdate_raw", "ratproto2000_in_2011",
                   "first_year_ratproto2000_eq_1"]
COUNT_COLUMNS = ["year", "num_ratified", "num_ratifited_cum"]
SUBSTANTIVE = (1999, 2011)
PADDING_REASON = "padding row outside the substantive years 1999-2011"
CONSTANT_FLAG = "per-country constant: one country average repeated every year, not an annual value"
CENSORING_NOTE = ("palermo_ratification_year is censored at 2011: 'not ratified by 2011' is not 'never' "
                  "(lower bound 2012, no upper bound)")

#: panel column → (indicator, measure, unit, flag)
PANEL_VARIABLES: dict[str, tuple[str, str, str, str | None]] = {
    "ratproto2000": ("palermo_ratified", "treaty_event", "status 0/1 (Palermo Protocol ratified)", None),
    "rat2000": ("untoc_ratified", "treaty_event", "status 0/1 (UNTOC ratified)", None),
    "rule_of_law": ("rule_of_law", "covariate", "WGI-style score (country average)", CONSTANT_FLAG),
    "corruption": ("corruption", "covariate", "WGI-style score (country average)", CONSTANT_FLAG),
    "dem": ("polity_democracy", "covariate", "Polity democracy score 0-10", None),
    "autoc": ("polity_autocracy", "covariate", "Polity autocracy score 0-10", None),
    "fh_pr": ("fh_political_rights", "covariate", "Freedom House rating 1-7 (1 = most free)", None),
    "fh_cl": ("fh_civil_liberties", "covariate", "Freedom House rating 1-7 (1 = most free)", None),
    "women_par": ("women_in_parliament_pct", "covariate", "percent of seats", None),
    "gdppercapita": ("gdp_per_capita", "covariate", "USD per person (as in the panel)", None),
    "population_total": ("population", "covariate", "persons", None),
    "trade__ofgdp_": ("trade_pct_gdp", "covariate", "percent of GDP", None),
}
#: codes that mean "missing" in a panel column, not a value
MISSING_CODES = {"women_par": {-1.0}}
CRIM_LEVELS = {0.0: "none", 1.0: "partial", 2.0: "full"}
CRIM_UNIT = "level 0-2 (0 none, 1 partial, 2 full)"
FIX = "Download the file again (see kelley_simmons_panel/PROVENANCE.md for its repository)"


def _dataset_of(path: Path) -> str | None:
    names = set(csv_header(path))
    if set(PANEL_KEY) <= names:
        return "ajps_panel"
    if set(CRIM_COLUMNS) <= names:
        return "criminalization"
    if set(PALERMO_COLUMNS) <= names:
        return "palermo_year"
    if set(COUNT_COLUMNS) <= names and len(names) == len(COUNT_COLUMNS):
        return "ratification_counts"
    return None


def detect(path: Path) -> bool:
    try:
        return _dataset_of(Path(path)) is not None
    except Exception:  # detection never raises: an unreadable file is simply not this source
        return False


def read(path: Path) -> Raw:
    """The file as published, all cells text; no file states its edition."""
    path = check_file(Path(path))
    names = set(csv_header(path))
    if "ratproto2000" in names or "un_ccode" in names:
        dataset, required = "ajps_panel", PANEL_KEY + list(PANEL_VARIABLES)
    elif "crimlevel" in names or "adjcrimlevel" in names:
        dataset, required = "criminalization", CRIM_COLUMNS
    elif "first_year_ratproto2000_eq_1" in names or "protocoldate_raw" in names:
        dataset, required = "palermo_year", PALERMO_COLUMNS
    elif "num_ratified" in names:
        dataset, required = "ratification_counts", COUNT_COLUMNS
    else:
        raise InputFileError(path, "is not a Kelley-Simmons file (replication panel, criminalization, Palermo "
                             "ratification year or count)", "Check the file, or choose another --source", row=1)
    frame = read_csv_text(path, required=set(required), fix=FIX)
    require_rows(path, frame, FIX)
    return Raw(path=path, dataset=dataset, frame=frame, first_row=2, edition=None)


def normalise(raw: Raw) -> Normalised:
    handlers = {"ajps_panel": _normalise_panel, "criminalization": _normalise_criminalization,
                "palermo_year": _normalise_palermo, "ratification_counts": _normalise_counts}
    return handlers[raw.dataset](raw)


def _number(series: pd.Series) -> pd.Series:
    return parse_number(series.where(~series.astype("str").str.strip().eq("NA"), ""))


def _normalise_panel(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    year = year_of(frame["year"], 1900, 2100)
    keys = country_keys(cow=frame["cowcode"])
    values = {}
    for column in PANEL_VARIABLES:
        number = _number(frame[column])
        values[column] = number.where(~number.isin(MISSING_CODES.get(column, set())))
    present = pd.concat([v.notna() for v in values.values()], axis=1).any(axis=1)
    substantive = year.between(*SUBSTANTIVE)
    problems = [
        (year.isna(), "year", "year is not a year"),
        (year.notna() & ~substantive, "year", PADDING_REASON),
        (substantive & ~present, "year", "no value in any loaded panel variable"),
    ]
    problems += [(substantive & m, c, r) for m, c, r in country_problems(keys, frame["name"], "cowcode")]
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad
    parts = []
    for column, (indicator, measure, unit, flag) in PANEL_VARIABLES.items():
        mask = keep & values[column].notna()
        parts.append(observation_frame(
            frame.index[mask], iso3=keys["iso3"][mask], country=frame["name"][mask], year=year[mask],
            indicator=indicator, measure=measure, value=values[column][mask], lower=values[column][mask],
            upper=values[column][mask], unit=unit, status="ok", flag=flag, source_row=rows[mask]))
    obs = pd.concat(parts, ignore_index=True)
    notes = [f"ajps_panel: {int((year.notna() & ~substantive).sum())} rows before 1999 quarantined as padding",
             "ajps_panel: rule_of_law and corruption are per-country constants (flagged); women_par -1 is a "
             "missing code; tier and 3P columns are not loaded (see tip_tiers, policy_3p)"]
    return Normalised(obs, quarantine, len(frame), int(keep.sum()), notes=notes)


def _normalise_criminalization(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    year = year_of(frame["year"], 1900, 2100)
    keys = country_keys(cow=frame["ccode"])
    level = _number(frame["crimlevel"])
    adjusted = _number(frame["adjcrimlevel"])
    month = _number(frame["month"])
    changed = _number(frame["crim"]).eq(1)
    valid = set(CRIM_LEVELS)
    problems = [
        (year.isna(), "year", "year is not a year"),
        (level.notna() & ~level.isin(valid), "crimlevel", "crimlevel is not 0, 1 or 2: " + frame["crimlevel"]),
        (adjusted.notna() & ~adjusted.isin(valid), "adjcrimlevel",
         "adjcrimlevel is not 0, 1 or 2: " + frame["adjcrimlevel"]),
        (level.isna() & adjusted.isna(), "crimlevel", "no criminalization code (crimlevel and adjcrimlevel NA)"),
    ] + country_problems(keys, frame["country"], "ccode")
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad
    month_text = month.map(lambda m: f" (month {int(m)})" if m == m else "")
    flag = pd.Series(np.where(changed, "criminalization changed this year" + month_text, None), index=frame.index)
    parts = []
    for indicator, number in (("criminalization", level), ("criminalization_adjusted", adjusted)):
        mask = keep & number.notna()
        parts.append(observation_frame(
            frame.index[mask], iso3=keys["iso3"][mask], country=frame["country"][mask], year=year[mask],
            indicator=indicator, measure="rated", category=number[mask].map(CRIM_LEVELS),
            value=number[mask], lower=number[mask], upper=number[mask], unit=CRIM_UNIT, status="ok",
            flag=flag[mask], source_row=rows[mask]))
    obs = pd.concat(parts, ignore_index=True)
    notes = ["criminalization: Kelley-Simmons coding per country-year as coded (0 none, 1 partial, 2 full); "
             "criminalization_adjusted moves a late-year change to the next year"]
    return Normalised(obs, quarantine, len(frame), int(keep.sum()), notes=notes)


def _normalise_palermo(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    keys = country_keys(cow=frame["cowcode"])
    first = year_of(frame["first_year_ratproto2000_eq_1"].where(
        ~frame["first_year_ratproto2000_eq_1"].astype("str").str.strip().isin(["", "NA"]), ""), 1990, 2100)
    status_2011 = _number(frame["ratproto2000_in_2011"])
    protocol = _number(frame["protocoldate_raw"])
    ratified = first.notna()
    not_yet = first.isna() & status_2011.eq(0)
    problems = [
        (first.isna() & ~status_2011.eq(0), "first_year_ratproto2000_eq_1",
         "no ratification year although ratproto2000_in_2011 is not 0"),
        (ratified & ~status_2011.eq(1), "ratproto2000_in_2011",
         "ratified in " + frame["first_year_ratproto2000_eq_1"] + " but ratproto2000_in_2011 is not 1"),
    ] + country_problems(keys, frame["name"], "cowcode")
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad
    disagree = ratified & protocol.notna() & (protocol != first)
    protocol_text = protocol.map(lambda v: str(int(v)) if v == v else "NA")
    flag = np.where(not_yet, "censored at 2011: not ratified by 2011 in the panel, which is not 'never'",
                    np.where(disagree & protocol.eq(2012),
                             "protocoldate says 2012, the panel's placeholder for 'not ratified when coded'",
                             np.where(disagree, "protocoldate says " + protocol_text, None)))
    obs = observation_frame(
        frame.index[keep], iso3=keys["iso3"][keep], country=frame["name"][keep],
        year=first.where(ratified, SUBSTANTIVE[1])[keep], indicator="palermo_ratification_year",
        measure="treaty_event",
        category=pd.Series(np.where(ratified, "ratified", "not ratified by 2011"), index=frame.index)[keep],
        value=first[keep], lower=first.where(ratified, SUBSTANTIVE[1] + 1)[keep], upper=first[keep],
        censored=not_yet[keep], unit="year", status="ok",
        flag=pd.Series(flag, index=frame.index)[keep], source_row=rows[keep])
    notes = [CENSORING_NOTE, "palermo_ratification_year: only the year is known; exact dates come from the UN "
             "Treaty Collection (chapter XVIII-12-a)"]
    return Normalised(obs, quarantine, len(frame), int(keep.sum()), notes=notes)


def _normalise_counts(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    year = year_of(frame["year"], 1990, 2100)
    new = _number(frame["num_ratified"])
    cumulative = _number(frame["num_ratifited_cum"])
    problems = [(year.isna(), "year", "year is not a year"),
                (new.isna() | cumulative.isna(), "num_ratified", "count is not a number")]
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad
    records = pd.DataFrame({"year": year[keep].astype("int64"), "new_ratifications": new[keep],
                            "cumulative_ratifications": cumulative[keep], "scope": "world",
                            "source_row": rows[keep]}).reset_index(drop=True)
    notes = ["ratification_counts: world counts per year (not per country) stored as records, not observations"]
    return Normalised(pd.DataFrame(columns=["iso3", "year", "indicator", "value"]), quarantine, len(frame),
                      int(keep.sum()), records={"palermo_ratification_counts": typed_records(records)}, notes=notes)
