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
           edition: str | None = None, progress=None, timeout: float = BUSY_TIMEOUT_SECONDS,
           store: Store | None = None) -> list[dict]:
    """Load files into the store in one transaction; see :func:`tiplens._ingest.ingest`.

    Returns one dict per file: path, source, dataset, edition, sha256, rows_read, rows_loaded,
    rows_quarantined, replaced (provenance rows superseded) and notes.
    """
    db = store if store is not None else db
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
    ``"not matched"`` for the country names that could not be matched.
    """
    if source is not None:
        from .sources import get_source
        get_source(source)
    with using_store(db, read_only=True) as store:
        frame = store.quarantine(source)
    if reason:
        frame = frame[frame["reason"].str.contains(reason, case=False, regex=False)].reset_index(drop=True)
    return frame


def panel(*, db: StoreLike = None, year_from: int | None = None, year_to: int | None = None,
          editions: dict[str, str] | None = None) -> pd.DataFrame:
    """The country-year panel (see :mod:`tiplens._panel` for its columns)."""
    from ._panel import build_panel
    with using_store(db, read_only=True) as store:
        for source, edition in (editions or {}).items():
            known = store.editions(source)
            if edition not in set(known["edition"]):
                have = ", ".join(sorted(set(known["edition"]))) or "none"
                raise TiplensError(f"no edition {edition!r} of {source!r} in the store (it has: {have}); "
                                   "see tiplens sources")
        return build_panel(store, year_from=year_from, year_to=year_to, editions=editions)


def panel_columns() -> pd.DataFrame:
    """Every panel column: column, source, indicator, description, caveat (docs/panel.md)."""
    from ._panel import columns_documentation
    return columns_documentation()


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, Parquet or Excel, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".csv": lambda p: frame.to_csv(p, index=False),
               ".parquet": lambda p: frame.to_parquet(p, index=False),
               ".xlsx": lambda p: frame.to_excel(p, index=False, engine="openpyxl")}
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
