"""The report's sections and the writing of the self-contained HTML document.

Sections follow the seed paper: summary of findings; data and coverage; trends; the hidden
population; (the liberal lens; the literature — added by their own modules); methods and caveats;
references. Each section is a function ``builder(data, options) -> Section`` kept in an ordered
registry (:data:`SECTIONS`); :func:`register_section` adds one at a chosen place, so a new part of
tiplens brings its section without editing this file::

    from tiplens.report.build import Section, register_section

    def lens_section(data, options):
        table = data.records("frameworks")           # loaded once, shared by every section
        return Section("lens", "The liberal lens", intro="...", views=[...])

    register_section("lens", "The liberal lens", lens_section, after="hidden")

A section is listed only once it has content: nothing is stubbed.

Everything is read from the store once (:class:`ReportData`) and the store is closed before the
analysis runs. The same inputs give the same document except the generation time
(``<meta name="generated" ...>`` and the line under the title).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pandas as pd

from ..errors import TiplensError
from . import views as _views
from .views import View

DEFAULT_OUT = "tiplens-report.html"


@dataclass
class Section:
    """One section of the report: a title, some prose, views (figures and tables) in order.

    ``intro`` and ``paragraphs`` are plain text (escaped when rendered); ``bullets`` is a list of
    plain-text items (the summary's findings, the methods' notes); ``references`` a list of
    formatted citations.
    """

    id: str
    title: str
    intro: str = ""
    views: list[View] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)


@dataclass
class ReportOptions:
    """What the user chose: years, periods, the panel of the trend figures, the sections."""

    year_from: int | None = None
    year_to: int | None = None
    periods: str | dict | None = None
    panel: str | list[str] = "all"
    sections: list[str] | None = None
    boundaries_path: str | None = None


class ReportData:
    """Everything the sections read, loaded from the store once, plus a cache of computed views."""

    def __init__(self, observations: pd.DataFrame, countries: pd.DataFrame, files: pd.DataFrame,
                 records: dict[str, pd.DataFrame] | None = None, loaded: dict | None = None):
        self.observations = observations
        self.countries = countries
        self.files = files
        self._records = dict(records or {})
        self._loaded = dict(loaded or {})
        self.glotip = observations[observations["source"].eq("glotip")] if len(observations) else observations
        self._cache: dict = {}
        self._pending: dict = {}
        self._store_path: str | None = None

    @classmethod
    def from_store(cls, store, record_names: tuple[str, ...] = ("mse_lists", "frameworks"),
                   sections: list[str] | None = None) -> ReportData:
        """Read the observations, countries, files, the named record tables and every registered
        loader's data (:func:`register_loader`) from an open store; the store can be closed after.

        Loaders registered with ``background=True`` run in a second process while this one reads
        the rest (a read-only store file can be opened by several processes at once); with a store
        opened for writing, or if the second process fails to start, they run here. ``sections``
        (ids) skips the loaders registered for other sections.
        """
        wanted = {name for name in LOADERS if sections is None or LOADER_SECTIONS.get(name) in (None, *sections)}
        pending = _start_background(store, wanted & BACKGROUND_LOADERS)
        loaded = {name: LOADERS[name](store) for name in wanted - BACKGROUND_LOADERS}
        data = cls(store.observations(), store.countries(), store.files(),
                   {name: store.records(name) for name in record_names}, loaded)
        if pending:  # collected when a section first asks (the other sections are built meanwhile)
            data._pending, data._store_path = pending, str(store.path)
        else:
            data._loaded.update({name: LOADERS[name](store) for name in wanted & BACKGROUND_LOADERS})
        return data

    def records(self, name: str) -> pd.DataFrame:
        """A record table read at load time (empty when the store has none)."""
        return self._records.get(name, pd.DataFrame())

    def loaded(self, name: str):
        """What the loader registered as ``name`` returned (None when it was not registered)."""
        if name not in self._loaded and name in self._pending.get("futures", {}):
            self._loaded.update(_finish_background(self._pending, self._store_path))
            self._pending = {}
        return self._loaded.get(name)

    @property
    def has_glotip(self) -> bool:
        return len(self.glotip) > 0

    def population(self) -> pd.DataFrame:
        from ..analysis.trends import population_table
        return self.cached("population", lambda: population_table(
            self.observations[self.observations["source"].eq("hdr")]))

    def cached(self, key, compute: Callable):
        """``compute()`` once per key: the summary and the sections share views."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


#: name -> function(store) returning what a section needs from the store beyond observations, countries,
#: files and records (e.g. the knowledge-base or review tables read with ``store.read_rows``).
LOADERS: dict[str, Callable] = {}
#: Loaders that may run in a second process (module-level functions, picklable results).
BACKGROUND_LOADERS: set[str] = set()
#: loader name -> the section that needs it (loaders of sections left out are not run).
LOADER_SECTIONS: dict[str, str] = {}


def register_loader(name: str, load: Callable, *, background: bool = False, section: str | None = None) -> None:
    """Read ``load(store)`` while the report's store is open; sections get it as ``data.loaded(name)``.

    ``background=True`` lets a slow loader (model fits) run in a second process, in parallel with
    the rest of the reading: ``load`` must then be a module-level function and its result picklable.
    """
    LOADERS[name] = load
    if section is not None:
        LOADER_SECTIONS[name] = section
    if background:
        BACKGROUND_LOADERS.add(name)
    else:
        BACKGROUND_LOADERS.discard(name)


def _run_loader_on_path(module: str, function: str, path: str):
    """In the second process: open the store read-only and run one loader."""
    from importlib import import_module

    from ..store import open_store
    load = getattr(import_module(module), function)
    with open_store(path, read_only=True) as store:
        return load(store)


def _start_background(store, names: set[str]) -> dict:
    if not names or not getattr(store, "read_only", False):
        return {}
    try:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        futures = {name: pool.submit(_run_loader_on_path, LOADERS[name].__module__, LOADERS[name].__name__,
                                     str(store.path)) for name in sorted(names)}
    except (OSError, RuntimeError, ImportError):
        return {}
    return {"pool": pool, "futures": futures}


def _finish_background(pending: dict, store_path: str) -> dict:
    """The background loaders' results; a loader whose second process failed runs here instead."""
    results, failed = {}, []
    for name, future in pending.get("futures", {}).items():
        try:
            results[name] = future.result()
        except TiplensError:
            raise
        except Exception:  # noqa: BLE001  (a broken second process: do the work here instead)
            failed.append(name)
    if "pool" in pending:
        pending["pool"].shutdown(wait=False)
    if failed:
        from ..store import open_store
        with open_store(store_path, read_only=True) as store:
            results.update({name: LOADERS[name](store) for name in failed})
    return results


# -- the registry ------------------------------------------------------------------------------------
@dataclass
class SectionSpec:
    id: str
    title: str
    builder: Callable[[ReportData, ReportOptions], Section]


SECTIONS: list[SectionSpec] = []


def register_section(section_id: str, title: str, builder: Callable[[ReportData, ReportOptions], Section], *,
                     after: str | None = None, before: str | None = None) -> None:
    """Add (or replace) a section; ``after``/``before`` place it next to an existing one (default: before
    the methods and references, or at the end)."""
    spec = SectionSpec(section_id, title, builder)
    existing = [s.id for s in SECTIONS]
    if section_id in existing:
        SECTIONS[existing.index(section_id)] = spec
        return
    if after is not None and before is not None:
        raise TiplensError("register_section: give after or before, not both")
    anchor = after or before
    if anchor is not None and anchor not in existing:
        raise TiplensError(f"register_section: no section {anchor!r} to place {section_id!r} next to; "
                           f"sections: {', '.join(existing)}")
    if after is not None:
        position = existing.index(after) + 1
    elif before is not None:
        position = existing.index(before)
    elif "methods" in existing:
        position = existing.index("methods")
    else:
        position = len(existing)
    SECTIONS.insert(position, spec)


def section_ids() -> list[str]:
    """The registered sections, in document order."""
    return [s.id for s in SECTIONS]


# -- shared views ---------------------------------------------------------------------------------------
def _panel_label(panel) -> str:
    return panel if isinstance(panel, str) else f"named ({len(panel)} countries)"


def _world_views(data: ReportData, options: ReportOptions) -> list[View]:
    def make():
        panels = ["all", "balanced"] if options.panel in ("all", "balanced") else ["all", "balanced", options.panel]
        out = []
        for panel in panels:
            # a panel balanced over twenty years is empty: without --from it spans the compared periods
            start = options.year_from
            if panel == "balanced" and start is None:
                start = _periods_start(options)
            view = _views.world_series(data.glotip, data.countries, panel=panel, year_from=start,
                                       year_to=options.year_to, population=data.population())
            view.id = f"trends-world-{'named' if not isinstance(panel, str) else panel}"
            out.append(view)
        return out
    return data.cached(("world", options.year_from, options.year_to, str(options.panel)), make)


def _periods_start(options: ReportOptions) -> int:
    from ..analysis.periods import DEFAULT_PERIODS
    chosen = options.periods if isinstance(options.periods, dict) and options.periods else DEFAULT_PERIODS
    return min(int(first) for first, _ in chosen.values())


def _pandemic(data: ReportData, options: ReportOptions) -> View:
    panels = ("all", "balanced") if isinstance(options.panel, str) else ("all", "balanced", options.panel)
    return data.cached(("pandemic", str(options.periods), str(options.panel)),
                       lambda: _views.pandemic_view(data.glotip, data.countries, periods=options.periods,
                                                    panels=panels))


def _claims(data: ReportData) -> View:
    return data.cached("claims", lambda: _views.claims_view(data.glotip, data.records("frameworks")))


def _mse(data: ReportData) -> list[View]:
    records = data.records("mse_lists")
    studies = _views.mse_studies(records)
    return data.cached("mse", lambda: [_views.mse_view(records, study=s, files=data.files) for s in studies]
                       or [_views.mse_view(records)])


def _coverage(data: ReportData, options: ReportOptions) -> View:
    return data.cached("coverage", lambda: _views.coverage_view(data.observations))


# -- sections -------------------------------------------------------------------------------------------
def _fmt_range(lower, upper) -> str:
    if pd.isna(lower) or pd.isna(upper):
        return "unknown"
    return f"{lower:,.0f}" if lower == upper else f"{lower:,.0f}–{upper:,.0f}"


def summary_section(data: ReportData, options: ReportOptions) -> Section:
    """Key findings, each with the countries behind it, computed from the same views as the sections."""
    bullets = []
    sources = sorted(data.files["source"].unique()) if len(data.files) else []
    bullets.append(f"The store holds {len(data.files)} files from {len(sources)} sources "
                   f"({', '.join(sources)}); {data.observations['iso3'].nunique() if len(data.observations) else 0} "
                   "countries and territories appear in them.")
    if not data.has_glotip:
        bullets.append(_views.GLOTIP_MISSING)
    else:
        for view in _world_views(data, options):
            if view.empty:
                continue
            table = view.table
            last = table[table["year"].eq(table["year"].max())].iloc[0]
            first = table[table["year"].eq(table["year"].min())].iloc[0]
            bullets.append(
                f"Detected victims, {view.table['panel'].iloc[0]} panel: {_fmt_range(first['lower'], first['upper'])} "
                f"in {int(first['year'])} ({int(first['countries'])} countries) and "
                f"{_fmt_range(last['lower'], last['upper'])} in {int(last['year'])} ({int(last['countries'])} "
                "countries).")
        pandemic = _pandemic(data, options)
        if not pandemic.empty:
            first_period = pandemic.table.iloc[0]["period"]
            for _, row in pandemic.table.iterrows():
                if str(row["panel"]).startswith("balanced") and row["period"] != first_period:
                    bullets.append(
                        f"On the {row['panel']} panel ({int(row['countries'])} countries), the mean yearly count in "
                        f"the {row['period']} period ({int(row['first_year'])}-{int(row['last_year'])}) was "
                        f"{_fmt_range(row['lower'], row['upper'])}, a change of "
                        f"{row['change_pct_lower']:+.1f}% to {row['change_pct_upper']:+.1f}% against "
                        f"{first_period} (bounds from censored cells).")
        its = data.cached("its", lambda: _views.its_view(data.glotip))
        if not its.empty:
            bullets.append("Interrupted time series: " + its.caption)
    claims = _claims(data)
    counts = claims.table["verdict"].value_counts()
    bullets.append("Claims checked: " + "; ".join(f"{counts[v]} {v}" for v in sorted(counts.index)) +
                   " (see the claims table under Trends).")
    for view in _mse(data):
        if view.empty:
            bullets.append(view.empty_reason)
            break
        chosen = view.table[view.table["selected"]].iloc[0]
        bullets.append(f"Hidden population, {view.id.removeprefix('mse-')}: {chosen['estimate']:,.0f} "
                       f"({chosen['ci_low']:,.0f}–{chosen['ci_high']:,.0f}) under the stepwise model; the best "
                       f"models by AIC range from {view.table['estimate'].min():,.0f} to "
                       f"{view.table['estimate'].max():,.0f}.")
    return Section("summary", "Summary of findings",
                   intro="What the data loaded in this store say, each number with the countries behind it. "
                         "The sections below show the figures and their caveats.", bullets=bullets)


def data_section(data: ReportData, options: ReportOptions) -> Section:
    views = [_views.sources_view(data.files), _coverage(data, options)]
    if data.has_glotip:
        views.append(data.cached(("map", options.year_from, options.year_to), lambda: _views.world_map_view(
            data.glotip, data.countries, year_from=options.year_from, year_to=options.year_to,
            boundaries_path=options.boundaries_path)))
    return Section("data", "Data and coverage",
                   intro="Every file in the store with its edition and row accounting, and which countries each "
                         "source covers in each year. Analyses use the newest edition of each source.",
                   views=views)


def trends_section(data: ReportData, options: ReportOptions) -> Section:
    views = []
    if data.has_glotip:
        views.append(_views.seed_figure_view(data.glotip, data.countries))
    views += _world_views(data, options)
    if data.has_glotip:
        for breakdown in ("sex", "age", "form"):
            views.append(_views.breakdown_view(data.glotip, data.countries, breakdown=breakdown,
                                               panel=options.panel, year_from=options.year_from,
                                               year_to=options.year_to))
        views.append(_views.flows_view(data.glotip, data.countries, year_from=options.year_from,
                                       year_to=options.year_to))
        views.append(_pandemic(data, options))
        views.append(data.cached("its", lambda: _views.its_view(data.glotip)))
    views.append(_claims(data))
    intro = ("The seed paper's figure against the data; detected victims with the countries behind each year, on all "
             "reporters and on a fixed (balanced) panel; breakdowns by sex, age and form of exploitation; "
             "flows from the region of citizenship to the region of detection; the pandemic comparison and an "
             "interrupted time series; and the "
             "published claims checked against the data.")
    if not data.has_glotip:
        intro += " " + _views.GLOTIP_MISSING
    return Section("trends", "Trends", intro=intro, views=views)


def hidden_section(data: ReportData, options: ReportOptions) -> Section:
    return Section("hidden", "The hidden population",
                   intro="Detected victims are those the authorities found. Where several agencies keep lists of "
                         "the victims they identified, the overlaps between the lists estimate how many none found "
                         "(multiple systems estimation). Each estimate is shown with the models closest to it, "
                         "because the choice of model moves it.", views=_mse(data))


def methods_section(data: ReportData, options: ReportOptions) -> Section:
    from ..analysis.periods import CHANGE_POINT_NOTE, ITS_NOTE
    from ..analysis.trends import CAVEAT
    from ..sources.glotip import CENSORING_NOTE
    coverage_note = ("Pandemic comparison: periods are compared on all reporters and on the balanced panel of "
                     "countries reporting in every year of the span; only the latter compares like with like. "
                     + ITS_NOTE)
    options_note = ("Reproducibility: the same store and options give the same document, except the generation "
                    f"time. Options used: years {options.year_from or 'all'}-{options.year_to or 'all'}, periods "
                    f"{options.periods or 'pre=2017-2019, pandemic=2020-2021, post=2022-'}, panel "
                    f"{_panel_label(options.panel)}.")
    return Section("methods", "Methods and caveats", bullets=[
        "Censoring: " + CENSORING_NOTE,
        "Coverage: " + CAVEAT,
        coverage_note,
        "Change points: " + CHANGE_POINT_NOTE,
        "Hidden population: " + _mse_caveat(data),
        "Coverage counts: " + _views.COVERAGE_CAVEAT,
        options_note,
    ])


def _mse_caveat(data: ReportData) -> str:
    if not _views.mse_studies(data.records("mse_lists")):
        return ("no list data is loaded, so no estimate is shown. Multiple systems estimation assumes a closed "
                "population, equal catchability within strata and list dependence captured by the model; "
                "its estimates move with the model chosen.")
    from ..analysis import (
        mse as _mse,  # scipy.optimize: imported only when there is list data
    )
    return _mse.CAVEAT + " " + _mse.INTERVAL_NOTE


_STATIC_REFERENCES = [
    ("Fitria, N. (2025). Human Trafficking in the Lens of Liberalism in International Relations. "
     "Pertamina University, Jakarta (the seed paper this report regenerates)."),
    ("Chan, L., Silverman, B. W., & Vincent, K. (2019). Multiple systems estimation for sparse capture data: "
     "inferential challenges when there are nonoverlapping lists. Journal of the American Statistical "
     "Association, 116(535), 1297-1306."),
    ("Fienberg, S. E., & Rinaldo, A. (2012). Maximum likelihood estimation in log-linear models. "
     "The Annals of Statistics, 40(2), 996-1023."),
    "pygal_maps_world 1.0.2 (Kozea): the world map SVG whose country outlines tiplens fills (LGPL-3.0-or-later).",
]


def references_section(data: ReportData, options: ReportOptions) -> Section:
    import yaml
    text = resources.files("tiplens").joinpath("default/sources.yaml").read_text(encoding="utf-8")
    catalogue = yaml.safe_load(text) or {}
    loaded = sorted(data.files["source"].unique()) if len(data.files) else []
    cited = [" ".join(str(catalogue[s]["citation"]).split()) for s in loaded
             if isinstance(catalogue.get(s), dict) and catalogue[s].get("citation")]
    return Section("references", "References",
                   intro="The sources loaded in this store (as cited by their publishers) and the works the methods "
                         "follow.", references=sorted(cited) + _STATIC_REFERENCES)


_previous = None
for _id, _title, _builder in (("summary", "Summary of findings", summary_section),
                              ("data", "Data and coverage", data_section),
                              ("trends", "Trends", trends_section),
                              ("hidden", "The hidden population", hidden_section),
                              ("methods", "Methods and caveats", methods_section),
                              ("references", "References", references_section)):
    register_section(_id, _title, _builder, after=_previous)
    _previous = _id


# -- building and writing ------------------------------------------------------------------------------
def check_options(options: ReportOptions) -> ReportOptions:
    """Raise :class:`TiplensError` for options that cannot work (unknown sections, reversed years, bad periods)."""
    valid = section_ids()
    if options.sections is not None:
        chosen = [s.strip() for item in options.sections for s in str(item).split(",") if s.strip()]
        unknown = [s for s in chosen if s not in valid]
        if unknown or not chosen:
            raise TiplensError(f"unknown section(s) {', '.join(unknown) or '(none given)'}: choose from "
                               f"{', '.join(valid)}")
        options.sections = chosen
    for name in ("year_from", "year_to"):
        year = getattr(options, name)
        if year is not None and not 1900 <= int(year) <= 2100:
            raise TiplensError(f"{name}={year} is not a plausible year: give a four-digit year such as 2015")
    if options.year_from is not None and options.year_to is not None and options.year_from > options.year_to:
        raise TiplensError(f"year_from={options.year_from} is after year_to={options.year_to}")
    if isinstance(options.periods, str):
        from ..analysis.periods import parse_periods
        options.periods = parse_periods(options.periods)
    return options


def build_sections(data: ReportData, options: ReportOptions) -> list[Section]:
    """Run the chosen sections' builders, in document order."""
    chosen = options.sections or section_ids()
    return [spec.builder(data, options) for spec in SECTIONS if spec.id in chosen]


def _template_env():
    import jinja2
    root = resources.files("tiplens.report").joinpath("templates")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), autoescape=True,
                              trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def plotly_js() -> str:
    """plotly.js from the installed plotly package, safe to inline in a script element."""
    from plotly.offline import get_plotlyjs
    return re.sub(r"</(script)", r"<\\/\1", get_plotlyjs(), flags=re.IGNORECASE)


def render_html(sections: list[Section], *, generated_at: str, options: ReportOptions, version: str) -> str:
    """The whole document as a string (plotly.js inlined once, every style and script inline)."""
    env = _template_env()
    root = resources.files("tiplens.report").joinpath("templates")
    css = root.joinpath("_figure.css").read_text(encoding="utf-8") + root.joinpath("report.css").read_text(
        encoding="utf-8")
    figures = sum(1 for s in sections for v in s.views if (v.figure is not None or v.svg) and not v.empty)
    return env.get_template("report.html.j2").render(
        sections=sections, generated_at=generated_at, css=css, plotly_js=plotly_js(), version=version,
        options=options, panel_label=_panel_label(options.panel), figures=figures)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: no half-written file under the final name."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TiplensError(f"{path}: cannot write ({exc.strerror}); check the folder and free space") from None


def print_pdf(html_path: Path, pdf_path: Path, *, executable: str | None = None, timeout_ms: int = 60_000) -> None:
    """Print an HTML file to PDF through headless Chromium (after every chart has drawn)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise TiplensError("--pdf needs the playwright package (pip install playwright) and a Chromium") from None
    executable = executable or os.environ.get("TIPLENS_CHROMIUM") or "/usr/bin/chromium"
    if not Path(executable).exists():
        raise TiplensError(f"--pdf needs Chromium: {executable} not found (apt-get install chromium, or set "
                           "TIPLENS_CHROMIUM to its path)")
    tmp = pdf_path.with_name(f".{pdf_path.name}.partial")
    # Playwright's sync API refuses to run inside a running asyncio loop (Jupyter, or another sync
    # Playwright): a thread of its own has none
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(_print_pdf, sync_playwright, executable, html_path, tmp, timeout_ms).result()
    os.replace(tmp, pdf_path)


def _print_pdf(sync_playwright, executable: str, html_path: Path, tmp: Path, timeout_ms: int) -> None:
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            # the file is self-contained: anything else it asks for is refused
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                       else route.abort())
            page.goto(html_path.resolve().as_uri(), wait_until="load", timeout=timeout_ms)
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.tl-chart')).every(d => d.querySelector('.main-svg'))",
                timeout=timeout_ms)
            page.emulate_media(media="print")
            page.pdf(path=str(tmp), format="A4", print_background=True,
                     margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()


def now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def escape(text: str) -> str:
    return html.escape(str(text))


from . import lens_literature  # noqa: E402,F401  (registers the lens and literature sections)
from . import victims  # noqa: E402,F401  (registers the disclosure-controlled victim records section)
