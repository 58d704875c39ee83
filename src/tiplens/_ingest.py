"""Ingest: read files, normalise them through their source module, write them in one transaction."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from ._version import __version__
from .errors import InputFileError, TiplensError
from .harmonise.countries import country_table
from .sources import detect_source, get_source
from .sources._base import check_file
from .store import Store, StreamedFile

Progress = Callable[[str, Path], None]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_file(path: Path, *, source: str | None = None, edition: str | None = None,
                 origin: str = "ingest", display_path: str | None = None):
    """Read and normalise one file without touching the store.

    Returns (provenance info, observations, quarantine, records, notes).
    """
    path = check_file(Path(path))
    module = _source_module(path, source)
    raw = module.read(path)
    raw.edition, edition_origin = _edition(path, module, raw.edition, edition)
    norm = module.normalise(raw)
    if norm.rows_read != norm.rows_loaded + len(norm.quarantine):
        raise TiplensError(
            f"{path}: internal accounting error in source {module.NAME}: rows read {norm.rows_read} != "
            f"loaded {norm.rows_loaded} + quarantined {len(norm.quarantine)}. Please report this.")
    reasons = norm.quarantine["reason"].astype("str").str.split("; ").explode().value_counts()
    _refuse_if_nothing_loaded(path, module.NAME, norm.rows_read, norm.rows_loaded, reasons)
    info = _provenance(path, module.NAME, raw.dataset, raw.edition, edition_origin, origin, display_path)
    info.update(rows_read=int(norm.rows_read), rows_loaded=int(norm.rows_loaded),
                rows_quarantined=int(len(norm.quarantine)))
    return info, norm.observations, norm.quarantine, norm.records, norm.notes


def open_streamed(path: Path, *, source: str | None = None, edition: str | None = None, origin: str = "ingest",
                  display_path: str | None = None) -> tuple[StreamedFile, Callable[[], list[str]]] | None:
    """A file to read in chunks while the store writes it, or None when its source reads it whole.

    Only the file's head is read here (header, edition); reading the rest, and every error it
    finds, happens inside :meth:`Store.replace_files`. Returns the :class:`StreamedFile` and a
    function giving the file's notes once it has been written.
    """
    path = check_file(Path(path))
    module = _source_module(path, source)
    if not (hasattr(module, "stream") and module.streams(path)):
        return None
    stream = module.stream(path)
    final_edition, edition_origin = _edition(path, module, stream.edition, edition)
    info = _provenance(path, module.NAME, stream.dataset, final_edition, edition_origin, origin, display_path)

    def check(rows_loaded: int, rows_quarantined: int, reasons: pd.Series) -> None:
        _refuse_if_nothing_loaded(path, module.NAME, stream.rows_read, rows_loaded, reasons)

    item = StreamedFile(info=info, chunks=stream.chunks, staging_columns=stream.staging_columns,
                        partition_by=stream.partition_by, combine=stream.combine,
                        rows_read=lambda: stream.rows_read, check=check)
    return item, stream.notes


def _source_module(path: Path, source: str | None):
    if source:
        module = get_source(source)
        if not module.detect(path):
            raise InputFileError(path, f"does not look like a {source} file (its header or layout does not match)",
                                 "Check the file, or drop --source to let tiplens detect it")
        return module
    return detect_source(path)


def _edition(path: Path, module, stated: str | None, edition: str | None) -> tuple[str, str]:
    """(the file's edition, where it comes from: ``file`` or ``option``)."""
    if stated and edition and str(edition) != str(stated):
        raise InputFileError(path, f"states its edition as {stated}, but --edition {edition} was given",
                             "Drop --edition, or pass the edition the file states")
    final_edition = stated or edition
    if not final_edition:
        raise InputFileError(path, f"does not state its edition ({module.NAME})",
                             "Pass --edition E (for example the release date YYYY-MM-DD or year YYYY)")
    return str(final_edition), "file" if stated else "option"


def _refuse_if_nothing_loaded(path: Path, source: str, rows_read: int, rows_loaded: int, reasons: pd.Series) -> None:
    """A file none of whose rows loads is a wrong or damaged file, not data: loading it would
    replace a good edition of the same source by an empty one. ``reasons``: quarantine reason -> rows."""
    if rows_read and not rows_loaded:
        shown = "; ".join(f"{reason} ({count} rows)" for reason, count in reasons.head(3).items())
        raise InputFileError(path, f"none of its {rows_read} data rows could be loaded ({shown})",
                             f"Check that the file is a complete {source} file with its columns in place")


def _provenance(path: Path, source: str, dataset: str, edition: str, edition_origin: str, origin: str,
                display_path: str | None) -> dict:
    return {
        "path": display_path or str(path),
        "source": source,
        "dataset": dataset,
        "edition": edition,
        "edition_origin": edition_origin,
        "sha256": sha256_of(path),
        "tiplens_version": __version__,
        "origin": origin,
    }


def build_countries(store: Store) -> pd.DataFrame:
    """The ``countries`` table: M49 from country_converter plus the sources' own regions."""
    table = country_table()
    regions = store.source_regions()
    for source, column, sub in (("glotip", "unodc_region", "unodc_subregion"), ("gsi", "walkfree_region", None)):
        part = regions[regions["source"] == source].set_index("iso3")
        table[column] = table["iso3"].map(part["source_region"])
        if sub:
            table[sub] = table["iso3"].map(part["source_subregion"])
    return table


def ingest(paths: Iterable[str | Path], *, store: Store, source: str | None = None,
           edition: str | None = None, origin: str = "ingest",
           progress: Progress | None = None) -> list[dict]:
    """Load files into the store: all of them, or (on any error) none.

    A file its source reads in chunks (a GLOTIP CSV of at least
    :data:`tiplens.sources._base.STREAM_FROM_BYTES`) is read while the store writes it, in memory
    that does not grow with the file; the result is the same as for a file read whole.

    Returns one dict per file with the fields of the ``ingest --json`` contract
    (path, source, dataset, edition, sha256, rows_read, rows_loaded, rows_quarantined)
    plus ``replaced`` (the provenance rows this file superseded) and ``notes``.
    """
    batch, notes = [], []
    for path in paths:
        if progress:
            progress("reading", Path(path))
        streamed = open_streamed(Path(path), source=source, edition=edition, origin=origin)
        if streamed is not None:  # read while the store writes it
            item, file_notes = streamed
            batch.append(item)
            notes.append(file_notes)
            continue
        info, obs, qua, records, file_notes = prepare_file(Path(path), source=source, edition=edition,
                                                           origin=origin)
        batch.append((info, obs, qua, records))
        notes.append(lambda file_notes=file_notes: file_notes)
    if progress:
        progress("writing", Path("store"))
    try:
        results = store.replace_files(batch, countries=lambda: build_countries(store))
    except TiplensError:
        raise
    except Exception as exc:  # the database library's own error for a full disk
        if "no space left on device" not in str(exc).lower():
            raise
        raise TiplensError(f"{store.path}: the disk holding the store is full (no space left on device); the "
                           "ingest did not complete and the store keeps what it held before. Free some space "
                           "and run the ingest again.") from None
    out = []
    for item, result, file_notes in zip(batch, results, notes):
        info = item.info if isinstance(item, StreamedFile) else item[0]
        row = {k: info[k] for k in ("path", "source", "dataset", "edition", "sha256")}
        row.update({k: int(result[k]) for k in ("rows_read", "rows_loaded", "rows_quarantined")})
        row["replaced"] = [{k: str(v) for k, v in r.items()} for r in result["replaced"]]
        row["notes"] = list(file_notes())
        out.append(row)
    return out
