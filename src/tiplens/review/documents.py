"""Documents for coding: plain text, Markdown and PDF, split into paragraphs and sentences.

Each sentence keeps where it came from (paragraph, section heading, page and character offsets
in the extracted text), so a coding can always be traced back to its place in the document.
Nothing here writes to the store; :mod:`tiplens.review.codings` does that.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputFileError, TiplensError

#: File suffixes read as plain text / Markdown / PDF.
TEXT_SUFFIXES = (".txt", ".text")
MARKDOWN_SUFFIXES = (".md", ".markdown")
PDF_SUFFIXES = (".pdf",)
#: A PDF with more pages is refused: pypdf extracts some 20 pages a second, so a small file that
#: repeats one page a hundred thousand times would otherwise keep ``tiplens code`` busy for hours.
MAX_PDF_PAGES = 3000

#: Columns of the segment table that :func:`read_document` returns.
SEGMENT_FIELDS = ["document", "segment", "paragraph", "sentence", "section", "page", "char_start",
                  "char_end", "text"]

_MARKDOWN_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
# "1. INTRODUCTION", "4.1 Discussion", "2. Law Enforcement": short, numbered, no final full stop.
_NUMBERED_HEADING = re.compile(r"^\s*(\d{1,2}(?:\.\d{1,2})*)\.?\s+([A-Z][^\n]{0,80}?)\s*$")
# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before a capital,
# a digit, a quote or an opening bracket. Abbreviations below are not sentence ends.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "et al.", "vs.", "cf.", "Dr.", "Mr.", "Ms.", "Mrs.", "Prof.",
                  "No.", "vol.", "pp.", "p.", "U.S.", "U.N.", "Fig.", "St.", "Jr.", "Inc.", "Ltd.", "Co.")


@dataclass(frozen=True)
class DocumentText:
    """Extracted text of one document: one string per page (text files are one page)."""

    path: Path
    format: str
    pages: list[str]
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def document_format(path: str | Path) -> str:
    """``text``, ``markdown`` or ``pdf`` from the suffix; a clear error for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in PDF_SUFFIXES:
        return "pdf"
    raise InputFileError(path, f"cannot code a {suffix or 'suffix-less'} file",
                         "Give a plain text (.txt), Markdown (.md) or PDF (.pdf) file")


def _read_pdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    if path.stat().st_size == 0:
        raise InputFileError(path, "the PDF file is empty (0 bytes)", "Give the complete file")
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise InputFileError(path, "the PDF is encrypted (password-protected)",
                                 "Save an unprotected copy (for example print to PDF) and code that")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise InputFileError(path, f"the PDF has {len(reader.pages)} pages; tiplens codes at most "
                                       f"{MAX_PDF_PAGES} pages of one document",
                                 "Split it into parts (for example with qpdf --split-pages) and code those")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf on a damaged file raises nearly anything (LimitReachedError,
        # RecursionError, IndexError, zlib and struct errors ...): each means this file cannot be read as a PDF
        raise InputFileError(path, f"not a readable PDF ({exc.__class__.__name__}: {str(exc)[:200]})",
                             "Check that the file is a complete, uncorrupted PDF") from None
    if not pages:
        raise InputFileError(path, "the PDF has no pages", "Give a PDF with content")
    if not any(text.strip() for text in pages):
        raise InputFileError(path, f"the PDF has no text layer on any of its {len(pages)} page(s): "
                                   "it looks scanned (images of pages)",
                             "Run OCR on it first (for example ocrmypdf), then code the OCRed PDF or its text")
    return pages


def read_text(path: str | Path) -> DocumentText:
    """Read a document's text, page by page; raises :class:`InputFileError` on an unusable file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file", "Check the path")
    kind = document_format(path)
    if kind == "pdf":
        pages = _read_pdf(path)
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputFileError(path, f"not UTF-8 text (byte {exc.start})",
                                 "Save the file as UTF-8 and try again") from None
        if not text.strip():
            raise InputFileError(path, "the file is empty", "Give a file with text to code")
        pages = [text]
    return DocumentText(path=path, format=kind, pages=pages, sha256=_sha256(path))


def _heading(line: str) -> str | None:
    markdown = _MARKDOWN_HEADING.match(line)
    if markdown:
        return markdown.group(2).strip("*_ ").strip()
    numbered = _NUMBERED_HEADING.match(line)
    if numbered and not numbered.group(2).rstrip().endswith((".", ",", ";", ":")):
        return " ".join(line.split())
    return None


def _blocks(page_text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, text, is_heading) of each blank-line separated block; headings split off."""
    blocks = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=\n[ \t]*\n|\s*\Z)", page_text, flags=re.S):
        start = match.start()
        lines = match.group(0).split("\n")
        offset = start
        body_start, body = None, []
        for line in lines:
            heading = _heading(line) if len(line) < 120 else None
            if heading is not None:
                if body:
                    blocks.append((body_start, offset - 1, "\n".join(body), False))
                    body_start, body = None, []
                blocks.append((offset, offset + len(line), heading, True))
            else:
                if body_start is None:
                    body_start = offset
                body.append(line)
            offset += len(line) + 1
        if body:
            blocks.append((body_start, match.end(), "\n".join(body), False))
    return blocks


def _is_rule_or_markup(text: str) -> bool:
    stripped = text.strip()
    return not stripped or bool(re.fullmatch(r"[-=*_\s|]+", stripped))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of one paragraph.

    A rule-based splitter (no model): ends at . ! ? before a capital letter, a digit or an
    opening quote/bracket, except after common abbreviations (e.g., et al., U.S.).
    """
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start:match.start()].rstrip()
        if before.endswith(_ABBREVIATIONS) or re.search(r"\b[A-Z]\.$", before):
            continue
        end = match.start() + len(text[match.start():match.end()].rstrip())
        spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans if text[s:e].strip()]


def _joins_next(paragraph: str, following: str) -> bool:
    # A paragraph cut by a page or column break ends without punctuation and the next starts
    # in lower case ("Central to" / "this perspective is ..."): one paragraph, not two.
    return bool(paragraph) and not paragraph.rstrip().endswith((".", "!", "?", ":", '"', "”")) \
        and following[:1].islower()


def segments(document: DocumentText) -> pd.DataFrame:
    """Split a document into sentences that keep their paragraph, section, page and offsets.

    Returns
    -------
    DataFrame
        One row per sentence: ``document`` (file name), ``segment`` (1, 2, ... in reading order),
        ``paragraph`` (1, 2, ...), ``sentence`` (within the paragraph), ``section`` (the nearest
        heading above: Markdown ``#`` headings or numbered headings such as ``2. LITERATURE
        REVIEW``; empty before the first), ``page`` (1-based; text files are page 1),
        ``char_start``/``char_end`` (offsets in the extracted text of the page where the
        sentence starts / ends; they differ only for a sentence cut by a page break) and ``text``
        (whitespace collapsed). Tables (tab-separated lines) and rules are skipped.
    """
    rows: list[dict] = []
    section = ""
    paragraph = 0
    pending: list[tuple[int, int, int, str]] = []  # (page, start, end, text) parts of one paragraph

    def flush() -> None:
        nonlocal paragraph
        if not pending:
            return
        paragraph += 1
        joined, origin = "", []  # origin: (offset in joined, page, offset in page)
        for page_no, start, _end, text in pending:
            if joined:
                joined += " "
            origin.append((len(joined), page_no, start))
            joined += text
        for number, (s, e) in enumerate(split_sentences(joined), start=1):
            base = max(o for o in origin if o[0] <= s)
            last = max(o for o in origin if o[0] <= e - 1)
            rows.append({"document": document.name, "paragraph": paragraph, "sentence": number,
                         "section": section, "page": base[1], "char_start": base[2] + s - base[0],
                         "char_end": last[2] + e - last[0],
                         "text": re.sub(r"\s+", " ", joined[s:e]).strip()})
        pending.clear()

    for page_no, page_text in enumerate(document.pages, start=1):
        for start, end, text, is_heading in _blocks(page_text):
            if is_heading:
                flush()
                section = text
                continue
            if _is_rule_or_markup(text) or "\t" in text:
                continue
            if pending and not _joins_next(pending[-1][3], text.lstrip()):
                flush()
            pending.append((page_no, start, end, text))
    flush()
    frame = pd.DataFrame(rows, columns=[c for c in SEGMENT_FIELDS if c != "segment"])
    frame.insert(1, "segment", range(1, len(frame) + 1))
    return frame.astype({"segment": "int64", "paragraph": "int64", "sentence": "int64", "page": "int64",
                         "char_start": "int64", "char_end": "int64"})


def read_document(path: str | Path) -> tuple[DocumentText, pd.DataFrame]:
    """Read and segment one document; see :func:`segments` for the columns."""
    document = read_text(path)
    frame = segments(document)
    if frame.empty:
        raise InputFileError(document.path, "no sentences found (only headings, tables or rules)",
                             "Give a document with running text")
    return document, frame


def paragraphs(segment_table: pd.DataFrame) -> pd.DataFrame:
    """Sentences joined back into paragraphs: document, paragraph, section, page, text."""
    if segment_table.empty:
        return pd.DataFrame(columns=["document", "paragraph", "section", "page", "text"])
    return (segment_table.groupby(["document", "paragraph"], as_index=False, sort=True)
            .agg(section=("section", "first"), page=("page", "first"), text=("text", " ".join)))


def check_paths(paths) -> list[Path]:
    """The given paths as a list, with a clear error when there are none."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise TiplensError("no documents given: pass one or more .txt, .md or .pdf files")
    return [Path(p) for p in paths]
