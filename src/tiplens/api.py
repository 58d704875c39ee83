"""The library twins of the commands: each takes ``db`` (a path, an open :class:`Store`, or
None for the default store) and returns plain Python or DataFrames; nothing prints.

``tiplens <command> --json`` prints exactly what its twin here returns.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from . import _ingest
from .errors import TiplensError
from .store import BUSY_TIMEOUT_SECONDS, Store, open_store

StoreLike = Store | str | os.PathLike | None


@contextmanager
def using_store(db: StoreLike = None, *, read_only: bool = False,
                timeout: float = BUSY_TIMEOUT_SECONDS) -> Iterator[Store]:
    """Yield an open store: ``db`` itself if it is one, else open (and afterwards close) it."""
    if isinstance(db, Store):
        yield db
        return
    store = open_store(db, read_only=read_only, timeout=timeout)
    try:
        yield store
    finally:
        store.close()


def ingest(paths: Iterable[str | Path], *, db: StoreLike = None, source: str | None = None,
           edition: str | None = None, progress=None, timeout: float = BUSY_TIMEOUT_SECONDS) -> list[dict]:
    """Load files into the store in one transaction; see :func:`tiplens._ingest.ingest`.

    Returns one dict per file: path, source, dataset, edition, sha256, rows_read, rows_loaded,
    rows_quarantined, replaced (provenance rows superseded) and notes.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise TiplensError("no files given: pass one or more paths to ingest")
    with using_store(db, timeout=timeout) as store:
        return _ingest.ingest(paths, store=store, source=source, edition=edition, progress=progress)


def sources(*, db: StoreLike = None) -> pd.DataFrame:
    """Provenance of every loaded file: path, source, dataset, edition, sha256, rows read /
    loaded / quarantined, loaded_at, tiplens_version, origin (``default``, ``ingest``)."""
    with using_store(db, read_only=True) as store:
        return store.files()[["path", "source", "dataset", "edition", "sha256", "rows_read", "rows_loaded",
                              "rows_quarantined", "loaded_at", "tiplens_version", "origin", "edition_origin"]]


def quarantine(*, db: StoreLike = None, source: str | None = None, reason: str | None = None) -> pd.DataFrame:
    """Rows not loaded: source, dataset, edition, path, row_number, column_name, reason, raw.

    ``reason`` keeps rows whose reason contains that text (case-insensitive), e.g.
    ``"not matched"`` for the country names that could not be matched. The raw cells of a
    case-level victim record (CTDC) are withheld: the row number says where to look in the file.
    """
    from ._api_privacy import withhold_case_level_raw
    if source is not None:
        from .sources import get_source
        get_source(source)
    with using_store(db, read_only=True) as store:
        frame = withhold_case_level_raw(store.quarantine(source))
    if reason:
        frame = frame[frame["reason"].str.contains(reason, case=False, regex=False)].reset_index(drop=True)
    return frame


def panel(*, db: StoreLike = None, year_from: int | None = None, year_to: int | None = None,
          editions: dict[str, str] | None = None) -> pd.DataFrame:
    """The country-year panel (see :mod:`tiplens._panel` for its columns)."""
    from ._panel import build_panel
    with using_store(db, read_only=True) as store:
        for source, edition in (editions or {}).items():
            _check_edition(store, source, edition)
        return build_panel(store, year_from=year_from, year_to=year_to, editions=editions)


def panel_columns() -> pd.DataFrame:
    """Every panel column: column, source, indicator, description, caveat (docs/panel.md)."""
    from ._panel import columns_documentation
    return columns_documentation()


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, Parquet or Excel, chosen by the file's suffix.

    CSV and Excel cells that a spreadsheet would run as a formula are marked as text (see
    :mod:`tiplens._spreadsheet`); Parquet keeps the values as they are.
    """
    from ._spreadsheet import safe_frame
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".csv": lambda p: safe_frame(frame).to_csv(p, index=False),
               ".parquet": lambda p: frame.to_parquet(p, index=False),
               ".xlsx": lambda p: safe_frame(frame).to_excel(p, index=False, engine="openpyxl")}
    if suffix not in writers:
        raise TiplensError(f"{path}: unknown output format {suffix or '(none)'}; use .csv, .parquet or .xlsx")
    if not path.parent.exists():
        raise TiplensError(f"{path}: folder {path.parent} does not exist; create it or choose another path")
    tmp = path.with_name(f".{path.name}.partial")
    try:
        writers[suffix](tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TiplensError(f"{path}: cannot write ({exc.strerror}); check the path and free space") from None
    return path


def fetch(names: list[str] | None = None, *, db: StoreLike = None, base_url: str | None = None,
          cache_dir: Path | None = None, progress=None, timeout: float = 30.0) -> list[dict]:
    """Download official files (or from a mirror), verify, cache and ingest them.

    Returns one dict per file: source, name, url, status (downloaded, cached, changed_upstream,
    no_url, refused), message, sha256, path and, when ingested, the ingest counts.
    """
    from ._fetch import fetch as _fetch
    with using_store(db) as store:
        return _fetch(names, store=store, base_url=base_url, cache_dir=cache_dir, progress=progress,
                      timeout=timeout)


# -- analysis ------------------------------------------------------------------------------------
def _check_edition(store: Store, source: str, edition: str) -> None:
    have = set(store.editions(source)["edition"])
    if edition not in have:
        raise TiplensError(f"no edition {edition!r} of {source!r} in the store (it has: "
                           f"{', '.join(sorted(have)) or 'none'}); see tiplens sources")


def _glotip(store: Store, edition: str | None) -> pd.DataFrame:
    if edition:
        _check_edition(store, "glotip", edition)
    return store.observations(source="glotip", edition=edition)


def _no_glotip_error() -> TiplensError:
    return TiplensError("no GLOTIP data in the store: UNODC's file is not shipped with tiplens (no open "
                        "licence). Download data_glotip.xlsx from the UNODC data portal "
                        "(https://dataunodc.un.org/dp-trafficking-persons) and run: tiplens ingest data_glotip.xlsx")


def read_panel_file(path: str | Path) -> list[str]:
    """ISO3 codes from a file: one per line, or a CSV with an ``iso3`` column."""
    path = Path(path)
    if not path.is_file():
        raise TiplensError(f"{path}: panel file not found. Use --panel all, balanced, or a file of ISO3 codes")
    text = path.read_text(encoding="utf-8").strip()
    first = text.splitlines()[0] if text else ""
    if "," in first or first.lower() == "iso3":
        codes = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "iso3" not in codes.columns:
            raise TiplensError(f"{path}: a CSV panel file needs an 'iso3' column")
        codes = list(codes["iso3"])
    else:
        codes = text.split()
    codes = [c.strip().upper() for c in codes if c.strip()]
    bad = [c for c in codes if len(c) != 3 or not c.isalpha()]
    if not codes or bad:
        raise TiplensError(f"{path}: expected ISO3 codes (e.g. NGA), found {bad[:5] or 'nothing'}")
    return codes


def _panel_choice(panel: str | list[str]) -> str | list[str]:
    if isinstance(panel, str) and panel not in ("all", "balanced"):
        return read_panel_file(panel)
    return panel


def trends(*, db: StoreLike = None, indicator: str = "detected_victims", by: str = "world",
           breakdown: str | None = None, panel: str | list[str] = "all", year_from: int | None = None,
           year_to: int | None = None, edition: str | None = None, bootstrap: int = 1000) -> pd.DataFrame:
    """A GLOTIP series with censoring bounds, coverage and country-mix sensitivity
    (see :func:`tiplens.analysis.trends.series` for the columns)."""
    from .analysis.trends import population_table, series
    with using_store(db, read_only=True) as store:
        obs = _glotip(store, edition)
        countries = store.countries()
        pop = population_table(store.observations(source="hdr", indicators=["hdr_pop_total"]))
    if len(obs) == 0:
        raise _no_glotip_error()
    return series(obs, countries, indicator=indicator, by=by, breakdown=breakdown, panel=_panel_choice(panel),
                  year_from=year_from, year_to=year_to, population=pop, bootstrap=bootstrap)


def periods(*, db: StoreLike = None, indicator: str = "detected_victims", periods: str | None = None,
            panels: tuple = ("all", "balanced"), edition: str | None = None) -> pd.DataFrame:
    """Named periods compared on each panel (see :func:`tiplens.analysis.periods.compare`)."""
    from .analysis import periods as _periods
    chosen = _periods.parse_periods(periods) if periods else _periods.DEFAULT_PERIODS
    with using_store(db, read_only=True) as store:
        obs, countries = _glotip(store, edition), store.countries()
    if len(obs) == 0:
        raise _no_glotip_error()
    return _periods.compare(obs, countries, indicator=indicator, periods=chosen,
                            panels=tuple(_panel_choice(p) for p in panels))


def claims(path: str | Path | None = None, *, db: StoreLike = None, edition: str | None = None) -> pd.DataFrame:
    """Check a claims file (default: the shipped sets) against the store; one row per claim."""
    from .analysis import claims as _claims
    if path is None:
        chosen = [dict(c, set=name) for name in _claims.SHIPPED for c in _claims.shipped_claims(name)]
    else:
        chosen = _claims.load_claims(path)
    with using_store(db, read_only=True) as store:
        obs = _glotip(store, edition)
        frameworks = store.records("frameworks")
    return _claims.check(chosen, obs, frameworks=frameworks)


def mse(path: str | Path, *, threshold: float = 0.02, bootstrap: int = 0, seed: int = 0) -> dict:
    """Hidden-population estimate from a list-overlap file (as in the MSE list data).

    Returns ``observed``, ``estimate``, ``ci_low``, ``ci_high``, ``model`` and ``warnings``, plus
    ``bootstrap_low``/``bootstrap_high`` when ``bootstrap`` replicates are asked for, ``models``
    (the top models and their estimates) and ``caveat``.
    """
    from .analysis import mse as _mse
    from .sources import mse_lists
    from .sources._base import check_file
    path = check_file(Path(path))
    if not mse_lists.detect(path):
        raise TiplensError(f"{path}: not a list-overlap table (expected 0/1 columns, one per list, and a count "
                           "column, as in the MSE list data)")
    norm = mse_lists.normalise(mse_lists.read(path))
    if len(norm.quarantine):
        first = norm.quarantine.iloc[0]
        raise TiplensError(f"{path}, row {first['row_number']}: {first['reason']}. Fix the file: capture "
                           "histories are 0/1 and counts are whole numbers of at least 0")
    records = norm.records["mse_lists"]
    table = mse_lists.capture_table(records, records["study"].iloc[0])
    try:
        result = _mse.estimate(table, threshold=threshold)
        boot = _mse.bootstrap(table, replicates=bootstrap, seed=seed, threshold=threshold) if bootstrap else None
    except TiplensError as exc:
        raise TiplensError(f"{path}: {exc}") from None
    if boot is not None:
        result["bootstrap_low"], result["bootstrap_high"] = boot["ci_low"], boot["ci_high"]
        result["bootstrap_replicates"] = bootstrap
    result["models"] = _mse.model_table(table)
    result["caveat"] = _mse.CAVEAT
    return result


def write_chart(frame: pd.DataFrame, path: str | Path, *, title: str, caveat: str) -> Path:
    """Draw a series with its coverage: interactive HTML (plotly, script inline) or a static PNG."""
    from .analysis import plots
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".png"):
        raise TiplensError(f"{path}: charts are written as .html or .png")
    source = "Source: UNODC GLOTIP country data; tiplens."
    if suffix == ".png":
        plots.to_png(frame, path, title=title, caveat=caveat, source_note=source)
    else:
        figure = plots.series_figure(frame, title=title, caveat=caveat, source_note=source)
        figure.write_html(path, include_plotlyjs=True)
    return path


def interrupted_time_series(*, db: StoreLike = None, indicator: str = "detected_victims", start: int = 2010,
                            edition: str | None = None) -> pd.DataFrame:
    """Pandemic and post-pandemic level shifts against the pre-pandemic trend, at both censoring
    bounds (see :func:`tiplens.analysis.periods.interrupted_time_series`)."""
    from .analysis.periods import its_both_bounds
    with using_store(db, read_only=True) as store:
        obs = _glotip(store, edition)
    if len(obs) == 0:
        raise _no_glotip_error()
    return its_both_bounds(obs, indicator=indicator, start=start)


def seed_figure(path: str | Path, *, db: StoreLike = None, edition: str | None = None) -> pd.DataFrame:
    """Write the seed paper's figure regenerated from the data (.html or .png); return its data."""
    from .analysis import plots
    path = Path(path)
    if path.suffix.lower() not in (".html", ".png"):
        raise TiplensError(f"{path}: figures are written as .html or .png")
    with using_store(db, read_only=True) as store:
        obs, countries = _glotip(store, edition), store.countries()
    if len(obs) == 0:
        raise _no_glotip_error()
    figure = plots.seed_figure(obs, countries)
    if path.suffix.lower() == ".png":
        plots.to_png(figure, path)
    else:
        figure.write_html(path, include_plotlyjs=True)
    return plots.seed_figure_data(obs, countries)


def leave_one_out(*, db: StoreLike = None, indicator: str = "detected_victims", year: int,
                  panel: str | list[str] = "all", edition: str | None = None) -> pd.DataFrame:
    """The countries that move one year's world total most (see
    :func:`tiplens.analysis.trends.leave_one_out`)."""
    from .analysis.trends import leave_one_out as _leave_one_out
    with using_store(db, read_only=True) as store:
        obs, countries = _glotip(store, edition), store.countries()
    if len(obs) == 0:
        raise _no_glotip_error()
    return _leave_one_out(obs, indicator=indicator, year=year, panel=_panel_choice(panel), countries=countries)


def flows(*, db: StoreLike = None, indicator: str = "detected_victims", level: str = "region",
          year_from: int | None = None, year_to: int | None = None, edition: str | None = None) -> pd.DataFrame:
    """Origin → detection flows from the citizenship categories that name a country (see
    :func:`tiplens.analysis.trends.flows`)."""
    from .analysis.trends import flows as _flows
    with using_store(db, read_only=True) as store:
        obs, countries = _glotip(store, edition), store.countries()
    if len(obs) == 0:
        raise _no_glotip_error()
    return _flows(obs, indicator=indicator, level=level, year_from=year_from, year_to=year_to, countries=countries)


def write_flows_chart(frame: pd.DataFrame, path: str | Path, *, title: str | None = None) -> Path:
    """Draw a flows frame as an interactive Sankey (.html, plotly script inline)."""
    from .analysis import plots
    path = Path(path)
    if path.suffix.lower() != ".html":
        raise TiplensError(f"{path}: the flows chart is interactive; write it as .html")
    plots.flows_figure(frame, title=title).write_html(path, include_plotlyjs=True)
    return path
