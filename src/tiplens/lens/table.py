"""The seed paper's Table ("regional cooperating entities and liberal concepts") regenerated from
the knowledge base, row by row, with the corrections the sources support."""

from __future__ import annotations

import pandas as pd

from ..errors import TiplensError
from .kb import KnowledgeBase

#: Columns of :func:`paper_table`, in order.
TABLE_COLUMNS = ["row", "region", "cooperating_entities", "efforts", "concept", "references", "concepts",
                 "concept_ids", "kb_entities", "kb_sources", "corrections", "correction_sources", "corrected"]

CAVEAT = ("The first five text columns are the paper's, as printed (typos kept); concepts, kb_entities and "
          "kb_sources come from the tiplens knowledge base; each correction names its source, or says the "
          "source is missing.")


def _regions(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["region"].unique())


def paper_table(kb: KnowledgeBase, *, region: str | None = None, concept: str | None = None) -> pd.DataFrame:
    """Every row of the seed paper's Table, linked to the knowledge base, with corrections.

    Parameters
    ----------
    kb
        A loaded knowledge base (:func:`tiplens.lens.kb.load_kb`).
    region
        Keep the rows of this region of the paper (case-insensitive: ASEAN, Global, Europe,
        North America).
    concept
        Keep the rows tagged with this concept id or label (case-insensitive).

    Returns
    -------
    DataFrame
        One row per Table row (:data:`TABLE_COLUMNS`): ``row``; the paper's ``region``,
        ``cooperating_entities``, ``efforts``, ``concept`` (its "Liberalism Key Concept" cell)
        and ``references``; ``concepts`` (labels of the knowledge-base concepts) and
        ``concept_ids``; ``kb_entities`` (entity ids); ``kb_sources`` (the entities' citations);
        ``corrections`` (``[kind] text``, joined by `` | ``), ``correction_sources`` (one per
        correction, same order) and ``corrected`` (whether any correction applies).
    """
    rows = []
    for row in sorted(kb.rows, key=lambda r: r.row):
        entity_sources = []
        for entity_id in row.entities:
            citation = kb.citation(kb.entities[entity_id])
            if citation not in entity_sources:
                entity_sources.append(citation)
        rows.append({
            "row": row.row, "region": row.region, "cooperating_entities": row.cooperating_entities,
            "efforts": row.efforts, "concept": row.concept_text, "references": row.references_text,
            "concepts": "; ".join(kb.concepts[c].label for c in row.concepts),
            "concept_ids": ", ".join(row.concepts),
            "kb_entities": ", ".join(row.entities),
            "kb_sources": " | ".join(entity_sources),
            "corrections": " | ".join(f"[{c.kind}] {c.text}" for c in row.corrections),
            "correction_sources": " | ".join(kb.citation(c) for c in row.corrections),
            "corrected": bool(row.corrections),
        })
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    if region is not None:
        keep = frame["region"].str.casefold() == region.casefold()
        if not keep.any():
            raise TiplensError(f"--region {region!r}: no row of the paper's Table has this region; "
                               f"valid: {', '.join(_regions(frame))}")
        frame = frame[keep]
    if concept is not None:
        wanted = concept.casefold()
        matches = [c.id for c in kb.concepts.values() if wanted in (c.id.casefold(), c.label.casefold())]
        if not matches:
            raise TiplensError(f"--concept {concept!r} is not a concept; valid ids: {', '.join(kb.concepts)}")
        frame = frame[frame["concept_ids"].str.split(", ").map(lambda ids: matches[0] in ids)]
    frame = frame.reset_index(drop=True)
    frame.attrs["caveat"] = CAVEAT
    return frame


def to_markdown(frame: pd.DataFrame, columns: list[str] | None = None) -> str:
    """A Markdown pipe table of ``frame`` (cells' pipes escaped, newlines flattened)."""
    columns = columns or list(frame.columns)

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return ""
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in values) + " |" for values in frame[columns].itertuples(index=False)]
    return "\n".join(lines) + "\n"
