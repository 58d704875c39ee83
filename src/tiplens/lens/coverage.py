"""Coverage of the cooperation regime per country and year, and the gaps in it.

The liberal argument (the seed paper, section 4) is that trafficking persists where cooperation is
thin and governance weak. To look at that claim, each country-year gets:

* an **institutional density index**: the number of anti-trafficking cooperation mechanisms the
  country belongs to in that year (:data:`DENSITY_FRAMEWORKS`), from the sourced membership
  observations (indicator ``membership_<framework>``);
* its Palermo Protocol status, TIP tier and 3P scores (from the panel);
* detected victims, prosecutions and convictions from UNODC GLOTIP with their censoring bounds,
  and how much of that record exists (coverage).

How a membership counts (:func:`membership_spells`):

* statuses ``party`` and ``member`` count 1; ``signatory`` (a signature binds to nothing),
  ``not_party``, ``not_bound`` (Denmark and the EU directives) and ``unknown`` count 0. Former
  members (ECOWAS withdrawals, the UK and the EU directives) are stored without the dates of
  their membership, so they count 0 in every year: the index understates their past.
* a membership counts from the year of its published date. Many memberships have no published
  date (most Council of Europe parties, every EU directive and SAARC party, the Bali Process).
  The index is therefore a pair of bounds, like the censored GLOTIP counts: ``density_lower``
  counts dated memberships only; ``density_upper`` also counts every undated membership from
  the year the framework was adopted (``frameworks.csv``; from the first year when that is
  unknown too). The truth lies between them.
* the Palermo Protocol is dated by the panel's ``palermo_ratification_year`` (the sourced
  membership table, else Kelley & Simmons's ratification year).
* membership of one body never implies another (Timor-Leste's ASEAN membership says nothing about
  ACTIP): each framework counts only from its own file.

Functions take DataFrames (the panel, membership observations, the frameworks records) and
return DataFrames; no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import TiplensError

#: The mechanisms the density index counts: framework id → (kind, label). ``asean`` and
#: ``ecowas`` are regional organisations that run anti-trafficking plans (the ASEAN Plan of
#: Action and SOMTC; the ECOWAS plan of action of 2001): membership of the organisation is what
#: the data record, so that is what counts.
DENSITY_FRAMEWORKS: dict[str, tuple[str, str]] = {
    "palermo_protocol": ("treaty", "UN Trafficking in Persons (Palermo) Protocol"),
    "untoc": ("treaty", "UN Convention against Transnational Organized Crime"),
    "coe_cets197": ("regional treaty", "Council of Europe Convention (CETS 197), monitored by GRETA"),
    "eu_directive_2011_36": ("regional law", "EU Directive 2011/36/EU"),
    "eu_directive_2024_1712": ("regional law", "EU Directive 2024/1712"),
    "asean_actip": ("regional treaty", "ASEAN Convention against Trafficking in Persons (ACTIP)"),
    "saarc_convention_2002": ("regional treaty",
                              "SAARC Convention on trafficking in women and children for prostitution"),
    "ilo_p029": ("treaty", "ILO Forced Labour Protocol (P029)"),
    "bali_process": ("process", "Bali Process"),
    "blue_heart_campaign": ("campaign", "UNODC Blue Heart Campaign"),
    "asean": ("regional organisation", "ASEAN (Plan of Action against TIP, SOMTC)"),
    "ecowas": ("regional organisation", "ECOWAS (plan of action against TIP)"),
}

COUNTED_STATUSES = ("party", "member")

DENSITY_NOTE = ("Institutional density = number of cooperation mechanisms (Palermo Protocol, UNTOC, CoE CETS 197, "
                "EU directives 2011/36 and 2024/1712, ACTIP, SAARC convention, ILO P029, Bali Process, Blue Heart, "
                "ASEAN, ECOWAS) a country is party to or member of in a year. density_lower counts only memberships "
                "with a published date; density_upper also counts undated ones from the framework's adoption year. "
                "Membership files are partial (Bali Process, ILO P029, Blue Heart list only some members): a 0 can "
                "mean 'not recorded'.")

COVERAGE_CAVEAT = ("Detected victims, prosecutions and convictions measure what authorities detect and report, not "
                   "prevalence; '<5' cells are bounds (0-4); reporting countries change every year. " + DENSITY_NOTE)

GAPS_CAVEAT = ("Global Slavery Index prevalence and vulnerability are modelled estimates (2021) partly built from "
               "vulnerability covariates, not counts. Cooperation counts current memberships whatever their date; "
               "membership files are partial. A gap is a flag for a closer look, not a finding.")

#: Columns of :func:`coverage_table`, documented.
COVERAGE_COLUMNS: dict[str, str] = {
    "iso3": "ISO3 code.",
    "year": "Calendar year (TIP tier: the report edition).",
    "country": "Country name.",
    "m49_region": "UN M49 region.",
    "density_lower": "Mechanisms with a published joining date on or before the year.",
    "density_upper": "density_lower plus undated memberships counted from the framework's adoption year.",
    "mechanisms": "Mechanisms counted in density_upper (ids, ';'-separated; '*' marks an undated membership).",
    "palermo_party": "1 from the year of becoming party to the Palermo Protocol, 0 before, NA when unknown.",
    "palermo_ratification_year": "Year the country became party to the Palermo Protocol (NA: not dated).",
    "palermo_status_now": "Current Palermo status in the membership table (party, not_party, signatory, unknown).",
    "tip_tier": "US TIP Report tier (1, 2, 2.5 Watch List, 3) of the report edition of that year.",
    "p3_total": "3P policy index, overall (3-15).",
    "p3_prosecution": "3P prosecution (1-5).",
    "p3_protection": "3P protection (1-5).",
    "p3_prevention": "3P prevention (1-5).",
    "detected_victims_lower": "Detected victims, lower censoring bound (UNODC GLOTIP).",
    "detected_victims_upper": "Detected victims, upper censoring bound.",
    "prosecuted_lower": "Persons prosecuted, lower bound.",
    "prosecuted_upper": "Persons prosecuted, upper bound.",
    "convicted_lower": "Persons convicted, lower bound.",
    "convicted_upper": "Persons convicted, upper bound.",
    "population": "Population (UNDP HDR, persons).",
    "detected_per_100k_lower": "Detected victims per 100,000 population, lower bound.",
    "detected_per_100k_upper": "Detected victims per 100,000 population, upper bound.",
    "glotip_indicators": "How many of detected victims, prosecuted, convicted the country reported that year (0-3).",
    "glotip_years_reported": "Years in the window in which the country reported detected victims.",
}


def _framework_ids(frameworks: list[str] | None) -> list[str]:
    if frameworks is None:
        return list(DENSITY_FRAMEWORKS)
    unknown = [f for f in frameworks if f not in DENSITY_FRAMEWORKS]
    if unknown:
        raise TiplensError(f"unknown framework(s) {', '.join(unknown)} for the density index; valid: "
                           f"{', '.join(DENSITY_FRAMEWORKS)}")
    return list(frameworks)


def membership_spells(membership: pd.DataFrame, frameworks: pd.DataFrame | None = None,
                      palermo_years: pd.Series | None = None, *, palermo_not_before: pd.Series | None = None,
                      counted: list[str] | None = None) -> pd.DataFrame:
    """One row per country and framework: its status and the years from which it counts.

    Parameters
    ----------
    membership
        Membership observations (``Store.observations(source="membership")``): ``iso3``,
        ``indicator`` (``membership_<framework>``), ``category``, ``year``.
    frameworks
        The ``frameworks`` records (``framework``, ``adopted_year``), for the upper bound of
        undated memberships.
    palermo_years
        Year of becoming party to the Palermo Protocol by ISO3 (the panel's
        ``palermo_ratification_year``), which dates Palermo memberships.
    palermo_not_before
        By ISO3, the first year a country may have been party (the year after the last year a
        source records it as not party, e.g. Kelley & Simmons's "not ratified by 2011"): an
        undated Palermo membership counts in the upper bound only from then.
    counted
        Framework ids to count (default: :data:`DENSITY_FRAMEWORKS`).

    Returns
    -------
    DataFrame
        ``iso3, framework, category, counts`` (status party/member), ``year_dated`` (published
        year; NA when undated), ``year_from_lower`` (= ``year_dated``), ``year_from_upper``
        (``year_dated``, else the framework's adoption year, else 0 = always).
    """
    ids = _framework_ids(counted)
    cols = ["iso3", "framework", "category", "counts", "year_dated", "year_from_lower", "year_from_upper"]
    if membership is None or len(membership) == 0:
        return pd.DataFrame(columns=cols)
    rows = membership[membership["indicator"].astype("str").str.startswith("membership_")
                      & membership["iso3"].notna()].copy()
    rows["framework"] = rows["indicator"].astype("str").str.removeprefix("membership_")
    rows = rows[rows["framework"].isin(ids)]
    # one row per country and framework: a counted status wins, then the earliest date
    rows["counts"] = rows["category"].isin(COUNTED_STATUSES)
    rows = rows.sort_values(["iso3", "framework", "counts", "year"], ascending=[True, True, False, True],
                            na_position="last").drop_duplicates(["iso3", "framework"])
    year = pd.to_numeric(rows["year"], errors="coerce").astype("Float64")
    if palermo_years is not None:
        palermo = rows["framework"].eq("palermo_protocol")
        year = year.mask(palermo, rows["iso3"].map(palermo_years).astype("Float64").combine_first(year))
    adopted = pd.Series(dtype="Float64")
    if frameworks is not None and len(frameworks) and "adopted_year" in frameworks:
        adopted = pd.to_numeric(frameworks.set_index("framework")["adopted_year"], errors="coerce")
    earliest = rows["framework"].map(adopted).astype("Float64")
    if palermo_not_before is not None and len(palermo_not_before):
        later = rows["iso3"].map(palermo_not_before).astype("Float64")
        palermo = rows["framework"].eq("palermo_protocol") & later.notna()
        earliest = earliest.mask(palermo, pd.concat([earliest, later], axis=1).max(axis=1))
    upper = year.combine_first(earliest).fillna(0)
    spells = pd.DataFrame({"iso3": rows["iso3"].astype("str"), "framework": rows["framework"],
                           "category": rows["category"], "counts": rows["counts"].astype(bool),
                           "year_dated": year, "year_from_lower": year, "year_from_upper": upper})
    return spells.reset_index(drop=True)[cols]


def palermo_timing(panel: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """By ISO3: the Palermo ratification year (NA when undated) and the first year a country not
    yet dated may have become party (after the last year the panel records it as not party)."""
    years = panel.groupby("iso3")["palermo_ratification_year"].first()
    known_zero = panel[panel["palermo_party"].astype("Float64").eq(0)].groupby("iso3")["year"].max() + 1
    return years, known_zero


def density_index(spells: pd.DataFrame, country_years: pd.DataFrame, *, labels: bool = True) -> pd.DataFrame:
    """``density_lower``, ``density_upper`` and (with ``labels``) ``mechanisms`` for each
    ``iso3, year`` given.

    See the module docstring for how a membership counts.
    """
    keys = country_years[["iso3", "year"]].drop_duplicates().reset_index(drop=True)
    counted = spells[spells["counts"]] if len(spells) else spells
    if len(counted) == 0:
        return keys.assign(density_lower=0, density_upper=0, **({"mechanisms": ""} if labels else {}))
    joined = keys.merge(counted[["iso3", "framework", "year_dated", "year_from_lower", "year_from_upper"]],
                        on="iso3", how="left")
    year = joined["year"].astype(float)
    joined["in_lower"] = (joined["year_from_lower"].astype(float) <= year).fillna(False)
    joined["in_upper"] = (joined["year_from_upper"].astype(float) <= year).fillna(False)
    grouped = joined.groupby(["iso3", "year"], sort=False)
    result = pd.DataFrame({"density_lower": grouped["in_lower"].sum().astype("int64"),
                           "density_upper": grouped["in_upper"].sum().astype("int64")})
    if labels:
        inside = joined[joined["in_upper"]].sort_values("framework")
        inside = inside.assign(label=inside["framework"].astype("str")
                               + np.where(inside["year_dated"].isna(), "*", ""))
        result["mechanisms"] = inside.groupby(["iso3", "year"])["label"].agg(";".join)
    out = keys.merge(result.reset_index(), on=["iso3", "year"], how="left")
    if labels:
        out["mechanisms"] = out["mechanisms"].fillna("")
    return out


def current_memberships(spells: pd.DataFrame) -> pd.DataFrame:
    """Per country: how many mechanisms it belongs to now (dated or not) and which."""
    counted = spells[spells["counts"]] if len(spells) else spells
    if len(counted) == 0:
        return pd.DataFrame(columns=["iso3", "mechanisms_now", "mechanisms_now_list"])
    grouped = counted.groupby("iso3")["framework"]
    return pd.DataFrame({"mechanisms_now": grouped.size(),
                         "mechanisms_now_list": grouped.agg(lambda s: ";".join(sorted(s)))}).reset_index()


def palermo_status_now(membership: pd.DataFrame) -> pd.Series:
    """Current Palermo status by ISO3 (party, not_party, signatory, unknown)."""
    if membership is None or len(membership) == 0:
        return pd.Series(dtype="str")
    rows = membership[membership["indicator"].eq("membership_palermo_protocol") & membership["iso3"].notna()]
    order = {"party": 0, "signatory": 1, "not_party": 2, "unknown": 3}
    rows = rows.assign(_rank=rows["category"].map(order).fillna(9)).sort_values("_rank")
    return rows.drop_duplicates("iso3").set_index("iso3")["category"].astype("str")


def population_by_country_year(hdr_obs: pd.DataFrame) -> pd.DataFrame:
    """``iso3, year, population`` (persons) from UNDP HDR ``hdr_pop_total`` (millions)."""
    rows = hdr_obs[hdr_obs["indicator"].eq("hdr_pop_total") & hdr_obs["value"].notna() & hdr_obs["iso3"].notna()]
    pop = pd.DataFrame({"iso3": rows["iso3"].astype("str"), "year": rows["year"].astype("int64"),
                        "population": rows["value"].astype(float) * 1e6})
    return pop.drop_duplicates(["iso3", "year"]).reset_index(drop=True)


def coverage_table(panel: pd.DataFrame, membership: pd.DataFrame, frameworks: pd.DataFrame | None = None,
                   population: pd.DataFrame | None = None, *, year_from: int | None = None,
                   year_to: int | None = None, countries: list[str] | None = None,
                   counted: list[str] | None = None) -> pd.DataFrame:
    """The cooperation coverage of each country-year (columns: :data:`COVERAGE_COLUMNS`).

    Parameters
    ----------
    panel
        The country-year panel (:func:`tiplens._panel.build_panel`), unfiltered by year so that
        ratification years before the window still count.
    membership
        Membership observations (source ``membership``).
    frameworks
        ``frameworks`` records, for the adoption years that bound undated memberships.
    population
        ``iso3, year, population`` (:func:`population_by_country_year`); per-capita columns are
        NA without it.
    year_from, year_to
        The window (default: 2000, the year of the Palermo Protocol, to the panel's last year).
    countries
        ISO3 codes to keep (default: all).
    counted
        Framework ids the density index counts (default: all of :data:`DENSITY_FRAMEWORKS`).
    """
    if len(panel) == 0:
        return pd.DataFrame(columns=list(COVERAGE_COLUMNS))
    first = 2000 if year_from is None else int(year_from)
    last = int(panel["year"].max()) if year_to is None else int(year_to)
    if last < first:
        raise TiplensError(f"--to {last} is before --from {first}: give a window whose end is not before its start")
    palermo_years, not_before = palermo_timing(panel)
    spells = membership_spells(membership, frameworks, palermo_years, palermo_not_before=not_before,
                               counted=counted)
    # every country known to the panel gets every year of the window, so that an absent record
    # shows as an empty cell rather than a missing row
    iso3 = sorted(panel["iso3"].unique())
    if countries:
        wanted = [c.upper() for c in countries]
        unknown = sorted(set(wanted) - set(iso3))
        if unknown:
            raise TiplensError(f"no data for country code(s) {', '.join(unknown)}: use ISO3 codes such as NGA, "
                               "PHL (see tiplens panel for the countries in the store)")
        iso3 = wanted
    grid = pd.MultiIndex.from_product([iso3, range(first, last + 1)], names=["iso3", "year"]).to_frame(index=False)
    frame = grid.merge(panel, on=["iso3", "year"], how="left")
    names = panel.drop_duplicates("iso3").set_index("iso3")
    for col in ("country", "m49_region"):
        frame[col] = frame["iso3"].map(names[col])
    frame["palermo_ratification_year"] = frame["iso3"].map(palermo_years).astype("Float64")
    ratified = frame["palermo_ratification_year"]
    known = frame["palermo_party"] if "palermo_party" in frame else pd.Series(pd.NA, index=frame.index)
    frame["palermo_party"] = known.astype("Float64").combine_first(
        (frame["year"] >= ratified).astype("Float64").where(ratified.notna()))
    frame["palermo_status_now"] = frame["iso3"].map(palermo_status_now(membership))
    frame = frame.merge(density_index(spells, frame), on=["iso3", "year"], how="left")
    if population is not None and len(population):
        frame = frame.merge(population, on=["iso3", "year"], how="left")
    else:
        frame["population"] = np.nan
    for bound in ("lower", "upper"):
        col = f"detected_victims_{bound}"
        if col not in frame:
            frame[col] = np.nan
        frame[f"detected_per_100k_{bound}"] = frame[col] / frame["population"] * 1e5
    for col in ("prosecuted_lower", "prosecuted_upper", "convicted_lower", "convicted_upper"):
        if col not in frame:
            frame[col] = np.nan
    frame["glotip_indicators"] = sum(frame[f"{c}_upper"].notna().astype("int64")
                                     for c in ("detected_victims", "prosecuted", "convicted"))
    reported = frame[frame["detected_victims_upper"].notna()].groupby("iso3")["year"].nunique()
    frame["glotip_years_reported"] = frame["iso3"].map(reported).fillna(0).astype("int64")
    frame = frame.reindex(columns=list(COVERAGE_COLUMNS))
    return frame.sort_values(["iso3", "year"], ignore_index=True)


def coverage_summary(coverage: pd.DataFrame) -> pd.DataFrame:
    """Per year: countries, mean density (both bounds), Palermo parties, countries with a tier,
    a 3P score and GLOTIP detected victims."""
    if len(coverage) == 0:
        return pd.DataFrame(columns=["year", "countries", "density_lower_mean", "density_upper_mean",
                                     "palermo_parties", "with_tier", "with_p3", "with_detected_victims"])
    grouped = coverage.groupby("year")
    return pd.DataFrame({
        "countries": grouped["iso3"].nunique(),
        "density_lower_mean": grouped["density_lower"].mean(),
        "density_upper_mean": grouped["density_upper"].mean(),
        "palermo_parties": grouped["palermo_party"].apply(lambda s: int((s == 1).sum())),
        "with_tier": grouped["tip_tier"].apply(lambda s: int(s.notna().sum())),
        "with_p3": grouped["p3_total"].apply(lambda s: int(s.notna().sum())),
        "with_detected_victims": grouped["detected_victims_upper"].apply(lambda s: int(s.notna().sum())),
    }).reset_index()


#: Columns of :func:`gaps`.
GAP_COLUMNS = ["iso3", "country", "m49_region", "gsi_prevalence_per_1000", "gsi_vulnerability",
               "mechanisms_now", "mechanisms_now_list", "palermo_status_now", "high_prevalence",
               "high_vulnerability", "thin_cooperation", "outside_palermo", "gap", "reason"]


def gaps(panel: pd.DataFrame, membership: pd.DataFrame, *, quantile: float = 0.75, thin: int | None = None,
         counted: list[str] | None = None) -> pd.DataFrame:
    """Countries with high estimated prevalence or vulnerability and thin cooperation, or outside
    the Palermo regime.

    Parameters
    ----------
    panel
        The country-year panel (GSI values sit in its 2021 rows).
    membership
        Membership observations.
    quantile
        A prevalence or vulnerability at or above this quantile across countries is "high".
    thin
        Cooperation is "thin" at or below this many current memberships (default: the lower
        quartile across countries with any membership data).
    counted
        Framework ids counted (default: :data:`DENSITY_FRAMEWORKS`).

    Returns
    -------
    DataFrame
        One row per country (columns :data:`GAP_COLUMNS`), gaps first, then by prevalence.
        ``gap`` is True when (high prevalence or high vulnerability) and thin cooperation, or
        the country is not party to the Palermo Protocol (``not_party`` or ``signatory``; an
        unknown status is not a gap but is named in ``reason``).
    """
    if not 0 < quantile < 1:
        raise TiplensError(f"quantile {quantile}: give a number between 0 and 1, e.g. 0.75")
    spells = membership_spells(membership, None, None, counted=counted)
    now = current_memberships(spells).set_index("iso3")
    base = panel.drop_duplicates("iso3").set_index("iso3")[["country", "m49_region"]]
    table = base.copy()
    for col in ("gsi_prevalence_per_1000", "gsi_vulnerability"):
        values = panel[panel[col].notna()].groupby("iso3")[col].last() if col in panel else pd.Series(dtype=float)
        table[col] = values.reindex(table.index)
    table["mechanisms_now"] = now["mechanisms_now"].reindex(table.index).fillna(0).astype("int64")
    table["mechanisms_now_list"] = now["mechanisms_now_list"].reindex(table.index).fillna("")
    table["palermo_status_now"] = palermo_status_now(membership).reindex(table.index)
    # only countries that appear in some membership file or GSI are judged
    judged = table["mechanisms_now"].gt(0) | table["palermo_status_now"].notna() | \
        table["gsi_prevalence_per_1000"].notna()
    table = table[judged]
    cut = int(table["mechanisms_now"].quantile(0.25)) if thin is None and len(table) else (thin or 0)
    prevalence_cut = table["gsi_prevalence_per_1000"].quantile(quantile)
    vulnerability_cut = table["gsi_vulnerability"].quantile(quantile)
    table["high_prevalence"] = table["gsi_prevalence_per_1000"].ge(prevalence_cut).fillna(False).astype(bool)
    table["high_vulnerability"] = table["gsi_vulnerability"].ge(vulnerability_cut).fillna(False).astype(bool)
    table["thin_cooperation"] = table["mechanisms_now"].le(cut)
    table["outside_palermo"] = table["palermo_status_now"].isin(["not_party", "signatory"])
    at_risk = table["high_prevalence"] | table["high_vulnerability"]
    table["gap"] = (at_risk & table["thin_cooperation"]) | table["outside_palermo"]

    def reason(row) -> str:
        parts = []
        if row["high_prevalence"]:
            parts.append(f"prevalence {row['gsi_prevalence_per_1000']:.1f}/1,000 >= {prevalence_cut:.1f} "
                         f"(top {1 - quantile:.0%})")
        if row["high_vulnerability"]:
            parts.append(f"vulnerability {row['gsi_vulnerability']:.0f} >= {vulnerability_cut:.0f}")
        if row["thin_cooperation"]:
            parts.append(f"{row['mechanisms_now']} mechanism(s) (thin: <= {cut})")
        if row["outside_palermo"]:
            parts.append(f"Palermo: {row['palermo_status_now']}")
        elif row["palermo_status_now"] == "unknown" or pd.isna(row["palermo_status_now"]):
            parts.append("Palermo status unknown")
        return "; ".join(parts)

    table["reason"] = table.apply(reason, axis=1) if len(table) else pd.Series(dtype="str")
    table = table.reset_index().sort_values(["gap", "gsi_prevalence_per_1000"], ascending=[False, False],
                                            na_position="last", ignore_index=True)
    return table.reindex(columns=GAP_COLUMNS)


# -- charts --------------------------------------------------------------------------------------
def coverage_figure(coverage: pd.DataFrame, gap_table: pd.DataFrame | None = None):
    """A plotly figure: mean density (both bounds) and Palermo parties by year; beside it, when
    GSI values exist, prevalence against current memberships with gaps marked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    summary = coverage_summary(coverage)
    scatter = gap_table is not None and len(gap_table) and gap_table["gsi_prevalence_per_1000"].notna().any()
    fig = make_subplots(rows=1, cols=2 if scatter else 1, subplot_titles=(
        ["Institutional density by year (mean over countries)"]
        + (["GSI prevalence vs cooperation now (red: gap)"] if scatter else [])),
        specs=[[{"secondary_y": True}] + ([{}] if scatter else [])])
    fig.add_trace(go.Scatter(x=summary["year"], y=summary["density_upper_mean"], name="density (upper bound)",
                             line={"color": "#1f77b4"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=summary["year"], y=summary["density_lower_mean"], name="density (lower bound)",
                             line={"color": "#1f77b4", "dash": "dash"}, fill="tonexty",
                             fillcolor="rgba(31,119,180,0.15)"), row=1, col=1)
    fig.add_trace(go.Scatter(x=summary["year"], y=summary["palermo_parties"], name="Palermo parties (countries)",
                             line={"color": "#2ca02c"}), row=1, col=1, secondary_y=True)
    if scatter:
        shown = gap_table[gap_table["gsi_prevalence_per_1000"].notna()]
        fig.add_trace(go.Scatter(
            x=shown["mechanisms_now"], y=shown["gsi_prevalence_per_1000"], mode="markers", name="countries",
            text=shown["iso3"] + " " + shown["reason"].fillna(""), hoverinfo="text",
            marker={"color": np.where(shown["gap"], "#d62728", "#7f7f7f"), "size": 7}), row=1, col=2)
        fig.update_xaxes(title_text="mechanisms now", row=1, col=2)
        fig.update_yaxes(title_text="GSI prevalence per 1,000", row=1, col=2)
    fig.update_yaxes(title_text="mechanisms", row=1, col=1)
    fig.update_yaxes(title_text="Palermo parties", row=1, col=1, secondary_y=True)
    fig.update_layout(title="Cooperation coverage (tiplens lens coverage)", height=520, margin={"b": 120})
    fig.add_annotation(text=_wrap(COVERAGE_CAVEAT), xref="paper", yref="paper", x=0, y=-0.25, showarrow=False,
                       align="left", font={"size": 10})
    return fig


def coverage_png(coverage: pd.DataFrame, gap_table: pd.DataFrame | None, path) -> None:
    """The coverage chart as a static PNG (matplotlib; no browser needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = coverage_summary(coverage)
    scatter = gap_table is not None and len(gap_table) and gap_table["gsi_prevalence_per_1000"].notna().any()
    fig = Figure(figsize=(12 if scatter else 8, 5.5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2 if scatter else 1, squeeze=False)[0]
    ax = axes[0]
    ax.fill_between(summary["year"], summary["density_lower_mean"], summary["density_upper_mean"], alpha=0.2,
                    label="density, between bounds")
    ax.plot(summary["year"], summary["density_upper_mean"], label="upper bound")
    ax.plot(summary["year"], summary["density_lower_mean"], "--", label="lower bound")
    ax.set_ylabel("mechanisms (mean over countries)")
    twin = ax.twinx()
    twin.plot(summary["year"], summary["palermo_parties"], color="#2ca02c", label="Palermo parties")
    twin.set_ylabel("Palermo parties (countries with a known year)")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, loc="upper left")
    ax.set_title("Institutional density by year", fontsize=9, loc="left")
    if scatter:
        shown = gap_table[gap_table["gsi_prevalence_per_1000"].notna()]
        axes[1].scatter(shown["mechanisms_now"], shown["gsi_prevalence_per_1000"], s=14,
                        c=np.where(shown["gap"], "#d62728", "#7f7f7f"))
        for _, row in shown[shown["gap"]].nlargest(10, "gsi_prevalence_per_1000").iterrows():
            axes[1].annotate(row["iso3"], (row["mechanisms_now"], row["gsi_prevalence_per_1000"]), fontsize=6)
        axes[1].set_xlabel("mechanisms now")
        axes[1].set_ylabel("GSI prevalence per 1,000 (2021)")
        axes[1].set_title("Prevalence vs cooperation (red: gap)", fontsize=9, loc="left")
    fig.text(0.01, 0.01, "\n".join(__import__("textwrap").wrap(COVERAGE_CAVEAT, 190)), fontsize=6, color="#555555")
    fig.subplots_adjust(bottom=0.22, wspace=0.35)
    fig.savefig(path, format="png", dpi=130)


def _wrap(text: str, width: int = 160) -> str:
    import textwrap
    return "<br>".join(textwrap.wrap(text, width))
