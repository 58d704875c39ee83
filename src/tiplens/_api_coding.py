"""Library twins of ``tiplens code``, ``tiplens codings ...`` and ``tiplens codebook ...``.

Each takes ``db`` (a path, an open :class:`~tiplens.store.Store`, or None for the default
store) and returns a DataFrame or a dict; ``tiplens <command> --json`` prints exactly that.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import pandas as pd

from ._spreadsheet import safe_frame
from .errors import TiplensError
from .review import codings as _codings
from .review.codebooks import SHIPPED, Codebook, codes_table, parse_codebook, read_codebook_file, shipped_codebook

#: Columns of ``code`` (the first six are the command-line contract).
CODE_COLUMNS = ["document", "segment", "text", "code", "score", "method", "evidence", "id", "section", "page",
                "codebook"]
EXPORT_TABLES = ("codings", "decisions", "frequencies", "cooccurrence", "quotes", "segments")


def _store(db, read_only: bool = False):
    from .api import using_store
    return using_store(db, read_only=read_only)


def resolve_codebook(spec: str | Path | Codebook = "liberalism", *, store=None) -> Codebook:
    """A codebook from a file (``.yaml``/``.yml``/``.qdc``), an imported name, or a shipped name.

    A name is looked up first among the codebooks imported into the store (newest import),
    then among the shipped ones.
    """
    if isinstance(spec, Codebook):
        return spec
    text = str(spec)
    if Path(text).suffix.lower() in (".yaml", ".yml", ".qdc") or Path(text).is_file():
        return read_codebook_file(text)
    if store is not None:
        imported = store.read_rows("coding_codebooks", where={"name": text}, order_by=["imported_at"])
        if len(imported):
            import yaml
            row = imported.iloc[-1]
            book = parse_codebook(yaml.safe_load(row["yaml"]), f"codebook {text} (imported from {row['source_file']})")
            return Codebook(**{**book.__dict__, "origin": "store"})
    if text in SHIPPED:
        return shipped_codebook(text)
    known = list(SHIPPED)
    if store is not None:
        names = store.read_rows("coding_codebooks")
        known += sorted(set(names["name"])) if len(names) else []
    raise TiplensError(f"--codebook {text!r}: no such codebook or file; codebooks: {', '.join(dict.fromkeys(known))} "
                       "(or give a .yaml/.qdc file)")


def _code_documents(paths, book: Codebook, method: str, precision: str = "int8"):
    """Read, segment and code every document before anything is stored (a bad file stops all)."""
    from .review.coders import make_coder
    from .review.documents import check_paths, read_document
    documents = [read_document(path) for path in check_paths(paths)]
    names = [document.name for document, _ in documents]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TiplensError(f"two documents share the file name {duplicates[0]!r}; a document is known by its "
                           "file name, so rename one of them")
    coder = make_coder(book, method, **({"precision": precision} if method == "embedding" else {}))
    coded = []
    for document, segments in documents:
        found = coder.suggest(list(segments["text"]))
        found = found.assign(document=document.name,
                             segment=segments["segment"].to_numpy()[found["row"].to_numpy()]).drop(columns="row")
        coded.append((document, segments, found))
    return coded


def _code_rows(saved: pd.DataFrame, coded) -> pd.DataFrame:
    segments = pd.concat([s for _, s, _ in coded], ignore_index=True)
    rows = saved.merge(segments[["document", "segment", "section", "page", "text"]], on=["document", "segment"],
                       how="left")
    return rows.sort_values(["document", "segment", "code"], ignore_index=True).reindex(columns=CODE_COLUMNS)


def code(paths: Iterable[str | Path] | str | Path, *, db=None, codebook: str | Path | Codebook = "liberalism",
         method: str = "dictionary", precision: str = "int8") -> pd.DataFrame:
    """Code documents with a codebook and store the suggestions for people to accept or reject.

    ``precision`` applies to the embedding coder only: ``int8`` (default, faster) or ``float32``
    (see :class:`tiplens.review.coders.EmbeddingCoder`).

    Returns
    -------
    DataFrame
        One row per suggested (sentence, code): document, segment, text, code, score, method,
        evidence (the words that fired, or the nearest definition/example), id (to accept or
        reject it), section, page, codebook.
    """
    with _store(db) as store:
        book = resolve_codebook(codebook, store=store)
        coded = _code_documents(paths, book, method, precision)
        saved = _codings.save_codings(store, coded, book, method)
    return _code_rows(saved, coded)


def codings_list(*, db=None, codebook: str | None = None, method: str | None = None, document: str | None = None,
                 code: str | None = None, status: str | None = None, query: str | None = None) -> pd.DataFrame:
    """Stored codings with people's current decisions (see :func:`tiplens.review.codings.codings_table`).

    ``code`` keeps one code (and the codes below it); ``status`` one of open, accepted,
    rejected, disputed; ``query`` keeps the segments whose codes satisfy an AND/OR expression
    such as ``cooperation AND (human_rights OR rule_of_law)``.
    """
    statuses = ("open", "accepted", "rejected", "disputed")
    if status is not None and status not in statuses:
        raise TiplensError(f"--status {status!r}: use one of {', '.join(statuses)}")
    with _store(db, read_only=True) as store:
        frame = _codings.codings_table(store, codebook=codebook, method=method, document=document)
        known = sorted(set(frame["code"]))
        if codebook is not None:
            known = resolve_codebook(codebook, store=store).code_ids
    if code is not None:
        frame = frame[(frame["code"] == code) | frame["code"].str.startswith(code + ".")]
    if status is not None:
        frame = frame[frame["status"] == status]
    if query:
        hits = _codings.query(frame, query, known_codes=known)
        frame = frame.merge(hits[["document", "segment"]], on=["document", "segment"], how="inner")
    return frame.reset_index(drop=True)


def _decide(decision: str, ids, *, db, coder, document, segment, code, codebook, note) -> pd.DataFrame:
    with _store(db) as store:
        if code is not None:
            resolve_codebook(codebook or "liberalism", store=store).code(code)  # the code must exist
            codebook = codebook or "liberalism"
        return _codings.decide(store, decision, coder=coder or _codings.default_coder(), ids=list(ids or []),
                               document=document, segment=segment, code=code, codebook=codebook, note=note)


def codings_accept(ids: Iterable[int] | None = None, *, db=None, coder: str | None = None,
                   document: str | None = None, segment: int | None = None, code: str | None = None,
                   codebook: str | None = None, note: str = "") -> pd.DataFrame:
    """Record that ``coder`` accepts suggestions (by id), or a code on a segment no coder suggested.

    Returns the decision rows appended to the audit trail.
    """
    return _decide("accept", ids, db=db, coder=coder, document=document, segment=segment, code=code,
                   codebook=codebook, note=note)


def codings_reject(ids: Iterable[int] | None = None, *, db=None, coder: str | None = None,
                   document: str | None = None, segment: int | None = None, code: str | None = None,
                   codebook: str | None = None, note: str = "") -> pd.DataFrame:
    """Record that ``coder`` rejects suggestions (by id) or a code on a segment."""
    return _decide("reject", ids, db=db, coder=coder, document=document, segment=segment, code=code,
                   codebook=codebook, note=note)


def codings_agree(*, db=None, codebook: str = "liberalism") -> pd.DataFrame:
    """Agreement (percent, Cohen's kappa, PABAK, Fleiss' kappa, Krippendorff's alpha) per code and
    over all codes, between people and coders (``machine:dictionary``, ``machine:embedding``).

    See :func:`tiplens.review.codings.agreement` for how the items are formed.
    """
    with _store(db, read_only=True) as store:
        book = resolve_codebook(codebook, store=store)
        segments = store.read_rows("coding_segments")
        suggestions = store.read_rows("coding_suggestions", where={"codebook": book.name})
        decisions = store.read_rows("coding_decisions", where={"codebook": book.name})
    if decisions.empty:
        raise TiplensError(f"no decisions on codebook {book.name} yet: accept or reject codings first "
                           "(tiplens codings accept ID... --coder NAME)")
    frame = _codings.agreement(segments, suggestions, decisions, book.code_ids)
    if frame.empty:
        raise TiplensError("agreement needs two raters (two people, or a person and a coder) on the same segments")
    return frame


def _analysis_frames(store, codebook: str | None, method: str | None, accepted: bool):
    frame = _codings.codings_table(store, codebook=codebook, method=method)
    if accepted:
        frame = frame[frame["status"].isin(["accepted", "disputed"])]
    return frame, store.read_rows("coding_segments")


def codings_frequencies(*, db=None, codebook: str | None = "liberalism", method: str | None = None,
                        by: tuple[str, ...] = ("document", "section"), accepted: bool = False) -> pd.DataFrame:
    """Segments per code and group (see :func:`tiplens.review.codings.frequencies`)."""
    with _store(db, read_only=True) as store:
        frame, segments = _analysis_frames(store, codebook, method, accepted)
    if segments.empty:
        return pd.DataFrame(columns=[*by, "code", "segments", "group_segments", "share"])
    return _codings.frequencies(frame, segments, by=by)


def codings_cooccurrence(*, db=None, codebook: str | None = "liberalism", method: str | None = None,
                         accepted: bool = False) -> pd.DataFrame:
    """Code x code matrix of segments that carry both codes (a ``code`` column, then one per code)."""
    with _store(db, read_only=True) as store:
        frame, _ = _analysis_frames(store, codebook, method, accepted)
    return _codings.cooccurrence(frame).reset_index()


def codings_quotes(*, db=None, codebook: str | None = "liberalism", method: str | None = None,
                   codes: list[str] | None = None, accepted: bool = False) -> pd.DataFrame:
    """The coded sentences by code (see :func:`tiplens.review.codings.quotes`)."""
    with _store(db, read_only=True) as store:
        frame, segments = _analysis_frames(store, codebook, method, accepted)
    return _codings.quotes(frame, segments, codes)


def codings_export(path: str | Path, *, db=None, table: str = "codings", codebook: str | None = "liberalism",
                   method: str | None = None, accepted: bool = False) -> dict:
    """Write a codings table to ``path`` (.csv, .parquet or .xlsx by suffix).

    ``table``: codings (suggestions with decisions and text), decisions (the full audit
    trail), frequencies, cooccurrence, quotes or segments. Returns path, table and rows.
    """
    from .api import write_table
    if table not in EXPORT_TABLES:
        raise TiplensError(f"--table {table!r}: use one of {', '.join(EXPORT_TABLES)}")
    if table == "codings":
        frame = codings_list(db=db, codebook=codebook, method=method)
        if accepted:
            frame = frame[frame["status"].isin(["accepted", "disputed"])]
    elif table == "decisions":
        with _store(db, read_only=True) as store:
            frame = store.read_rows("coding_decisions", order_by=["decision_id"])
        frame = frame.reindex(columns=list(_codings.DECISION_COLUMNS))
    elif table == "segments":
        with _store(db, read_only=True) as store:
            frame = store.read_rows("coding_segments", order_by=["document", "segment"])
    elif table == "frequencies":
        frame = codings_frequencies(db=db, codebook=codebook, method=method, accepted=accepted)
    elif table == "cooccurrence":
        frame = codings_cooccurrence(db=db, codebook=codebook, method=method, accepted=accepted)
    else:
        frame = codings_quotes(db=db, codebook=codebook, method=method, accepted=accepted)
    if Path(path).suffix.lower() in (".csv", ".xlsx"):
        frame = safe_frame(frame)
    written = write_table(frame.reset_index(drop=True), path)
    return {"path": str(written), "table": table, "rows": len(frame)}


def codebook_list(*, db=None) -> pd.DataFrame:
    """The codebooks available: name, version, title, codes, top_level (codes), origin
    (``shipped`` or ``imported``), imported_at."""
    rows = []
    for name in SHIPPED:
        book = shipped_codebook(name)
        rows.append({"name": book.name, "version": book.version, "title": book.title, "codes": len(book.codes),
                     "top_level": len(book.children(None)), "origin": "shipped", "imported_at": None})
    with _store(db, read_only=True) as store:
        imported = store.read_rows("coding_codebooks", order_by=["imported_at"])
        for row in imported.itertuples():
            import yaml
            parsed = parse_codebook(yaml.safe_load(row.yaml), f"codebook {row.name}")
            rows.append({"name": parsed.name, "version": parsed.version, "title": parsed.title,
                         "codes": len(parsed.codes), "top_level": len(parsed.children(None)), "origin": "imported",
                         "imported_at": row.imported_at})
    return pd.DataFrame(rows)


def codebook_show(name: str | Path = "liberalism", *, db=None) -> dict:
    """A codebook: ``codebook`` (name, version, title, description, source, coders, origin) and
    ``codes`` (one row per code; see :func:`tiplens.review.codebooks.codes_table`)."""
    with _store(db, read_only=True) as store:
        book = resolve_codebook(name, store=store)
    meta = {"name": book.name, "version": book.version, "title": book.title, "description": book.description,
            "source": book.source, "coders": book.coders, "origin": book.origin}
    return {"codebook": meta, "codes": codes_table(book)}


def codebook_export(name: str | Path, path: str | Path, *, db=None) -> dict:
    """Write a codebook as REFI-QDA ``.qdc`` or YAML, by suffix. Returns path, name, version, codes."""
    from .review.codebooks import write_codebook
    with _store(db, read_only=True) as store:
        book = resolve_codebook(name, store=store)
    path = Path(path)
    if not path.parent.exists():
        raise TiplensError(f"{path}: folder {path.parent} does not exist; create it or choose another path")
    write_codebook(book, path)
    return {"path": str(path), "name": book.name, "version": book.version, "codes": len(book.codes)}


def codebook_import(path: str | Path, *, db=None) -> dict:
    """Import a codebook (``.qdc`` from NVivo, ATLAS.ti, MAXQDA, QualCoder, or YAML) into the store.

    It is validated first (a bad file changes nothing). Afterwards ``--codebook NAME`` finds
    it; an import with the name of a shipped codebook takes precedence over the shipped one.
    Returns name, version, codes, path, replaced (an earlier import of the same name and version).
    """
    from .review.codebooks import to_yaml
    book = read_codebook_file(path)
    with _store(db) as store:
        earlier = store.read_rows("coding_codebooks", where={"name": book.name, "version": book.version})
        row = pd.DataFrame([{"name": book.name, "version": book.version, "title": book.title, "yaml": to_yaml(book),
                             "source_file": str(Path(path).resolve()),
                             "imported_at": datetime.now(timezone.utc).replace(tzinfo=None)}])
        store.write_rows("coding_codebooks", row, _codings.CODEBOOK_COLUMNS,
                         replace_where={"name": book.name, "version": book.version})
    return {"name": book.name, "version": book.version, "codes": len(book.codes), "path": str(path),
            "replaced": bool(len(earlier))}


def lens_compare(paths: Iterable[str | Path] | str | Path | None = None, *, db=None,
                 method: str = "dictionary") -> pd.DataFrame:
    """Code documents with all three shipped lenses and show which dominates per document and section.

    With ``paths``, the documents are (re)coded with liberalism, realism and constructivism
    and stored; without, the stored codings of those lenses are compared.

    Returns
    -------
    DataFrame
        See :func:`tiplens.review.codings.lens_comparison`: document, section, segments,
        ``<lens>_segments`` and ``<lens>_share`` per lens, dominant, margin, caveat.
    """
    with _store(db, read_only=paths is None) as store:
        if paths is not None:
            for lens in SHIPPED:
                book = shipped_codebook(lens)
                _codings.save_codings(store, _code_documents(paths, book, method), book, method)
        suggestions = store.read_rows("coding_suggestions", where={"method": method})
        segments = store.read_rows("coding_segments", order_by=["document", "segment"])
    if paths is not None:
        names = {Path(p).name for p in ([paths] if isinstance(paths, (str, Path)) else paths)}
        segments = segments[segments["document"].isin(names)]
    if suggestions.empty or segments.empty:
        raise TiplensError(f"no {method} codings to compare: pass documents (tiplens codings compare FILE...)")
    suggestions = suggestions[suggestions["codebook"].isin(SHIPPED) & suggestions["document"].isin(set(segments["document"]))]
    return _codings.lens_comparison(segments, suggestions)
