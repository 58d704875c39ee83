"""The country-year panel: one row per ``iso3`` and ``year``, joining every source in the store.

Each column comes from one source's newest edition (unless ``editions`` pins one). Values that a
source does not publish for a country-year are missing (NA), never zero and never carried over
from another year. The full list with sources, units and caveats is :data:`PANEL_COLUMNS`
(printed by ``tiplens panel --json`` under ``"columns"`` and in ``docs/panel.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sources.glotip import CENSORING_NOTE
from .store import Store

_GLOTIP_NOTE = ("UNODC GLOTIP 'Total' row (sex Total, age Total); _lower/_upper are censoring bounds. "
                + CENSORING_NOTE + " Reporting countries change every year: never sum across years "
                "without a fixed country set.")


def _glotip(column, indicator, label):
    return {"column": column, "source": "glotip", "indicator": indicator, "bounds": True,
            "description": f"{label}, UNODC GLOTIP.", "caveat": _GLOTIP_NOTE}


def _col(column, source, indicator, description, caveat="", datasets=None):
    return {"column": column, "source": source, "indicator": indicator, "bounds": False,
            "description": description, "caveat": caveat, "datasets": datasets}


_TIER_DATASETS = ["kelley_tiers", "map_tiers", "factbook_snapshots"]


PANEL_COLUMNS: list[dict] = [
    _glotip("detected_victims", "detected_victims", "Detected victims of trafficking"),
    _glotip("prosecuted", "prosecuted", "Persons prosecuted for trafficking"),
    _glotip("convicted", "convicted", "Persons convicted of trafficking"),
    _col("tip_tier", "tip_tiers", "tip_tier",
         "US TIP Report tier: 1, 2, 2.5 (Tier 2 Watch List), 3; NA when not ranked, Special Case or unknown.",
         "`year` is the report edition, which covers roughly April of the previous year to March. "
         "2016 on: only the Factbook's partial Watch List / Tier 3 snapshots; a country absent there "
         "has an unknown tier, never imputed.", datasets=_TIER_DATASETS),
    _col("tip_tier_label", "tip_tiers", "tip_tier", "TIP tier as published (e.g. 'Tier 2 Watch List', "
         "'Special Case', 'Not ranked').", "As tip_tier.", datasets=_TIER_DATASETS),
    _col("p3_prosecution", "policy_3p", "p3_prosecution", "3P Anti-Trafficking Policy Index: prosecution (1-5).",
         "Cho, Dreher and Neumayer; scores exist 2000-2013 only."),
    _col("p3_protection", "policy_3p", "p3_protection", "3P index: protection (1-5).", "2000-2013 only."),
    _col("p3_prevention", "policy_3p", "p3_prevention", "3P index: prevention (1-5).", "2000-2013 only."),
    _col("p3_total", "policy_3p", "p3_total", "3P index: overall score (3-15).",
         "2000-2013 only; NA if any part is NA."),
    _col("palermo_ratification_year", "membership", "membership_palermo_protocol",
         "Year the country became party to the Palermo Protocol (ratification, accession or succession).",
         "From the sourced membership table, else the Kelley & Simmons ratification year; NA where no "
         "source dates it (which is not 'not a party')."),
    _col("palermo_party", None, None,
         "1 from the year of becoming party to the Palermo Protocol, 0 before; NA when unknown.",
         "Derived from palermo_ratification_year; where Kelley & Simmons record 'not ratified by 2011' "
         "and no later date is known, 0 up to 2011 and NA after."),
    _col("criminalization", "kelley_simmons", "criminalization",
         "Criminalisation of trafficking as coded by Kelley & Simmons (see docs/sources.md for the coding).",
         "Kelley & Simmons coding, to 2014."),
    _col("gsi_prevalence_per_1000", "gsi", "gsi_prevalence_per_1000",
         "Walk Free GSI 2023: estimated people in modern slavery per 1,000 population (2021).",
         "Modelled estimate, one cross-section (year 2021); not comparable with GSI 2018."),
    _col("gsi_vulnerability", "gsi", "gsi_vulnerability", "Walk Free GSI 2023: vulnerability score (0-100).",
         "One cross-section."),
    _col("gsi_government_response", "gsi", "gsi_government_response",
         "Walk Free GSI 2023: government response score.", "One cross-section."),
    *[_col(f"wgi_{name}", "wgi", f"wgi_{name}", f"World Bank WGI: {label}, estimate (about -2.5 to 2.5).",
           "Biennial 1996-2002; 2020 vintage ending 2019.")
      for name, label in [("voice_accountability", "voice and accountability"),
                          ("political_stability", "political stability and absence of violence"),
                          ("government_effectiveness", "government effectiveness"),
                          ("regulatory_quality", "regulatory quality"), ("rule_of_law", "rule of law"),
                          ("control_of_corruption", "control of corruption")]],
    _col("gdp_per_capita_ppp", "gdp", "gdp_per_capita_ppp",
         "GDP per capita, PPP, constant 2021 international $ (World Bank via Our World in Data).",
         "2021-PPP vintage; not comparable with 2017-PPP figures."),
    _col("hdi", "hdr", "hdi", "UNDP Human Development Index (0-1).", "HDR 2023/24 back-cast series."),
    _col("gii", "hdr", "gii", "UNDP Gender Inequality Index (0-1, higher is more unequal).",
         "HDR 2023/24 back-cast series; 84 countries in 1990, 177 in 2022."),
]

_ID_COLUMNS = [
    {"column": "iso3", "description": "ISO 3166 alpha-3 code (XKX Kosovo, XSQ Sark: see the country overrides)."},
    {"column": "year", "description": "Calendar year of the data (for TIP tiers: the report edition)."},
    {"column": "country", "description": "Short country name (country_converter)."},
    {"column": "m49_region", "description": "UN M49 region."},
    {"column": "m49_subregion", "description": "UN M49 subregion."},
    {"column": "unodc_region", "description": "UNODC's own region for the country (from GLOTIP)."},
]


def columns_documentation() -> pd.DataFrame:
    """Every panel column with its source, indicator, description and caveat."""
    rows = list(_ID_COLUMNS)
    for spec in PANEL_COLUMNS:
        rows.append(spec)
        if spec["bounds"]:
            for suffix, what in (("_lower", "lower"), ("_upper", "upper")):
                rows.append({**spec, "column": spec["column"] + suffix,
                             "description": f"{what.capitalize()} bound of {spec['column']} given censored cells."})
    table = pd.DataFrame(rows).reindex(columns=["column", "source", "indicator", "description", "caveat"])
    return table.astype(object).where(table.notna(), None)


def build_panel(store: Store, *, year_from: int | None = None, year_to: int | None = None,
                editions: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per country-year with the columns of :data:`PANEL_COLUMNS`.

    ``editions`` maps a source name to the edition to use (default: the newest of each).
    Rows exist for every country-year with at least one value; countries are ISO3 codes only
    (sub-national and non-country rows never reach the store's observations).
    """
    editions = editions or {}
    indicators = sorted({c["indicator"] for c in PANEL_COLUMNS if c["indicator"]})
    parts = []
    for source in sorted({c["source"] for c in PANEL_COLUMNS if c["source"]}):
        wanted = [c["indicator"] for c in PANEL_COLUMNS if c["source"] == source]
        if source == "kelley_simmons":
            wanted.append("palermo_ratification_year")
        # dated events (ratifications) matter before the window too: filter rows at the end
        obs = store.observations(source=source, edition=editions.get(source), indicators=wanted)
        if source == "glotip":
            obs = obs[obs["dimension"].eq("total") & obs["sex"].eq("Total") & obs["age"].eq("Total")]
        parts.append(obs)
    obs = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if obs is None or indicators is None:
        return pd.DataFrame(columns=[c["column"] for c in _ID_COLUMNS])
    obs = obs[obs["iso3"].notna() & obs["year"].notna()]
    # one value per country-year-indicator: the dataset a column prefers, then the newest edition
    priority = {(c["source"], d): i for c in PANEL_COLUMNS for i, d in enumerate(c.get("datasets") or [])}
    obs["_priority"] = [priority.get(k, 99) for k in zip(obs["source"], obs["dataset"])]
    obs = obs.sort_values(["source", "indicator", "iso3", "year", "_priority", "edition"],
                          ascending=[True, True, True, True, True, False])
    obs = obs.drop_duplicates(["source", "indicator", "iso3", "year"]).drop(columns="_priority")
    index = pd.MultiIndex.from_frame(obs[["iso3", "year"]].drop_duplicates().sort_values(["iso3", "year"]))
    panel = pd.DataFrame(index=index)
    keyed = obs.set_index(["source", "indicator", "iso3", "year"])
    for spec in PANEL_COLUMNS:
        if spec["source"] is None or spec["column"] == "palermo_ratification_year":
            continue
        try:
            part = keyed.loc[(spec["source"], spec["indicator"])]
        except KeyError:
            panel[spec["column"]] = np.nan
            continue
        if spec["column"].endswith("_label"):
            panel[spec["column"]] = part["category"].reindex(index)
            continue
        panel[spec["column"]] = part["value"].reindex(index)
        if spec["bounds"]:
            panel[spec["column"] + "_lower"] = part["lower"].reindex(index)
            panel[spec["column"] + "_upper"] = part["upper"].reindex(index)
    panel = panel.reset_index()
    _derive_palermo(panel, keyed)
    countries = store.countries().set_index("iso3")
    panel.insert(2, "country", panel["iso3"].map(countries["name"]))
    for pos, col in enumerate(["m49_region", "m49_subregion", "unodc_region"], start=3):
        panel.insert(pos, col, panel["iso3"].map(countries[col]))
    panel["year"] = panel["year"].astype("int64")
    panel = panel.reindex(columns=list(columns_documentation()["column"]))  # documented order, all present
    if year_from is not None:
        panel = panel[panel["year"] >= year_from]
    if year_to is not None:
        panel = panel[panel["year"] <= year_to]
    return panel.sort_values(["iso3", "year"], ignore_index=True)


def _derive_palermo(panel: pd.DataFrame, keyed: pd.DataFrame) -> None:
    """palermo_ratification_year on every row of a country; palermo_party follows from it."""
    def events(source, indicator) -> pd.DataFrame:
        try:
            return keyed.loc[(source, indicator)].reset_index()
        except KeyError:
            return pd.DataFrame(columns=["iso3", "year", "value", "category", "censored"])

    membership = events("membership", "membership_palermo_protocol")
    party = membership[membership["category"].eq("party") & membership["year"].notna()]
    year = party.groupby("iso3")["year"].min()
    kelley = events("kelley_simmons", "palermo_ratification_year")
    dated = kelley[~kelley["censored"].astype(bool) & kelley["value"].notna()].groupby("iso3")["value"].min()
    year = year.combine_first(dated)
    not_by_2011 = set(kelley.loc[kelley["censored"].astype(bool), "iso3"]) - set(year.index)
    panel["palermo_ratification_year"] = panel["iso3"].map(year).astype("Float64")
    ratified = panel["palermo_ratification_year"]
    party_now = (panel["year"] >= ratified).astype("Float64")
    censored = panel["iso3"].isin(not_by_2011) & (panel["year"] <= 2011)
    panel["palermo_party"] = party_now.where(ratified.notna(), pd.NA).mask(censored, 0.0)


def describe(panel: pd.DataFrame) -> pd.DataFrame:
    """Coverage of each panel column: countries and country-years with a value, first/last year."""
    rows = []
    sources = {c["column"]: c["source"] for c in PANEL_COLUMNS}
    for col in panel.columns:
        if col in ("iso3", "year", "country", "m49_region", "m49_subregion", "unodc_region") \
                or col.endswith(("_lower", "_upper")):
            continue
        have = panel[panel[col].notna()]
        rows.append({"column": col, "countries": have["iso3"].nunique(), "country_years": len(have),
                     "first_year": str(int(have["year"].min())) if len(have) else "",
                     "last_year": str(int(have["year"].max())) if len(have) else "",
                     "source": sources.get(col) or "derived"})
    return pd.DataFrame(rows)
