"""The dashboard (``tiplens serve``): a local FastAPI app over the store.

:func:`tiplens.web.app.create_app` builds the app; :mod:`tiplens.web.data` holds what it reads
from the store (read at start and on ``POST /reload``, the store closed in between);
:mod:`tiplens.web.exports` writes the CSV and Excel downloads.
"""
