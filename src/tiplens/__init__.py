"""tiplens: human trafficking statistics, the cooperation regime and the literature, reproducibly.

The public API::

    import tiplens as tl
    tl.ingest(["data_glotip.xlsx"])          # into $TIPLENS_DB or the user data directory
    panel = tl.panel(year_from=2010)         # a DataFrame, one row per country-year
    with tl.open_store("my.duckdb") as store:
        tl.ingest(["data_glotip.xlsx"], db=store)
"""

from ._version import __version__
from .errors import InputFileError, StoreBusyError, TiplensError
from .store import Store, open_store
from .api import (claims, fetch, flows, ingest, interrupted_time_series, mse, panel, periods, quarantine, seed_figure,
                  sources, trends, write_table)

__all__ = ["__version__", "open_store", "Store", "ingest", "sources", "quarantine", "panel", "fetch",
           "trends", "flows", "periods", "interrupted_time_series", "claims", "seed_figure", "mse", "write_table", "TiplensError", "InputFileError",
           "StoreBusyError"]
