"""What the dashboard reads from the store, and the fast per-request selections over it.

DuckDB lets one process write or several read, never both. So the dashboard opens the store
read-only, copies what its pages need into memory (:func:`load`), and closes it again at once:
``tiplens ingest`` can write to the same file while the dashboard serves, and ``POST /reload``
picks up the new data. Nothing here holds a connection between requests.

The trends page is requested with many filter combinations, so the expensive part
(:func:`tiplens.analysis.trends.country_totals`, one table per indicator and breakdown) is done
once at load; a request then only filters and sums those small tables (:func:`trend_lines`),
with the same rules as :func:`tiplens.analysis.trends.series`: bounds are summed, a point value
exists only where no summed cell is censored, and every row says how many countries stand behind it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .._api_privacy import withhold_case_level_raw
from ..analysis import trends
from ..api import StoreLike, using_store
from ..report.views import coverage_view
from ..store import BUSY_TIMEOUT_SECONDS, Store
from . import extras
from . import victims as victim_releases

#: Breakdowns the trends page offers, with the filter parameter that selects each one.
BREAKDOWN_FILTERS = {"sex": "sex", "age": "age", "form": "form"}
#: The filter value that means "one line per category of this breakdown".
EACH = "each"
#: The filter value that means "no breakdown" (the total rows).
TOTAL = "Total"

_GLOTIP_COLUMNS = ["source", "edition", "dataset", "iso3", "year", "indicator", "dimension", "category",
                   "category_iso3", "category_class", "source_region", "sex", "age", "value", "lower", "upper",
                   "censored", "status"]


@dataclass
class DashboardData:
    """Everything the pages show, copied out of the store at one moment.

    Attributes
    ----------
    store_path : str
        The store file the data came from.
    loaded_at : datetime
        When it was read (UTC).
    glotip : DataFrame
        GLOTIP observations of the newest edition (conflict rows left out), the columns in
        ``_GLOTIP_COLUMNS``.
    countries, files, quarantine : DataFrame
        ``Store.countries()``, ``Store.files()``, ``Store.quarantine()``.
    population : DataFrame
        ``iso3, year, population`` (UNDP HDR) for rates.
    frameworks, memberships : DataFrame
        The cooperation frameworks and their members (``records_frameworks``,
        ``records_membership_sources``); empty when not loaded.
    coverage : View
        Countries reporting per source and year (:func:`tiplens.report.views.coverage_view`), made
        at load because it needs every source's observations, which are not kept.
    totals : dict
        ``(indicator, breakdown) -> country_totals frame`` with a ``region`` column (UN M49
        region); breakdown None is the total rows.
    years : dict
        ``indicator -> (first, last)`` year with data.
    reporters : dict
        ``indicator -> sorted ISO3 codes`` of the countries with a total for it.
    breakdown_categories : dict
        ``breakdown -> sorted categories`` found in any indicator.
    extras : dict
        Views of the lens and the review read at load (:func:`tiplens.web.extras.read`):
        ``{"cooperation": [...], "literature": [...]}``.
    db : path, Store or None
        Where the data came from (for the models, computed on first use: :meth:`models`).
    flow_cells : dict
        ``indicator -> country-level flows of each year`` (:func:`tiplens.analysis.trends.flows`
        run year by year, with a ``year`` column), for indicators with citizenship rows.
    victims : VictimReleases or None
        Case-level victim records behind the disclosure step (:mod:`tiplens.web.victims`): pages
        get releases from it, never the records.
    """

    store_path: str
    loaded_at: datetime
    glotip: pd.DataFrame
    countries: pd.DataFrame
    files: pd.DataFrame
    quarantine: pd.DataFrame
    population: pd.DataFrame
    frameworks: pd.DataFrame
    memberships: pd.DataFrame
    coverage: object = None
    totals: dict = field(default_factory=dict)
    years: dict = field(default_factory=dict)
    reporters: dict = field(default_factory=dict)
    flow_cells: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    db: object = None
    _models: object = field(default=None, repr=False)
    _models_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    breakdown_categories: dict = field(default_factory=dict)
    victims: object = None

    # Both are asked for on every request and never change until a reload makes new data:
    # worked out once (a max over 58,000 strings and a dict of 250 names cost ~1 ms per request).
    @cached_property
    def glotip_edition(self) -> str | None:
        """The GLOTIP edition shown (the newest in the store), or None without GLOTIP."""
        if self.glotip.empty:
            return None
        return str(self.glotip["edition"].max())

    def regions(self) -> list[str]:
        """UN M49 regions that have at least one country."""
        return sorted(self.countries["m49_region"].dropna().unique().tolist())

    def categories(self, breakdown: str) -> list[str]:
        """Categories of a breakdown found in any indicator's totals."""
        return self.breakdown_categories.get(breakdown, [])

    @cached_property
    def _country_names(self) -> dict[str, str]:
        return dict(zip(self.countries["iso3"], self.countries["name"]))

    def country_names(self) -> dict[str, str]:
        """ISO3 code -> country name (the same dict each call: do not change it)."""
        return self._country_names

    def models(self, *, timeout: float = 2.0):
        """The hypothesis models view, fitted on first use (several seconds) and then kept.

        Reads the store briefly; while another process writes it, returns a view that says so
        (and tries again on the next visit).
        """
        from ..errors import StoreBusyError
        from ..report.views import View
        from .extras import models_view
        with self._models_lock:
            if self._models is None:
                try:
                    with using_store(self.db, read_only=True, timeout=timeout) as store:
                        self._models = models_view(store)
                except StoreBusyError as exc:
                    return View(id="lens-models", title="Hypothesis models",
                                empty_reason=f"{exc} Open this page again in a moment.")
            return self._models


def load(db: StoreLike = None, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> DashboardData:
    """Read what the dashboard needs from the store, then close the store.

    ``db`` is a path, an open :class:`~tiplens.store.Store` (read and left open: the caller owns
    it) or None for the default store. A store that another process is writing makes this wait up
    to ``timeout`` seconds, then raise :class:`~tiplens.store.StoreBusyError`.
    """
    with using_store(db, read_only=True, timeout=timeout) as store:
        path = str(store.path)
        every = store.observations()
        glotip = every[every["source"].eq("glotip")]
        countries = store.countries()
        files = store.files()
        quarantine = withhold_case_level_raw(store.quarantine())  # one victim's record is never shown
        population = trends.population_table(store.observations(source="hdr", indicators=["hdr_pop_total"]))
        frameworks = store.records("frameworks")
        memberships = store.records("membership_sources")
        extra_views = extras.read(store)
        victims = victim_releases.read(store, db)
    coverage = coverage_view(every)
    del every
    glotip = glotip[[c for c in _GLOTIP_COLUMNS if c in glotip.columns]].reset_index(drop=True)
    data = DashboardData(store_path=path, loaded_at=datetime.now(UTC), glotip=glotip,
                         countries=countries, files=files, quarantine=quarantine, population=population,
                         frameworks=frameworks, memberships=memberships,
                         coverage=coverage, extras=extra_views, db=db, victims=victims)
    _precompute_totals(data)
    return data


def _precompute_totals(data: DashboardData) -> None:
    if data.glotip.empty:
        return
    region = data.countries.set_index("iso3")["m49_region"]
    present = set(data.glotip["indicator"].unique())
    for indicator in trends.INDICATORS:
        if indicator not in present:
            continue
        data.years[indicator] = trends.data_years(data.glotip, indicator)
        for breakdown in (None, *BREAKDOWN_FILTERS):
            cells = trends.country_totals(data.glotip, indicator=indicator, breakdown=breakdown)
            cells["region"] = cells["iso3"].map(region).fillna("No M49 region").astype("str")
            data.totals[(indicator, breakdown)] = cells
            if breakdown is None:
                data.reporters[indicator] = sorted(cells["iso3"].unique().tolist())
            else:
                data.breakdown_categories.setdefault(breakdown, set()).update(cells["category"].unique().tolist())
    data.breakdown_categories = {k: sorted(v) for k, v in data.breakdown_categories.items()}
    citizenship = data.glotip[data.glotip["dimension"].eq("citizenship")]
    for indicator, rows in citizenship.groupby("indicator"):
        yearly = [trends.flows(rows, indicator=indicator, year_from=int(year), year_to=int(year),
                               countries=data.countries, level="country").assign(year=int(year))
                  for year in sorted(rows["year"].unique())]
        data.flow_cells[indicator] = pd.concat(yearly, ignore_index=True)


class DataHolder:
    """The data currently served, replaced as a whole on reload (requests keep the copy they took)."""

    def __init__(self, db: StoreLike = None):
        # An open Store is kept as such (tests); anything else is re-opened by path on each load.
        self.db = db if isinstance(db, Store) or db is None else Path(db)
        self._lock = threading.Lock()
        self.current = load(self.db)

    def reload(self, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> DashboardData:
        """Read the store again; on failure the data served so far stays."""
        with self._lock:
            fresh = load(self.db, timeout=timeout)
            self.current = fresh
        return fresh


# -- per-request selections ---------------------------------------------------------------------
@dataclass
class TrendSelection:
    """A validated trends filter (see :func:`tiplens.web.app` for how the URL maps to it)."""

    indicator: str = "detected_victims"
    region: str = ""
    country: str = ""
    breakdown: str | None = None
    category: str = EACH
    year_from: int | None = None
    year_to: int | None = None
    panel: str = "all"


def trend_lines(data: DashboardData, sel: TrendSelection) -> tuple[pd.DataFrame, dict]:
    """The selected series: one row per category and year.

    Returns
    -------
    (DataFrame, dict)
        Columns ``year, category, value, lower, upper, countries, censored_cells, indicator,
        panel`` (``value`` NaN where any summed cell is censored; ``lower``/``upper`` the summed
        censoring bounds; ``countries`` the countries reporting that cell). The dict holds
        ``countries`` (distinct countries behind the whole selection), ``years`` (the window) and
        ``empty_reason`` (why nothing is left, or None).
    """
    cells = data.totals.get((sel.indicator, sel.breakdown))
    first, last = data.years.get(sel.indicator, (None, None))
    info = {"countries": 0, "years": (first, last), "empty_reason": None}
    if cells is None:
        info["empty_reason"] = (f"no GLOTIP data for {sel.indicator} in the store: ingest UNODC's "
                                "data_glotip file (tiplens ingest data_glotip.xlsx), then reload")
        return _empty_lines(), info
    start = first if sel.year_from is None else sel.year_from
    end = last if sel.year_to is None else sel.year_to
    info["years"] = (start, end)
    keep = cells["year"].between(start, end).to_numpy()
    if sel.region:
        keep = keep & (cells["region"] == sel.region).to_numpy()
    if sel.country:
        keep = keep & (cells["iso3"] == sel.country).to_numpy()
    if sel.category != EACH:
        keep = keep & (cells["category"] == sel.category).to_numpy()
    chosen = cells[keep]
    panel_label = "all"
    if sel.panel == "balanced":
        members = trends.balanced_panel(chosen, start, end)
        chosen = chosen[chosen["iso3"].isin(members)]
        panel_label = f"balanced {start}-{end}"
    if chosen.empty:
        info["empty_reason"] = _why_empty(data, sel, cells, start, end)
        return _empty_lines(), info
    out = _sum_cells(chosen)
    out["indicator"] = sel.indicator
    out["panel"] = panel_label
    info["countries"] = int(chosen["iso3"].nunique())
    return out[["year", "category", "value", "lower", "upper", "countries", "censored_cells", "indicator",
                "panel"]], info


def _sum_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Sum country cells per category and year: bounds add up; the point value only where no cell
    is censored; ``countries`` counts the cells (one per reporting country, as in ``series``).

    Done with ``np.bincount`` over one integer key: a pandas groupby with named aggregations
    costs ten times more, and this runs on every request.
    """
    category_codes, categories = pd.factorize(cells["category"], sort=True)
    years = cells["year"].to_numpy(dtype="int64")
    first = years.min()
    span = years.max() - first + 1
    keys, index = np.unique(category_codes * span + (years - first), return_inverse=True)
    value = cells["value"].to_numpy(dtype="float64")
    censored = cells["censored"].to_numpy(dtype=bool) | np.isnan(value)
    censored_cells = np.bincount(index, weights=censored, minlength=len(keys))
    value_sum = np.bincount(index, weights=np.where(censored, 0.0, value), minlength=len(keys))
    return pd.DataFrame({
        "year": (keys % span + first).astype("int64"),
        "category": pd.Series(np.asarray(categories)[keys // span], dtype="str"),
        "value": np.where(censored_cells == 0, value_sum, np.nan),
        "lower": np.bincount(index, weights=cells["lower"].to_numpy(dtype="float64"), minlength=len(keys)),
        "upper": np.bincount(index, weights=cells["upper"].to_numpy(dtype="float64"), minlength=len(keys)),
        "countries": np.bincount(index, minlength=len(keys)).astype("int64"),
        "censored_cells": censored_cells.astype("int64"),
    })


def _empty_lines() -> pd.DataFrame:
    return _EMPTY_LINES.copy()


def _make_empty_lines() -> pd.DataFrame:
    return pd.DataFrame({"year": pd.Series(dtype="int64"), "category": pd.Series(dtype="str"),
                         "value": pd.Series(dtype="float64"), "lower": pd.Series(dtype="float64"),
                         "upper": pd.Series(dtype="float64"), "countries": pd.Series(dtype="int64"),
                         "censored_cells": pd.Series(dtype="int64"), "indicator": pd.Series(dtype="str"),
                         "panel": pd.Series(dtype="str")})


_EMPTY_LINES = _make_empty_lines()


def _why_empty(data: DashboardData, sel: TrendSelection, cells: pd.DataFrame, start: int, end: int) -> str:
    """Say which filter removed the last rows, naming what would have data."""
    names = data.country_names()
    window = cells[cells["year"].between(start, end)]
    if sel.country:
        own = window[window["iso3"] == sel.country]
        label = f"{names.get(sel.country, sel.country)} ({sel.country})"
        if own.empty:
            years = sorted(cells.loc[cells["iso3"] == sel.country, "year"].unique().tolist())
            span = f"it reported in {years[0]}-{years[-1]}" if years else "it never reported this"
            return f"{label} reported no {sel.indicator.replace('_', ' ')} in {start}-{end} ({span})"
        if sel.region and own["region"].iloc[0] != sel.region:
            return f"{label} is in {own['region'].iloc[0]}, not in {sel.region}: clear one of the two filters"
    if sel.region and window[window["region"] == sel.region].empty:
        return f"no country in {sel.region} reported {sel.indicator.replace('_', ' ')} in {start}-{end}"
    if sel.category != EACH:
        return (f"no country reported the category {sel.category!r} for {sel.indicator.replace('_', ' ')} "
                f"in this selection ({start}-{end})")
    if sel.panel == "balanced":
        return (f"no country in this selection reported in every year {start}-{end}, so the balanced "
                "panel is empty: choose a shorter window or panel 'all'")
    return "no rows match this selection"


def region_flows(data: DashboardData, *, indicator: str, year_from: int, year_to: int) -> pd.DataFrame:
    """Region of citizenship → region of detection, summed over the window.

    The same frame as ``trends.flows(..., level="region")`` (columns ``origin_iso3`` and
    ``detection_iso3`` empty, ``origin_region``, ``detection_region``, ``lower``, ``upper``,
    ``value`` (NaN if any summed cell is censored), ``countries`` (distinct detecting countries),
    ``years``, ``domestic`` False), summed from the yearly country flows prepared at load.
    Empty when the indicator has no citizenship rows in the window.
    """
    cells = data.flow_cells.get(indicator)
    if cells is None:
        return pd.DataFrame(columns=["origin_iso3", "origin_region", "detection_iso3", "detection_region", "lower",
                                     "upper", "value", "countries", "years", "domestic"])
    cells = cells[cells["year"].between(year_from, year_to)]
    cells = cells.assign(unknown=cells["value"].isna())
    grouped = cells.groupby(["origin_region", "detection_region"], sort=True)
    out = grouped.agg(lower=("lower", "sum"), upper=("upper", "sum"), value=("value", "sum"),
                      unknown=("unknown", "sum"), countries=("detection_iso3", "nunique"),
                      years=("year", "nunique")).reset_index()
    out["value"] = out["value"].where(out["unknown"].eq(0))
    out.insert(0, "origin_iso3", "")
    out.insert(2, "detection_iso3", "")
    out["domestic"] = False
    out = out[["origin_iso3", "origin_region", "detection_iso3", "detection_region", "lower", "upper", "value",
               "countries", "years", "domestic"]]
    return out.sort_values(["upper", "origin_region", "detection_region"], ascending=[False, True, True],
                           ignore_index=True)
