"""UNODC SHERLOC case law (181 US trafficking cases, coded extract) and Polaris hotline totals by state.

Both files come from the 2017 web map ``RossThorn/human-trafficking-viz``:

``cldb_us_cases``
    ``HumanTrafficking_CLDB.csv``: one row per US court case in UNODC's Human Trafficking Case Law
    Database, with UNODC's coded fields. → record table ``case_law`` (sensitive), one row per case,
    ``iso3 = 'USA'``.
``polaris_hotline_states``
    ``polaris_hotline_TotalCallsCases_by_state.csv`` (``state, calls, cases``): National Human
    Trafficking Hotline contacts per state as shown by Polaris c. 2017. → observations
    ``polaris_hotline_calls`` (unit ``calls``) and ``polaris_hotline_cases`` (unit ``cases``),
    measure ``covariate``, ``iso3 = 'USA'``, ``dimension = 'us_state'``, ``category`` = the state,
    ``year`` empty (cumulative totals; the file states no period), ``flag`` :data:`POLARIS_FLAG`.

Privacy: the columns that name people are dropped when the file is read (:data:`DROPPED_COLUMNS`):
``Name`` (``United States v. <defendant>``), ``FactSummary`` and ``CommentarySignificantFeatures``
(free text naming defendants and victims' pseudonyms) and ``Link`` (its URL slug is the case name).
Every other column was checked by hand: court names, codes and counts only. The UNODC case id
(``USA178``) is kept.

Traps handled (parse what is parseable, keep the raw text beside it, flag the rest):

* ``VerdictDate`` mixes ``M/D/YY`` and the placeholder ``YYYY-MM-DD`` (22 rows): parsed to ISO
  ``verdict_date`` and ``verdict_year`` (two-digit years above :data:`PIVOT_YY` are 19xx), raw in
  ``verdict_date_raw``; the placeholder and anything unparseable are flagged.
* ``Place`` is ``?`` for 25 cases, ``? NY`` where uncertain, ``;``- or ``,``-separated lists,
  names (``AmericanSamoa``, ``Saipan``) or things that are no US state (``Kuwait``,
  ``All over USA``, ``HA``): ``places`` holds the recognised USPS codes, ``place_uncertain`` the
  ``?``, ``places_raw`` the text; unrecognised parts are flagged, never guessed.
* ``NumberVictims`` is text (``3``, ``15+``, ``25-100*``, ``Several``): ``victims_min`` /
  ``victims_max`` hold what a number states (``15+`` → 15 / None), raw in ``number_victims_raw``.
* Multi-valued fields are ``;``-separated with embedded newlines and inconsistent case: split,
  whitespace collapsed, each value written in its most frequent spelling in the file, joined
  with ``; `` (raw kept in ``<field>_raw``).
* Yes/No fields (``Yes``, ``yes``, ``NO``, ``NA``, ``Yes*``) become booleans; a trailing ``*``
  (the coder's mark) is removed and flagged.
* Two rows share one UNODC case id (and link): both are kept and flagged.
* Polaris writes multi-word state names with hyphens (``New-York``): matched to the state's name.
* The file mixes CR and LF line ends inside quoted fields: read with a real CSV parser; row
  numbers count records (as a spreadsheet shows them), not physical lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ._base import (Normalised, Raw, check_file, concat_quarantine, csv_header, parse_number, quarantine_frame,
                    read_csv_text, require_rows, row_numbers)

NAME = "case_law"
TITLE = "UNODC Human Trafficking Case Law Database (US cases) and Polaris hotline totals by state"
PUBLISHER = "UNODC (SHERLOC case law database); Polaris (National Human Trafficking Hotline)"
CITATION = ("UNODC SHERLOC Human Trafficking Case Law Database, unodc.org/cld (US cases, 2017 extract); "
            "Polaris, National Human Trafficking Hotline state statistics (c. 2017)")
TERMS = "UNODC and Polaris content; cite both publishers and check their terms before redistribution."
REDISTRIBUTABLE = False

DATASET_CASES = "cldb_us_cases"
DATASET_POLARIS = "polaris_hotline_states"

CLDB_COLUMNS = ["WebOrder", "Case", "Court", "CourtJoinName", "Name", "VerdictDate", "Place", "FactSummary",
                "Link", "CommentarySignificantFeatures", "Offences", "ExploitationSector", "ActsInvolved",
                "MeansUsed", "ExploitativePurposes", "FormOfTrafficking", "NumberVictims", "MinorsIncluded",
                "FemaleVictim(s)", "MaleVictim(s)", "FemaleDefendant(s)", "MaleDefendant(s)",
                "AmericanNationality", "ForeignNationality"]
POLARIS_COLUMNS = ["state", "calls", "cases"]
#: Columns removed when the case file is read: they name people.
DROPPED_COLUMNS = ("Name", "FactSummary", "CommentarySignificantFeatures", "Link")
MULTI_VALUED = {"Offences": "offences", "ExploitationSector": "exploitation_sector",
                "ActsInvolved": "acts_involved", "MeansUsed": "means_used",
                "ExploitativePurposes": "exploitative_purposes", "FormOfTrafficking": "form_of_trafficking"}
YES_NO = {"MinorsIncluded": "minors_included", "FemaleVictim(s)": "female_victims",
          "MaleVictim(s)": "male_victims", "FemaleDefendant(s)": "female_defendants",
          "MaleDefendant(s)": "male_defendants", "AmericanNationality": "american_nationality",
          "ForeignNationality": "foreign_nationality"}
#: Two-digit verdict years up to this are 20xx, later ones 19xx (the extract dates from 2017).
PIVOT_YY = 17
DATE_PLACEHOLDER = "YYYY-MM-DD"
#: USPS codes of the states, DC and the inhabited territories.
US_CODES = frozenset("""AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI""".split())
#: Place names written out in the file, with their USPS code.
PLACE_NAMES = {"americansamoa": "AS", "american samoa": "AS", "saipan": "MP", "guam": "GU"}
US_STATES = ("Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii "
             "Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan "
             "Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania "
             "Tennessee Texas Utah Vermont Virginia Washington Wisconsin Wyoming").split() + [
    "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Rhode Island",
    "South Carolina", "South Dakota", "West Virginia", "District of Columbia"]
POLARIS_FLAG = "contacts, not victims (cumulative hotline totals c. 2017)"
_FIX_CLDB = "Download HumanTrafficking_CLDB.csv again (github.com/RossThorn/human-trafficking-viz, data/)"
_FIX_POLARIS = "Download TotalCallsCases.csv again (github.com/RossThorn/human-trafficking-viz, Data/)"
_CLDB_KEY = {"WebOrder", "Case", "CourtJoinName", "VerdictDate", "NumberVictims", "FormOfTrafficking"}


# -- detection and reading --------------------------------------------------------------------
def _dataset_of(header: list[str]) -> str | None:
    names = [h.strip() for h in header]
    if _CLDB_KEY <= set(names):
        return DATASET_CASES
    if [n.casefold() for n in names] == POLARIS_COLUMNS:
        return DATASET_POLARIS
    return None


def detect(path: Path) -> bool:
    """True for the CLDB case extract or the Polaris state table (by their header row)."""
    try:
        return _dataset_of(csv_header(Path(path))) is not None
    except Exception:  # detection never raises
        return False


def read(path: Path) -> Raw:
    """The file with every cell as text; the case file without its name-bearing columns."""
    path = check_file(Path(path))
    dataset = _dataset_of(csv_header(path))
    if dataset is None:
        raise InputFileError(path, "has neither the UNODC case-law header (WebOrder, Case, ..., NumberVictims) "
                             "nor the Polaris header (state, calls, cases)", _FIX_CLDB, row=1)
    fix = _FIX_CLDB if dataset == DATASET_CASES else _FIX_POLARIS
    required = set(CLDB_COLUMNS) if dataset == DATASET_CASES else None
    frame = read_csv_text(path, required=required, fix=fix)
    frame.columns = [str(c).strip() for c in frame.columns]
    if dataset == DATASET_POLARIS:
        frame.columns = [c.casefold() for c in frame.columns]
    require_rows(path, frame, fix)
    dropped = [c for c in DROPPED_COLUMNS if c in frame.columns] if dataset == DATASET_CASES else []
    return Raw(path=path, dataset=dataset, frame=frame.drop(columns=dropped), first_row=2, edition=None,
               meta={"dropped_columns": dropped})


# -- helpers ----------------------------------------------------------------------------------
def _is_na(text: pd.Series) -> pd.Series:
    return text.str.strip().str.rstrip("*").str.strip().str.casefold().isin(("", "na", "n/a", "none"))


def _combine_flags(flags: list[pd.Series], index) -> pd.Series:
    flag = pd.Series("", index=index)
    for part in flags:
        flag = flag.str.cat(part.fillna(""), sep="; ").str.strip("; ")
    return flag.where(flag != "", None)


def _multi_valued(raw: pd.Series) -> pd.Series:
    """Split on ``;``, collapse whitespace, write each value in its most frequent spelling, rejoin."""
    parts = raw.str.split(";").explode()
    parts = parts.str.replace(r"\s+", " ", regex=True).str.strip().str.rstrip("*").str.strip()
    parts = parts[~_is_na(parts.fillna(""))]
    if parts.empty:
        return pd.Series(None, index=raw.index, dtype="str")
    key = parts.str.casefold()
    spelling = (pd.DataFrame({"key": key, "part": parts}).groupby(["key", "part"]).size()
                .reset_index(name="n").sort_values(["key", "n", "part"], ascending=[True, False, True])
                .drop_duplicates("key").set_index("key")["part"])
    canonical = key.map(spelling)
    joined = (pd.DataFrame({"row": canonical.index, "value": canonical.to_numpy()})
              .drop_duplicates().groupby("row", sort=False)["value"].agg("; ".join))
    return joined.reindex(raw.index).astype("str")


def _verdict_dates(raw: pd.Series, flags: list[pd.Series]) -> tuple[pd.Series, pd.Series]:
    text = raw.str.strip()
    parts = text.str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
    yy = pd.to_numeric(parts[2], errors="coerce")
    year = yy.where(parts[2].str.len() == 4, np.where(yy <= PIVOT_YY, 2000 + yy, 1900 + yy))
    iso = pd.to_datetime(pd.DataFrame({"year": year, "month": pd.to_numeric(parts[0], errors="coerce"),
                                       "day": pd.to_numeric(parts[1], errors="coerce")}), errors="coerce")
    iso_direct = pd.to_datetime(text.where(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}")), format="%Y-%m-%d",
                                errors="coerce")
    iso = iso.fillna(iso_direct)
    placeholder = text.eq(DATE_PLACEHOLDER)
    blank = _is_na(text)
    flags.append(pd.Series("VerdictDate is the placeholder YYYY-MM-DD (no date)", index=raw.index)
                 .where(placeholder, ""))
    flags.append(("VerdictDate not a date: '" + text + "'").where(iso.isna() & ~placeholder & ~blank, ""))
    date = iso.dt.strftime("%Y-%m-%d").where(iso.notna(), None)
    return date.astype("str"), iso.dt.year.astype("Int64")


def _places(raw: pd.Series, flags: list[pd.Series]) -> tuple[pd.Series, pd.Series]:
    text = raw.str.strip()
    uncertain = text.str.contains("?", regex=False)
    parts = text.str.replace("?", "", regex=False).str.replace("*", "", regex=False).str.split(r"[;,]").explode()
    parts = parts.str.strip()
    parts = parts[(parts != "") & ~_is_na(parts.fillna(""))]
    upper = parts.str.upper()
    code = upper.where(upper.isin(US_CODES), parts.str.casefold().map(PLACE_NAMES))
    unknown = parts[code.isna()]
    if len(unknown):
        odd = unknown.groupby(level=0).agg(", ".join)
        flags.append(("Place not a US state or territory code: '" + odd + "'").reindex(raw.index).fillna(""))
    codes = code.dropna()
    joined = (pd.DataFrame({"row": codes.index, "code": codes.to_numpy()}).drop_duplicates()
              .groupby("row", sort=False)["code"].agg("; ".join))
    return joined.reindex(raw.index).astype("str"), uncertain


def _victim_counts(raw: pd.Series, flags: list[pd.Series]) -> tuple[pd.Series, pd.Series]:
    text = raw.str.strip().str.rstrip("*").str.strip()
    exact = pd.to_numeric(text.where(text.str.fullmatch(r"\d+")), errors="coerce")
    at_least = pd.to_numeric(text.str.extract(r"^(\d+)\+$")[0], errors="coerce")
    span = text.str.extract(r"^(\d+)\s*-\s*(\d+)$").apply(pd.to_numeric, errors="coerce")
    low = exact.fillna(at_least).fillna(span[0])
    high = exact.fillna(span[1])
    unparsed = low.isna() & ~_is_na(text)
    flags.append(("NumberVictims not a number: '" + text + "'").where(unparsed, ""))
    return low.astype("Int64"), high.astype("Int64")


# -- normalisation ----------------------------------------------------------------------------
def normalise(raw: Raw) -> Normalised:
    """Case records (cldb_us_cases) or hotline observations (polaris_hotline_states)."""
    if raw.dataset == DATASET_POLARIS:
        return _polaris(raw)
    return _cases(raw)


def _cases(raw: Raw) -> Normalised:
    # belt and braces: a Raw built elsewhere must not carry names into the store either
    frame = raw.frame.drop(columns=[c for c in DROPPED_COLUMNS if c in raw.frame.columns])
    n = len(frame)
    row_number = row_numbers(raw)
    text = frame.astype("str")
    flags: list[pd.Series] = []
    out = pd.DataFrame(index=frame.index)
    order = pd.to_numeric(text["WebOrder"].str.strip().where(text["WebOrder"].str.strip().str.fullmatch(r"\d+")),
                          errors="coerce")
    flags.append(("WebOrder not a whole number: '" + text["WebOrder"] + "'").where(order.isna(), ""))
    out["web_order"] = order.astype("Int64")
    case_id = text["Case"].str.strip()
    out["unodc_case_id"] = case_id.where(case_id != "", None)
    repeated = case_id.duplicated(keep=False) & (case_id != "")
    flags.append(("UNODC case id " + case_id + " appears on more than one row").where(repeated, ""))
    for column, target in (("Court", "court"), ("CourtJoinName", "court_join_name")):
        value = text[column].str.strip()
        out[target] = value.where(~_is_na(value) & (value != "*"), None)
    out["verdict_date"], out["verdict_year"] = _verdict_dates(text["VerdictDate"], flags)
    out["verdict_date_raw"] = text["VerdictDate"]
    out["places"], out["place_uncertain"] = _places(text["Place"], flags)
    out["places_raw"] = text["Place"]
    for column, target in MULTI_VALUED.items():
        out[target] = _multi_valued(text[column])
        out[f"{target}_raw"] = text[column].where(text[column].str.strip() != "", None)
    out["victims_min"], out["victims_max"] = _victim_counts(text["NumberVictims"], flags)
    out["number_victims_raw"] = text["NumberVictims"].where(text["NumberVictims"].str.strip() != "", None)
    for column, target in YES_NO.items():
        value = text[column].str.strip()
        starred = value.str.endswith("*")
        bare = value.str.rstrip("*").str.strip().str.casefold()
        out[target] = bare.map({"yes": True, "no": False}).astype("boolean")
        flags.append(pd.Series(column + " marked '*' by the coder", index=frame.index).where(starred, ""))
        flags.append((column + " not Yes/No: '" + value + "'").where(~bare.isin(("yes", "no")) & ~_is_na(value), ""))
    out["iso3"] = "USA"
    out["source_row"] = row_number.astype("int64")
    out["flag"] = _combine_flags(flags, frame.index)
    empty = text.apply(lambda s: _is_na(s)).all(axis=1)
    quarantine = quarantine_frame(frame[empty], row_number=row_number[empty], column=None,
                                  reason="no usable value (every cell is empty)", raw_columns=list(frame.columns))
    quarantine = concat_quarantine(quarantine)
    records = out[~empty].reset_index(drop=True)
    notes = [f"dropped at read (never stored): {', '.join(DROPPED_COLUMNS)}",
             "181 US cases are a convenience sample of what UNODC had coded by 2017, not all US prosecutions."]
    return Normalised(observations=pd.DataFrame(columns=["iso3"]), quarantine=quarantine, rows_read=n,
                      rows_loaded=int((~empty).sum()), records={"case_law": records}, notes=notes)


def _polaris(raw: Raw) -> Normalised:
    frame = raw.frame
    n = len(frame)
    row_number = row_numbers(raw)
    written = frame["state"].str.strip()
    # the file writes multi-word names with hyphens (New-York, District-of-Columbia)
    state = written.str.replace("-", " ", regex=False).str.split().str.join(" ").str.casefold().map(
        {name.casefold(): name for name in US_STATES})
    known = state.notna()
    values = {c: parse_number(frame[c]) for c in ("calls", "cases")}
    bad_value = {c: frame[c].str.strip().ne("") & (values[c].isna() | (values[c] < 0)) for c in values}
    nothing = values["calls"].isna() & values["cases"].isna()
    parts = []
    if (~known).any():
        parts.append(quarantine_frame(frame[~known], row_number=row_number[~known], column="state",
                                      reason="not a US state: " + written[~known]))
    for column, mask in bad_value.items():
        if mask.any():
            parts.append(quarantine_frame(frame[mask], row_number=row_number[mask], column=column,
                                          reason=f"{column} is not a count: " + frame[column][mask]))
    mask = nothing & known & ~bad_value["calls"] & ~bad_value["cases"]
    if mask.any():
        parts.append(quarantine_frame(frame[mask], row_number=row_number[mask], column=None,
                                      reason="no usable value (calls and cases both empty)"))
    quarantine = concat_quarantine(*parts)
    keep = ~row_number.isin(quarantine["row_number"])
    observations = []
    for column, indicator in (("calls", "polaris_hotline_calls"), ("cases", "polaris_hotline_cases")):
        mask = keep & values[column].notna()
        value = values[column][mask].astype("float64")
        observations.append(pd.DataFrame({
            "iso3": "USA", "country": "United States", "year": pd.Series(pd.NA, index=value.index, dtype="Int64"),
            "indicator": indicator, "measure": "covariate", "dimension": "us_state",
            "category": state[mask], "value": value, "lower": value, "upper": value, "censored": False,
            "unit": column, "status": "ok", "flag": POLARIS_FLAG,
            "source_row": row_number[mask].astype("int64"), "source_rows": 1,
        }))
    obs = pd.concat(observations, ignore_index=True)
    notes = ["Polaris hotline calls and cases are contacts with the hotline, not victims; they depend on "
             "awareness of the hotline. State rows, not a US total: leave them out of country-year panels."]
    return Normalised(observations=obs, quarantine=quarantine, rows_read=n, rows_loaded=int(keep.sum()),
                      notes=notes)
