"""The dashboard's pages: filters read from the URL, checked, and turned into views.

Each page function takes the loaded :class:`~tiplens.web.data.DashboardData` and a
:class:`Filters` (the query string) and returns a :class:`Page`: the form controls with their
current values and a list of :class:`tiplens.report.views.View` objects (figure, table, caption,
source, edition, countries, caveat, and ``empty_reason`` when the selection has no data). The
figures and tables come from :mod:`tiplens.report.views` where one fits; the trends page builds its
series from the totals prepared at load (:func:`tiplens.web.data.trend_lines`), because it is asked
for many filter combinations and must answer each quickly.

A filter value that is not among the valid ones raises :class:`FilterError`, which the app turns
into a 400 page listing the valid values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..analysis import trends
from ..analysis.plots import FLOWS_NOTE
from ..errors import TiplensError
from ..report import views as report_views
from ..report.views import View
from .data import EACH, TOTAL, DashboardData, TrendSelection, region_flows, trend_lines

#: Query parameters every page accepts besides its filters.
COMMON_PARAMETERS = ("format", "view", "token")
_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
            "#17becf", "#393b79"]


class FilterError(TiplensError):
    """A query parameter with a value the page does not offer."""

    def __init__(self, name: str, value: str, valid: list[tuple[str, str]], label: str | None = None):
        self.name, self.value, self.valid, self.label = name, value, valid, label or name
        shown = ", ".join(v or "(empty)" for v, _ in valid[:30]) + (" ..." if len(valid) > 30 else "")
        super().__init__(f"unknown value {value!r} for {name}: choose one of {shown}")


class UnknownParameterError(TiplensError):
    """A query parameter the page does not have (usually a typo)."""

    def __init__(self, names: list[str], valid: list[str]):
        self.names, self.valid = names, valid
        super().__init__(f"unknown filter {', '.join(names)}: this page takes {', '.join(valid)}")


@dataclass
class Control:
    """One select element of a page's filter form."""

    name: str
    label: str
    options: list[tuple[str, str]]  # (value, label)
    value: str
    help: str = ""


class Filters:
    """The query string of a request, read one filter at a time (each read is validated)."""

    def __init__(self, params):
        self.params = params
        self.controls: list[Control] = []
        self.notes: list[str] = []

    def choice(self, name: str, label: str, options: list[tuple[str, str]], default: str, help: str = "") -> str:
        raw = self.params.get(name)
        value = default if raw is None else raw
        if value not in dict(options):
            raise FilterError(name, raw, options, label)
        self.controls.append(Control(name, label, options, value, help))
        return value

    def check_names(self) -> None:
        """Refuse parameters that no control and no common parameter uses, and any given twice
        (which of two values a page would use is not obvious from the address)."""
        known = {c.name for c in self.controls} | set(COMMON_PARAMETERS)
        unknown = sorted(set(self.params.keys()) - known)
        if unknown:
            raise UnknownParameterError(unknown, [c.name for c in self.controls])
        getlist = getattr(self.params, "getlist", None)
        repeated = [name for name in self.params if getlist is not None and len(getlist(name)) > 1]
        if repeated:
            raise TiplensError(f"{repeated[0]} is given {len(getlist(repeated[0]))} times in the address: "
                               "give each filter once")


@dataclass
class Page:
    """What a page shows: its filters, its views, and notes on how the filters were applied."""

    path: str
    title: str
    intro: str
    controls: list[Control] = field(default_factory=list)
    views: list[View] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: list[tuple[str, str]] = field(default_factory=list)


# -- shared filter pieces ---------------------------------------------------------------------------
def _label(text: str) -> str:
    return str(text).replace("_", " ")


def _indicator(data: DashboardData, filters: Filters) -> str:
    present = [i for i in trends.INDICATORS if i in data.years] or list(trends.INDICATORS)
    return filters.choice("indicator", "Indicator", [(i, _label(i)) for i in present], present[0],
                          "What national authorities reported to UNODC.")


def _years(data: DashboardData, filters: Filters, indicator: str) -> tuple[int | None, int | None]:
    """The window. The choices span every indicator, so switching indicators keeps the address
    valid; a window reaching past this indicator's data is cut to it, and the page says so."""
    if indicator not in data.years:
        return None, None
    first = min(a for a, _ in data.years.values())
    last = max(b for _, b in data.years.values())
    options = [(str(y), str(y)) for y in range(first, last + 1)]
    start = int(filters.choice("from", "From year", options, str(first)))
    end = int(filters.choice("to", "To year", options, str(last)))
    if start > end:
        raise TiplensError(f"from={start} is after to={end}: choose a window within {first}-{last}")
    have_first, have_last = data.years[indicator]
    if end < have_first or start > have_last:
        raise TiplensError(f"{_label(indicator)} has data for {have_first}-{have_last} only; the window "
                           f"{start}-{end} lies outside it")
    cut = (max(start, have_first), min(end, have_last))
    if cut != (start, end):
        filters.notes.append(f"{_label(indicator).capitalize()} has data for {have_first}-{have_last}: "
                             f"showing {cut[0]}-{cut[1]} of the window {start}-{end} asked for.")
    return cut


def _glotip_empty(view_id: str, title: str) -> View:
    return View(id=view_id, title=title, source=report_views.GLOTIP_SOURCE, caveat=trends.CAVEAT,
                empty_reason=report_views.GLOTIP_MISSING.replace("then regenerate", "then reload the dashboard"))


# -- trends -----------------------------------------------------------------------------------------
def trend_selection(data: DashboardData, filters: Filters) -> TrendSelection:
    """Read and check the trends filters."""
    indicator = _indicator(data, filters)
    regions = [("", "All regions")] + [(r, r) for r in data.regions()]
    region = filters.choice("region", "Region (UN M49)", regions, "")
    names = data.country_names()
    reporting = data.reporters.get(indicator, [])
    countries = [("", "All reporting countries")] + [(c, f"{names.get(c, c)} ({c})") for c in reporting]
    country = filters.choice("country", "Country", countries, "")
    chosen = {}
    for breakdown, label in (("sex", "Sex"), ("age", "Age"), ("form", "Form of exploitation")):
        options = [(TOTAL, "Total (no breakdown)"), (EACH, f"Each {label.lower()} (one line each)")]
        options += [(c, c) for c in data.categories(breakdown)]
        chosen[breakdown] = filters.choice(breakdown, label, options, TOTAL)
    start, end = _years(data, filters, indicator)
    panel = filters.choice("panel", "Countries", [("all", "All reporting countries each year"),
                                                  ("balanced", "Balanced panel (reporting every year)")], "all",
                           "A total over all reporters mixes real change with change in who reports.")
    split = [b for b, v in chosen.items() if v != TOTAL]
    if len(split) > 1:
        raise TiplensError(f"choose one breakdown at a time: {' and '.join(split)} are both set. GLOTIP "
                           "publishes sex, age and form of exploitation as separate tables; set the others "
                           "to Total")
    breakdown = split[0] if split else None
    return TrendSelection(indicator=indicator, region=region, country=country, breakdown=breakdown,
                          category=chosen[breakdown] if breakdown else EACH, year_from=start, year_to=end,
                          panel=panel)


def trend_view(data: DashboardData, sel: TrendSelection) -> View:
    """The selected series as a view: band between the censoring bounds, exact points, countries below."""
    names = data.country_names()
    where = (f"{names.get(sel.country, sel.country)} ({sel.country})" if sel.country
             else sel.region or "World")
    split = {"form": "form of exploitation"}.get(sel.breakdown or "", sel.breakdown or "")
    title = f"{_label(sel.indicator).capitalize()}, {where}" + (f", by {split}" if split else "")
    title += ", balanced panel" if sel.panel == "balanced" else ", all reporting countries"
    if data.glotip.empty:
        return _glotip_empty("trends", title)
    lines, info = trend_lines(data, sel)
    edition = data.glotip_edition or ""
    if info["empty_reason"]:
        return View(id="trends", title=title, source=report_views.GLOTIP_SOURCE, edition=edition,
                    caveat=trends.CAVEAT, empty_reason=info["empty_reason"])
    start, end = int(lines["year"].min()), int(lines["year"].max())
    figure = _series_figure(lines, title=f"{title}, {start}-{end}")
    per_year = lines.groupby("year")["countries"].max()
    caption = (f"{_label(sel.indicator).capitalize()} per year, {start}-{end}, summed over the reporting "
               f"countries{' of the balanced panel' if sel.panel == 'balanced' else ''}. The band runs from "
               "the lower to the upper bound that censored '<5' cells allow; diamonds mark years where every "
               "summed cell is exact. The lower panel counts the countries behind each point.")
    countries = (f"{info['countries']} in all; {int(per_year.min())}-{int(per_year.max())} per year"
                 if per_year.min() != per_year.max() else f"{info['countries']} in all; {int(per_year.min())} per year")
    return View(id="trends", title=title, figure=figure, table=lines, caption=caption,
                source=report_views.GLOTIP_SOURCE, edition=edition, countries=countries, caveat=trends.CAVEAT)


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _series_figure(lines: pd.DataFrame, *, title: str) -> dict:
    """The figure as a plotly figure dict (``{"data": [...], "layout": {...}}``).

    Left as a dict on purpose: building and validating a ``go.Figure`` and turning it back into
    JSON costs more than everything else in a trends request; ``go.Figure(this)`` gives the
    object when one is needed.
    """
    traces = []
    for i, (category, part) in enumerate(lines.groupby("category", sort=True)):
        colour = _COLOURS[i % len(_COLOURS)]
        years = part["year"].tolist()
        label = "all" if category == "Total" else category
        traces.append({"type": "scatter", "x": years, "y": part["upper"].tolist(), "mode": "lines",
                       "line": {"color": colour, "width": 1}, "legendgroup": label, "showlegend": False,
                       "name": f"{label} upper", "hovertemplate": "%{x}: upper %{y:,.0f}<extra></extra>"})
        traces.append({"type": "scatter", "x": years, "y": part["lower"].tolist(), "mode": "lines",
                       "fill": "tonexty", "fillcolor": _rgba(colour, 0.25), "line": {"color": colour, "width": 1},
                       "legendgroup": label, "name": f"{label} (lower–upper)",
                       "hovertemplate": "%{x}: lower %{y:,.0f}<extra></extra>"})
        exact = part[part["value"].notna()]
        if len(exact):
            traces.append({"type": "scatter", "x": exact["year"].tolist(), "y": exact["value"].tolist(),
                           "mode": "markers", "marker": {"symbol": "diamond", "color": colour, "size": 7},
                           "legendgroup": label, "name": f"{label} exact",
                           "hovertemplate": "%{x}: %{y:,.0f} (exact)<extra></extra>"})
        traces.append({"type": "scatter", "x": years, "y": part["countries"].tolist(), "mode": "lines+markers",
                       "xaxis": "x", "yaxis": "y2", "line": {"color": colour, "width": 1, "dash": "dot"},
                       "marker": {"size": 4}, "legendgroup": label, "showlegend": False,
                       "name": f"{label} countries", "hovertemplate": "%{x}: %{y} countries<extra></extra>"})
    layout = {"title": {"text": title, "font": {"size": 15}}, "height": 480,
              "margin": {"l": 70, "r": 20, "t": 60, "b": 50}, "paper_bgcolor": "white", "plot_bgcolor": "white",
              "hovermode": "x unified", "legend": {"orientation": "h", "y": -0.12},
              "xaxis": {"anchor": "y2", "dtick": 1, "tickangle": -45, "gridcolor": "#e5e5e5"},
              "yaxis": {"domain": [0.36, 1], "title": {"text": "count (band: censoring bounds)"},
                        "rangemode": "tozero", "gridcolor": "#e5e5e5"},
              "yaxis2": {"domain": [0, 0.26], "title": {"text": "countries"}, "rangemode": "tozero",
                         "gridcolor": "#e5e5e5"}}
    return {"data": traces, "layout": layout}


# -- pages --------------------------------------------------------------------------------------------
def overview(data: DashboardData, filters: Filters) -> Page:
    page = Page("/", "Overview", "What the store holds, how many countries stand behind the numbers, and "
                "where to look next.")
    sources = data.files["source"].nunique() if len(data.files) else 0
    page.stats = [("Store", Path(data.store_path).name), ("Read at", data.loaded_at.strftime("%Y-%m-%d %H:%M UTC")),
                  ("Sources loaded", str(sources)), ("Files", str(len(data.files))),
                  ("Rows in quarantine", f"{len(data.quarantine):,}"),
                  ("GLOTIP edition", data.glotip_edition or "not loaded")]
    if data.years.get("detected_victims"):
        first, last = data.years["detected_victims"]
        page.stats.append(("GLOTIP years", f"{first}-{last}"))
    filters.check_names()
    page.views.append(trend_view(data, TrendSelection()))
    page.views.append(data.coverage)
    return page


def trends_page(data: DashboardData, filters: Filters) -> Page:
    page = Page("/trends", "Trends", "A GLOTIP indicator per year, with the bounds its censored cells allow "
                "and the countries behind each point. Choose one breakdown (sex, age or form) at a time.")
    sel = trend_selection(data, filters)
    filters.check_names()
    page.controls = filters.controls
    page.notes = filters.notes
    page.views.append(trend_view(data, sel))
    return page


def flows_page(data: DashboardData, filters: Filters) -> Page:
    page = Page("/flows", "Flows", "Where detected victims came from (region of citizenship) and where they "
                "were detected, summed over the years chosen.")
    indicator = _indicator(data, filters)
    start, end = _years(data, filters, indicator)
    domestic = filters.choice("domestic", "Domestic victims", [("include", "Include (same region)"),
                                                                ("exclude", "Leave out same-region flows")],
                              "include")
    filters.check_names()
    page.controls = filters.controls
    page.notes = filters.notes
    if data.glotip.empty:
        page.views.append(_glotip_empty("flows-regions", "Flows"))
        return page
    page.views.append(flow_view(data, indicator=indicator, year_from=start, year_to=end,
                                include_domestic=domestic == "include"))
    return page


def flow_view(data: DashboardData, *, indicator: str, year_from: int, year_to: int,
              include_domestic: bool = True, top: int = 40) -> View:
    """Region of citizenship → region of detection (Sankey) from :func:`tiplens.analysis.trends.flows`.

    The same numbers as :func:`tiplens.report.views.flows_view`, summed from the yearly flows
    prepared at load (:func:`tiplens.web.data.region_flows`); the chart is a figure dict, drawn
    here because plotly's figure objects cost more than the whole computation on each request.
    """
    title = f"{_label(indicator).capitalize()}: region of citizenship → region of detection, {year_from}-{year_to}"
    caveat = trends.CAVEAT + " " + FLOWS_NOTE.replace("Band widths use the upper bound.", "")
    edition = data.glotip_edition or ""
    frame = region_flows(data, indicator=indicator, year_from=year_from, year_to=year_to)
    drawn = frame if include_domestic else frame[frame["origin_region"].ne(frame["detection_region"])]
    drawn = drawn[drawn["upper"] > 0].head(top)
    if drawn.empty:
        return View(id="flows-regions", title=title, source=report_views.GLOTIP_SOURCE, edition=edition,
                    caveat=caveat, empty_reason=f"no {_label(indicator)} rows by citizenship name a country in "
                                                f"{year_from}-{year_to}{'' if include_domestic else ' outside the region of detection'}")
    origins = sorted(drawn["origin_region"].unique())
    targets = sorted(drawn["detection_region"].unique())
    hover = [f"{o} → {t}: {lo:,.0f}–{up:,.0f} ({n} detecting countries)" for o, t, lo, up, n in
             zip(drawn["origin_region"], drawn["detection_region"], drawn["lower"], drawn["upper"], drawn["countries"])]
    figure = {"data": [{"type": "sankey", "arrangement": "snap",
                        "node": {"label": [f"from {o}" for o in origins] + [f"detected in {t}" for t in targets],
                                 "pad": 14, "thickness": 16,
                                 "color": [_COLOURS[i % len(_COLOURS)] for i in range(len(origins))]
                                 + ["#6b7280"] * len(targets)},
                        "link": {"source": [origins.index(o) for o in drawn["origin_region"]],
                                 "target": [len(origins) + targets.index(t) for t in drawn["detection_region"]],
                                 "value": drawn["lower"].astype(float).tolist(),
                                 "color": [_rgba(_COLOURS[origins.index(o) % len(_COLOURS)], 0.35)
                                           for o in drawn["origin_region"]],
                                 "customdata": hover, "hovertemplate": "%{customdata}<extra></extra>"}}],
              "layout": {"title": {"text": title, "font": {"size": 15}}, "height": 560, "font": {"size": 12},
                         "paper_bgcolor": "white", "margin": {"l": 20, "r": 20, "t": 60, "b": 20}}}
    detecting = int(frame.loc[frame["upper"] > 0, "countries"].max())
    caption = (f"{_label(indicator).capitalize()}, {year_from}-{year_to}, summed over the years, by UN M49 region "
               "of citizenship (left) and of the detecting country (right). Link widths are the lower censoring "
               f"bounds (what the data guarantee); hover for lower–upper. {len(drawn)} of {len(frame)} region "
               "pairs drawn; the download holds all of them.")
    return View(id="flows-regions", title=title, figure=figure, table=frame, caption=caption,
                source=report_views.GLOTIP_SOURCE, edition=edition, caveat=caveat,
                countries=f"up to {detecting} detecting countries per link")


def map_page(data: DashboardData, filters: Filters) -> Page:
    page = Page("/map", "Map", "How many years each country reported to UNODC in the window: the coverage "
                "behind every world total.")
    indicator = _indicator(data, filters)
    start, end = _years(data, filters, indicator)
    filters.check_names()
    page.controls = filters.controls
    page.notes = filters.notes
    if data.glotip.empty:
        page.views.append(_glotip_empty("map-reporting", "Map"))
        return page
    try:
        view = report_views.world_map_view(data.glotip, data.countries, indicator=indicator, year_from=start,
                                           year_to=end)
    except ImportError:  # the map module of the report is not there yet
        view = View(id="map-reporting", title="Map", source=report_views.GLOTIP_SOURCE,
                    empty_reason="world maps are not available in this installation yet "
                                 "(tiplens.report.maps is missing)")
    page.views.append(view)
    return page


def cooperation_page(data: DashboardData, filters: Filters) -> Page:
    page = Page("/cooperation", "Cooperation", "The anti-trafficking frameworks, who joined them, and the "
                "countries left out: the regime the liberal lens reads.")
    filters.check_names()
    page.views.extend(data.extras.get("cooperation", []))
    page.views.extend(cooperation_views(data))
    return page


def cooperation_views(data: DashboardData) -> list[View]:
    """Frameworks and their members, from the membership tables loaded with tiplens."""
    source = "tiplens membership tables (records_frameworks, records_membership_sources), one source per row"
    frameworks, members = data.frameworks, data.memberships
    if frameworks.empty:
        reason = "no framework table in the store (it comes with tiplens' embedded default data)"
        return [View(id="frameworks", title="Frameworks", source=source, empty_reason=reason)]
    columns = [c for c in ("framework", "name", "type", "adopted_year", "in_force_year", "monitoring_body", "scope")
               if c in frameworks.columns]
    table = frameworks[columns].sort_values("framework", ignore_index=True)
    editions = ", ".join(sorted(data.files.loc[data.files["source"].eq("membership"), "edition"].astype(str).unique()))
    views = [View(id="frameworks", title="Anti-trafficking frameworks", table=table, source=source,
                  edition=editions, countries="see the members view",
                  caption=f"{len(table)} frameworks with their dates, monitoring body and scope.",
                  caveat="Dates as published by each framework's depositary or secretariat.")]
    countries = members[members.get("member_kind", pd.Series(dtype=str)).eq("country")] if len(members) else members
    if countries.empty:
        return views
    counts = (countries.groupby(["framework", "category"]).size().rename("countries").reset_index()
              .sort_values(["framework", "category"], ignore_index=True))
    figure = {"data": [
        {"type": "bar", "orientation": "h", "y": part["framework"].tolist(), "x": part["countries"].tolist(),
         "name": category, "marker": {"color": _COLOURS[i % len(_COLOURS)]},
         "hovertemplate": "%{y}: %{x} countries (" + category + ")<extra></extra>"}
        for i, (category, part) in enumerate(counts.groupby("category", sort=True))],
        "layout": {"barmode": "stack", "height": 460, "title": {"text": "Countries per framework, by status"},
                   "margin": {"l": 200, "r": 20, "t": 60, "b": 50}, "paper_bgcolor": "white",
                   "plot_bgcolor": "white", "xaxis": {"title": {"text": "countries"}, "gridcolor": "#e5e5e5"},
                   "legend": {"orientation": "h", "y": -0.15}}}
    views.append(View(id="framework-members", title="Countries per framework", figure=figure, table=counts,
                      source=source, edition=editions, countries=int(countries["iso3"].nunique()),
                      caption="Countries listed for each framework, by the status the source publishes "
                              "(party, member, signatory, not party...).",
                      caveat="Some lists are partial (ILO P029, Bali Process, Blue Heart): a missing country is "
                             "not known to be outside the framework. Rows marked CONFLICT had disagreeing sources."))
    joined = countries[countries["category"].isin(["party", "member", "ratified"])] if "category" in countries else countries
    per_country = (joined.groupby("iso3")["framework"].nunique().rename("frameworks").reset_index())
    gaps = data.countries[["iso3", "name", "m49_region"]].merge(per_country, on="iso3", how="left")
    gaps = gaps[gaps["m49_region"].notna()]
    gaps["frameworks"] = gaps["frameworks"].fillna(0).astype("int64")
    gaps = gaps.sort_values(["frameworks", "iso3"], ignore_index=True)
    views.append(View(id="framework-coverage", title="Frameworks joined per country (fewest first)", table=gaps,
                      source=source, edition=editions, countries=len(gaps),
                      caption=f"{int((gaps['frameworks'] == 0).sum())} countries with an M49 region appear as "
                              "party or member of none of the listed frameworks.",
                      caveat="Counts only the statuses party, member and ratified; partial lists undercount."))
    return views


def models_page(data: DashboardData, filters: Filters) -> Page:
    page = Page("/models", "Models", "The liberal lens's hypotheses tested on the country-year panel.")
    filters.check_names()
    page.views.append(data.models())
    return page


def literature_page(data: DashboardData, filters: Filters) -> Page:
    page = Page("/literature", "Literature", "The systematic review: records screened (PRISMA) and the "
                "theory-driven coding of the included documents.")
    filters.check_names()
    page.views.extend(data.extras.get("literature", []))
    return page


def sources_page(data: DashboardData, filters: Filters) -> Page:
    page = Page("/sources", "Sources", "Every loaded file with its provenance, and every row that was not "
                "loaded, with its reason.")
    present = sorted(data.quarantine["source"].unique()) if len(data.quarantine) else []
    source = filters.choice("source", "Quarantine of source", [("", "All sources")] + [(s, s) for s in present], "")
    filters.check_names()
    page.controls = filters.controls
    page.views.append(report_views.sources_view(data.files))
    page.views.extend(quarantine_views(data, source))
    return page


def quarantine_views(data: DashboardData, source: str) -> list[View]:
    rows = data.quarantine if not source else data.quarantine[data.quarantine["source"].eq(source)]
    caveat = "Quarantined rows are never counted in any total; rows read = rows loaded + rows quarantined."
    title = f"Quarantined rows{' of ' + source if source else ''}"
    if rows.empty:
        return [View(id="quarantine", title=title, source="tiplens store (quarantine table)", caveat=caveat,
                     empty_reason="no row was quarantined" + (f" from {source}" if source else ""))]
    summary = (rows.assign(reason=rows["reason"].str.split(":").str[0])
               .groupby(["source", "edition", "reason"]).size().rename("rows").reset_index()
               .sort_values(["source", "rows"], ascending=[True, False], ignore_index=True))
    editions = ", ".join(sorted(rows["edition"].astype(str).unique()))
    detail = rows.assign(file=rows["path"].astype(str).str.replace("\\", "/").str.rsplit("/", n=1).str[-1])
    detail = detail[["source", "edition", "file", "row_number", "column_name", "reason", "raw"]]
    return [View(id="quarantine-summary", title=f"{title}, by reason", table=summary, edition=editions,
                 source="tiplens store (quarantine table)", countries="not applicable", caveat=caveat,
                 caption=f"{len(rows):,} rows in {len(summary)} groups of source, edition and reason."),
            View(id="quarantine", title=title, table=detail, edition=editions,
                 source="tiplens store (quarantine table)", countries="not applicable", caveat=caveat,
                 caption="Each row not loaded: its file, row number, column and reason, with the raw cells.")]


def victims_page(data: DashboardData, filters: Filters) -> Page:
    from .victims import victims_page as page
    return page(data, filters)


PAGES = {"/": overview, "/trends": trends_page, "/flows": flows_page, "/map": map_page,
         "/cooperation": cooperation_page, "/models": models_page, "/literature": literature_page,
         "/victims": victims_page, "/sources": sources_page}
NAVIGATION = [("/", "Overview"), ("/trends", "Trends"), ("/flows", "Flows"), ("/map", "Map"),
              ("/cooperation", "Cooperation"), ("/models", "Models"), ("/literature", "Literature"),
              ("/victims", "Victim records"), ("/sources", "Sources")]
