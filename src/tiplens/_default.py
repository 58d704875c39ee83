"""The embedded default dataset: compact tables shipped inside the package.

``scripts/build_default.py`` builds it from the public files with :func:`build_default`: every
file of the fetch catalogue whose source allows redistribution (``REDISTRIBUTABLE`` in its
module, reasons in ``default/sources.yaml``) is ingested into a scratch store with origin
``default``, and the store's tables are written as Parquet into ``tiplens/default/``. A new store
loads them (:func:`load_default`); ingesting a real file of a source supersedes the default's
rows for that source.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from .store import SENSITIVE_TABLES

#: Sort keys that make the written tables independent of load order.
_ORDER = {
    "files": ["source", "dataset", "edition", "path"],
    "observations": ["source", "dataset", "edition", "source_row", "indicator", "iso3", "year", "category"],
    "quarantine": ["source", "dataset", "edition", "row_number"],
}


def catalogue() -> dict:
    """The fetch catalogue: per source, its files (name, url, mirror_path, sha256, edition)."""
    text = resources.files("tiplens").joinpath("default/fetch_catalogue.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def default_files() -> list[tuple[str, str, str | None]]:
    """(source, mirror_path, edition) of every catalogued file that may be redistributed."""
    from .sources import SOURCES
    out = []
    for source, entry in catalogue().items():
        module = SOURCES.get(source)
        if module is None or not module.REDISTRIBUTABLE:
            continue
        for item in entry.get("files") or []:
            if item.get("duplicate_of"):  # the same release in another format: loading both is waste
                continue
            out.append((source, item["mirror_path"], item.get("edition")))
    return out


def default_tables() -> dict[str, pd.DataFrame]:
    root = resources.files("tiplens").joinpath("default")
    out = {}
    for item in root.iterdir():
        if item.name.endswith(".parquet"):
            with item.open("rb") as fh:
                out[item.name[: -len(".parquet")]] = pd.read_parquet(fh)
    return out


def load_default(store) -> None:
    """Fill a fresh store with the embedded default (nothing if none is shipped)."""
    tables = default_tables()
    if not tables:
        return
    from ._ingest import build_countries
    store.load_tables(tables)
    store.replace_files([], countries=lambda: build_countries(store))


def build_default_tables(data_dir: Path, scratch: Path) -> dict[str, pd.DataFrame]:
    """Ingest the redistributable public files from ``data_dir``; return the tables to ship."""
    from ._ingest import ingest
    from .store import open_store
    data_dir = Path(data_dir)
    store = open_store(scratch, with_default=False)
    try:
        for source, rel, edition in default_files():
            ingest([data_dir / rel], store=store, source=source, edition=edition, origin="default")
        tables = store.dump_tables()
    finally:
        store.close()
    files = tables["files"]
    # ship paths relative to the public data folder and no build time, so builds are identical
    files["path"] = [str(Path(p).relative_to(data_dir)) for p in files["path"]]
    files["loaded_at"] = pd.NaT
    files["tiplens_version"] = None
    shipped = {}
    for name, frame in tables.items():
        if name in SENSITIVE_TABLES:
            continue
        keys = [k for k in _ORDER.get(name, list(frame.columns)) if k in frame.columns]
        shipped[name] = frame.sort_values(keys, ignore_index=True, kind="stable") if keys else frame
    return shipped


def write_default(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    for old in out_dir.glob("*.parquet"):
        old.unlink()
    written = []
    for name, frame in tables.items():
        path = out_dir / f"{name}.parquet"
        frame.to_parquet(path, index=False, compression="zstd")
        written.append(path)
    return written
