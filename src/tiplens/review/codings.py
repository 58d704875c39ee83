"""Codings in the store, people's decisions on them, and what the codings say.

Four workflow tables (columns declared below) hold the coding workflow:

- ``coding_documents``: one row per coded document (file name, path, sha256, format, counts);
- ``coding_segments``: its sentences with paragraph, section, page and offsets;
- ``coding_suggestions``: what a coder suggested: one row per (document, segment, codebook,
  method, code) with score and evidence; re-coding a document with the same codebook and
  method replaces its earlier suggestions;
- ``coding_decisions``: people's accept / reject decisions, append-only (the audit trail: who,
  what, when, with an optional note). A person's current view of a (segment, code) is their
  latest decision on it. A person may also accept a code that no coder suggested.

The analysis functions (:func:`frequencies`, :func:`cooccurrence`, :func:`query`,
:func:`quotes`, :func:`agreement`, :func:`lens_comparison`) take DataFrames and return tidy
DataFrames; they do no I/O.
"""

from __future__ import annotations

import getpass
import math
import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from ..errors import TiplensError
from ..store import Store
from .codebooks import Codebook
from .documents import DocumentText

DOCUMENT_COLUMNS = {"document": "VARCHAR", "path": "VARCHAR", "sha256": "VARCHAR", "format": "VARCHAR",
                    "pages": "INTEGER", "paragraphs": "INTEGER", "segments": "INTEGER",
                    "added_at": "TIMESTAMP"}
SEGMENT_COLUMNS = {"document": "VARCHAR", "segment": "INTEGER", "paragraph": "INTEGER", "sentence": "INTEGER",
                   "section": "VARCHAR", "page": "INTEGER", "char_start": "INTEGER", "char_end": "INTEGER",
                   "text": "VARCHAR"}
SUGGESTION_COLUMNS = {"id": "BIGINT", "document": "VARCHAR", "segment": "INTEGER", "codebook": "VARCHAR",
                      "codebook_version": "VARCHAR", "code": "VARCHAR", "top_code": "VARCHAR",
                      "score": "DOUBLE", "method": "VARCHAR", "evidence": "VARCHAR", "coded_at": "TIMESTAMP"}
DECISION_COLUMNS = {"decision_id": "BIGINT", "document": "VARCHAR", "segment": "INTEGER",
                    "codebook": "VARCHAR", "code": "VARCHAR", "suggestion_id": "BIGINT", "decision": "VARCHAR",
                    "coder": "VARCHAR", "note": "VARCHAR", "decided_at": "TIMESTAMP",
                    "document_sha256": "VARCHAR"}
#: Codebooks imported by users (the shipped ones live in the package).
CODEBOOK_COLUMNS = {"name": "VARCHAR", "version": "VARCHAR", "title": "VARCHAR", "yaml": "VARCHAR",
                    "source_file": "VARCHAR", "imported_at": "TIMESTAMP"}

DECISIONS = ("accept", "reject")
LENS_CAVEAT = ("Shares count sentences that match at least one code of a lens; the lenses' vocabularies "
               "differ in size and breadth, so compare a lens across documents and sections more "
               "safely than lenses with each other. A machine suggestion is not a person's coding.")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def default_coder() -> str:
    """The user name to record on a decision when none is given."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name (containers): still record something honest
        return "unknown"


# -- writing ---------------------------------------------------------------------------------
def save_codings(store: Store, coded: list[tuple[DocumentText, pd.DataFrame, pd.DataFrame]], book: Codebook,
                 method: str) -> pd.DataFrame:
    """Store coded documents (their segments and one coder's suggestions) in one transaction.

    ``coded`` holds (document, segments, suggestions) per document; ``suggestions`` has
    columns document, segment, code, score, evidence. A document already in the store under
    the same file name is replaced, and so are its earlier suggestions from this codebook and
    method (people's decisions stay; a suggestion made again keeps its ``id``). Returns the
    suggestions with their ``id``.
    """
    now = _now()
    with store.transaction():
        existing = store.read_rows("coding_suggestions")
        next_id = int(existing["id"].max()) + 1 if len(existing) else 1
        written = []
        for document, segments, suggestions in coded:
            info = pd.DataFrame([{"document": document.name, "path": str(document.path.resolve()),
                                  "sha256": document.sha256, "format": document.format,
                                  "pages": len(document.pages), "paragraphs": int(segments["paragraph"].max()),
                                  "segments": len(segments), "added_at": now}])
            # A suggestion that was there before keeps its id, so ids people noted stay valid.
            before = existing[(existing["document"] == document.name) & (existing["codebook"] == book.name)
                              & (existing["method"] == method)] if len(existing) else pd.DataFrame()
            known = ({(int(s), c): int(i) for s, c, i in zip(before["segment"], before["code"], before["id"])}
                     if len(before) else {})
            ids = []
            for segment, code in zip(suggestions["segment"], suggestions["code"]):
                if (int(segment), code) in known:
                    ids.append(known[(int(segment), code)])
                else:
                    ids.append(next_id)
                    next_id += 1
            rows = suggestions.assign(
                id=np.array(ids, dtype="int64"), codebook=book.name, codebook_version=book.version,
                top_code=[book.top_level(c) for c in suggestions["code"]], method=method, coded_at=now)
            store.write_rows("coding_documents", info, DOCUMENT_COLUMNS, replace_where={"document": document.name})
            store.write_rows("coding_segments", segments[list(SEGMENT_COLUMNS)], SEGMENT_COLUMNS,
                             replace_where={"document": document.name})
            store.write_rows("coding_suggestions", rows[list(SUGGESTION_COLUMNS)], SUGGESTION_COLUMNS,
                             replace_where={"document": document.name, "codebook": book.name, "method": method})
            written.append(rows)
    return pd.concat(written, ignore_index=True) if written else pd.DataFrame(columns=list(SUGGESTION_COLUMNS))


def decide(store: Store, decision: str, *, coder: str, ids: list[int] | None = None,
           document: str | None = None, segment: int | None = None, code: str | None = None,
           codebook: str | None = None, note: str = "") -> pd.DataFrame:
    """Record a person's ``accept`` or ``reject`` of suggestions (by id) or of a code on a segment.

    Decisions are appended, never changed: a later decision by the same coder on the same
    (segment, code) supersedes the earlier one, which stays in the audit trail.
    """
    if decision not in DECISIONS:
        raise TiplensError(f"decision {decision!r}: use one of {', '.join(DECISIONS)}")
    coder = (coder or "").strip()
    if not coder:
        raise TiplensError("a decision needs the name of the person who makes it (--coder NAME)")
    suggestions = store.read_rows("coding_suggestions")
    targets = []
    if ids:
        known = suggestions.set_index("id") if len(suggestions) else pd.DataFrame()
        for sid in ids:
            if sid not in known.index:
                hint = (f"ids run from {int(suggestions['id'].min())} to {int(suggestions['id'].max())}"
                        if len(suggestions) else "the store has no codings yet: run tiplens code first")
                raise TiplensError(f"coding {sid}: no such suggestion ({hint}; see tiplens codings list)")
            row = known.loc[sid]
            targets.append((row["document"], int(row["segment"]), row["codebook"], row["code"], int(sid)))
    if document is not None or segment is not None or code is not None:
        if document is None or segment is None or code is None:
            raise TiplensError("to decide on a code no coder suggested, give --document, --segment and --code")
        segments = store.read_rows("coding_segments", where={"document": document})
        if segments.empty:
            raise TiplensError(f"document {document!r} has not been coded; code it first (tiplens code FILE)")
        if int(segment) not in set(segments["segment"].astype(int)):
            raise TiplensError(f"document {document!r} has no segment {segment}; segments run from 1 to "
                               f"{int(segments['segment'].max())}")
        if codebook is None:
            raise TiplensError("give --codebook with --code (the codebook the code belongs to)")
        targets.append((document, int(segment), codebook, code, None))
    if not targets:
        raise TiplensError("nothing to decide: give suggestion ids, or --document, --segment and --code")
    documents = store.read_rows("coding_documents").set_index("document")["sha256"].to_dict()
    with store.transaction():
        previous = store.read_rows("coding_decisions")
        first_id = int(previous["decision_id"].max()) + 1 if len(previous) else 1
        now = _now()
        rows = pd.DataFrame([{"decision_id": first_id + i, "document": d, "segment": s, "codebook": b, "code": c,
                              "suggestion_id": sid, "decision": decision, "coder": coder, "note": note or "",
                              "decided_at": now, "document_sha256": documents.get(d)}
                             for i, (d, s, b, c, sid) in enumerate(targets)])
        rows = rows.astype({"suggestion_id": "Int64"})
        store.write_rows("coding_decisions", rows, DECISION_COLUMNS)
    return rows


# -- reading ---------------------------------------------------------------------------------
def current_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """Each coder's latest decision per (document, segment, codebook, code)."""
    if decisions.empty:
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    keys = ["coder", "document", "segment", "codebook", "code"]
    return (decisions.sort_values(["decided_at", "decision_id"])
            .drop_duplicates(keys, keep="last").reset_index(drop=True))


def codings_table(store: Store, *, codebook: str | None = None, method: str | None = None,
                  document: str | None = None) -> pd.DataFrame:
    """Suggestions joined with their segment and people's current decisions.

    One row per suggestion (``id``, document, segment, section, page, codebook, code, top_code,
    score, method, evidence, ``accepted_by``, ``rejected_by``, ``status``: open, accepted,
    rejected or disputed, and text); codes that a person added without a suggestion appear
    with method ``person`` and no id.
    """
    suggestions = store.read_rows("coding_suggestions")
    segments = store.read_rows("coding_segments")
    decisions = current_decisions(store.read_rows("coding_decisions"))
    columns = ["id", "document", "segment", "section", "page", "codebook", "code", "top_code", "score", "method",
               "evidence", "accepted_by", "rejected_by", "status", "text"]
    if suggestions.empty and decisions.empty:
        return pd.DataFrame(columns=columns)
    keys = ["document", "segment", "codebook", "code"]
    added = decisions[decisions["decision"] == "accept"]
    if len(suggestions):
        added = added.merge(suggestions[keys].drop_duplicates(), on=keys, how="left", indicator=True)
        added = added[added["_merge"] == "left_only"]
    person = (added.groupby(keys, as_index=False).size()[keys]
              .assign(id=pd.NA, score=1.0, method="person", evidence="added by a person", top_code=None))
    frame = pd.concat([suggestions, person], ignore_index=True) if len(person) else suggestions.copy()
    if len(decisions):
        by = decisions.groupby(keys + ["decision"])["coder"].agg(lambda s: ", ".join(sorted(s))).unstack()
        by = by.reindex(columns=["accept", "reject"]).reset_index().rename(
            columns={"accept": "accepted_by", "reject": "rejected_by"})
        frame = frame.merge(by, on=keys, how="left")
    else:
        frame = frame.assign(accepted_by=None, rejected_by=None)
    accepted, rejected = frame["accepted_by"].notna(), frame["rejected_by"].notna()
    frame["status"] = np.select([accepted & rejected, accepted, rejected], ["disputed", "accepted", "rejected"],
                                "open")
    frame = frame.merge(segments[["document", "segment", "section", "page", "text"]], on=["document", "segment"],
                        how="left")
    for name, value in (("codebook", codebook), ("method", method), ("document", document)):
        if value is not None:
            frame = frame[frame[name] == value]
    frame = frame.astype({"segment": "int64"}).astype({"id": "Int64"})
    return frame.sort_values(["document", "segment", "codebook", "code", "method"], ignore_index=True)[columns]


# -- analysis (DataFrame in, DataFrame out) ---------------------------------------------------
def frequencies(codings: pd.DataFrame, segments: pd.DataFrame, by: tuple[str, ...] = ("document", "section"),
                code_column: str = "code") -> pd.DataFrame:
    """How many segments carry each code, per group.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``code``, ``segments`` (coded with it), ``group_segments`` (all
        segments of the group) and ``share`` (segments / group_segments).
    """
    by = list(by)
    totals = segments.groupby(by, as_index=False, sort=False).size().rename(columns={"size": "group_segments"})
    coded = (codings.drop_duplicates(["document", "segment", code_column])
             .merge(segments[["document", "segment", *[b for b in by if b not in ("document",)]]]
                    .drop_duplicates(["document", "segment"]), on=["document", "segment"], how="inner",
                    suffixes=("_x", "")))
    counts = coded.groupby(by + [code_column], as_index=False, sort=False).size().rename(
        columns={"size": "segments", code_column: "code"})
    frame = counts.merge(totals, on=by, how="left")
    frame["share"] = frame["segments"] / frame["group_segments"]
    return frame.sort_values(by + ["segments"], ascending=[True] * len(by) + [False], ignore_index=True)


def _segment_codes(codings: pd.DataFrame, code_column: str = "code") -> pd.Series:
    return codings.groupby(["document", "segment"])[code_column].agg(frozenset)


def cooccurrence(codings: pd.DataFrame, code_column: str = "code") -> pd.DataFrame:
    """Code x code matrix: segments that carry both codes (the diagonal: segments with the code)."""
    codes = sorted(codings[code_column].dropna().unique())
    indicator = pd.crosstab([codings["document"], codings["segment"]], codings[code_column]).clip(upper=1)
    indicator = indicator.reindex(columns=codes, fill_value=0)
    matrix = indicator.T @ indicator
    matrix.index.name, matrix.columns.name = "code", None
    return matrix.astype("int64")


_TOKEN = re.compile(r"\s*(\(|\)|AND\b|OR\b|NOT\b|[^\s()]+)")


def _parse_query(expression: str):
    tokens = [t for t in _TOKEN.findall(expression) if t]
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def atom():
        token = peek()
        if token is None:
            raise TiplensError(f"query {expression!r}: ends too early; write e.g. 'cooperation AND human_rights'")
        if token == "(":
            take()
            node = disjunction()
            if peek() != ")":
                raise TiplensError(f"query {expression!r}: a '(' is not closed")
            take()
            return node
        if token == "NOT":
            take()
            return ("not", atom())
        if token in ("AND", "OR", ")"):
            raise TiplensError(f"query {expression!r}: expected a code before {token!r}")
        return ("code", take())

    def conjunction():
        node = atom()
        while peek() == "AND":
            take()
            node = ("and", node, atom())
        return node

    def disjunction():
        node = conjunction()
        while peek() == "OR":
            take()
            node = ("or", node, conjunction())
        return node

    tree = disjunction()
    if position != len(tokens):
        raise TiplensError(f"query {expression!r}: unexpected {tokens[position]!r}; join codes with AND / OR")
    return tree


def _evaluate(tree, codes: frozenset) -> bool:
    kind = tree[0]
    if kind == "code":
        return tree[1] in codes
    if kind == "not":
        return not _evaluate(tree[1], codes)
    if kind == "and":
        return _evaluate(tree[1], codes) and _evaluate(tree[2], codes)
    return _evaluate(tree[1], codes) or _evaluate(tree[2], codes)


def query(codings: pd.DataFrame, expression: str, code_column: str = "code",
          known_codes: list[str] | None = None) -> pd.DataFrame:
    """Segments whose codes satisfy ``expression``: codes joined by AND, OR, NOT and brackets
    (AND binds tighter than OR), e.g. ``cooperation AND (human_rights OR rule_of_law)``.

    Returns one row per matching segment: document, segment, codes (sorted, '; ').
    """
    tree = _parse_query(expression)
    if known_codes is not None:
        def names(node):
            return [node[1]] if node[0] == "code" else [n for child in node[1:] for n in names(child)]
        unknown = sorted(set(names(tree)) - set(known_codes))
        if unknown:
            raise TiplensError(f"query {expression!r}: unknown code(s) {', '.join(unknown)}; codes: "
                               f"{', '.join(known_codes)}")
    per_segment = _segment_codes(codings, code_column) if len(codings) else pd.Series(dtype=object)
    rows = [{"document": d, "segment": s, "codes": "; ".join(sorted(codes))}
            for (d, s), codes in per_segment.items() if _evaluate(tree, codes)]
    return pd.DataFrame(rows, columns=["document", "segment", "codes"])


def quotes(codings: pd.DataFrame, segments: pd.DataFrame, codes: list[str] | None = None) -> pd.DataFrame:
    """The coded sentences themselves: code, document, section, page, segment, score, evidence, text."""
    frame = codings if not codes else codings[codings["code"].isin(codes)]
    keep = [c for c in ["document", "segment", "code", "score", "method", "evidence"] if c in frame.columns]
    frame = frame[keep].merge(segments[["document", "segment", "section", "page", "text"]],
                              on=["document", "segment"], how="left")
    columns = ["code", "document", "section", "page", "segment", "score", "method", "evidence", "text"]
    return frame.reindex(columns=columns).sort_values(["code", "document", "segment"], ignore_index=True)


def agreement(segments: pd.DataFrame, suggestions: pd.DataFrame, decisions: pd.DataFrame,
              codes: list[str]) -> pd.DataFrame:
    """Agreement per code between people and coders (machines), and over all codes.

    A person rates the segments on which they decided anything in this codebook: a code they
    accepted there is 1, any other code 0 (rejected or left alone). A coder (``machine:METHOD``)
    rates every segment of the documents it coded: 1 where it suggested the code. Statistics
    come from :func:`tiplens.review.agreement.agreement_table` on the items both raters rated.

    Returns
    -------
    DataFrame
        code (a code, or ``all codes`` where each item is a segment-code pair), statistic,
        rater_a, rater_b, value, n_items, note.
    """
    from .agreement import agreement_table

    current = current_decisions(decisions)
    ratings = []
    for coder, own in current.groupby("coder"):
        reviewed = own[["document", "segment"]].drop_duplicates()
        accepted = set(map(tuple, own.loc[own["decision"] == "accept", ["document", "segment", "code"]]
                           .itertuples(index=False)))
        for document, segment in reviewed.itertuples(index=False):
            for code in codes:
                ratings.append((document, int(segment), code, coder, int((document, segment, code) in accepted)))
    for method, own in suggestions.groupby("method"):
        suggested = set(map(tuple, own[["document", "segment", "code"]].itertuples(index=False)))
        coded = segments[segments["document"].isin(set(own["document"]))]
        for document, segment in coded[["document", "segment"]].itertuples(index=False):
            for code in codes:
                ratings.append((document, int(segment), code, f"machine:{method}",
                                int((document, int(segment), code) in suggested)))
    frame = pd.DataFrame(ratings, columns=["document", "segment", "code", "rater", "label"])
    columns = ["code", "statistic", "rater_a", "rater_b", "value", "n_items", "note"]
    if frame.empty or frame["rater"].nunique() < 2:
        return pd.DataFrame(columns=columns)
    frame["item"] = frame["document"] + "#" + frame["segment"].astype(str)
    tables = []
    for code, part in frame.groupby("code", sort=False):
        tables.append(agreement_table(part, item="item", rater="rater", label="label").assign(code=code))
    overall = frame.assign(item=frame["item"] + "#" + frame["code"])
    tables.append(agreement_table(overall, item="item", rater="rater", label="label").assign(code="all codes"))
    return pd.concat(tables, ignore_index=True)[columns]


def lens_comparison(segments: pd.DataFrame, codings: pd.DataFrame) -> pd.DataFrame:
    """Which lens's vocabulary dominates, per document and section.

    ``codings`` has one row per (document, segment, codebook, code). For each document and
    section (and ``(whole document)``), each lens's share of the section's sentences that
    carry at least one of its codes, and the dominant lens (``tie`` when the top shares are
    equal, empty when no lens applies).

    Returns
    -------
    DataFrame
        document, section, segments, then ``<lens>_segments`` and ``<lens>_share`` per lens,
        dominant, margin (top share minus the next), caveat.
    """
    lenses = sorted(codings["codebook"].unique()) if len(codings) else []
    hit = codings.drop_duplicates(["document", "segment", "codebook"])
    base = segments[["document", "segment", "section"]].copy()
    order = {key: i for i, key in enumerate(base[["document", "section"]].drop_duplicates()
                                            .itertuples(index=False, name=None))}
    for lens in lenses:
        mine = hit[hit["codebook"] == lens][["document", "segment"]].assign(**{lens: 1})
        base = base.merge(mine, on=["document", "segment"], how="left")
        base[lens] = base[lens].fillna(0).astype("int64")
    whole = base.assign(section="(whole document)")
    rows = []
    for (document, section), part in pd.concat([base, whole]).groupby(["document", "section"], sort=False):
        row = {"document": document, "section": section or "(before the first heading)", "segments": len(part)}
        shares = {}
        for lens in lenses:
            row[f"{lens}_segments"] = int(part[lens].sum())
            shares[lens] = row[f"{lens}_share"] = part[lens].sum() / len(part)
        ranked = sorted(shares.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] == 0:
            row["dominant"], row["margin"] = "", 0.0
        elif len(ranked) > 1 and math.isclose(ranked[0][1], ranked[1][1]):
            row["dominant"], row["margin"] = "tie", 0.0
        else:
            row["dominant"] = ranked[0][0]
            row["margin"] = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0.0)
        row["caveat"] = LENS_CAVEAT
        row["_order"] = order.get((document, section), len(order))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["document", "_order"], ignore_index=True).drop(columns="_order")
