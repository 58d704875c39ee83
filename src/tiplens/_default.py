"""The embedded default dataset: compact tables shipped inside the package.

Built by ``scripts/build_default.py`` from the public files; holds only sources whose terms
allow redistribution (see ``default/SOURCES.md``).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

TABLES = ("files", "observations", "quarantine")


def default_tables() -> dict[str, pd.DataFrame]:
    root = resources.files("tiplens").joinpath("default")
    out = {}
    for item in root.iterdir():
        name = item.name
        if name.endswith(".parquet"):
            with item.open("rb") as fh:
                out[name[: -len(".parquet")]] = pd.read_parquet(fh)
    return out


def load_default(store) -> None:
    """Fill a fresh store with the embedded default (a no-op if none is shipped yet)."""
    tables = default_tables()
    if not tables:
        return
    store.load_tables(tables)
    from ._ingest import build_countries
    store.replace_files([], countries=lambda: build_countries(store))
