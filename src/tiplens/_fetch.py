"""``tiplens fetch``: download the sources' files, check them, cache them and ingest them.

What is fetched is listed in ``default/fetch_catalogue.yaml``: per source, its files with the
official download address (``url``, null where none is known with confidence), the path of the
same file in a mirror laid out like the public data folder (``mirror_path``), and the sha256,
size and edition of the copy tiplens was built with.

The steps, and why each is there:

1. Every chosen file is obtained first, nothing is ingested until all downloads succeeded, so a
   network failure (refused connection, timeout, HTTP 404/500) raises one :class:`TiplensError`
   naming the address and leaves the store untouched.
2. A file already in the cache with the catalogued sha256 is not downloaded again (``cached``).
3. A download streams into a temporary file beside its final place and is hashed on the way;
   only a file whose sha256 matches the catalogue is moved into the cache (``os.replace``, so a
   reader never sees half a file). One that differs is *not* trusted: it is kept as ``NAME.new``
   and reported ``changed_upstream``; the user inspects it and ingests it as a new edition.
4. The verified files are ingested through the ordinary ingest, one call per (source, edition),
   with origin ``fetch``. A file the store already holds (same source and sha256, from a real
   ingest or fetch) is not ingested again; its row counts come from the store.

Some files can never be downloaded by tiplens: files without an official direct address (status
``no_url``: the message names the page to get it from; a mirror serves them), files that are the
same data as another file in another format (``duplicate_of``: skipped, loading both would load
one release twice), and sources whose terms require the user's own acceptance (``refuse``: CTDC).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Callable

import yaml

from . import _ingest
from ._version import __version__
from .errors import TiplensError
from .store import Store

#: Environment variable naming a mirror (used when ``base_url`` is not given).
MIRROR_ENV = "TIPLENS_FETCH_MIRROR"
CHUNK_BYTES = 1 << 16
INGEST_FIELDS = ("dataset", "edition", "rows_read", "rows_loaded", "rows_quarantined")

Progress = Callable[[str, int, int | None], None]

CHANGED_UPSTREAM = ("changed upstream: sha256 differs from the catalogued copy; inspect it and ingest it "
                    "with tiplens ingest if it is a new edition")
MIRROR_HINT = "or use --mirror URL (or $TIPLENS_FETCH_MIRROR) to fetch from a mirror"


@dataclass(frozen=True)
class CatalogueFile:
    """One file of the catalogue."""

    source: str
    name: str
    url: str | None
    mirror_path: str
    sha256: str
    size: int | None
    edition: str | None
    page: str | None
    note: str | None = None
    duplicate_of: str | None = None


@dataclass(frozen=True)
class CatalogueSource:
    name: str
    page: str | None
    refuse: str | None
    files: tuple[CatalogueFile, ...]


# -- the catalogue ------------------------------------------------------------------------------
def load_catalogue(path: Path | None = None) -> dict[str, CatalogueSource]:
    """The fetch catalogue (the packaged one, or the YAML file at ``path``), checked for shape."""
    if path is None:
        where = "tiplens/default/fetch_catalogue.yaml"
        text = resources.files("tiplens").joinpath("default/fetch_catalogue.yaml").read_text(encoding="utf-8")
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise TiplensError(f"{path}: cannot read the fetch catalogue ({exc.strerror}); check the path") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TiplensError(f"{where}: the fetch catalogue is not valid YAML ({exc}); fix the file") from None
    if not isinstance(data, dict):
        raise TiplensError(f"{where}: the fetch catalogue must map source names to entries; fix the file")
    return {name: _source_entry(where, name, entry) for name, entry in data.items()}


def _source_entry(where: str, name: str, entry) -> CatalogueSource:
    if not isinstance(entry, dict) or not isinstance(entry.get("files", []), list):
        raise TiplensError(f"{where}: source {name!r} needs a mapping with a 'files' list; fix the catalogue")
    page = entry.get("page")
    files = []
    for i, item in enumerate(entry.get("files") or [], start=1):
        missing = [k for k in ("name", "mirror_path", "sha256") if not (isinstance(item, dict) and item.get(k))]
        if missing:
            raise TiplensError(f"{where}: file {i} of source {name!r} lacks {', '.join(missing)}; fix the catalogue")
        mirror_path = str(item["mirror_path"]).lstrip("/")
        if ".." in PurePosixPath(mirror_path).parts:  # it also names the file's place in the cache
            raise TiplensError(f"{where}: file {i} of source {name!r} has a mirror_path outside the data folder "
                               f"({mirror_path}); fix the catalogue")
        edition = item.get("edition")
        files.append(CatalogueFile(
            source=name, name=str(item["name"]), url=item.get("url") or None,
            mirror_path=mirror_path, sha256=str(item["sha256"]).lower(),
            size=int(item["size"]) if item.get("size") is not None else None,
            edition=None if edition is None else str(edition), page=item.get("page") or page,
            note=item.get("note"), duplicate_of=item.get("duplicate_of")))
    return CatalogueSource(name=name, page=page, refuse=entry.get("refuse"), files=tuple(files))


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tiplens``, else ``~/.cache/tiplens``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tiplens"


def _choose(names: list[str] | None, catalogue: dict[str, CatalogueSource]) -> list[CatalogueSource]:
    """The sources to fetch. Named ones must exist, be readable and not refused; all (None) means
    every catalogued source this version can read, plus the refused ones (reported, not fetched)."""
    from .sources import SOURCES
    if names is None:
        return [entry for name, entry in catalogue.items() if entry.refuse or name in SOURCES]
    chosen = []
    for name in dict.fromkeys(names):
        entry = catalogue.get(name)
        if entry is None:
            raise TiplensError(f"unknown source {name!r} for fetch; choose from: {', '.join(sorted(catalogue))}")
        if entry.refuse:
            raise TiplensError(f"{name}: not fetched. {' '.join(entry.refuse.split())}")
        if name not in SOURCES:
            raise TiplensError(f"{name}: this version of tiplens has no reader for this source, so its files "
                               "cannot be ingested; upgrade tiplens")
        chosen.append(entry)
    return chosen


# -- downloading --------------------------------------------------------------------------------
def _address(item: CatalogueFile, base_url: str | None) -> str | None:
    if base_url:
        return base_url.rstrip("/") + "/" + urllib.parse.quote(item.mirror_path)
    return item.url


def _no_url_message(item: CatalogueFile) -> str:
    where = f"get it from {item.page} and run tiplens ingest" if item.page else "no publisher page offers it"
    note = f" ({item.note})" if item.note else ""
    return f"no official download URL; {where}{note}; {MIRROR_HINT}"


def _download(url: str, temporary: Path, *, name: str, expected_size: int | None, timeout: float,
              progress: Progress | None) -> str:
    """Stream ``url`` into ``temporary``; return the sha256 of what arrived.

    Raises TiplensError naming the address for every way a download can fail.
    """
    request = urllib.request.Request(url, headers={"User-Agent": f"tiplens/{__version__}"})
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = getattr(response, "status", None)
            if status is not None and status != 200:  # file:// answers have no status
                raise TiplensError(f"{url}: download failed (HTTP {status}, expected 200); check the address, "
                                   f"{MIRROR_HINT}. Nothing was ingested.")
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else expected_size
            if progress:
                progress(name, 0, total)
            with open(temporary, "wb") as out:
                while block := response.read(CHUNK_BYTES):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(name, done, total)
    except urllib.error.HTTPError as exc:
        raise TiplensError(f"{url}: download failed (HTTP {exc.code} {exc.reason}); check the address, "
                           f"{MIRROR_HINT}. Nothing was ingested.") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise _timeout(url, timeout) from None
        raise TiplensError(f"{url}: cannot connect ({getattr(reason, 'strerror', None) or reason}); check your "
                           f"internet connection, {MIRROR_HINT}. Nothing was ingested.") from None
    except (TimeoutError, socket.timeout):
        raise _timeout(url, timeout) from None
    except http.client.IncompleteRead:
        raise TiplensError(f"{url}: the download was cut off after {done} bytes; try again, {MIRROR_HINT}. "
                           "Nothing was ingested.") from None
    except (http.client.HTTPException, ConnectionError) as exc:
        raise TiplensError(f"{url}: the connection failed during the download ({exc.__class__.__name__}); "
                           f"try again, {MIRROR_HINT}. Nothing was ingested.") from None
    except OSError as exc:  # writing the temporary file: disk full, permissions
        raise TiplensError(f"{temporary}: cannot save the download of {url} ({exc.strerror or exc}); free "
                           "space or choose another cache folder. Nothing was ingested.") from None
    if done == 0:
        raise TiplensError(f"{url}: the server sent an empty file; check the address, {MIRROR_HINT}. "
                           "Nothing was ingested.")
    return digest.hexdigest()


def _timeout(url: str, timeout: float) -> TiplensError:
    return TiplensError(f"{url}: no answer within {timeout:g} s; check your internet connection or try later, "
                        f"{MIRROR_HINT}. Nothing was ingested.")


def _obtain(item: CatalogueFile, cache: Path, base_url: str | None, timeout: float,
            progress: Progress | None) -> dict:
    """Bring one file into the cache (or find it there); the result row without ingest fields."""
    target = cache / item.mirror_path
    url = _address(item, base_url)
    row = {"source": item.source, "name": item.name, "url": url, "status": None, "sha256": None,
           "path": None, "edition": item.edition, "message": None}
    if target.is_file() and _ingest.sha256_of(target) == item.sha256:
        return row | {"status": "cached", "sha256": item.sha256, "path": str(target)}
    if url is None:
        return row | {"status": "no_url", "message": _no_url_message(item)}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{item.name}.", suffix=".part")
        os.close(handle)
    except OSError as exc:
        raise TiplensError(f"{target.parent}: cannot write to the download cache ({exc.strerror}); pass another "
                           "cache folder or set XDG_CACHE_HOME") from None
    temporary = Path(name)
    try:
        digest = _download(url, temporary, name=item.name, expected_size=item.size, timeout=timeout,
                           progress=progress)
        if digest != item.sha256:
            kept = target.with_name(target.name + ".new")
            os.replace(temporary, kept)
            return row | {"status": "changed_upstream", "sha256": digest, "path": str(kept),
                          "message": f"{CHANGED_UPSTREAM} (kept as {kept})"}
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return row | {"status": "downloaded", "sha256": digest, "path": str(target)}


# -- ingesting ----------------------------------------------------------------------------------
def _ingest_verified(rows: list[dict], store: Store) -> None:
    """Ingest the downloaded and cached files, skipping those the store already holds."""
    files = store.files()
    held = files[files["origin"] != "default"]
    known = {(r.source, r.sha256): r for r in held.itertuples()}
    groups: dict[tuple[str, str | None], list[dict]] = defaultdict(list)
    for row in rows:
        if row["status"] not in ("downloaded", "cached"):
            continue
        previous = known.get((row["source"], row["sha256"]))
        if previous is not None:
            row.update({k: _plain(getattr(previous, k)) for k in INGEST_FIELDS}, ingested=False)
        else:
            groups[(row["source"], row["edition"])].append(row)
    for (source, edition), group in groups.items():
        results = _ingest.ingest([Path(r["path"]) for r in group], store=store, source=source,
                                 edition=edition, origin="fetch")
        for row, result in zip(group, results):
            row.update({k: result[k] for k in INGEST_FIELDS}, ingested=True)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


# -- the command's library twin -----------------------------------------------------------------
def fetch(sources: list[str] | None = None, *, store: Store, cache_dir: Path | None = None,
          base_url: str | None = None, timeout: float = 30, progress: Progress | None = None,
          catalogue: Path | None = None) -> list[dict]:
    """Download, verify, cache and ingest the catalogued files of ``sources`` (all when None).

    Parameters
    ----------
    sources
        Source names (``glotip``, ``gsi`` ...). None: every catalogued source this version reads.
    store
        The open store the verified files are ingested into.
    cache_dir
        Where files are kept (default :func:`default_cache_dir`), laid out like the mirror.
    base_url
        A mirror laid out like the public data folder; default ``$TIPLENS_FETCH_MIRROR``, else the
        official addresses. A file's address is then ``base_url/mirror_path``.
    timeout
        Seconds to wait for the server at each step of a download.
    progress
        Called as ``progress(name, bytes_done, bytes_total)`` while a file downloads
        (``bytes_total`` is None when neither the server nor the catalogue knows the size).
    catalogue
        A catalogue YAML to use instead of the packaged one.

    Returns
    -------
    list of dict
        One per file: source, name, url, status (``downloaded``, ``cached``, ``changed_upstream``,
        ``no_url``, ``refused``), sha256, path, edition, message (what to do, for the statuses
        that need it) and, for files in the store after the call, dataset, rows_read, rows_loaded,
        rows_quarantined and ``ingested`` (False when the store already held the file).

    Raises
    ------
    TiplensError
        An unknown or refused source named explicitly, an unreadable catalogue, an unwritable
        cache, or any failed download (then nothing is ingested).
    """
    entries = load_catalogue(catalogue)
    chosen = _choose(None if sources is None else list(sources), entries)
    base_url = base_url or os.environ.get(MIRROR_ENV) or None
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    rows = []
    for entry in chosen:
        if entry.refuse:
            rows.append({"source": entry.name, "name": None, "url": None, "status": "refused", "sha256": None,
                         "path": None, "edition": None, "message": " ".join(entry.refuse.split())})
            continue
        for item in entry.files:
            if item.duplicate_of is None:
                rows.append(_obtain(item, cache, base_url, timeout, progress))
    _ingest_verified(rows, store)
    return rows
