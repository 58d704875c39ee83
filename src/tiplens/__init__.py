"""tiplens: human trafficking statistics, the cooperation regime and the literature, reproducibly.

The public API::

    import tiplens as tl
    tl.ingest(["data_glotip.xlsx"])          # into $TIPLENS_DB or the user data directory
    panel = tl.panel(year_from=2010)         # a DataFrame, one row per country-year
    with tl.open_store("my.duckdb") as store:
        tl.ingest(["data_glotip.xlsx"], db=store)
"""

import os as _os

# tiplens fits many small models: a multi-threaded BLAS makes each small decomposition wait for idle
# threads and runs several times slower on a busy machine (benchmarks/lens.py measured 9.7 s against
# 1.6 s). Set before numpy loads; a value the user set wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")

from ._version import __version__  # noqa: E402
from .errors import InputFileError, StoreBusyError, TiplensError
from .store import Store, open_store
from .api import (claims, fetch, flows, ingest, interrupted_time_series, mse, panel, periods, quarantine, seed_figure,
                  sources, trends, write_table)

#: Twins of the lens, review, coding and report commands and the disclosure step, imported on first
#: use so that ``import tiplens`` (and every command) starts fast.
_LAZY = {
    **dict.fromkeys(["lens_kb", "lens_table", "write_lens_table", "lens_network", "write_network"], "._api_lens"),
    **dict.fromkeys(["lens_coverage", "lens_gaps", "lens_models", "lens_model_frame"], "._api_lens_analysis"),
    **dict.fromkeys(["review_import", "review_screen", "review_status", "review_prisma", "review_agree",
                     "review_example"], "._api_review"),
    **dict.fromkeys(["code", "codings_list", "codings_accept", "codings_reject", "codings_agree", "codings_export",
                     "codings_frequencies", "codings_cooccurrence", "codings_quotes", "codebook_list",
                     "codebook_show", "codebook_export", "codebook_import", "lens_compare"], "._api_coding"),
    "report": "._api_report",
    **dict.fromkeys(["publish", "publish_release", "publish_from_store", "privacy_ledger", "DECLARED_TABLES"],
                    ".disclosure"),
    "victims": "._api_privacy",
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tiplens' has no attribute {name!r}")


__all__ = ["__version__", "open_store", "Store", "ingest", "sources", "quarantine", "panel", "fetch",
           "trends", "flows", "periods", "interrupted_time_series", "claims", "seed_figure", "mse", "write_table",
           "TiplensError", "InputFileError", "StoreBusyError", *_LAZY]
