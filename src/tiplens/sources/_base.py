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

Row accounting: every source data row is either *loaded* (it reached an observation or a
record table, possibly merged with other rows) or *quarantined* (exactly one quarantine row
per source row, reasons joined with ``; ``). ``Normalised.rows_read`` must equal
``rows_loaded + len(quarantine)``; the ingest checks it.
Row numbers are 1-based *file* row numbers as a spreadsheet shows them (header included), so
a user can find the row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

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


def read_csv_text(path: Path, *, encoding: str = "utf-8", required: set[str] | None = None,
                  fix: str = "Download the file again or check that it is this source",
                  **kwargs) -> pd.DataFrame:
    """Read a CSV with every cell as text, no NA guessing (Namibia's ``NA`` stays ``NA``).

    Raises :class:`InputFileError` naming the file for bad encoding, ragged rows, or
    missing ``required`` columns.
    """
    check_file(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding=encoding,
                            **kwargs)
    except UnicodeDecodeError as exc:
        row = _line_of_offset(path, exc.start)
        raise InputFileError(path, f"is not valid {encoding} (byte 0x{exc.object[exc.start]:02x})",
                             f"Save the file as {encoding.upper()}, or download it again", row=row) from None
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise InputFileError(path, f"is not a well-formed CSV ({exc})".rstrip("."), fix,
                             row=int(m.group(1)) if m else None) from None
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "has no header row", fix) from None
    if required:
        missing = sorted(required - set(frame.columns))
        if missing:
            raise InputFileError(path, f"is missing column(s) {', '.join(missing)}", fix, row=1)
    return frame


def _line_of_offset(path: Path, offset: int) -> int | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(offset).count(b"\n") + 1
    except OSError:
        return None


def blank_to_none(series: pd.Series) -> pd.Series:
    """Strip whitespace; empty strings become missing."""
    s = series.astype("str").str.strip()
    return s.where(s != "", None)


def parse_number(series: pd.Series) -> pd.Series:
    """Numbers written as text ('1,757', ' 3.5 ') → float; anything else → NaN."""
    s = series.astype("str").str.strip().str.replace(",", "", regex=False)
    return pd.to_numeric(s, errors="coerce")


def observations_frame(**columns) -> pd.DataFrame:
    """An observations frame from column arrays/scalars; unspecified columns are null."""
    return pd.DataFrame(columns)
