"""tiplens: human trafficking statistics, the cooperation regime and the literature, reproducibly.

The public API::

    import tiplens as tl
    with tl.open_store() as store:          # $TIPLENS_DB or the user data directory
        tl.ingest(["data_glotip.xlsx"], store=store)
        panel = tl.panel(store, year_from=2010)
"""

from ._ingest import ingest
from ._version import __version__
from .errors import InputFileError, StoreBusyError, TiplensError
from .store import Store, open_store

__all__ = ["__version__", "open_store", "Store", "ingest", "TiplensError", "InputFileError",
           "StoreBusyError"]
