"""The 3P Anti-Trafficking Policy Index (Cho, Dreher & Neumayer), as used by Kelley & Heiss.

Datasets (detected by header):

``policy_index``
    ``policy_index.csv``: ``countryname, year, cow, tier, p, prosecution, prevention, protection,
    country_name, iso, start_year, in.report, ...`` (1999-2014, scores 2000-2013).
``cho_tiers``
    ``criminalization-cho-tiers_jk_2015-08-10.csv`` (converted from Stata): ``name, year, ccode,
    tierupdated, code, prosecution, protection, prevention, p, ..., crimlevel, ...``. Same 3P scores,
    merged with TIP tiers and the Kelley-Simmons criminalization codes.

Indicators (measure ``rated``; ``year`` = the year the index scores)
    ``p3_prosecution``, ``p3_protection``, ``p3_prevention``: 1 (no compliance) to 5 (full compliance),
    unit ``score 1-5``; ``p3_total`` = their sum (``p``), unit ``score 3-15``.
    Both files carry the same scores: load one of the two, or let the panel prefer one dataset.

Not emitted, and why
    The tier columns (``tier``, ``tierupdated``) duplicate source ``tip_tiers``; ``crimlevel`` and the
    ``change*``/``time.in.report`` columns duplicate ``kelley_simmons`` or are derived from other columns.

Traps handled
    * ``tierupdated`` uses the sentinels 555 (not yet in the TIP report) and 666 (Special Case): they are
      not tiers and no arithmetic is done on them (the tier column is not loaded at all).
    * Names are compressed (``CentralAfRep``, ``SolomanIs``); ``code`` in ``cho_tiers`` is not ISO3
      but the COW letter code, and ``MAC`` stands for both Macau and Macedonia. Countries are joined on
      the ISO3 column (``policy_index.iso``, where given) or the COW number, never on names or ``code``.
      The files' own codes 1000-1003 (Hong Kong, Kosovo, Macao, Serbia) are in ``cow_codes.csv``.
    * ``p`` is NA whenever a component is NA; where all are present it must equal their sum, and a
      row where it does not is flagged. Rows without any score (all of 1999, countries not yet scored)
      are quarantined: nothing in them is loaded.
    * Scores outside 1-5 (components) or 3-15 (``p``) are quarantined.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.codes import country_keys
from ._base import (Normalised, Raw, check_file, collect_quarantine, country_problems, csv_header, observation_frame,
                    parse_number, read_csv_text, require_rows, row_numbers, year_of)

NAME = "policy_3p"
TITLE = "3P Anti-Trafficking Policy Index (prosecution, protection, prevention)"
PUBLISHER = "Seo-Young Cho, Axel Dreher and Eric Neumayer; files as used by Judith Kelley and Andrew Heiss"
CITATION = ("Cho, S.-Y., Dreher, A. & Neumayer, E. (2014) The Determinants of Anti-Trafficking Policies: "
            "Evidence from a New Index, Scandinavian Journal of Economics 116(2); Kelley, J. G. (2017) "
            "Scorecard Diplomacy, Cambridge University Press")
TERMS = ("Index by Cho, Dreher & Neumayer (cite their 2014 article); Kelley/Heiss files MIT-licensed "
         "(scorecard-diplomacy); the From-the-Trenches repository has no licence file.")
REDISTRIBUTABLE = False

POLICY_COLUMNS = ["countryname", "year", "cow", "tier", "p", "prosecution", "prevention", "protection",
                  "country_name", "iso"]
CHO_COLUMNS = ["name", "year", "ccode", "tierupdated", "code", "prosecution", "protection", "prevention", "p"]
SCORES = {  # column → (indicator, unit, lowest, highest)
    "prosecution": ("p3_prosecution", "score 1-5", 1, 5),
    "protection": ("p3_protection", "score 1-5", 1, 5),
    "prevention": ("p3_prevention", "score 1-5", 1, 5),
    "p": ("p3_total", "score 3-15", 3, 15),
}
COMPONENTS = ["prosecution", "protection", "prevention"]
FIX = "Download the file again (see anti_tip_policy_3p/PROVENANCE.md for its repository)"


def _dataset_of(path: Path) -> str | None:
    names = set(csv_header(path))
    if set(POLICY_COLUMNS) <= names and "in.report" in names:
        return "policy_index"
    if set(CHO_COLUMNS) <= names:
        return "cho_tiers"
    return None


def detect(path: Path) -> bool:
    try:
        return _dataset_of(Path(path)) is not None
    except Exception:  # detection never raises: an unreadable file is simply not this source
        return False


def read(path: Path) -> Raw:
    """The file as published, all cells text; neither file states its edition."""
    path = check_file(Path(path))
    names = set(csv_header(path))
    if "countryname" in names or "in.report" in names:
        dataset, required = "policy_index", POLICY_COLUMNS
    elif "tierupdated" in names or "ccode" in names:
        dataset, required = "cho_tiers", CHO_COLUMNS
    else:
        raise InputFileError(path, "is not a 3P policy index file (expected the columns of policy_index.csv or "
                             "criminalization-cho-tiers)", "Check the file, or choose another --source", row=1)
    frame = read_csv_text(path, required=set(required), fix=FIX)
    require_rows(path, frame, FIX)
    return Raw(path=path, dataset=dataset, frame=frame, first_row=2, edition=None)


def normalise(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    year = year_of(frame["year"])
    if raw.dataset == "policy_index":
        # 'NA' here is a missing ISO code (Namibia is 'NAM'): blank it so the COW code decides
        iso = frame["iso"].where(~frame["iso"].astype("str").str.strip().eq("NA"), "")
        keys = country_keys(iso=iso, cow=frame["cow"])
        label, code_column = frame["countryname"], "cow"
    else:
        keys = country_keys(cow=frame["ccode"])
        label, code_column = frame["name"], "ccode"
    scores = {c: parse_number(frame[c].where(~frame[c].astype("str").str.strip().eq("NA"), "")) for c in SCORES}
    text_present = {c: ~frame[c].astype("str").str.strip().isin(["", "NA"]) for c in SCORES}
    any_score = pd.concat([s.notna() for s in scores.values()], axis=1).any(axis=1)
    problems = [(year.isna(), "year", "year is not a year")]
    for column, (_, _, low, high) in SCORES.items():
        problems.append((text_present[column] & scores[column].isna(), column,
                         f"{column} is not a number: " + frame[column]))
        problems.append((scores[column].notna() & ~scores[column].between(low, high), column,
                         f"{column} outside {low}-{high}: " + frame[column]))
    problems.append((~any_score, "p", "no 3P score in this row (prosecution, protection, prevention and p all NA)"))
    problems += country_problems(keys, label, code_column)
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad

    total_of_parts = sum(scores[c] for c in COMPONENTS)
    sum_mismatch = scores["p"].notna() & total_of_parts.notna() & (scores["p"] != total_of_parts)
    parts = []
    for column, (indicator, unit, _, _) in SCORES.items():
        mask = keep & scores[column].notna()
        flag = None
        if column == "p":
            flag = pd.Series(np.where(sum_mismatch, "p differs from the sum of its three components", None),
                             index=frame.index)[mask]
        parts.append(observation_frame(
            frame.index[mask], iso3=keys["iso3"][mask], country=label[mask], year=year[mask], indicator=indicator,
            measure="rated", value=scores[column][mask], lower=scores[column][mask], upper=scores[column][mask],
            unit=unit, status="ok", flag=flag, source_row=rows[mask]))
    obs = pd.concat(parts, ignore_index=True)
    notes = ["3P scores: year is the year the index scores; policy_index.csv and criminalization-cho-tiers carry "
             "the same scores (load one, or prefer one dataset in a panel)",
             "tier columns are not loaded (see source tip_tiers); 555/666 in tierupdated are not tiers"]
    if sum_mismatch[keep].any():
        notes.append(f"{int(sum_mismatch[keep].sum())} row(s) where p is not the sum of its components: flagged")
    return Normalised(obs, quarantine, len(frame), int(keep.sum()), notes=notes)
