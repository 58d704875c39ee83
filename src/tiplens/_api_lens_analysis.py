"""Library twins of `tiplens lens coverage` and `tiplens lens models`.

Each takes ``db`` (a path, an open :class:`~tiplens.store.Store`, or None for the default
store), reads what it needs from the store, and returns DataFrames or plain dicts; nothing
prints. ``tiplens lens coverage --json`` prints ``{"rows": lens_coverage(...)}`` (``--gaps``:
``{"rows": lens_gaps(...)}``) and ``tiplens lens models --json`` prints ``lens_models(...)``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .api import StoreLike, using_store
from .errors import TiplensError

#: The inputs last read, keyed by the store's path and the provenance of every file in it, so
#: that the lens commands run one after another in one process (report, dashboard, notebook)
#: build the panel once. Any ingest changes the key (new file rows, new loaded_at).
_CACHE: dict = {}


def clear_cache() -> None:
    """Forget the inputs read from the last store (benchmarks time the cold path with it)."""
    _CACHE.clear()


def _inputs(store) -> dict:
    """Everything the coverage and the models read from the store (never modified by callers:
    every function downstream copies before it changes a frame)."""
    files = store.files()
    key = (str(store.path.resolve()), tuple(map(tuple, files[["file_id", "sha256", "edition", "loaded_at"]]
                                                .astype("str").itertuples(index=False))))
    if _CACHE.get("key") != key:
        _CACHE.clear()
        _CACHE.update(key=key, inputs=_read_inputs(store))
    return _CACHE["inputs"]


def _read_inputs(store) -> dict:
    from ._panel import build_panel
    from .lens.coverage import population_by_country_year
    return {
        "panel": build_panel(store),
        "membership": store.observations(source="membership"),
        "frameworks": store.records("frameworks"),
        "population": population_by_country_year(store.observations(source="hdr", indicators=["hdr_pop_total"])),
        "gsi": store.observations(source="gsi", indicators=["gsi_victims_estimated", "gsi_population"]),
    }


def lens_coverage(*, db: StoreLike = None, year_from: int | None = None, year_to: int | None = None,
                  countries: list[str] | None = None, frameworks: list[str] | None = None) -> pd.DataFrame:
    """Cooperation coverage per country-year: institutional density (both bounds), Palermo status,
    tier, 3P scores, GLOTIP detection/prosecution/conviction bounds and their coverage.

    Columns: :data:`tiplens.lens.coverage.COVERAGE_COLUMNS`. ``frameworks`` limits the mechanisms
    the density index counts (ids of :data:`tiplens.lens.coverage.DENSITY_FRAMEWORKS`).
    """
    from .lens.coverage import coverage_table
    with using_store(db, read_only=True) as store:
        data = _inputs(store)
    return coverage_table(data["panel"], data["membership"], data["frameworks"], data["population"],
                          year_from=year_from, year_to=year_to, countries=countries, counted=frameworks)


def lens_gaps(*, db: StoreLike = None, quantile: float = 0.75, thin: int | None = None,
              frameworks: list[str] | None = None) -> pd.DataFrame:
    """Countries with high GSI prevalence or vulnerability and thin cooperation, or outside the
    Palermo Protocol (columns :data:`tiplens.lens.coverage.GAP_COLUMNS`)."""
    from .lens.coverage import gaps
    with using_store(db, read_only=True) as store:
        data = _inputs(store)
    return gaps(data["panel"], data["membership"], quantile=quantile, thin=thin, counted=frameworks)


def lens_model_frame(*, db: StoreLike = None) -> pd.DataFrame:
    """The analysis frame the models use: the panel plus density, population, log GDP per capita,
    full criminalisation and GSI counts (see :func:`tiplens.lens.models.analysis_frame`). Its
    columns are the names a custom model may use."""
    from .lens.models import analysis_frame
    with using_store(db, read_only=True) as store:
        data = _inputs(store)
    return analysis_frame(data["panel"], data["membership"], data["frameworks"], data["population"], data["gsi"])


def lens_models(*, db: StoreLike = None, hypotheses=None, outcome: str | None = None,
                predictors: list[str] | None = None, effects: list[str] | None = ("iso3", "year"),
                family: str = "ols", offset: str | None = None, cluster: str | None = "iso3", lag: int = 0,
                year_from: int | None = None, year_to: int | None = None) -> dict:
    """The liberal hypotheses tested on the data, and/or a model the user states.

    Parameters
    ----------
    hypotheses
        Numbers or names of the hypotheses (1-4; default all four, or none when ``outcome`` is
        given).
    outcome, predictors, effects, family, offset, cluster, lag, year_from, year_to
        A custom model (see :func:`tiplens.lens.models.fit_model`); columns are those of
        :func:`lens_model_frame`.

    Returns
    -------
    dict
        ``{"models": [...]}``, one dict per model: ``number``, ``id``, ``title``, ``claim``,
        ``status`` (``fitted``, ``needs_data``, ``too_few``), ``message``, ``needs``,
        ``estimator``, ``caveats``, ``specs`` (one row per specification: n obs, countries,
        years, formula) and ``coefficients`` (tidy: term, estimate, std_error, ci_low, ci_high,
        p_value, n_obs, n_countries, first_year, last_year); hypothesis 1 adds ``event_time``.
    """
    from .lens import models as _models
    if outcome is None and (predictors or offset or lag):
        raise TiplensError("a custom model needs an outcome: pass --outcome COLUMN (see tiplens lens models --columns)")
    frame = lens_model_frame(db=db)
    if len(frame) == 0:
        raise TiplensError("the store holds no panel data: load files with tiplens ingest")
    results = []
    if outcome is None or hypotheses is not None:
        results += _models.fit_hypotheses(frame, hypotheses)
    if outcome is not None:
        results.append(_models.fit_model(frame, outcome=outcome, predictors=list(predictors or []),
                                         effects=list(effects) if effects else [], family=family, offset=offset,
                                         cluster=cluster, lag=lag, year_from=year_from, year_to=year_to))
    return {"models": results}


def write_lens_chart(kind: str, payload, path: str | Path, *, gaps: pd.DataFrame | None = None) -> Path:
    """Write the coverage chart (``kind="coverage"``, payload = :func:`lens_coverage`) or the
    coefficient plot (``kind="models"``, payload = :func:`lens_models`) as .html or .png."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".png"):
        raise TiplensError(f"{path}: charts are written as .html (interactive) or .png (static)")
    if not path.parent.exists():
        raise TiplensError(f"{path}: folder {path.parent} does not exist; create it or choose another path")
    if kind == "models":
        from .lens.models import coefficient_figure, coefficient_png
        results = payload["models"] if isinstance(payload, dict) else payload
        if suffix == ".png":
            coefficient_png(results, path)
        else:
            coefficient_figure(results).write_html(path, include_plotlyjs=True)
        return path
    if kind == "coverage":
        from .lens.coverage import coverage_figure, coverage_png
        if suffix == ".png":
            coverage_png(payload, gaps, path)
        else:
            coverage_figure(payload, gaps).write_html(path, include_plotlyjs=True)
        return path
    raise TiplensError(f"unknown chart kind {kind!r}: coverage or models")
