"""Views: one figure with the table behind it and everything a reader needs to judge it.

A :class:`View` is what the report and the dashboard show: a plotly figure (or none, for a table),
the DataFrame it was drawn from, a caption, the source and edition, how many countries stand behind
it, its caveat, and — when the selection has no data — why (``empty_reason``) instead of an empty
chart.

Every function here takes frames that are already loaded (``Store.observations()``,
``Store.countries()``, ``Store.files()``, ``Store.records(...)``) plus filter arguments, and returns
a :class:`View` (or a list of them). The statistics come from :mod:`tiplens.analysis`; nothing here
computes a number of its own beyond counting rows, reads files or prints. A :class:`TiplensError`
raised by an analysis for a selection (an empty panel, a year outside the data) becomes the view's
``empty_reason``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import TiplensError

GLOTIP_SOURCE = ("UNODC, Global Report on Trafficking in Persons, country data (data_glotip); "
                 "computed by tiplens.")
GLOTIP_MISSING = ("GLOTIP not loaded — run `tiplens ingest data_glotip.xlsx` (UNODC's file, not shipped "
                  "with tiplens: no open licence) or `tiplens fetch glotip`, then regenerate.")
MSE_MISSING = ("No list data loaded — run `tiplens ingest` on a list-overlap file (such as the MSE "
               "modern-slavery lists, e.g. UKdat.csv) or `tiplens mse FILE` for one estimate.")
MSE_SOURCE = ("List data as published with the R package SparseMSE (Chan, Silverman & Vincent 2019); "
              "estimated by tiplens (stepwise Poisson log-linear models).")
COVERAGE_CAVEAT = ("A country counts as reporting in a year when the source has at least one value for "
                   "it; a censored '<5' cell counts as reported. Coverage says who published, not how "
                   "complete or comparable the national figures are.")
#: Characters that make a spreadsheet read a cell as a formula.


@dataclass
class View:
    """A figure (or table) with its data and context.

    Attributes
    ----------
    id : str
        Stable identifier (HTML ids, CSV file names), e.g. ``"trends-world"``.
    title : str
    figure : plotly Figure or None
        None for a table-only view, a map, or when there is no data.
    svg : str or None
        An inline SVG drawn by tiplens itself (the world maps of :mod:`tiplens.report.maps`).
    table : DataFrame
        The data behind the chart (what the CSV download holds).
    caption : str
        What the figure shows and how to read it.
    source : str
        Where the numbers come from.
    edition : str
        The edition(s) of the source used.
    countries : int or str
        How many countries stand behind it (a number, or a text such as ``"112-143 per year"``).
    caveat : str
    empty_reason : str or None
        Why there is no data for this selection; None when there is.
    notes : list of str
        Further remarks (periods cut to the data, model warnings...).
    """

    id: str
    title: str
    figure: Any = None
    svg: str | None = None
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    caption: str = ""
    source: str = ""
    edition: str = ""
    countries: int | str = 0
    caveat: str = ""
    empty_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the view has no data to show (see ``empty_reason``)."""
        return self.empty_reason is not None

    def csv_text(self) -> str:
        """The table as CSV text, with spreadsheet formulas neutralised (see :func:`safe_table`)."""
        return safe_table(self.table).to_csv(index=False, lineterminator="\n")

    def figure_json(self) -> str | None:
        """The figure as plotly JSON (deterministic for the same figure), or None."""
        if self.figure is None:
            return None
        import plotly.io as pio
        return pio.to_json(self.figure, validate=False, pretty=False, engine="json")

    def figure_json_html(self) -> str:
        """The figure JSON made safe inside ``<script type="application/json">`` (no ``</`` in it)."""
        text = self.figure_json() or "null"
        return text.replace("<", "\\u003c")  # "<" only occurs inside JSON strings, where this escape is valid

    def csv_data_uri(self) -> str:
        """The CSV as a ``data:`` URI, so a self-contained page can offer it for download."""
        from urllib.parse import quote
        return "data:text/csv;charset=utf-8," + quote(self.csv_text(), safe="")

    def table_html(self, max_rows: int = 300) -> str:
        """The table as an escaped HTML table (the first ``max_rows`` rows), numbers formatted."""
        frame = self.table.head(max_rows)
        return frame.to_html(index=False, escape=True, na_rep="", border=0, classes="tl-table",
                             float_format=_format_number)

    def summary(self) -> dict:
        """Plain-Python description (no figure, no table): for JSON outputs and listings."""
        return {"id": self.id, "title": self.title, "has_figure": self.figure is not None or self.svg is not None,
                "rows": len(self.table), "source": self.source, "edition": self.edition,
                "countries": self.countries, "empty_reason": self.empty_reason}


def safe_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot be read as spreadsheet formulas (the one rule of
    :mod:`tiplens._spreadsheet`, shared with the dashboard's downloads and the coding exports)."""
    from .._spreadsheet import safe_frame
    return safe_frame(frame)


def _format_number(value: float) -> str:
    if math.isnan(value):
        return ""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.4g}"


# -- helpers ---------------------------------------------------------------------------------------
def _editions(obs: pd.DataFrame, source: str | None = None) -> str:
    if obs is None or len(obs) == 0 or "edition" not in obs.columns:
        return ""
    rows = obs if source is None or "source" not in obs.columns else obs[obs["source"].eq(source)]
    return ", ".join(sorted(str(e) for e in rows["edition"].dropna().unique()))


def _has_glotip(obs: pd.DataFrame | None) -> bool:
    if obs is None or len(obs) == 0 or "source" not in obs.columns:
        return False
    return bool(obs["source"].eq("glotip").any())


def _empty(view_id: str, title: str, reason: str, *, source: str = GLOTIP_SOURCE, caveat: str = "",
           edition: str = "") -> View:
    return View(id=view_id, title=title, source=source, caveat=caveat, edition=edition, countries=0,
                empty_reason=reason)


def _per_year_text(frame: pd.DataFrame) -> str:
    """``"112-143 per year"`` from a frame with ``countries`` per row."""
    if frame.empty:
        return "0"
    low, high = int(frame["countries"].min()), int(frame["countries"].max())
    return f"{low} per year" if low == high else f"{low}-{high} per year"


def _label(text: str) -> str:
    return str(text).replace("_", " ")


def _glotip_series(obs, countries, *, indicator, by, breakdown, panel, year_from, year_to, population,
                   group, categories, bootstrap):
    from ..analysis.trends import series
    frame = series(obs, countries, indicator=indicator, by=by, breakdown=breakdown, panel=panel,
                   year_from=year_from, year_to=year_to, population=population, bootstrap=bootstrap, seed=0)
    if group is not None:
        valid = sorted(frame["group"].unique())
        frame = frame[frame["group"].eq(group)]
        if frame.empty:
            raise TiplensError(f"no {indicator} rows for {by} {group!r}; reporting groups: "
                               f"{', '.join(valid[:40])}{' ...' if len(valid) > 40 else ''}")
    if categories:
        frame = frame[frame["category"].isin(list(categories))]
        if frame.empty:
            raise TiplensError(f"no rows for categories {list(categories)} in this selection")
    return frame.reset_index(drop=True)


# -- trends ----------------------------------------------------------------------------------------
def world_series(obs: pd.DataFrame, countries: pd.DataFrame | None, *, indicator: str = "detected_victims",
                 panel="all", year_from: int | None = None, year_to: int | None = None, by: str = "world",
                 group: str | None = None, population: pd.DataFrame | None = None,
                 bootstrap: int = 200) -> View:
    """A GLOTIP indicator by year with its censoring band and the countries reporting each year.

    Parameters
    ----------
    obs : DataFrame
        Observations (``Store.observations(source="glotip")``, or all sources).
    countries : DataFrame or None
        ``Store.countries()`` (needed for ``by="region"`` or ``"subregion"``).
    indicator : str
        A GLOTIP indicator (:data:`tiplens.analysis.trends.INDICATORS`).
    panel : "all", "balanced" or list of ISO3
    year_from, year_to : int, optional
    by : {"world", "region", "subregion", "country"}
    group : str, optional
        Keep one group (an M49 region or subregion name, or an ISO3 code with ``by="country"``).
    population : DataFrame, optional
        ``iso3, year, population`` for the reporters' population share.
    bootstrap : int
        Resamples for the within-panel change intervals (seed 0: the same inputs give the same view).
    """
    from ..analysis import plots
    from ..analysis.trends import CAVEAT
    view_id = f"trends-{by}" + (f"-{group}" if group else "")
    title = f"{_label(indicator).capitalize()}, {group or by}, {_panel_text(panel)}"
    if not _has_glotip(obs):
        return _empty(view_id, title, GLOTIP_MISSING, caveat=CAVEAT)
    try:
        frame = _glotip_series(obs, countries, indicator=indicator, by=by, breakdown=None, panel=panel,
                               year_from=year_from, year_to=year_to, population=population, group=group,
                               categories=None, bootstrap=bootstrap)
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), caveat=CAVEAT, edition=_editions(obs, "glotip"))
    figure = plots.series_figure(frame, title=title, caveat=CAVEAT, source_note="Source: " + GLOTIP_SOURCE)
    years = f"{int(frame['year'].min())}-{int(frame['year'].max())}"
    caption = (f"{_label(indicator).capitalize()} per year, {years}, summed over the reporting countries "
               f"({frame['panel'].iloc[0]} panel). The band runs from the lower to the upper bound that "
               "censored '<5' cells allow; diamonds mark years where every cell is exact. The lower panel "
               "counts the countries behind each year: a change in the total may be a change in who reports.")
    return View(id=view_id, title=title, figure=figure, table=frame, caption=caption, source=GLOTIP_SOURCE,
                edition=_editions(obs, "glotip"), countries=_per_year_text(frame), caveat=CAVEAT)


def _panel_text(panel) -> str:
    if isinstance(panel, str):
        return f"{panel} reporting countries" if panel in ("all", "balanced") else f"panel {panel}"
    return f"named panel ({len(panel)} countries)"


def breakdown_view(obs: pd.DataFrame, countries: pd.DataFrame | None, *, breakdown: str = "sex",
                   indicator: str = "detected_victims", panel="all", year_from: int | None = None,
                   year_to: int | None = None, by: str = "world", group: str | None = None,
                   categories: list[str] | None = None, bootstrap: int = 200) -> View:
    """A GLOTIP indicator by sex, age, form of exploitation or citizenship, per year.

    Same parameters as :func:`world_series`, plus ``breakdown`` (``sex``, ``age``, ``form``,
    ``citizenship``) and ``categories`` (keep only these categories, e.g. ``["Female"]``). The table
    carries each category's share of the known breakdown, with censoring bounds and a bootstrap
    interval over countries (``share_ci_low``/``share_ci_high``).
    """
    from ..analysis import plots
    from ..analysis.trends import CAVEAT
    view_id = f"breakdown-{breakdown}" + (f"-{group}" if group else "")
    what = {"form": "form of exploitation"}.get(breakdown, breakdown)
    title = f"{_label(indicator).capitalize()} by {what}, {group or by}, {_panel_text(panel)}"
    if not _has_glotip(obs):
        return _empty(view_id, title, GLOTIP_MISSING, caveat=CAVEAT)
    try:
        frame = _glotip_series(obs, countries, indicator=indicator, by=by, breakdown=breakdown, panel=panel,
                               year_from=year_from, year_to=year_to, population=None, group=group,
                               categories=categories, bootstrap=bootstrap)
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), caveat=CAVEAT, edition=_editions(obs, "glotip"))
    figure = plots.series_figure(frame, title=title, caveat=CAVEAT, source_note="Source: " + GLOTIP_SOURCE)
    caption = (f"{_label(indicator).capitalize()} by {what} per year: one band per category (lower to upper "
               "censoring bound), with the countries reporting that category below. Countries report "
               f"breakdowns less often than totals, so each category rests on its own set of countries; "
               "the table gives each category's share of the known breakdown with its bounds.")
    return View(id=view_id, title=title, figure=figure, table=frame, caption=caption, source=GLOTIP_SOURCE,
                edition=_editions(obs, "glotip"), countries=_per_year_text(frame), caveat=CAVEAT)


def flows_view(obs: pd.DataFrame, countries: pd.DataFrame | None, *, indicator: str = "detected_victims",
               year_from: int | None = None, year_to: int | None = None, level: str = "region",
               include_domestic: bool = True, top: int = 40) -> View:
    """Origin → detection of victims (Sankey, :func:`tiplens.analysis.plots.flows_figure`) from the
    citizenship rows, by M49 region (``level="region"``) or by country (``level="country"``).

    At most ``top`` flows (largest upper bound first) are drawn; the table holds all of them, with
    lower and upper bounds. ``include_domestic=False`` leaves out flows whose origin is the place of
    detection (same country; at region level, same region).
    """
    from ..analysis import plots
    from ..analysis.trends import CAVEAT, flows
    view_id = "flows-regions" if level == "region" else "flows-countries"
    title = f"{_label(indicator).capitalize()}: citizenship → place of detection, by {level}"
    caveat = CAVEAT + " " + plots.FLOWS_NOTE
    if not _has_glotip(obs):
        return _empty(view_id, title, GLOTIP_MISSING, caveat=caveat)
    try:
        frame = flows(obs, indicator=indicator, year_from=year_from, year_to=year_to, countries=countries,
                      level=level)
        if not include_domestic:
            same = (frame["origin_region"].eq(frame["detection_region"]) if level == "region"
                    else frame["domestic"])
            frame = frame[~same].reset_index(drop=True)
        year_text = _years_text(obs, indicator, year_from, year_to)
        figure = plots.flows_figure(frame, title=f"{title}, {year_text}", caveat=caveat,
                                    source_note="Source: " + GLOTIP_SOURCE, max_links=top)
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), caveat=caveat, edition=_editions(obs, "glotip"))
    caption = (f"Victims detected {year_text}, summed over the years, from their {level} of citizenship (left) to "
               f"the {level} where they were detected (right). Band widths are the upper censoring bounds; hover "
               f"for lower–upper and the countries behind each flow. {min(top, len(frame))} of {len(frame)} flows "
               "drawn; the CSV holds all.")
    return View(id=view_id, title=title, figure=figure, table=frame, caption=caption, source=GLOTIP_SOURCE,
                edition=_editions(obs, "glotip"), caveat=caveat,
                countries=f"up to {int(frame['countries'].max()) if len(frame) else 0} detecting countries "
                          "behind one flow")


def _years_text(obs: pd.DataFrame, indicator: str, year_from, year_to) -> str:
    from ..analysis.trends import resolve_years
    try:
        start, end = resolve_years(obs, indicator, year_from, year_to)
    except TiplensError:
        return ""
    return f"{start}-{end}"


def pandemic_view(obs: pd.DataFrame, countries: pd.DataFrame | None, *, indicator: str = "detected_victims",
                  periods=None, panels=("all", "balanced")) -> View:
    """Mean yearly count of each period (pre-pandemic, pandemic, post) on each panel side by side.

    ``periods`` is a dict or text as for :func:`tiplens.analysis.periods.compare` (default
    :data:`~tiplens.analysis.periods.DEFAULT_PERIODS`). Bars go to the lower bound, whiskers to the
    upper bound; the labels give the countries behind each bar.
    """
    import plotly.graph_objects as go

    from ..analysis import periods as _periods
    from ..analysis.trends import CAVEAT
    view_id = "pandemic-periods"
    title = f"{_label(indicator).capitalize()}: the pandemic comparison on each panel"
    if not _has_glotip(obs):
        return _empty(view_id, title, GLOTIP_MISSING, caveat=CAVEAT)
    chosen = _periods.DEFAULT_PERIODS if periods is None else periods
    try:
        frame = _periods.compare(obs, countries, indicator=indicator, periods=chosen, panels=tuple(panels))
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), caveat=CAVEAT, edition=_editions(obs, "glotip"))
    figure = go.Figure()
    colours = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]
    for i, (panel, part) in enumerate(frame.groupby("panel", sort=False)):
        labels = [f"{p} {a}-{b}" for p, a, b in zip(part["period"], part["first_year"], part["last_year"])]
        figure.add_trace(go.Bar(
            x=labels, y=part["lower"].tolist(), name=f"{panel} panel", marker_color=colours[i % len(colours)],
            error_y={"type": "data", "symmetric": False, "array": (part["upper"] - part["lower"]).tolist(),
                     "arrayminus": [0] * len(part)},
            text=[f"{lo:,.0f}–{up:,.0f}<br>{n} countries" for lo, up, n in
                  zip(part["lower"], part["upper"], part["countries"])], textposition="outside"))
    figure.update_layout(title=title, barmode="group", template="plotly_white", height=520,
                         yaxis_title=f"mean {_label(indicator)} per year (bar = lower, whisker = upper)",
                         legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                         meta={"caveat": CAVEAT, "source": GLOTIP_SOURCE})
    caption = ("Mean yearly count in each period, on all reporting countries and on the balanced panel "
               "(countries reporting in every year of the span). Only the balanced panel compares like with "
               "like: the set of all reporters changes between periods. The table gives the change against the "
               "first period with its censoring bounds.")
    return View(id=view_id, title=title, figure=figure, table=frame, caption=caption, source=GLOTIP_SOURCE,
                edition=_editions(obs, "glotip"), caveat=CAVEAT, notes=list(frame.attrs.get("notes", [])),
                countries=", ".join(f"{p}: {int(part['countries'].max())}"
                                    for p, part in frame.groupby("panel", sort=False)))


def seed_figure_view(obs: pd.DataFrame, countries: pd.DataFrame | None) -> View:
    """The seed paper's figure (detected victims, world, 2020-2023) regenerated from the data, beside the
    paper's own numbers (:func:`tiplens.analysis.plots.seed_figure`)."""
    from ..analysis import plots
    from ..analysis.trends import CAVEAT
    view_id = "seed-figure"
    title = "The seed paper's figure against the data: detected victims, world, 2020-2023"
    if not _has_glotip(obs):
        return _empty(view_id, title, GLOTIP_MISSING, caveat=CAVEAT)
    try:
        figure = plots.seed_figure(obs, countries)
        frame = plots.seed_figure_data(obs, countries)
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), caveat=CAVEAT, edition=_editions(obs, "glotip"))
    in_data = frame[frame["in_data"]]
    caption = ("The paper's figure gives about 49,000 detected victims in 2020, 42,000 in 2021 and 41,000 in 2023. "
               "Bars: the GLOTIP country data summed over all reporting countries and over the countries reporting "
               "in every year shown (lower bound, whisker to the upper bound), labelled with the countries behind "
               "them. Years after the data's last year cannot be checked.")
    return View(id=view_id, title=title, figure=figure, table=frame, caption=caption, source=GLOTIP_SOURCE,
                edition=_editions(obs, "glotip"), caveat=CAVEAT + " The paper cites a UNODC report that does not "
                "exist under that title; its numbers are shown as printed.",
                countries=(f"{int(in_data['countries'].min())}-{int(in_data['countries'].max())} per year (all); "
                           f"{int(in_data['balanced_countries'].max())} (balanced)") if len(in_data) else 0)


def its_view(obs: pd.DataFrame, *, indicator: str = "detected_victims", start: int = 2010) -> View:
    """Pandemic and post-pandemic level shifts against the pre-pandemic trend (Poisson, country fixed effects,
    balanced panel), at both censoring bounds: :func:`tiplens.analysis.periods.its_both_bounds` as a table."""
    from ..analysis.trends import CAVEAT
    view_id = "pandemic-its"
    title = f"{_label(indicator).capitalize()}: pandemic level shifts against the pre-pandemic trend"
    if not _has_glotip(obs):
        return _empty(view_id, title, GLOTIP_MISSING, caveat=CAVEAT)
    from ..analysis.periods import ITS_NOTE, its_both_bounds
    try:
        frame = its_both_bounds(obs, indicator=indicator, start=start)
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), caveat=CAVEAT, edition=_editions(obs, "glotip"))
    pandemic = frame[frame["term"].eq("pandemic")]
    caption = (f"Rate ratios of the pandemic years and of the post years against the pre-pandemic trend (model fitted "
               f"on {frame['years'].iloc[0]}, the {int(frame['countries'].iloc[0])} countries reporting in every one "
               "of those years); pandemic rate ratio "
               + " and ".join(f"{r:.2f} ({lo:.2f}-{hi:.2f}) at the {b} bound" for r, lo, hi, b in
                              zip(pandemic["rate_ratio"], pandemic["rr_ci_low"], pandemic["rr_ci_high"],
                                  pandemic["bound"])) + ".")
    return View(id=view_id, title=title, table=frame, caption=caption, source=GLOTIP_SOURCE,
                edition=_editions(obs, "glotip"), countries=int(frame["countries"].iloc[0]),
                caveat=ITS_NOTE + " " + CAVEAT)


def claims_view(obs: pd.DataFrame, frameworks: pd.DataFrame | None = None, *,
                claims: list[dict] | None = None) -> View:
    """The claims-check table: each published number, what the data give, and the verdict.

    ``claims`` defaults to every shipped claim set (:data:`tiplens.analysis.claims.SHIPPED`).
    Without GLOTIP every data claim is ``not checkable``; the view says so in its notes.
    """
    from ..analysis import claims as _claims
    if claims is None:
        claims = [dict(c, set=name) for name in _claims.SHIPPED for c in _claims.shipped_claims(name)]
    glotip = obs[obs["source"].eq("glotip")] if _has_glotip(obs) else obs.iloc[0:0]
    frame = _claims.check(claims, glotip, frameworks=frameworks)
    notes = [] if _has_glotip(obs) else [GLOTIP_MISSING]
    counts = frame["verdict"].value_counts()
    caption = ("Quantitative claims from the seed paper and the UNODC Global Report, recomputed from the "
               "country data: 'consistent' when the published number lies within the measured interval "
               "(widened by the claim's tolerance). " +
               "; ".join(f"{counts[v]} {v}" for v in sorted(counts.index)) + ".")
    checked = frame["countries"].dropna()
    return View(id="claims", title="Claims checked against the data", table=frame, caption=caption,
                source=GLOTIP_SOURCE + " Cooperation frameworks: tiplens membership tables.",
                edition=_editions(obs, "glotip"), notes=notes,
                countries=(f"{int(checked.min())}-{int(checked.max())} per claim" if len(checked) else "0"),
                caveat="A claim is checked against the country data the store holds; a published world "
                       "estimate may include regional estimates for countries that did not report.")


# -- the hidden population -------------------------------------------------------------------------
def mse_studies(records: pd.DataFrame | None) -> list[str]:
    """The study labels in a ``Store.records("mse_lists")`` frame, sorted."""
    if records is None or len(records) == 0 or "study" not in records.columns:
        return []
    return sorted(str(s) for s in records["study"].dropna().unique())


def mse_view(records: pd.DataFrame | None, *, study: str | None = None, threshold: float = 0.02,
             top: int = 10, bootstrap: int = 0, seed: int = 0, files: pd.DataFrame | None = None) -> View:
    """Hidden-population estimate of one list study, with how it moves between models.

    Parameters
    ----------
    records : DataFrame
        ``Store.records("mse_lists")``.
    study : str, optional
        Study label (default: the first of :func:`mse_studies`).
    threshold, top : as for :func:`tiplens.analysis.mse.model_table`.
    bootstrap : int
        Bootstrap replicates for an interval that includes model selection (0 = none).
    files : DataFrame, optional
        ``Store.files()``, to name the edition of the list file.
    """
    studies = mse_studies(records)
    study = study or (studies[0] if studies else None)
    view_id = f"mse-{study or 'none'}"
    title = f"Hidden population from list data: {study or 'no study'}"
    if not studies:  # before importing the estimator: scipy.optimize costs most of a second at start-up
        return _empty(view_id, title, MSE_MISSING, source=MSE_SOURCE,
                      caveat="See Methods and caveats for what list data can and cannot estimate.")
    import plotly.graph_objects as go

    from ..analysis import mse as _mse
    from ..sources.mse_lists import capture_table
    if study not in studies:
        return _empty(view_id, title, f"unknown study {study!r}; loaded studies: {', '.join(studies)}",
                      source=MSE_SOURCE, caveat=_mse.CAVEAT)
    rows = records[records["study"].eq(study)]
    if "file_id" in rows.columns and rows["file_id"].nunique() > 1:  # two tables of one study (5 and 6 lists)
        rows = rows[rows["file_id"].eq(rows["file_id"].max())]
    table = capture_table(rows, study)
    edition = ""
    if files is not None and len(files) and "file_id" in rows.columns:
        used = files[files["file_id"].isin(rows["file_id"].unique())]
        edition = ", ".join(f"{e} ({Path(str(p)).name})" for e, p in zip(used["edition"], used["path"]))
    try:
        point = _mse.estimate(table, threshold=threshold)
        models = _mse.model_table(table, top=top, threshold=threshold)
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), source=MSE_SOURCE, caveat=_mse.CAVEAT, edition=edition)
    notes = list(point["warnings"])
    if bootstrap:
        boot = _mse.bootstrap(table, replicates=bootstrap, seed=seed, threshold=threshold)
        notes.append(f"Bootstrap ({bootstrap} replicates, seed {seed}, model selection redone in each): "
                     f"{boot['ci_low']:,.0f}–{boot['ci_high']:,.0f}.")
    ordered = models.sort_values("rank")
    labels = [("▶ " if s else "") + m for m, s in zip(ordered["model"], ordered["selected"])]
    figure = go.Figure(go.Scatter(
        x=ordered["estimate"].tolist(), y=labels, mode="markers",
        marker={"size": 10, "color": ["#d62728" if s else "#1f77b4" for s in ordered["selected"]]},
        error_x={"type": "data", "symmetric": False,
                 "array": (ordered["ci_high"] - ordered["estimate"]).tolist(),
                 "arrayminus": (ordered["estimate"] - ordered["ci_low"]).tolist()},
        customdata=ordered["delta_aic"].round(2).tolist(),
        hovertemplate="%{y}: %{x:,.0f} (ΔAIC %{customdata})<extra></extra>"))
    figure.add_vline(x=float(point["observed"]), line_dash="dot", line_color="#555",
                     annotation_text=f"observed {point['observed']:,}", annotation_position="top")
    figure.update_layout(title=title, template="plotly_white", height=max(320, 60 + 34 * len(ordered)),
                         xaxis_title="population estimate (observed + dark figure), 95% Wald interval",
                         yaxis={"autorange": "reversed"}, margin={"l": 260},
                         meta={"caveat": _mse.CAVEAT, "source": MSE_SOURCE})
    lists = [c for c in table.columns if c != "count"]
    caption = (f"{len(lists)} lists ({', '.join(lists)}), {point['observed']:,} cases observed. The stepwise "
               f"model (red, ▶) estimates {point['estimate']:,.0f} ({point['ci_low']:,.0f}–"
               f"{point['ci_high']:,.0f}, {point['interval'].split(':')[0]}); the other rows are the best "
               f"models by AIC, to show how much the estimate depends on the model.")
    return View(id=view_id, title=title, figure=figure, table=models, caption=caption, source=MSE_SOURCE,
                edition=edition, countries="1 (a single-country list study)", caveat=_mse.CAVEAT, notes=notes)


# -- data and coverage -----------------------------------------------------------------------------
def coverage_view(obs: pd.DataFrame, *, sources: list[str] | None = None, year_from: int | None = None,
                  year_to: int | None = None) -> View:
    """Countries with at least one value per source and year (a heatmap), from the observations.

    ``sources`` limits the sources shown (default: every source in ``obs``).
    """
    import plotly.graph_objects as go
    view_id = "coverage-years"
    title = "Countries reporting per year, by source"
    if len(obs) == 0:
        return _empty(view_id, title, "no observations in this selection", source="tiplens store",
                      caveat=COVERAGE_CAVEAT)
    rows = obs[["source", "edition", "year", "iso3"]]  # filtering four columns, not all of them, is what costs
    keep = rows["iso3"].notna() & rows["year"].notna()
    if sources is not None:
        keep &= rows["source"].isin(sources)
    if year_from is not None:
        keep &= rows["year"] >= int(year_from)
    if year_to is not None:
        keep &= rows["year"] <= int(year_to)
    rows = rows[keep.to_numpy()]
    if len(rows) == 0:
        return _empty(view_id, title, "no observations in this selection", source="tiplens store",
                      caveat=COVERAGE_CAVEAT)
    counts = rows.groupby(["source", "year"], sort=True)["iso3"].nunique().rename("countries").reset_index()
    counts["year"] = counts["year"].astype("int64")
    editions = (rows[["source", "edition"]].drop_duplicates().groupby("source")["edition"]
                .agg(lambda e: ", ".join(sorted(map(str, e)))))
    counts["edition"] = counts["source"].map(editions)
    wide = counts.pivot(index="source", columns="year", values="countries").sort_index()
    z = wide.to_numpy(dtype=float)
    figure = go.Figure(go.Heatmap(
        z=[[None if math.isnan(v) else v for v in row] for row in z], x=[int(y) for y in wide.columns],
        y=list(wide.index), colorscale="Blues", colorbar={"title": "countries"},
        hovertemplate="%{y}, %{x}: %{z} countries<extra></extra>"))
    figure.update_layout(title=title, template="plotly_white", height=max(300, 120 + 32 * len(wide)),
                         xaxis_title="year", meta={"caveat": COVERAGE_CAVEAT, "source": "tiplens store"})
    caption = ("Each cell counts the countries with at least one value from that source in that year "
               "(newest edition of each source). Blank cells: the source has nothing for that year.")
    return View(id=view_id, title=title, figure=figure, table=counts, caption=caption,
                source="the sources loaded in the store (see the sources table)",
                edition="; ".join(f"{s}: {e}" for s, e in editions.items()),
                countries=f"{rows['iso3'].nunique()} distinct", caveat=COVERAGE_CAVEAT)


def sources_view(files: pd.DataFrame) -> View:
    """Provenance of every loaded file: source, dataset, edition, origin, rows read / loaded /
    quarantined and checksum (file names only, never a user's folders)."""
    columns = ["source", "dataset", "edition", "origin", "file", "rows_read", "rows_loaded",
               "rows_quarantined", "sha256"]
    if files is None or len(files) == 0:
        return _empty("sources", "Sources and editions", "the store holds no files", source="tiplens store")
    frame = files.copy()
    frame["file"] = frame["path"].astype(str).str.replace("\\", "/").str.rsplit("/", n=1).str[-1]
    frame["sha256"] = frame["sha256"].astype(str).str[:12]
    frame = frame[columns].sort_values(["source", "dataset", "edition"], ignore_index=True)
    quarantined = int(frame["rows_quarantined"].sum())
    caption = (f"{len(frame)} files from {frame['source'].nunique()} sources. Rows read = rows loaded + rows "
               f"quarantined for every file; {quarantined:,} rows are in quarantine with their reason "
               "(`tiplens quarantine`). 'default' files come with tiplens; 'ingest' files were loaded by the user.")
    return View(id="sources", title="Sources and editions", table=frame, caption=caption,
                source="tiplens store (files table)", edition="as listed", countries="see coverage",
                caveat="sha256 shortened to 12 characters here; `tiplens sources --json` gives the full one.")


def world_map_view(obs: pd.DataFrame, countries: pd.DataFrame, *, indicator: str = "detected_victims",
                   year_from: int | None = None, year_to: int | None = None,
                   boundaries_path: str | None = None) -> View:
    """Years each country reported a GLOTIP indicator in the window (a world map), and who never did.

    The map is an inline SVG whose outlines ship in an installed package (:mod:`tiplens.report.maps`;
    ``boundaries_path`` names another SVG of the same structure); a country with no report is grey.
    """
    from ..analysis.trends import CAVEAT, country_totals, resolve_years
    from . import maps
    view_id = "map-reporting"
    title = f"Years reporting {_label(indicator)} to UNODC, by country"
    if not _has_glotip(obs):
        return _empty(view_id, title, GLOTIP_MISSING, caveat=CAVEAT)
    try:
        start, end = resolve_years(obs, indicator, year_from, year_to)
        totals = country_totals(obs, indicator=indicator, year_from=start, year_to=end)
        drawable = set(maps.map_countries(boundaries_path))
    except TiplensError as exc:
        return _empty(view_id, title, str(exc), caveat=CAVEAT, edition=_editions(obs, "glotip"))
    per_country = (totals.groupby("iso3").agg(years_reported=("year", "nunique"), first_year=("year", "min"),
                                              last_year=("year", "max"), upper_total=("upper", "sum"))
                   .reset_index())
    frame = countries[["iso3", "name", "m49_region"]].merge(per_country, on="iso3", how="left")
    frame = frame[frame["m49_region"].notna() | frame["years_reported"].notna()]
    frame["years_reported"] = frame["years_reported"].fillna(0).astype("int64")
    frame["on_map"] = frame["iso3"].isin(drawable)
    frame = frame.sort_values("iso3", ignore_index=True)
    title_full = f"{title}, {start}-{end}"
    svg = maps.svg_choropleth(frame, value="years_reported", title=title_full, path=boundaries_path,
                              hover=["name", "years_reported", "first_year", "last_year"],
                              legend_title=f"years reported of {end - start + 1}")
    reporting = int((frame["years_reported"] > 0).sum())
    caption = (f"How many years of {start}-{end} each country reported {_label(indicator)}; grey countries never "
               f"did in this window. {reporting} of {len(frame)} countries and territories reported at least once.")
    off_map = frame.loc[~frame["on_map"] & frame["years_reported"].gt(0), "iso3"].tolist()
    notes = [f"Reporting but too small or absent on the map: {', '.join(off_map)}."] if off_map else []
    return View(id=view_id, title=title_full, svg=svg, table=frame, caption=caption, notes=notes,
                source=GLOTIP_SOURCE + " " + maps.BOUNDARY_SOURCE,
                edition=_editions(obs, "glotip"), countries=reporting,
                caveat=CAVEAT + " " + maps.BOUNDARY_CAVEAT)


__all__ = [
    "GLOTIP_MISSING",
    "View",
    "breakdown_view",
    "claims_view",
    "coverage_view",
    "flows_view",
    "mse_studies",
    "mse_view",
    "pandemic_view",
    "safe_table",
    "sources_view",
    "world_map_view",
    "world_series",
]
