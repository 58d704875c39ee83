"""What every source module provides, and the helpers they share.

A source module (one per public source, e.g. ``tiplens.sources.glotip``) defines:

``NAME``
    the ``--source`` name (``glotip``, ``tip_tiers`` ...).
``TITLE``, ``PUBLISHER``, ``CITATION``, ``TERMS``
    human-readable provenance; ``TERMS`` says what the publisher allows.
``REDISTRIBUTABLE``
    whether the terms allow shipping its rows in the embedded default dataset.
``detect(path) -> bool``
    True when the file's *content* (header row, sheet names, preamble) is this source.
    Cheap: read at most the first few KB. Never raises for a file of another source.
``read(path) -> Raw``
    the file as published, every cell as text, nothing dropped. Raises
    :class:`~tiplens.errors.InputFileError` when the file cannot be this source (missing
    columns, truncated, wrong encoding) naming file, row, column and what to do.
``normalise(raw: Raw) -> Normalised``
    observations (columns of :data:`tiplens.store.OBSERVATION_COLUMNS`, without the
    ``file_id/source/dataset/edition`` stamp), quarantine rows and optional record tables.
    Data problems inside the file become quarantine rows, not exceptions.
``streams(path) -> bool`` and ``stream(path) -> Stream`` (optional)
    for files too large to hold in memory: ``streams`` says whether this file is read in chunks
    (GLOTIP: a CSV of at least :data:`STREAM_FROM_BYTES`), ``stream`` gives the same rows,
    quarantine and notes as ``read`` then ``normalise``, chunk by chunk (see :class:`Stream`).

Row accounting: every source data row is either *loaded* (it reached an observation or a
record table, possibly merged with other rows) or *quarantined* (exactly one quarantine row
per source row, reasons joined with ``; ``). ``Normalised.rows_read`` must equal
``rows_loaded + len(quarantine)``; the ingest checks it.
Row numbers are 1-based *file* row numbers as a spreadsheet shows them (header included), so
a user can find the row.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from ..errors import InputFileError

NA_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "-99", "..", "Unknown"})


@dataclass
class Raw:
    """A file read faithfully: all cells text (or ``None`` when empty)."""

    path: Path
    dataset: str                     # which table of the source this file is (e.g. "country_data")
    frame: pd.DataFrame              # data rows only, columns as published
    first_row: int = 2               # file row number of frame's first row (1-based)
    edition: str | None = None       # as stated inside the file, if it states one
    meta: dict = field(default_factory=dict)


@dataclass
class Normalised:
    observations: pd.DataFrame
    quarantine: pd.DataFrame          # columns row_number, column_name, reason, raw
    rows_read: int
    rows_loaded: int
    records: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


#: GLOTIP CSV files at least this large are read in chunks (:class:`Stream`). Measured on
#: generated files: at 32 MB the whole-file path takes 1.3 s and 520 MB, the streamed one 4.2 s
#: and 425 MB, and the whole-file path's memory then grows about 9 MB per MB of file while the
#: streamed one stays near 450 MB. Tests lower it to send every file through the streamed path;
#: it is read at call time.
STREAM_FROM_BYTES = 32 << 20


@dataclass
class Stream:
    """A file read and normalised a chunk at a time, for files too large to hold in memory.

    The optional ``stream(path) -> Stream`` of a source module (with ``streams(path) -> bool``
    saying when it applies) returns this after reading only the file's head, so header and
    edition errors come at once; the rest comes while :attr:`chunks` is iterated.

    ``chunks`` yields (rows to stage, quarantine rows) per chunk: the staged rows carry the
    observation columns plus :attr:`staging_columns`, one row per loaded source row, before the
    rules that combine rows across the file. The store stages them, then hands ``combine`` the
    staged rows partition by partition, where rows with equal ``partition_by`` always share a
    partition, and stores what it returns (observation columns). ``rows_read`` counts the data
    rows read so far; ``notes()`` gives the file's notes once everything has been combined.
    """

    path: Path
    dataset: str
    edition: str | None
    chunks: Iterator[tuple[pd.DataFrame, pd.DataFrame]]
    staging_columns: dict[str, str]
    partition_by: str
    combine: Callable[[pd.DataFrame], pd.DataFrame]
    notes: Callable[[], list[str]]
    rows_read: int = 0


def quarantine_frame(rows: pd.DataFrame | None = None, *, row_number=None, column=None, reason=None,
                     raw_columns: list[str] | None = None) -> pd.DataFrame:
    """Build quarantine rows from a slice of a raw frame.

    ``row_number`` is a Series (or scalar) of file row numbers; ``reason`` a Series or str;
    ``raw`` is the JSON of the row's cells restricted to ``raw_columns`` (default: all).
    Pass ``raw_columns`` to keep names of people out of the store.
    """
    if rows is None or len(rows) == 0:
        return pd.DataFrame({"row_number": pd.Series(dtype="int64"),
                             "column_name": pd.Series(dtype="str"),
                             "reason": pd.Series(dtype="str"), "raw": pd.Series(dtype="str")})
    cols = raw_columns if raw_columns is not None else list(rows.columns)
    raw = [json.dumps({c: (None if pd.isna(v) else str(v)) for c, v in zip(cols, vals)}, ensure_ascii=False)
           for vals in rows[cols].itertuples(index=False, name=None)]
    n = len(rows)
    return pd.DataFrame({
        "row_number": _as_series(row_number, n, rows.index).astype("int64").to_numpy(),
        "column_name": _as_series(column, n, rows.index).to_numpy(),
        "reason": _as_series(reason, n, rows.index).to_numpy(),
        "raw": raw,
    })


def _as_series(value, n, index):
    if isinstance(value, pd.Series):
        return value.reindex(index)
    return pd.Series([value] * n, index=index, dtype=object)


def concat_quarantine(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate quarantine frames, merging several reasons for one row into one row."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return quarantine_frame()
    q = pd.concat(frames, ignore_index=True)
    if q["row_number"].duplicated().any():
        q = (q.groupby("row_number", as_index=False, sort=True)
               .agg({"column_name": lambda s: "; ".join(dict.fromkeys(str(x) for x in s if x is not None and x == x)) or None,
                     "reason": lambda s: "; ".join(dict.fromkeys(s)),
                     "raw": "first"}))
    return q.sort_values("row_number", ignore_index=True)


def country_problems(keys: pd.DataFrame, label: pd.Series, column: str) -> list[tuple]:
    """The (mask, column, reason) problems for unmatched and non-country rows.

    ``keys`` has ``status``, ``note`` and ``key`` per row (as from
    :func:`tiplens.harmonise.codes.country_keys`); ``label`` is the country as the file writes it.
    """
    note = keys["note"].fillna("").astype("str")
    key = keys["key"].fillna("").astype("str")
    return [
        (keys["status"].eq("non_country"), column, "not a country: " + label.astype("str") + " (" + note + ")"),
        (keys["status"].eq("unmatched"), column,
         "country not matched: " + label.astype("str") + " [" + key + "]"),
    ]


def collect_quarantine(frame: pd.DataFrame, row_number: pd.Series, problems: list[tuple],
                       raw_columns: list[str] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """One quarantine row per bad source row (reasons merged) and the mask of bad rows.

    ``problems`` is a list of ``(mask, column, reason)``: a boolean mask over ``frame``, the column
    to name, and the reason (a str, or a Series of per-row reasons).
    """
    parts, bad = [], pd.Series(False, index=frame.index)
    for mask, column, reason in problems:
        mask = pd.Series(mask, index=frame.index).fillna(False).astype(bool)
        if mask.any():
            reason_s = reason[mask] if isinstance(reason, pd.Series) else reason
            parts.append(quarantine_frame(frame[mask], row_number=row_number[mask], column=column,
                                          reason=reason_s, raw_columns=raw_columns))
            bad |= mask
    return concat_quarantine(*parts), bad


def sniff_text(path: Path, n: int = 4096) -> str:
    """The first ``n`` bytes of a file as text (UTF-8 with Latin-1 fallback); '' for binaries."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(n)
    except OSError:
        return ""
    if head.startswith(b"PK\x03\x04") or b"\x00" in head:
        return ""
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError:
            continue
    return ""


@dataclass
class XlsxPeek:
    """What an xlsx shows without loading its sheets: sheet names and the start of its text."""

    sheet_names: list[str]
    text: str   # first bytes of the shared strings and of the first sheet's XML


def xlsx_peek(path: Path, n: int = 1 << 16) -> XlsxPeek | None:
    """Cheap look inside an xlsx (a few KB decompressed); None if it is not a readable xlsx.

    Detection uses this instead of loading a sheet: loading the GLOTIP sheet takes 0.4 s.
    """
    import zipfile
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
            text = ""
            for member in ("xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"):
                if member in names:
                    with archive.open(member) as fh:
                        text += fh.read(n).decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, ValueError):
        return None
    sheets = re.findall(r'<sheet [^>]*name="([^"]*)"', workbook)
    return XlsxPeek(sheet_names=[_xml_unescape(s) for s in sheets], text=_xml_unescape(text))


#: An xlsx whose parts inflate to more than this is refused before a sheet is loaded: a reader
#: loads a whole sheet, and its Python rows take several times the XML's size (a 300 MB sheet
#: took 1.8 GB and 30 s). The real workbooks inflate to 25 MB (GLOTIP) and 5 MB (GSI).
XLSX_MAX_INFLATED = 512 << 20
#: ... and so is one that inflates more than this many times its size on disk once past
#: :data:`XLSX_RATIO_FROM` (real workbooks: 5 to 15 times; a zip bomb: hundreds).
XLSX_MAX_RATIO = 100
XLSX_RATIO_FROM = 64 << 20


def check_xlsx_size(path: Path, fix: str) -> None:
    """Raise :class:`InputFileError` for an xlsx that would inflate to an unreasonable size (a zip bomb).

    Reads only the zip directory. Files that are not zips pass (the caller's reader reports them).
    """
    import zipfile
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(max(0, info.file_size) for info in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError):
        return
    on_disk = max(1, Path(path).stat().st_size)
    if inflated > XLSX_MAX_INFLATED or (inflated > XLSX_RATIO_FROM and inflated / on_disk > XLSX_MAX_RATIO):
        raise InputFileError(path, f"inflates from {on_disk / 1e6:.1f} MB on disk to {inflated / 1e6:.0f} MB of "
                             "spreadsheet XML, more than tiplens reads (a damaged or malicious workbook?)",
                             f"{fix}; or export the sheet as CSV")


def _xml_unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                .replace("&apos;", "'").replace("&amp;", "&"))


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV as a list of names ([] if the file is not text)."""
    text = sniff_text(path)
    if not text:
        return []
    first = text.splitlines()[0] if text.splitlines() else ""
    try:
        return next(csv.reader(io.StringIO(first)))
    except (StopIteration, csv.Error):
        return []


def has_columns(path: Path, required: set[str]) -> bool:
    return required.issubset(set(csv_header(path)))


def check_file(path: Path) -> Path:
    """Raise a clear error for a missing or empty file."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "file not found", "Check the path and try again")
    if path.is_dir():
        raise InputFileError(path, "is a folder, not a file", "Pass the data files inside it")
    if path.stat().st_size == 0:
        raise InputFileError(path, "file is empty", "Download the file again")
    return path


def text_encoding(path: Path) -> str:
    """``utf-8-sig`` for a BOM, ``utf-8`` when the whole file decodes as UTF-8, else ``latin-1``.

    For sources published in Latin-1 that users may have re-saved as UTF-8.
    """
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def read_csv_text(path: Path, *, encoding: str = "utf-8", required: set[str] | None = None,
                  fix: str = "Download the file again or check that it is this source",
                  every_row: bool = False, **kwargs) -> pd.DataFrame:
    """Read a CSV with every cell as text, no NA guessing (Namibia's ``NA`` stays ``NA``).

    Raises :class:`InputFileError` naming the file for bad encoding, ragged rows, missing
    ``required`` columns, or a record with fewer cells than the header: the last one always (a
    file cut off mid-row, checked on the file's tail), every one with ``every_row`` (a full pass
    over the file; for small hand-made tables).
    """
    check_file(path)
    frame = _read_csv_fast(path, encoding, kwargs)
    if frame is None:
        with _csv_errors(path, encoding, fix):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
                                **kwargs)
    _check_first_rows(path, frame, required, fix, kwargs.get("skiprows", 0))
    skipped = kwargs.get("skiprows", 0)
    dialect = {"delimiter": kwargs.get("sep", ","), "quotechar": kwargs.get("quotechar", '"')}
    header_row = 1 + skipped if isinstance(skipped, int) else None
    if every_row:
        short = _first_short_record(path, len(frame.columns), encoding, dialect, skip=header_row or 1)
    else:
        short = _short_last_record(path, _row_texts(frame), len(frame), encoding, dialect, header_row)
    _raise_short(path, short, len(frame.columns), fix)
    return frame


#: Rows per chunk of :func:`read_csv_chunks` (about 6.5 MB of GLOTIP CSV).
CSV_CHUNK_ROWS = 50_000


def read_csv_chunks(path: Path, *, encoding: str = "utf-8", skiprows: int = 0, required: set[str] | None = None,
                    fix: str = "Download the file again or check that it is this source",
                    chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """:func:`read_csv_text` for files too large to hold: the same frames, ``chunk_rows`` rows at a time.

    Memory stays that of one chunk. The checks are those of :func:`read_csv_text` (bad encoding
    with its row, ragged rows, missing columns and a first row longer than the header on the
    first chunk, a truncated last record once the file is read), raised as :class:`InputFileError`
    while iterating: a caller that writes chunks as they come must do so inside a transaction.
    Each chunk's index continues the previous one (file row = index + ``skiprows`` + 2). A file
    with a header and no data rows yields one empty chunk with its columns.
    """
    check_file(path)
    header_row = 1 + skiprows
    dialect = {"delimiter": ",", "quotechar": '"'}
    with _csv_errors(path, encoding, fix):
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
                             skiprows=skiprows, chunksize=chunk_rows or CSV_CHUNK_ROWS)
        last, rows, width, first = [], 0, 0, True
        with reader:
            for chunk in reader:
                if first:
                    _check_first_rows(path, chunk, required, fix, skiprows)
                    width, first = len(chunk.columns), False
                if len(chunk):
                    last, rows = _row_texts(chunk), rows + len(chunk)
                yield chunk
    if rows:
        _raise_short(path, _short_last_record(path, last, rows, encoding, dialect, header_row), width, fix)


@contextmanager
def _csv_errors(path: Path, encoding: str, fix: str) -> Iterator[None]:
    """pandas' parsing errors as :class:`InputFileError` naming the file and the row."""
    try:
        yield
    except UnicodeDecodeError:
        line, byte = _first_undecodable(path, encoding)
        shown = f" (byte 0x{byte:02x})" if byte is not None else ""
        raise InputFileError(path, f"is not valid {encoding}{shown}",
                             f"Save the file as {encoding.upper()}, or download it again", row=line) from None
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise InputFileError(path, f"is not a well-formed CSV ({exc})".rstrip("."), fix,
                             row=int(m.group(1)) if m else None) from None
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "has no header row", fix) from None


def _check_first_rows(path: Path, frame: pd.DataFrame, required: set[str] | None, fix: str, skipped) -> None:
    """The checks that need only the header and the first rows read."""
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes the leading cells of a first data row longer than the header as an index
        first_data = 2 + skipped if isinstance(skipped, int) else None
        raise InputFileError(path, f"the first data row has more cells than the header's "
                             f"{len(frame.columns)} (a shifted or damaged row)", fix, row=first_data)
    if required:
        missing = sorted(required - set(frame.columns))
        if missing:
            raise InputFileError(path, f"is missing column(s) {', '.join(missing)}", fix, row=1)


def _raise_short(path: Path, short: tuple[int | None, int] | None, width: int, fix: str) -> None:
    if short is not None:
        row, cells = short
        where = f"row {row}" if row is not None else "its last row"
        raise InputFileError(path, f"{where} has only {cells} of the header's {width} cells "
                             "(the file looks truncated or damaged)", fix, row=row)


def _row_texts(frame: pd.DataFrame) -> list[str]:
    """The cells of a frame's last row as text ('' for missing); [] for an empty frame."""
    if len(frame) == 0:
        return []
    return ["" if pd.isna(v) else str(v) for v in frame.iloc[-1].tolist()]


def require_rows(path: Path, frame: pd.DataFrame, fix: str) -> None:
    """Raise :class:`InputFileError` for a file that has a header but no data rows."""
    if len(frame) == 0:
        raise InputFileError(path, "has a header but no data rows", fix)


# Truncation. pandas 3 with NA parsing off fills the missing cells of a short record with '', so
# a file cut off inside its last row reads without complaint: only the raw text can tell.
_TAIL_BYTES = 1 << 16
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_LINE_BREAK_TEXT = re.compile(r"\r\n|\r|\n")
_BLANK_LINES_AT_END = re.compile(rb"(?:\r\n|\r|\n)[ \t\r\n]*\Z")  # pandas skips blank lines


def _short_last_record(path: Path, last: list[str], n_rows: int, encoding: str, dialect: dict,
                       header_row: int | None) -> tuple[int | None, int] | None:
    """(row, cells) when the file's last record has fewer cells than the header, else None.

    ``last`` is the last row as parsed (its cells as text) and ``n_rows`` the number of data rows.
    Reads only the last 64 KB. The last record may span several lines (quoted line breaks): the
    parsed last row says how many, and the raw record must agree with it cell for cell, so a
    tail that cannot be told apart is let through rather than refused.
    """
    width = len(last)
    if n_rows == 0 or width < 2:
        return None
    if last[-1] != "":
        return None  # the last cell has text, so the record reached it
    line_breaks = sum(len(_LINE_BREAK_TEXT.findall(v)) for v in last)
    with open(path, "rb") as fh:
        start = max(0, fh.seek(0, 2) - _TAIL_BYTES)
        fh.seek(start)
        tail = _BLANK_LINES_AT_END.sub(b"", fh.read(), count=1)
    ends = [m.end() for m in _LINE_BREAK.finditer(tail)]
    if len(ends) <= line_breaks:
        return None  # the last record is longer than the tail read
    text = tail[ends[-(line_breaks + 1)]:].decode(encoding, errors="replace")
    records = list(csv.reader(io.StringIO(text, newline=""), **dialect))
    if len(records) != 1 or len(records[0]) >= width or records[0] != last[:len(records[0])]:
        return None
    row = header_row + n_rows if header_row is not None else None
    return row, len(records[0])


def _first_short_record(path: Path, width: int, encoding: str, dialect: dict,
                        skip: int) -> tuple[int, int] | None:
    """(row, cells) of the first non-blank record after the header with fewer cells than it."""
    number = 0
    try:
        with open(path, newline="", encoding=encoding) as fh:
            for number, record in enumerate(csv.reader(fh, **dialect), start=1):
                if number > skip and record and len(record) < width:
                    return number, len(record)
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit (128 KB)
        raise InputFileError(path, f"cannot be read as CSV after record {number} ({exc})",
                             "Check the file: a cell that large is a damaged row, not data", row=number + 1) from None
    return None


def _read_csv_fast(path: Path, encoding: str, kwargs: dict) -> pd.DataFrame | None:
    """The multi-threaded pyarrow parser (twice as fast on GLOTIP), or None to use pandas' own.

    Any problem sends the file to pandas' C parser, whose errors name the line; so does any
    option the pyarrow parser does not take.
    """
    if set(kwargs) - {"skiprows"} or not isinstance(kwargs.get("skiprows", 0), int):
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
                           engine="pyarrow", **kwargs)
    except Exception:  # noqa: BLE001 - the C parser below reports the problem precisely
        return None


def _first_undecodable(path: Path, encoding: str) -> tuple[int | None, int | None]:
    """(line number, byte) of the first byte that is not ``encoding`` ((None, None) if none is found).

    pandas' UnicodeDecodeError holds only the bad bytes of its buffer, not their place in the
    file, so the file is decoded again here, a megabyte at a time, to find the line.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with open(path, "rb") as fh:
        try:
            for block in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(block)
                lines_before += block.count(b"\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            # exc.object is what the decoder held: the bytes of a character cut by the previous
            # block's end (never a line break), then the block
            return lines_before + exc.object.count(b"\n", 0, exc.start) + 1, exc.object[exc.start]
    return None, None


def blank_to_none(series: pd.Series) -> pd.Series:
    """Strip whitespace; empty strings become missing."""
    s = series.astype("str").str.strip()
    return s.where(s != "", None)


def parse_number(series: pd.Series) -> pd.Series:
    """Numbers written as text ('1,757', ' 3.5 ') → float; anything else → NaN."""
    s = series.astype("str").str.strip().str.replace(",", "", regex=False)
    return pd.to_numeric(s, errors="coerce")


def row_numbers(raw: Raw) -> pd.Series:
    """The file row number of each row of ``raw.frame`` (same index)."""
    return pd.Series(np.arange(raw.first_row, raw.first_row + len(raw.frame)), index=raw.frame.index)


def observation_frame(index, **columns) -> pd.DataFrame:
    """An observations frame over ``index``: columns given as Series or scalars, the others null;
    year, value/lower/upper, censored and the row numbers get their types."""
    names = ["iso3", "country", "year", "date", "indicator", "measure", "dimension", "category", "value", "lower",
             "upper", "censored", "unit", "status", "flag", "source_row", "source_rows"]
    data = {}
    for col in names:
        value = columns.get(col)
        data[col] = value if isinstance(value, pd.Series) else pd.Series([value] * len(index), index=index,
                                                                          dtype=object)
    obs = pd.DataFrame(data, index=index)
    obs["year"] = pd.to_numeric(obs["year"], errors="coerce").astype("Int64")
    for col in ("value", "lower", "upper"):
        obs[col] = pd.to_numeric(obs[col], errors="coerce").astype("float64")
    obs["censored"] = obs["censored"].fillna(False).astype(bool)
    obs["source_row"] = obs["source_row"].astype("int64")
    obs["source_rows"] = pd.to_numeric(obs["source_rows"]).fillna(1).astype("int64")
    return obs.reset_index(drop=True)


def typed_records(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text columns the ``str`` dtype: the store creates a record table from the frame's dtypes,
    and an all-object column would have no SQL type."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].astype("str").where(out[name].notna(), None).astype("str")
    return out


def year_of(text: pd.Series, low: int = 1900, high: int = 2100) -> pd.Series:
    """Whole years from text ('2004', '2004.0'); NaN for anything else."""
    number = pd.to_numeric(text.astype("str").str.strip(), errors="coerce")
    return number.where((number % 1 == 0) & number.between(low, high))
