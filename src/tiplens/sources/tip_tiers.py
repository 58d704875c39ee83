"""US State Department TIP Report tiers (Kelley & Heiss compilation, CIA Factbook snapshots) and US G/TIP grants.

Datasets (detected by header and content, never by file name):

``kelley_tiers``
    ``tip_tiers_orig.csv`` (Kelley & Heiss, *Scorecard Diplomacy*): ``countryname, iso, year,
    ccode, tier`` with the tier as text (``Tier 1``, ``Tier 2``, ``Watchlist``, ``Tier 3``, ``NA``).
``map_tiers``
    ``map_tiers.csv``: the same panel with numeric codes 1 = Tier 1, 2 = Tier 2, 3 = Tier 2 Watch
    List, 4 = Tier 3 (PROVENANCE: identical cell by cell to ``tip_tiers_orig.csv``). Both files emit
    the same ``tip_tier`` observations: load one of the two, or let the panel prefer one dataset.
``factbook_snapshots``
    ``factbook_tier_rating_snapshots.csv`` (DERIVED from the git history of a World Factbook mirror):
    Tier 2 Watch List / Tier 3 / Special Case only, by Factbook GEC code.
``year_joined``
    ``year_joined.csv``: first TIP report edition that covers each country. A per-country constant
    derived by the compilers, not a country-year observation: it goes to ``records_tip_report_first_year``.
``funding``
    ``us_tip_funding_clean.csv``: US G/TIP grants (one row per grant, plus zero rows padding the
    country-year panel); country-year totals become observations, the grants ``records_us_tip_grants``.

Indicators
    ``tip_tier`` (measure ``rated``, unit ``tier``): value 1 (Tier 1), 2 (Tier 2), 2.5 (Tier 2 Watch
    List), 3 (Tier 3); ``category`` is the clean label. ``Not ranked`` (Kelley ``NA`` from 2001 on) and
    ``Special Case`` (Factbook) are observations of a status with ``value`` None.
    ``year`` is the report *edition*: the report published mid-year covers roughly April of the
    previous year to March of the edition year, not the calendar year of the government's conduct.
    ``us_tip_grants_usd`` (measure ``covariate``, unit ``USD``) and ``us_tip_grants_count`` (``grants``):
    G/TIP grants obligated per country and grant (fiscal) year.

Traps handled
    * Trailing spaces in the tier text (``"Tier 2    "``); numeric codes 3 = Watch List, 4 = Tier 3
      (not 3 = Tier 3).
    * 1999-2000 rows predate the first TIP report (2001): quarantined as padding.
    * Kelley ``NA`` means "not ranked" (not in that edition, or a Special Case; the file does not say
      which): kept as ``category='Not ranked'``, never dropped, never imputed.
    * Factbook: only Watch List / Tier 3 / Special Case are listed, so a country missing from a snapshot
      has an UNKNOWN tier: nothing is emitted for it. The year is the Factbook's label, which lags the
      TIP edition (``(2015)`` texts stayed until 2021); rows are flagged. Texts reading ``update pending``
      repeat the previous tier under the new year label and are quarantined; rows without a stated
      year too. Wording edits give several rows per country and year: merged (``source_rows``); two
      different tiers for one country-year are both kept with ``status='conflict'``.
    * Factbook GEC codes are not ISO (``gm`` = Germany): mapped with ``harmonise/data/gec_codes.csv``
      (CIA World Factbook, Appendix D), never by name.
    * Funding zero-padding: rows with ``grant`` = 0 (and no recipient, amount 0) are country-years
      without a grant, not grants of 0 USD. They give a total of 0 and a count of 0 and never count
      as grants. An amount ``NA`` ("Not Listed" in the source list) makes the country-year total a
      lower bound (``censored``, ``upper`` None). Regional and global grants have no country: they go
      to the grant records only. ``cowcode`` 2007 (a year typed into the code) is quarantined, not
      guessed. Subgrantee names (partly names of people) are not stored.
    * ``year_joined.csv`` gives Serbia neither an ISO nor a COW code (``NA``): only where both codes are
      absent is the name resolved. Namibia's ISO3 is ``NAM`` in these files; the text ``NA`` is kept as
      text, never read as missing.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.countries import resolve
from ._base import (Normalised, Raw, check_file, concat_quarantine, csv_header, parse_number,
                    quarantine_frame, read_csv_text, sniff_text)

NAME = "tip_tiers"
TITLE = "US TIP Report tier rankings (Kelley & Heiss; CIA World Factbook snapshots) and US G/TIP grants"
PUBLISHER = ("US Department of State (TIP Report); compiled by Judith G. Kelley and Andrew Heiss; "
             "tier-rating texts of the CIA World Factbook")
CITATION = ("Kelley, J. G. (2017) Scorecard Diplomacy, Cambridge University Press; Heiss, A. & Kelley, J. G. "
            "(2017) Journal of Human Trafficking, doi:10.1080/23322705.2016.1199241; US Department of State, "
            "Trafficking in Persons Report; CIA World Factbook (Transnational Issues: Trafficking in persons)")
TERMS = ("Tier placements and G/TIP grant lists are US government publications; the Kelley/Heiss files are "
         "MIT-licensed (scorecard-diplomacy repository); the Factbook is public domain (mirror CC0).")
REDISTRIBUTABLE = True

TIER_COLUMNS = ["countryname", "iso", "year", "ccode", "tier"]
JOINED_COLUMNS = ["country_name", "cow", "iso", "start_year"]
FUNDING_COLUMNS = ["id", "country", "grant_year", "year_actual", "cowcode", "grant", "recipient", "subgrantee",
                   "prevention", "protection", "prosecution", "research", "amount", "region1", "region2",
                   "recipient_type"]
FACTBOOK_COLUMNS = ["factbook_file", "country_short_name", "first_seen_snapshot", "last_seen_snapshot",
                    "first_seen_commit", "tier_parsed", "report_year_from_url", "year_in_parentheses",
                    "tier_rating_text", "report_year_stated"]

#: tier label → (value, category)
TIER_LABELS = {"Tier 1": (1.0, "Tier 1"), "Tier 2": (2.0, "Tier 2"), "Watchlist": (2.5, "Tier 2 Watch List"),
               "Tier 2 Watch List": (2.5, "Tier 2 Watch List"), "Tier 3": (3.0, "Tier 3"),
               "Special Case": (np.nan, "Special Case")}
#: map_tiers.csv codes (PROVENANCE): 3 is the Watch List, 4 is Tier 3
TIER_CODES = {"1": "Tier 1", "2": "Tier 2", "3": "Watchlist", "4": "Tier 3"}
FIRST_EDITION = 2001
TIER_UNIT = "tier (1, 2, 2.5 = Tier 2 Watch List, 3)"
NOT_RANKED_FLAG = ("not ranked in this edition: not covered by the report or a Special Case "
                   "(the file does not say which)")
FACTBOOK_FLAG = "Factbook year label (may lag the TIP edition)"
FUNDING_FIX = "Download funding_clean.csv again from the andrewheiss/scorecard-diplomacy repository"
TIER_FIX = "Download the file again from the andrewheiss/From-the-Trenches-Anti-TIP-NGOs-and-US repository"
FACTBOOK_FIX = "Regenerate factbook_tier_rating_snapshots.csv (see its PROVENANCE.md)"


# -- country codes shared by the Kelley/Heiss-family sources -------------------------------------
@lru_cache(maxsize=1)
def cow_codes() -> pd.DataFrame:
    """The COW → ISO3 table (``harmonise/data/cow_codes.csv``) for codes used by the Kelley/Heiss files.

    Facts: Correlates of War State System Membership List v2016; codes 1000-1003 are the files'
    own ad-hoc codes (Hong Kong, Kosovo, Macao, Serbia), noted row by row.
    """
    with resources.files("tiplens.harmonise").joinpath("data/cow_codes.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def gec_codes() -> pd.DataFrame:
    """The Factbook GEC → ISO3 table (``harmonise/data/gec_codes.csv``; CIA World Factbook, Appendix D)."""
    with resources.files("tiplens.harmonise").joinpath("data/gec_codes.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def clean_code(series: pd.Series) -> pd.Series:
    """COW codes as the files write them ('20', '20.0', 'NA', '') → '20' or None."""
    s = series.astype("str").str.strip().str.replace(r"\.0+$", "", regex=True)
    return s.where(~s.isin(["", "NA", "nan"]), None)


def country_keys(*, iso: pd.Series | None = None, cow: pd.Series | None = None,
                 name: pd.Series | None = None, name_first_for_non_country: bool = False) -> pd.DataFrame:
    """ISO3 per row from an ISO3 column, else a COW code, else (only where both are absent) the name.

    A code that is present but unknown is *not* replaced by the name: the row is ``unmatched``.

    Returns
    -------
    DataFrame
        Same index; ``iso3``, ``status`` (matched/override/non_country/unmatched), ``note``,
        ``key`` (the value that decided, for quarantine reasons).
    """
    index = next(s.index for s in (iso, cow, name) if s is not None)
    out = pd.DataFrame({"iso3": pd.Series(None, index=index, dtype=object),
                        "status": pd.Series(None, index=index, dtype=object),
                        "note": pd.Series(None, index=index, dtype=object),
                        "key": pd.Series(None, index=index, dtype=object)})
    pending = pd.Series(True, index=index)

    def _apply(mask, iso3, status, note, key):
        out.loc[mask, "iso3"] = iso3[mask]
        out.loc[mask, "status"] = status[mask]
        out.loc[mask, "note"] = note[mask]
        out.loc[mask, "key"] = key[mask]

    if name is not None and name_first_for_non_country:
        table = resolve(name.unique(), "name").set_index("value")
        status = name.map(table["status"])
        hit = pending & status.eq("non_country")
        _apply(hit, name.map(table["iso3"]), status, name.map(table["note"]), name)
        pending &= ~hit
    if iso is not None:
        code = iso.astype("str").str.strip()
        table = resolve(code[pending].unique(), "iso3").set_index("value")
        status = code.map(table["status"])
        hit = pending & status.notna() & ~status.eq("unmatched")
        _apply(hit, code.map(table["iso3"]), status, code.map(table["note"]), "iso " + code)
        pending &= ~hit
    if cow is not None:
        code = clean_code(cow)
        table = cow_codes().set_index("cow")
        via = code.map(table["iso3"])
        resolved = resolve(via[pending].dropna().unique(), "iso3").set_index("value")
        status = via.map(resolved["status"])
        present = pending & code.notna()
        hit = present & status.notna() & ~status.eq("unmatched")
        _apply(hit, via.map(resolved["iso3"]), status, via.map(resolved["note"]), "cow " + code.fillna(""))
        miss = present & ~hit
        _apply(miss, pd.Series(None, index=index, dtype=object), pd.Series("unmatched", index=index),
               pd.Series(None, index=index, dtype=object), "cow " + code.fillna(""))
        pending &= ~present
    if name is not None:
        label = name.astype("str").str.strip()
        table = resolve(label[pending].unique(), "name").set_index("value")
        status = label.map(table["status"]).astype(object).fillna("unmatched")
        _apply(pending, label.map(table["iso3"]), status, label.map(table["note"]), label)
        pending[:] = False
    out.loc[pending, "status"] = "unmatched"
    out["status"] = out["status"].fillna("unmatched")
    return out


def country_problems(keys: pd.DataFrame, label: pd.Series, column: str) -> list[tuple]:
    """The (mask, column, reason) quarantine entries for unmatched and non-country rows."""
    note = keys["note"].fillna("").astype("str")
    key = keys["key"].fillna("").astype("str")
    return [
        (keys["status"].eq("non_country"), column, "not a country: " + label.astype("str") + " (" + note + ")"),
        (keys["status"].eq("unmatched"), column,
         "country not matched: " + label.astype("str") + " [" + key + "]"),
    ]


def collect_quarantine(frame: pd.DataFrame, row_number: pd.Series, problems: list[tuple],
                       raw_columns: list[str] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """One quarantine row per bad source row (reasons merged) and the mask of bad rows."""
    parts, bad = [], pd.Series(False, index=frame.index)
    for mask, column, reason in problems:
        mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
        if mask.any():
            reason_s = reason[mask] if isinstance(reason, pd.Series) else reason
            parts.append(quarantine_frame(frame[mask], row_number=row_number[mask], column=column,
                                          reason=reason_s, raw_columns=raw_columns))
            bad |= mask
    return concat_quarantine(*parts), bad


def require_complete(path: Path, frame: pd.DataFrame, first_row: int, fix: str) -> None:
    """Raise for a truncated file: its last line has fewer cells than the header.

    (pandas fills the missing cells of a short last row with empty text, so the cut is invisible
    in the frame; the file's tail is checked instead.)
    """
    if len(frame) == 0:
        raise InputFileError(path, "has a header but no data rows", fix)
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - (1 << 16)))
        tail = fh.read().decode("utf-8", "replace")
    last = tail.rstrip("\r\n").rsplit("\n", 1)[-1]
    try:
        cells = next(csv.reader(io.StringIO(last)))
    except (StopIteration, csv.Error):
        cells = []
    if len(cells) < len(frame.columns) and len(frame.columns) > 1:
        raise InputFileError(path, f"is truncated: its last line has {len(cells)} of {len(frame.columns)} cells",
                             fix, row=first_row + len(frame) - 1)


def row_numbers(raw: Raw) -> pd.Series:
    return pd.Series(np.arange(raw.first_row, raw.first_row + len(raw.frame)), index=raw.frame.index)


def observation_frame(index, **columns) -> pd.DataFrame:
    """Observations with every column this family emits (missing ones null)."""
    names = ["iso3", "country", "year", "date", "indicator", "measure", "dimension", "category", "value", "lower",
             "upper", "censored", "unit", "status", "flag", "source_row", "source_rows"]
    data = {}
    for col in names:
        value = columns.get(col)
        data[col] = value if isinstance(value, pd.Series) else pd.Series([value] * len(index), index=index,
                                                                          dtype=object)
    obs = pd.DataFrame(data, index=index)
    obs["year"] = pd.to_numeric(obs["year"], errors="coerce").astype("Int64")
    for col in ("value", "lower", "upper"):
        obs[col] = pd.to_numeric(obs[col], errors="coerce").astype("float64")
    obs["censored"] = obs["censored"].fillna(False).astype(bool)
    obs["source_row"] = obs["source_row"].astype("int64")
    obs["source_rows"] = pd.to_numeric(obs["source_rows"]).fillna(1).astype("int64")
    return obs.reset_index(drop=True)


def typed_records(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text columns the ``str`` dtype: the store creates a record table from the frame's dtypes,
    and an all-object column would have no SQL type."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].astype("str").where(out[name].notna(), None).astype("str")
    return out


def year_of(text: pd.Series, low: int = 1900, high: int = 2100) -> pd.Series:
    """Whole years from text ('2004', '2004.0'); NaN for anything else."""
    number = pd.to_numeric(text.astype("str").str.strip(), errors="coerce")
    return number.where((number % 1 == 0) & number.between(low, high))


# -- detection ------------------------------------------------------------------------------------
def _tier_layout(values: list[str]) -> str | None:
    """'kelley_tiers' for tier text, 'map_tiers' for numeric codes, None if the values show neither."""
    shown = {v.strip() for v in values if v.strip() not in ("", "NA")}
    if not shown:
        return None
    if shown <= set(TIER_CODES):
        return "map_tiers"
    if shown & {"Tier 1", "Tier 2", "Watchlist", "Tier 3"}:
        return "kelley_tiers"
    return None


def _tier_values(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "tier" not in rows[0]:
        return []
    at = rows[0].index("tier")
    return [row[at] for row in rows[1:] if len(row) > at]


def _dataset_of(path: Path) -> str | None:
    header = csv_header(path)
    names = set(header)
    if header == TIER_COLUMNS:
        text = sniff_text(path, 1 << 16)
        layout = _tier_layout(_tier_values(text.rsplit("\n", 1)[0]))
        if layout is None:  # the first 64 KB hold only NA tiers: look at the whole (small) file
            layout = _tier_layout(_tier_values(sniff_text(path, 1 << 24)))
        return layout
    if names == set(JOINED_COLUMNS):
        return "year_joined"
    if set(FUNDING_COLUMNS) <= names:
        return "funding"
    if set(FACTBOOK_COLUMNS) <= names:
        return "factbook_snapshots"
    return None


def detect(path: Path) -> bool:
    try:
        return _dataset_of(Path(path)) is not None
    except Exception:  # detection never raises: an unreadable file is simply not this source
        return False


# -- reading --------------------------------------------------------------------------------------
def read(path: Path) -> Raw:
    """The file as published, all cells text. No file states its edition: ``edition`` stays None."""
    path = check_file(Path(path))
    header = set(csv_header(path))
    if "tier" in header and "countryname" in header:
        frame = read_csv_text(path, required=set(TIER_COLUMNS), fix=TIER_FIX)
        require_complete(path, frame, 2, TIER_FIX)
        dataset = _tier_layout(list(frame["tier"]))
        if dataset is None:
            raise InputFileError(path, "has no recognisable tier in column 'tier' (neither 'Tier 1'..'Tier 3'/"
                                 "'Watchlist' nor the codes 1-4)", TIER_FIX, column="tier")
    elif "start_year" in header:
        frame = read_csv_text(path, required=set(JOINED_COLUMNS), fix=TIER_FIX)
        dataset = "year_joined"
    elif "grant_year" in header:
        frame = read_csv_text(path, required=set(FUNDING_COLUMNS), fix=FUNDING_FIX)
        dataset = "funding"
    elif "factbook_file" in header:
        frame = read_csv_text(path, required=set(FACTBOOK_COLUMNS), fix=FACTBOOK_FIX)
        dataset = "factbook_snapshots"
    else:
        raise InputFileError(path, "is none of the tip_tiers layouts (Kelley tiers, map_tiers, year_joined, "
                             "US G/TIP funding, Factbook tier snapshots): its header does not match",
                             "Check the file, or choose another --source", row=1)
    require_complete(path, frame, 2, TIER_FIX if dataset != "funding" else FUNDING_FIX)
    return Raw(path=path, dataset=dataset, frame=frame, first_row=2, edition=None)


# -- normalisation --------------------------------------------------------------------------------
def normalise(raw: Raw) -> Normalised:
    handlers = {"kelley_tiers": _normalise_tiers, "map_tiers": _normalise_tiers,
                "year_joined": _normalise_year_joined, "funding": _normalise_funding,
                "factbook_snapshots": _normalise_factbook}
    return handlers[raw.dataset](raw)


def _normalise_tiers(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    text = frame["tier"].astype("str").str.strip()
    if raw.dataset == "map_tiers":
        text = text.map(lambda v: TIER_CODES.get(v, v))
    not_ranked = text.eq("NA")
    label = text.map(lambda v: TIER_LABELS.get(v, (None, None))[1])
    value = text.map(lambda v: TIER_LABELS.get(v, (np.nan, None))[0])
    year = year_of(frame["year"])
    keys = country_keys(iso=frame["iso"], cow=frame["ccode"], name=frame["countryname"])
    problems = [
        (year.isna(), "year", "year is not a year"),
        (year.lt(FIRST_EDITION), "year",
         "padding row: no TIP report edition for " + frame["year"] + " (the first report is 2001)"),
        (label.isna() & ~not_ranked, "tier", "unknown tier: " + frame["tier"]),
    ] + country_problems(keys, frame["countryname"], "iso")
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad
    obs = observation_frame(
        frame.index[keep], iso3=keys["iso3"][keep], country=frame["countryname"][keep], year=year[keep],
        indicator="tip_tier", measure="rated", category=label[keep].where(~not_ranked[keep], "Not ranked"),
        value=value[keep], lower=value[keep], upper=value[keep], unit=TIER_UNIT, status="ok",
        flag=pd.Series(np.where(not_ranked[keep], NOT_RANKED_FLAG, None), index=frame.index[keep]),
        source_row=rows[keep])
    notes = ["tip_tier: year is the TIP report edition (covering roughly April of the previous year to March)"]
    if raw.dataset == "map_tiers":
        notes.append("map_tiers.csv is the same panel as tip_tiers_orig.csv (kelley_tiers): use one of the two")
    return Normalised(obs, quarantine, len(frame), int(keep.sum()), notes=notes)


def _normalise_year_joined(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    start = year_of(frame["start_year"])
    keys = country_keys(iso=frame["iso"], cow=frame["cow"], name=frame["country_name"])
    problems = [(start.isna(), "start_year", "start_year is not a year")] + \
        country_problems(keys, frame["country_name"], "iso")
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad
    iso_column = frame["iso"].astype("str").str.strip()
    fallback = keep & ~keys["key"].astype("str").str.startswith("iso ")
    records = pd.DataFrame({
        "iso3": keys["iso3"][keep], "country": frame["country_name"][keep], "cow": clean_code(frame["cow"])[keep],
        "first_report_year": start[keep].astype("int64"),
        "note": pd.Series(np.where(fallback, "iso column '" + iso_column + "' is not an ISO3 code; country from "
                                   + keys["key"].fillna("").astype("str"), None), index=frame.index)[keep],
        "source_row": rows[keep]}).reset_index(drop=True)
    notes = ["year_joined: first TIP report edition per country (a per-country constant, stored as records, "
             "not observations; derivable from the tier panel)"]
    return Normalised(pd.DataFrame(columns=["iso3", "year", "indicator", "value"]), quarantine, len(frame),
                      int(keep.sum()), records={"tip_report_first_year": typed_records(records)}, notes=notes)


def _normalise_funding(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    text = {c: frame[c].astype("str").str.strip() for c in FUNDING_COLUMNS}
    amount = parse_number(text["amount"].where(~text["amount"].eq("NA"), ""))
    year = year_of(text["grant_year"], 1990, 2100)
    no_recipient = text["recipient"].isin(["NA", ""])
    # A padding row fills the country-year panel: no grant flag, no recipient, nothing obligated.
    padding = ~text["grant"].eq("1.0") & no_recipient & (amount.fillna(0).eq(0))
    is_grant = ~padding
    keys = country_keys(cow=frame["cowcode"], name=frame["country"], name_first_for_non_country=True)
    region = keys["status"].eq("non_country")
    problems = [
        (year.isna(), "grant_year", "grant_year is not a year"),
        (amount.lt(0), "amount", "negative amount"),
        (text["amount"].ne("NA") & amount.isna(), "amount", "amount is not a number: " + text["amount"]),
        (region & padding, "country",
         "not a country: " + text["country"] + " (" + keys["note"].fillna("").astype("str")
         + "); padding row without a grant"),
        (keys["status"].eq("unmatched"), "cowcode",
         "country not matched: " + text["country"] + " [" + keys["key"].fillna("").astype("str") + "]"),
    ]
    safe_columns = [c for c in FUNDING_COLUMNS if c != "subgrantee"]
    quarantine, bad = collect_quarantine(frame, rows, problems, raw_columns=safe_columns)
    keep = ~bad
    country_rows = keep & ~region

    grants = keep & is_grant
    individual = text["recipient_type"].eq("Individual")
    records = pd.DataFrame({
        "grant_id": text["id"], "iso3": keys["iso3"], "country": text["country"],
        "grant_year": year, "recipient": text["recipient"].where(~individual & ~no_recipient, None),
        "recipient_type": text["recipient_type"].replace("", None),
        "prevention": parse_number(text["prevention"]), "protection": parse_number(text["protection"]),
        "prosecution": parse_number(text["prosecution"]), "research": parse_number(text["research"]),
        "amount_usd": amount, "amount_listed": amount.notna(),
        "region1": text["region1"].replace("NA", None), "region2": text["region2"].replace("NA", None),
        "grant_flag_in_file": text["grant"].replace("NA", None),
        "source_row": rows})[grants].reset_index(drop=True)
    records["grant_year"] = records["grant_year"].astype("int64")

    part = pd.DataFrame({"iso3": keys["iso3"], "country": text["country"], "year": year, "amount": amount,
                         "is_grant": is_grant, "unlisted": is_grant & amount.isna(), "row": rows})[country_rows]
    group = part.groupby(["iso3", "year"], sort=True)
    totals = group.agg(country=("country", "first"), known=("amount", lambda s: s.fillna(0).sum()),
                       grants=("is_grant", "sum"), unlisted=("unlisted", "sum"), source_row=("row", "min"),
                       source_rows=("row", "size")).reset_index()
    censored = totals["unlisted"].gt(0)
    no_grant = totals["grants"].eq(0)
    flag = np.where(censored, totals["unlisted"].astype(str) + " grant(s) with amount not listed: total is at least "
                    + totals["known"].map("{:,.0f}".format) + " USD",
                    np.where(no_grant, "no G/TIP grant listed for this country-year (zero-padding row)", None))
    usd = observation_frame(
        totals.index, iso3=totals["iso3"], country=totals["country"], year=totals["year"],
        indicator="us_tip_grants_usd", measure="covariate",
        value=totals["known"].where(~censored), lower=totals["known"], upper=totals["known"].where(~censored),
        censored=censored, unit="USD", status="ok", flag=pd.Series(flag, index=totals.index),
        source_row=totals["source_row"], source_rows=totals["source_rows"])
    count = observation_frame(
        totals.index, iso3=totals["iso3"], country=totals["country"], year=totals["year"],
        indicator="us_tip_grants_count", measure="covariate", value=totals["grants"], lower=totals["grants"],
        upper=totals["grants"], unit="grants", status="ok",
        flag=pd.Series(np.where(no_grant, "zero-padding row: no grant", None), index=totals.index),
        source_row=totals["source_row"], source_rows=totals["source_rows"])
    obs = pd.concat([usd, count], ignore_index=True)
    contradictory = grants & text["grant"].eq("0.0")
    notes = [f"funding: {int(padding.sum())} zero-padding rows (country-years without a grant) are not grants; "
             f"{int(grants.sum())} grant rows stored in records_us_tip_grants "
             f"({int((grants & region).sum())} regional/global)",
             "us_tip_grants_usd: year is the grant (fiscal) year of the G/TIP list; an unlisted amount makes "
             "the total a lower bound"]
    if contradictory.any():
        notes.append(f"funding: {int(contradictory.sum())} row(s) have grant=0 but a recipient and an amount: "
                     "counted as grants")
    return Normalised(obs, quarantine, len(frame), int(keep.sum()), records={"us_tip_grants": typed_records(records)},
                      notes=notes)


def _normalise_factbook(raw: Raw) -> Normalised:
    frame = raw.frame
    rows = row_numbers(raw)
    text = {c: frame[c].astype("str").str.strip() for c in FACTBOOK_COLUMNS}
    gec = text["factbook_file"].str.extract(r"(?:^|/)([a-z]{2})\.json$", expand=False)
    table = gec_codes().set_index("gec")
    via = gec.map(table["iso3"])
    resolved = resolve(via.dropna().unique(), "iso3").set_index("value")
    status = via.map(resolved["status"]).fillna("unmatched")
    tier = text["tier_parsed"].map(lambda v: TIER_LABELS.get(v, (None, None))[1])
    value = text["tier_parsed"].map(lambda v: TIER_LABELS.get(v, (np.nan, None))[0])
    stated = text["report_year_stated"]
    year = year_of(stated.where(~stated.isin(["", "NA"]), ""), 2000, 2100)
    pending = text["tier_rating_text"].str.contains("update pending", case=False, regex=False)
    problems = [
        (tier.isna() | ~text["tier_parsed"].isin(["Tier 2 Watch List", "Tier 3", "Special Case"]), "tier_parsed",
         "unknown tier: " + text["tier_parsed"]),
        (year.isna(), "report_year_stated", "no report year stated in the text: the tier cannot be dated"),
        (pending, "tier_rating_text",
         "placeholder text 'update pending': repeats the previous tier under the new year label"),
        (status.eq("unmatched"), "factbook_file",
         "country not matched: GEC code " + gec.fillna(text["factbook_file"]) + " (" + text["country_short_name"]
         + ")"),
    ]
    quarantine, bad = collect_quarantine(frame, rows, problems)
    keep = ~bad
    part = pd.DataFrame({"iso3": via.map(resolved["iso3"]), "country": text["country_short_name"],
                         "year": year, "category": tier, "value": value,
                         "from_url": text["report_year_from_url"].isin(["2024", "2025"]) &
                         text["report_year_from_url"].eq(stated),
                         "first": text["first_seen_snapshot"].str[:10], "last": text["last_seen_snapshot"].str[:10],
                         "row": rows})[keep]
    merged = part.groupby(["iso3", "year", "category"], sort=True).agg(
        country=("country", "last"), value=("value", "first"), from_url=("from_url", "all"),
        first=("first", "min"), last=("last", "max"), source_row=("row", "min"),
        source_rows=("row", "size")).reset_index()
    tiers_per_key = merged.groupby(["iso3", "year"])["category"].transform("size")
    conflict = tiers_per_key.gt(1)
    label = np.where(merged["from_url"], "edition year from the state.gov link in the text", FACTBOOK_FLAG)
    flag = pd.Series(label, index=merged.index) + "; seen " + merged["first"] + " to " + merged["last"]
    flag = flag.where(~conflict, "conflict: the Factbook shows two tiers under one year label; " + flag)
    obs = observation_frame(
        merged.index, iso3=merged["iso3"], country=merged["country"], year=merged["year"], indicator="tip_tier",
        measure="rated", category=merged["category"], value=merged["value"], lower=merged["value"],
        upper=merged["value"], unit=TIER_UNIT, status=pd.Series(np.where(conflict, "conflict", "ok"),
                                                              index=merged.index),
        flag=flag, source_row=merged["source_row"], source_rows=merged["source_rows"])
    notes = ["factbook_snapshots: Watch List / Tier 3 / Special Case only; a country absent from the Factbook has "
             "an unknown tier (nothing emitted). Years are Factbook labels and lag the TIP editions."]
    if conflict.any():
        notes.append(f"factbook_snapshots: {int(conflict.sum())} observations share a country and year label with "
                     "a different tier: status='conflict'")
    return Normalised(obs, quarantine, len(frame), int(keep.sum()), notes=notes)
