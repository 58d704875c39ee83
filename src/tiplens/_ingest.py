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
from .store import Store

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
    if source:
        module = get_source(source)
        if not module.detect(path):
            raise InputFileError(path, f"does not look like a {source} file (its header or layout does not match)",
                                 "Check the file, or drop --source to let tiplens detect it")
    else:
        module = detect_source(path)
    raw = module.read(path)
    stated = raw.edition
    if stated and edition and str(edition) != str(stated):
        raise InputFileError(path, f"states its edition as {stated}, but --edition {edition} was given",
                             "Drop --edition, or pass the edition the file states")
    final_edition = stated or edition
    if not final_edition:
        raise InputFileError(path, f"does not state its edition ({module.NAME})",
                             "Pass --edition E (for example the release date YYYY-MM-DD or year YYYY)")
    raw.edition = str(final_edition)
    norm = module.normalise(raw)
    if norm.rows_read != norm.rows_loaded + len(norm.quarantine):
        raise TiplensError(
            f"{path}: internal accounting error in source {module.NAME}: rows read {norm.rows_read} != "
            f"loaded {norm.rows_loaded} + quarantined {len(norm.quarantine)}. Please report this.")
    if norm.rows_read and not norm.rows_loaded:
        # a file none of whose rows loads is a wrong or damaged file, not data: loading it would
        # replace a good edition of the same source by an empty one
        reasons = norm.quarantine["reason"].astype("str").str.split("; ").explode().value_counts()
        shown = "; ".join(f"{reason} ({count} rows)" for reason, count in reasons.head(3).items())
        raise InputFileError(path, f"none of its {norm.rows_read} data rows could be loaded ({shown})",
                             f"Check that the file is a complete {module.NAME} file with its columns in place")
    info = {
        "path": display_path or str(path),
        "source": module.NAME,
        "dataset": raw.dataset,
        "edition": raw.edition,
        "edition_origin": "file" if stated else "option",
        "sha256": sha256_of(path),
        "rows_read": int(norm.rows_read),
        "rows_loaded": int(norm.rows_loaded),
        "rows_quarantined": int(len(norm.quarantine)),
        "tiplens_version": __version__,
        "origin": origin,
    }
    return info, norm.observations, norm.quarantine, norm.records, norm.notes


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

    Returns one dict per file with the fields of the ``ingest --json`` contract
    (path, source, dataset, edition, sha256, rows_read, rows_loaded, rows_quarantined)
    plus ``replaced`` (the provenance rows this file superseded) and ``notes``.
    """
    batch, notes = [], []
    for path in paths:
        if progress:
            progress("reading", Path(path))
        info, obs, qua, records, file_notes = prepare_file(Path(path), source=source, edition=edition,
                                                           origin=origin)
        batch.append((info, obs, qua, records))
        notes.append(file_notes)
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
    for (info, *_), result, file_notes in zip(batch, results, notes):
        row = {k: info[k] for k in ("path", "source", "dataset", "edition", "sha256",
                                    "rows_read", "rows_loaded", "rows_quarantined")}
        row["replaced"] = [{k: str(v) for k, v in r.items()} for r in result["replaced"]]
        row["notes"] = list(file_notes)
        out.append(row)
    return out
