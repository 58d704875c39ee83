"""Reading reference files (BibTeX, RIS, CSV, ASReview exports) and finding duplicates.

Every record keeps every field it was read with (as JSON in ``fields``) next to a few
normalised columns used for screening and de-duplication. Duplicates are never dropped:
they stay in the library with ``duplicate_of`` naming the record they repeat, and each
merge is reported with the rule that matched, because PRISMA counts "records identified"
before duplicates are removed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from tiplens.errors import InputFileError, TiplensError
from tiplens.review import screening

#: Columns of ``review_imports``: one row per file read into the library.
IMPORT_COLUMNS = {
    "import_id": "INTEGER",
    "path": "VARCHAR",
    "sha256": "VARCHAR",
    "format": "VARCHAR",
    "source": "VARCHAR",       # the database or list the file came from (PRISMA "identified from")
    "records": "INTEGER",
    "duplicates": "INTEGER",
    "imported_at": "TIMESTAMP",
}

#: Columns of ``review_records``: one row per record identified, duplicates included.
RECORD_COLUMNS = {
    "record_id": "VARCHAR",    # R0001, R0002, ... in import order
    "import_id": "INTEGER",
    "source": "VARCHAR",
    "format": "VARCHAR",
    "key": "VARCHAR",          # the file's own identifier: BibTeX key, RIS ID, CSV/ASReview id column
    "line": "INTEGER",         # where the record starts in its file (1-based)
    "entry_type": "VARCHAR",
    "title": "VARCHAR",
    "authors": "VARCHAR",      # "Last, First; Last, First"
    "first_author": "VARCHAR", # last name of the first author, as printed
    "year": "INTEGER",
    "doi": "VARCHAR",          # normalised: lower case, no resolver prefix
    "journal": "VARCHAR",
    "abstract": "VARCHAR",
    "fields": "VARCHAR",       # JSON object: every field exactly as read
    "duplicate_of": "VARCHAR", # record_id of the record this one repeats, else NULL
}

#: Columns of ``review_merges``: one row per duplicate found.
MERGE_COLUMNS = {
    "import_id": "INTEGER",
    "record_id": "VARCHAR",
    "kept_id": "VARCHAR",
    "rule": "VARCHAR",         # doi | title_year_author
    "match": "VARCHAR",        # the normalised value both records share
    "title": "VARCHAR",
}

FORMATS = ("bibtex", "ris", "csv", "asreview")

_CSV_SYNONYMS = {
    "title": ("title", "ti", "primary_title", "article title", "document title"),
    "authors": ("authors", "author", "au", "author full names"),
    "year": ("year", "py", "publication_year", "publication year", "date"),
    "doi": ("doi", "do"),
    "journal": ("journal", "secondary_title", "source title", "source", "publication", "jo", "t2"),
    "abstract": ("abstract", "ab", "notes_abstract"),
    "key": ("record_id", "id", "key", "citation_key"),
    "entry_type": ("type", "type_of_reference", "entry_type", "document type"),
}

_DOI_PREFIX = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -( |$)")


# -- normalising -------------------------------------------------------------------------------
def normalise_doi(value: object) -> str | None:
    """A DOI in the form used for matching: lower case, without ``https://doi.org/`` or ``doi:``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = _DOI_PREFIX.sub("", str(value).strip()).strip().lower()
    return text or None


def normalise_text(value: object) -> str:
    """Lower case, accents removed, punctuation to spaces, spaces collapsed (for matching only)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


_INITIALS = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")


def _last_name(author: str) -> str:
    """'Keohane, R. O.' / 'Robert O. Keohane' / 'Keohane RO' (Web of Science style) -> 'Keohane'."""
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[0].strip()
    parts = author.split()
    if len(parts) > 1 and _INITIALS.match(parts[-1]) and not _INITIALS.match(parts[0]):
        return " ".join(parts[:-1])
    return parts[-1] if parts else ""


def _split_authors(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value)
    parts = re.split(r"\s+and\s+|;", text) if (";" in text or " and " in text) else [text]
    return [p.strip() for p in parts if p.strip()]


def _year(value: object) -> int | None:
    if value is None:
        return None
    match = re.search(r"\b(1[5-9]\d\d|20\d\d)\b", str(value))
    return int(match.group(1)) if match else None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- reading ----------------------------------------------------------------------------------
def detect_format(path: Path) -> str:
    """bibtex, ris, csv or asreview, from the file's content (the suffix only breaks ties)."""
    text = _read_text(path)
    head = text.lstrip()[:4000]
    if re.search(r"^\s*@\w+\s*[{(]", head, re.MULTILINE):
        return "bibtex"
    if re.search(r"^TY  - ", head, re.MULTILINE):
        return "ris"
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        first_line = head.splitlines()[0].lower() if head else ""
        return "asreview" if ("asreview_" in first_line or "included" in first_line.split(",")) else "csv"
    raise InputFileError(path, "not a reference file I can read (no BibTeX entry, no RIS 'TY  - ' line, not a CSV)",
                         "Give a .bib, .ris or .csv file (an ASReview export is a CSV)")


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputFileError(path, "no such file", "Check the path")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise InputFileError(path, "the file is empty", "Export the references again")
    return text


def _record(*, key, line, entry_type, title, authors, year, doi, journal, abstract, fields) -> dict:
    author_list = _split_authors(authors)
    return {
        "key": None if key is None else str(key),
        "line": line,
        "entry_type": None if entry_type is None else str(entry_type).lower(),
        "title": None if title is None or pd.isna(title) else str(title).strip(),
        "authors": "; ".join(author_list) or None,
        "first_author": _last_name(author_list[0]) if author_list else None,
        "year": _year(year),
        "doi": normalise_doi(doi),
        "journal": None if journal is None or pd.isna(journal) else str(journal).strip(),
        "abstract": None if abstract is None or pd.isna(abstract) else str(abstract).strip(),
        "fields": json.dumps(fields, ensure_ascii=False, default=str),
    }


#: Field values longer than this are kept as written, not LaTeX-decoded: pylatexenc needs about
#: 10 microseconds a character, so a runaway value (an unclosed brace swallowing the rest of a
#: file, a pasted full text) would take minutes.
LATEX_DECODE_LIMIT = 20_000
# Only these make LaTeX differ from plain text (commands, groups, math, ties, comments, dashes, quotes).
_LATEX_MARKUP = re.compile(r"[\\{}$~%&#^_`]|--|''")


def _latex_decoding():
    from bibtexparser import middlewares

    class BoundedLatexDecoding(middlewares.LatexDecodingMiddleware):
        def _transform_python_value_string(self, python_string: str) -> tuple[str, str]:
            if len(python_string) > LATEX_DECODE_LIMIT or not _LATEX_MARKUP.search(python_string):
                return python_string, ""
            return super()._transform_python_value_string(python_string)

    return BoundedLatexDecoding()


def read_bibtex(path: Path) -> list[dict]:
    """Entries of a BibTeX file; a syntax error names the line where the broken entry starts."""
    import bibtexparser
    from bibtexparser import middlewares

    text = _read_text(path)
    # bibtexparser also logs each broken block as a warning; the error below says it once, better
    parser_log = logging.getLogger("bibtexparser")
    level, parser_log.level = parser_log.level, logging.ERROR
    try:
        library = bibtexparser.parse_string(
            text, append_middleware=[_latex_decoding(), middlewares.SeparateCoAuthors()])
    finally:
        parser_log.setLevel(level)
    if library.failed_blocks:
        block = library.failed_blocks[0]
        line = block.start_line + 1  # bibtexparser counts lines from 0
        error = getattr(block, "error", None)
        detail = getattr(error, "abort_reason", None) or str(error or "")
        problem = "BibTeX syntax error: " + " ".join(detail.split()).rstrip(".") if detail.strip() else "BibTeX syntax error"
        raise InputFileError(path, f"line {line}: {problem}",
                             "Fix the entry that starts on that line (unbalanced braces, a missing comma "
                             "or '=', or a key used twice) and import again")
    if not library.entries:
        raise InputFileError(path, "no BibTeX entries found", "Check that the file holds @article{...} entries")
    records = []
    for entry in library.entries:
        fields = {"ENTRYTYPE": entry.entry_type, "ID": entry.key}
        for field in entry.fields:
            value = field.value
            fields[field.key] = " and ".join(value) if isinstance(value, list) else value
        get = {k.lower(): v for k, v in fields.items()}
        records.append(_record(
            key=entry.key, line=entry.start_line + 1, entry_type=entry.entry_type, title=get.get("title"),
            authors=[a for a in (get.get("author") or "").split(" and ") if a],
            year=get.get("year") or get.get("date"), doi=get.get("doi"),
            journal=get.get("journal") or get.get("booktitle") or get.get("journaltitle"),
            abstract=get.get("abstract"), fields=fields))
    return records


def _check_ris_structure(path: Path, text: str) -> list[int]:
    """Line numbers where each record starts; an error names the first line out of place.

    rispy is lenient: it silently drops text outside TY..ER and glues stray lines onto the
    previous field, so the structure is checked here first.
    """
    starts, inside = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _RIS_TAG.match(line)
        tag = match.group(1) if match else None
        if tag == "TY":
            if inside:
                raise InputFileError(path, f"line {number}: a new record starts (TY) before the previous one "
                                           "ended with 'ER  - '", "Add the missing 'ER  - ' line")
            inside = True
            starts.append(number)
        elif tag == "ER":
            if not inside:
                raise InputFileError(path, f"line {number}: 'ER  - ' without a record started by 'TY  - '",
                                     "Remove the line or add the record's TY line")
            inside = False
        elif not inside:
            raise InputFileError(path, f"line {number}: text outside a record: {line[:60]!r}",
                                 "Every RIS record starts with 'TY  - ' and ends with 'ER  - '")
    if inside:
        raise InputFileError(path, f"line {starts[-1]}: the last record has no 'ER  - ' line",
                             "End the record with 'ER  - '")
    if not starts:
        raise InputFileError(path, "no RIS records found", "Check that the file holds 'TY  - ' records")
    return starts


def read_ris(path: Path) -> list[dict]:
    """Records of a RIS file (rispy), after checking that every line belongs to a record."""
    import rispy

    text = _read_text(path)
    starts = _check_ris_structure(path, text)
    entries = rispy.loads(text)
    records = []
    for line, entry in zip(starts, entries):
        records.append(_record(
            key=entry.get("id"), line=line, entry_type=entry.get("type_of_reference"),
            title=entry.get("title") or entry.get("primary_title"),
            authors=entry.get("authors") or entry.get("first_authors") or [],
            year=entry.get("year") or entry.get("publication_year") or entry.get("date"),
            doi=entry.get("doi"),
            journal=entry.get("journal_name") or entry.get("secondary_title") or entry.get("alternate_title3"),
            abstract=entry.get("abstract"), fields=entry))
    return records


def read_csv(path: Path, format: str = "csv") -> list[dict]:
    """Rows of a CSV (or an ASReview export); column names are matched case-insensitively."""
    text = _read_text(path)
    try:
        dialect = csv.Sniffer().sniff(text[:4000], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise InputFileError(path, f"not a readable CSV ({exc})", "Check quoting and the number of columns") from exc
    lower = {c.strip().lower(): c for c in frame.columns}

    def column(name):
        return next((lower[s] for s in _CSV_SYNONYMS[name] if s in lower), None)

    title_col, doi_col = column("title"), column("doi")
    if title_col is None and doi_col is None:
        raise InputFileError(path, f"no title or DOI column (columns: {', '.join(frame.columns)})",
                             "Name a column 'title' (and optionally authors, year, doi, journal, abstract)")
    records = []
    for index, row in frame.iterrows():
        line = int(index) + 2  # the header is line 1
        values = {c: row[c] for c in frame.columns}
        get = {name: (values[column(name)] if column(name) else None) for name in _CSV_SYNONYMS}
        get = {k: (v if v not in ("", None) else None) for k, v in get.items()}
        if get["title"] is None and get["doi"] is None:
            raise InputFileError(path, "the record has neither a title nor a DOI", "Fill one in or delete the row",
                                 row=line)
        records.append(_record(
            key=get["key"], line=line, entry_type=get["entry_type"], title=get["title"], authors=get["authors"],
            year=get["year"], doi=get["doi"], journal=get["journal"], abstract=get["abstract"],
            fields={k: v for k, v in values.items()}))
    if not records:
        raise InputFileError(path, "the CSV has a header but no records", "Export the references again")
    return records


def read_references(path: str | Path, format: str | None = None) -> tuple[str, list[dict]]:
    """Read one reference file; returns (format, records).

    Parameters
    ----------
    path
        A BibTeX, RIS, CSV or ASReview-export file.
    format
        Force one of ``bibtex``, ``ris``, ``csv``, ``asreview``; detected from the content if None.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise TiplensError(f"--format {format!r} is not one of {', '.join(FORMATS)}")
    format = format or detect_format(path)
    if format == "bibtex":
        return format, read_bibtex(path)
    if format == "ris":
        return format, read_ris(path)
    return format, read_csv(path, format)


# -- duplicates -------------------------------------------------------------------------------
def _title_key(record: dict) -> str | None:
    title, year, author = normalise_text(record.get("title")), record.get("year"), \
        normalise_text(record.get("first_author"))
    if not title or year is None or pd.isna(year) or not author:
        return None
    return f"{title} | {int(year)} | {author}"


def find_duplicates(existing: pd.DataFrame, new: list[dict]) -> list[dict]:
    """Mark each new record that repeats an earlier one (in the library or earlier in ``new``).

    A record is a duplicate when its normalised DOI equals an earlier record's, or, failing
    that, when its normalised title, year and first author's last name all equal an earlier
    record's. The earliest record is kept. Sets ``duplicate_of`` on every record of ``new``
    and returns one merge dict per duplicate (record_id, kept_id, rule, match, title).
    """
    by_doi: dict[str, str] = {}
    by_title: dict[str, str] = {}

    def remember(row: dict, kept_id: str) -> None:
        # a duplicate's own DOI and title also point to the kept record: a third copy that
        # shares only the DOI of the second is still the same study
        if row.get("doi") and not pd.isna(row["doi"]):
            by_doi.setdefault(row["doi"], kept_id)
        key = _title_key(row)
        if key:
            by_title.setdefault(key, kept_id)

    if len(existing):
        for row in existing.sort_values("record_id").to_dict("records"):
            kept_of = row.get("duplicate_of")
            remember(row, kept_of if isinstance(kept_of, str) else row["record_id"])
    merges = []
    for record in new:
        doi, key = record.get("doi"), _title_key(record)
        kept, rule, match = None, None, None
        if doi and doi in by_doi:
            kept, rule, match = by_doi[doi], "doi", doi
        elif key and key in by_title:
            kept, rule, match = by_title[key], "title_year_author", key
        record["duplicate_of"] = kept
        if kept:
            merges.append({"record_id": record["record_id"], "kept_id": kept, "rule": rule, "match": match,
                           "title": record.get("title")})
        remember(record, kept or record["record_id"])
    return merges


def _next_number(existing: pd.DataFrame, column: str, prefix: str = "") -> int:
    if existing.empty:
        return 1
    values = existing[column].astype(str).str.removeprefix(prefix)
    return int(pd.to_numeric(values, errors="coerce").max()) + 1


def import_references(store, paths, *, source: str | None = None, format: str | None = None,
                      asreview_reviewer: str | None = None, now=None) -> dict:
    """Read reference files, find duplicates and append everything to the store in one transaction.

    Parameters
    ----------
    store
        An open, writable :class:`tiplens.store.Store`.
    paths
        Files to import. A file whose content (sha256) was imported before is skipped and
        reported, so importing twice never inflates the PRISMA counts.
    source
        Name of the database the records come from (PRISMA "identified from"); defaults to
        each file's name without its suffix.
    format
        Force a format for all files (``bibtex``, ``ris``, ``csv``, ``asreview``).
    asreview_reviewer
        If given, the labels of ASReview exports (``asreview_label`` or ``included``: 1 or 0)
        are also recorded as title/abstract decisions by this reviewer, in the same
        transaction (``asreview_note`` becomes the reason, ``asreview_time`` the time).

    Returns
    -------
    dict
        ``files`` (one dict per file: path, format, source, sha256, records, duplicates,
        skipped), ``records`` (records added), ``duplicates`` (one dict per merge: record_id,
        kept_id, rule, match, title, path), ``library`` (records in the library, duplicates
        included, and unique records after this import) and ``decisions`` (ASReview labels
        recorded as screening decisions; 0 unless ``asreview_reviewer`` is given).
    """

    now = now or datetime.now(UTC).replace(tzinfo=None)
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not paths:
        raise TiplensError("no files given: pass one or more .bib, .ris or .csv files to import")
    imports = store.read_rows("review_imports")
    existing = store.read_rows("review_records", order_by=["record_id"])
    if existing.empty:
        existing = pd.DataFrame(columns=list(RECORD_COLUMNS))
    seen_hashes = dict(zip(imports["sha256"], imports["path"])) if len(imports) else {}
    next_import = _next_number(imports, "import_id") if len(imports) else 1
    next_record = _next_number(existing, "record_id", "R")

    # parse everything before writing anything: a bad file leaves the store untouched
    files, new_imports, new_records, merges, new_decisions = [], [], [], [], []
    library = existing.copy()
    for path in paths:
        digest = _sha256(path) if path.is_file() else None
        file_format, records = read_references(path, format)
        name = source or path.stem
        if digest in seen_hashes:
            files.append({"path": str(path), "format": file_format, "source": name, "sha256": digest,
                          "records": 0, "duplicates": 0,
                          "skipped": f"already imported (same content as {seen_hashes[digest]})"})
            continue
        seen_hashes[digest] = str(path)
        for record in records:
            record.update(record_id=f"R{next_record:04d}", import_id=next_import, source=name, format=file_format)
            next_record += 1
        file_merges = find_duplicates(library, records)
        for merge in file_merges:
            merge.update(import_id=next_import, path=str(path))
        frame = pd.DataFrame(records, columns=list(RECORD_COLUMNS))
        library = pd.concat([library.astype(object), frame.astype(object)], ignore_index=True) \
            if len(library) else frame
        new_records.append(frame)
        merges += file_merges
        if asreview_reviewer and file_format == "asreview":
            labelled = _asreview_labels(path, records, asreview_reviewer)
            if len(labelled):
                new_decisions.append(screening.validate_decisions(labelled, library, path=path))
        new_imports.append({"import_id": next_import, "path": str(path), "sha256": digest, "format": file_format,
                            "source": name, "records": len(records), "duplicates": len(file_merges),
                            "imported_at": now})
        files.append({"path": str(path), "format": file_format, "source": name, "sha256": digest,
                      "records": len(records), "duplicates": len(file_merges), "skipped": None})
        next_import += 1

    if new_imports:
        with store.transaction():
            store.write_rows("review_imports", pd.DataFrame(new_imports), IMPORT_COLUMNS)
            store.write_rows("review_records", pd.concat(new_records, ignore_index=True), RECORD_COLUMNS)
            if merges:
                store.write_rows("review_merges", pd.DataFrame(merges).drop(columns=["path"]), MERGE_COLUMNS)
            if new_decisions:
                screening.append_decisions(store, pd.concat(new_decisions, ignore_index=True), now=now)
    unique = int(library["duplicate_of"].isna().sum()) if len(library) else 0
    return {"files": files, "records": sum(f["records"] for f in files), "duplicates": merges,
            "library": {"records": len(library), "unique": unique},
            "decisions": int(sum(len(d) for d in new_decisions))}


#: Columns in which ASReview exports carry the reviewer's label (newer versions first).
ASREVIEW_LABEL_COLUMNS = ("asreview_label", "included", "label_included", "final_included")


def _asreview_labels(path: Path, records: list[dict], reviewer: str) -> pd.DataFrame:
    """ASReview labels (1 relevant, 0 irrelevant; anything else is unlabelled) as decision rows."""
    rows = []
    for record in records:
        fields = {k.strip().lower(): v for k, v in json.loads(record["fields"]).items()}
        column = next((c for c in ASREVIEW_LABEL_COLUMNS if c in fields), None)
        label = str(fields.get(column, "")).strip() if column else ""
        if label not in ("1", "0", "1.0", "0.0"):
            continue
        rows.append({"record": record["record_id"], "reviewer": reviewer, "stage": "title_abstract",
                     "decision": "include" if label.startswith("1") else "exclude",
                     "reason": fields.get("asreview_note") or f"ASReview label ({column})",
                     "time": fields.get("asreview_time") or "", "final": "", "synthetic": "",
                     "line": record["line"], "origin": f"{path.name}, line {record['line']}"})
    return pd.DataFrame(rows)


def library(store, *, include_duplicates: bool = False) -> pd.DataFrame:
    """The records in the store (``review_records``), unique ones only unless asked."""
    records = store.read_rows("review_records", order_by=["record_id"])
    if records.empty:
        return pd.DataFrame(columns=list(RECORD_COLUMNS))
    return records if include_duplicates else records.loc[records["duplicate_of"].isna()].reset_index(drop=True)
