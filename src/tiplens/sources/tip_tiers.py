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
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.codes import clean_code, country_keys, gec_codes
from ..harmonise.countries import resolve
from ._base import (Normalised, Raw, check_file, collect_quarantine, country_problems, csv_header, observation_frame,
                    parse_number, read_csv_text, require_rows, row_numbers, sniff_text, typed_records, year_of)

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
        require_rows(path, frame, TIER_FIX)
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
    require_rows(path, frame, TIER_FIX if dataset != "funding" else FUNDING_FIX)
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
