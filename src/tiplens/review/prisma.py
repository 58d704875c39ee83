"""PRISMA 2020 flow: the counts derived from the library and the screening log, and the diagram.

The layout follows the PRISMA 2020 flow diagram for new systematic reviews that searched
databases and registers only (Page et al. 2021, BMJ 372:n71): identification,
screening, included. Every number is computed from the stored records and decisions;
records still awaiting a decision or in conflict are shown, never silently dropped, so the
boxes always add up.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SYNTHETIC_NOTE = ("SYNTHETIC EXAMPLE: decisions invented to demonstrate the workflow; "
                  "not a real screening (the seed paper reports no search)")


def prisma_counts(records: pd.DataFrame, status: pd.DataFrame, log: pd.DataFrame) -> dict:
    """PRISMA 2020 counts.

    Parameters
    ----------
    records
        All records identified, duplicates included (``review_records``).
    status
        :func:`tiplens.review.screening.record_status` of the unique records.
    log
        The screening log (to tell whether any decision is synthetic).

    Returns
    -------
    dict
        ``identified`` (total) and ``identified_by_source`` (source -> records),
        ``duplicates_removed``, ``screened``, ``excluded_title_abstract``,
        ``awaiting_title_abstract`` and ``conflict_title_abstract`` (not yet decided),
        ``sought_for_retrieval``, ``not_retrieved``, ``assessed_full_text``,
        ``excluded_full_text`` and ``excluded_full_text_reasons`` (reason -> reports),
        ``awaiting_full_text``, ``conflict_full_text``, ``included``, ``synthetic`` (bool)
        and ``note``. The sums hold: identified = duplicates_removed + screened;
        screened = excluded_title_abstract + awaiting + conflict + sought;
        sought = not_retrieved + assessed + awaiting + conflict (full text);
        assessed = excluded_full_text + included.
    """
    by_status = status["status"].value_counts()
    count = lambda name: int(by_status.get(name, 0))
    by_source = records.groupby("source", sort=True).size() if len(records) else pd.Series(dtype=int)
    full_text_excluded = status.loc[status["status"] == "excluded_full_text", "reason"].fillna("no reason given")
    reasons = full_text_excluded.value_counts()
    reasons = reasons.sort_index().sort_values(ascending=False, kind="stable")
    sought = sum(count(s) for s in ("awaiting_full_text", "conflict_full_text", "not_retrieved",
                                    "excluded_full_text", "included"))
    synthetic = bool(len(log) and log["synthetic"].fillna(False).astype(bool).any())
    counts = {
        "identified": len(records),
        "identified_by_source": {str(k): int(v) for k, v in by_source.items()},
        "duplicates_removed": int(records["duplicate_of"].notna().sum()) if len(records) else 0,
        "screened": len(status),
        "excluded_title_abstract": count("excluded_title_abstract"),
        "awaiting_title_abstract": count("awaiting_title_abstract"),
        "conflict_title_abstract": count("conflict_title_abstract"),
        "sought_for_retrieval": sought,
        "not_retrieved": count("not_retrieved"),
        "assessed_full_text": count("excluded_full_text") + count("included"),
        "excluded_full_text": count("excluded_full_text"),
        "excluded_full_text_reasons": {str(k): int(v) for k, v in reasons.items()},
        "awaiting_full_text": count("awaiting_full_text"),
        "conflict_full_text": count("conflict_full_text"),
        "included": count("included"),
        "synthetic": synthetic,
        "note": SYNTHETIC_NOTE if synthetic else
        "Counts derived from the stored records and screening log (PRISMA 2020, databases and registers only).",
    }
    return counts


def _box_text(title: str, lines: list[str]) -> str:
    return "\n".join([title, *lines])


def prisma_figure(counts: dict):
    """The PRISMA 2020 flow diagram as a matplotlib figure."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10, 9.5))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.axis("off")

    def box(x, y, w, h, text, fill="white", size=9):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.3,rounding_size=0.8",
                                    linewidth=1.1, edgecolor="#333333", facecolor=fill))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, wrap=True)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1.1})

    def band(y, h, label):
        ax.add_patch(FancyBboxPatch((0.5, y), 4.5, h, boxstyle="round,pad=0.2", facecolor="#c9dcef",
                                    edgecolor="#5b7fa6"))
        ax.text(2.75, y + h / 2, label, rotation=90, ha="center", va="center", fontsize=10, weight="bold")

    c = counts
    sources = "\n".join(f"  {name}: {n}" for name, n in c["identified_by_source"].items()) or "  (none)"
    waiting_ta = c["awaiting_title_abstract"] + c["conflict_title_abstract"]
    waiting_ft = c["awaiting_full_text"] + c["conflict_full_text"]
    reasons = "\n".join(f"  {reason}: {n}" for reason, n in c["excluded_full_text_reasons"].items())

    band(72, 20, "Identification")
    band(18, 50, "Screening")
    band(2, 12, "Included")
    box(9, 74, 40, 16, _box_text(f"Records identified (n = {c['identified']})", ["from:", sources]))
    box(57, 74, 40, 16, _box_text("Records removed before screening:",
                                  [f"duplicate records (n = {c['duplicates_removed']})"]))
    screened_lines = []
    if waiting_ta:
        screened_lines.append(f"awaiting decision or in conflict (n = {waiting_ta})")
    box(9, 56, 40, 10, _box_text(f"Records screened (n = {c['screened']})", screened_lines))
    box(57, 56, 40, 10, f"Records excluded at title/abstract\n(n = {c['excluded_title_abstract']})")
    box(9, 40, 40, 10, f"Reports sought for retrieval\n(n = {c['sought_for_retrieval']})")
    box(57, 40, 40, 10, f"Reports not retrieved\n(n = {c['not_retrieved']})")
    assessed_lines = [f"awaiting decision or in conflict (n = {waiting_ft})"] if waiting_ft else []
    box(9, 20, 40, 12, _box_text(f"Reports assessed for eligibility\n(n = {c['assessed_full_text']})",
                                 assessed_lines))
    box(57, 16, 40, 20, _box_text(f"Reports excluded (n = {c['excluded_full_text']}):", [reasons] if reasons else []),
        size=8.5)
    box(9, 3, 40, 10, f"Studies included in review\n(n = {c['included']})", fill="#eef5e9")

    arrow(49, 82, 57, 82)
    arrow(29, 74, 29, 66)
    arrow(49, 61, 57, 61)
    arrow(29, 56, 29, 50)
    arrow(49, 45, 57, 45)
    arrow(29, 40, 29, 32)
    arrow(49, 26, 57, 26)
    arrow(29, 20, 29, 13)

    title = "PRISMA 2020 flow diagram"
    if c.get("synthetic"):
        title += "  SYNTHETIC EXAMPLE"
        fig.text(0.5, 0.005, SYNTHETIC_NOTE, ha="center", va="bottom", fontsize=8.5, color="#b00020")
    ax.set_title(title, fontsize=13, weight="bold", color="#b00020" if c.get("synthetic") else "black")
    fig.tight_layout()
    return fig


def write_prisma(counts: dict, *, svg: str | Path | None = None, png: str | Path | None = None) -> dict:
    """Draw the diagram and write it to SVG and/or PNG; returns the paths written."""
    import matplotlib.pyplot as plt

    written = {}
    if svg is None and png is None:
        return written
    fig = prisma_figure(counts)
    try:
        # svg.fonttype "none" keeps the text as text: searchable, selectable and readable by screen readers
        with plt.rc_context({"svg.fonttype": "none"}):
            for kind, path in (("svg", svg), ("png", png)):
                if path is not None:
                    path = Path(path)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fig.savefig(path, format=kind, dpi=150 if kind == "png" else None)
                    written[kind] = str(path)
    finally:
        plt.close(fig)
    return written
