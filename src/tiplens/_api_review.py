"""Library twins of the `tiplens review` commands (systematic review: import, screen, PRISMA, agreement).

Each function opens the store (a path, an open Store or None for the default), does one
thing and returns plain dicts and DataFrames; the CLI prints exactly what these return.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from pathlib import Path

import pandas as pd

from .api import StoreLike, using_store
from .errors import TiplensError
from .review import agreement, prisma, references, screening

EXAMPLE_SOURCE = "seed paper reference list"
EXAMPLE_NOTE = ("Example library: the 19 references of the seed paper (Fitria 2025), typed from the paper. "
                "The screening log is SYNTHETIC: the paper reports no search or screening.")


def example_files() -> dict[str, Path]:
    """Paths of the shipped example: the seed paper's references and the SYNTHETIC screening log."""
    data = resources.files("tiplens.review") / "data"
    return {"references": Path(str(data / "seed_paper.bib")),
            "screening": Path(str(data / "screening_synthetic.csv"))}


def review_import(paths: str | Path | Iterable[str | Path], db: StoreLike = None, *, source: str | None = None,
                  format: str | None = None, asreview_reviewer: str | None = None) -> dict:
    """Import reference files (BibTeX, RIS, CSV, ASReview export) into the review library.

    Returns ``files`` (per file: path, format, source, sha256, records, duplicates, skipped),
    ``records`` (records added), ``duplicates`` (one dict per merge: record_id, kept_id, rule,
    match, title, import_id, path) and ``library`` (records and unique records now stored).
    A file with a syntax error raises an error naming its line and nothing is stored.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    with using_store(db) as store:
        return references.import_references(store, paths, source=source, format=format,
                                            asreview_reviewer=asreview_reviewer)


def _status_summary(store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    records = references.library(store)
    log = screening.screening_log(store)
    return records, log, screening.record_status(records, log)


def review_screen(records: Iterable[str] | None = None, db: StoreLike = None, *, reviewer: str | None = None,
                  stage: str = "title_abstract", decision: str | None = None, reason: str | None = None,
                  time: str | datetime | None = None, final: bool = False,
                  csv: str | Path | None = None) -> dict:
    """Record screening decisions (from arguments or a CSV) and report where screening stands.

    Parameters
    ----------
    records
        Record ids (R0001) or citation keys that get the same decision.
    reviewer, stage, decision, reason, time, final
        The decision: ``stage`` is title_abstract or full_text, ``decision`` include or
        exclude (full-text exclusions need a reason), ``time`` defaults to now, ``final``
        marks a decision that resolves a conflict for the stage.
    csv
        A file of decisions instead (columns record, reviewer, stage, decision, reason, time,
        final, synthetic). A row naming an unknown record raises an error naming the line,
        and nothing of the file is stored.

    Returns
    -------
    dict
        ``added`` (decisions stored), ``decisions`` (the rows stored), ``notes`` (e.g. a
        duplicate's decision moved to the record it repeats), ``status`` (records per status)
        and ``conflicts`` (records awaiting a final decision). With neither records nor csv
        nothing is stored and only the status is reported.
    """
    records = [records] if isinstance(records, str) else list(records or [])
    if records and csv is not None:
        raise TiplensError("give record ids or --csv, not both")
    with using_store(db) as store:
        library = references.library(store, include_duplicates=True)
        added = pd.DataFrame(columns=list(screening.DECISION_COLUMNS))
        notes: list[str] = []
        if csv is not None:
            frame = screening.decisions_from_csv(csv)
            rows = screening.validate_decisions(frame, library, path=csv)
            _, notes = screening.resolve_records(library, frame["record"].tolist())
        elif records:
            if not reviewer or not decision:
                raise TiplensError("recording a decision needs --reviewer and --decision (include or exclude)")
            frame = pd.DataFrame({"record": records, "reviewer": reviewer, "stage": stage, "decision": decision,
                                  "reason": reason or "", "time": "" if time is None else str(time),
                                  "final": "yes" if final else "", "synthetic": "", "origin": "command line"})
            rows = screening.validate_decisions(frame, library)
            _, notes = screening.resolve_records(library, records)
        if csv is not None or records:
            with store.transaction():
                added = screening.append_decisions(store, rows)
        unique, log, status = _status_summary(store)
        counts = status["status"].value_counts()
        return {
            "added": len(added),
            "decisions": added,
            "notes": notes,
            "status": {name: int(counts.get(name, 0)) for name in screening.STATUSES},
            "conflicts": screening.conflicts(unique, log),
            "synthetic": bool(len(log) and log["synthetic"].fillna(False).astype(bool).any()),
        }


def review_status(db: StoreLike = None) -> pd.DataFrame:
    """Every unique record with its current screening status (see :func:`screening.record_status`)."""
    with using_store(db, read_only=True) as store:
        return _status_summary(store)[2]


def review_prisma(db: StoreLike = None, *, svg: str | Path | None = None, png: str | Path | None = None) -> dict:
    """PRISMA 2020 counts from the library and log; with ``svg``/``png`` also draws the flow diagram.

    Returns the counts of :func:`tiplens.review.prisma.prisma_counts` plus ``files`` (the
    image paths written).
    """
    with using_store(db, read_only=True) as store:
        all_records = references.library(store, include_duplicates=True)
        _, log, status = _status_summary(store)
    if all_records.empty:
        raise TiplensError("the review library is empty: import references first (tiplens review import FILE)")
    counts = prisma.prisma_counts(all_records, status, log)
    counts["files"] = prisma.write_prisma(counts, svg=svg, png=png)
    return counts


def review_agree(db: StoreLike = None, *, stage: str = "title_abstract") -> pd.DataFrame:
    """Agreement between reviewers at one stage: the tidy table of :func:`agreement.agreement_table`.

    Uses each reviewer's newest decision per record; final (conflict-resolving) decisions are
    not ratings and are left out. When the log holds synthetic decisions every note says so.
    """
    stage = screening.normalise_stage(stage) or stage
    with using_store(db, read_only=True) as store:
        log = screening.screening_log(store)
    ratings = screening.stage_ratings(log, stage)
    if ratings["rater"].nunique() < 2:
        raise TiplensError(f"agreement needs decisions from at least two reviewers at stage {stage}; "
                           f"found {ratings['rater'].nunique()}")
    table = agreement.agreement_table(ratings)
    table.insert(0, "stage", stage)
    part = log.loc[log["stage"] == stage]
    if part["synthetic"].fillna(False).astype(bool).any():
        table["note"] = "SYNTHETIC example decisions; " + table["note"]
    return table


def review_example(db: StoreLike = None) -> dict:
    """Load the shipped example: the seed paper's references and the SYNTHETIC two-reviewer log.

    Returns ``import`` and ``screen`` (the results of the two twins) and ``note``.
    """
    files = example_files()
    with using_store(db) as store:
        present = references.library(store, include_duplicates=True)
        if (present["source"] != EXAMPLE_SOURCE).any():
            # never mix invented decisions into someone's real review
            raise TiplensError("this store already holds a review library; load the SYNTHETIC example into a "
                               "store of its own, e.g. tiplens review example --db review-example.duckdb")
        imported = review_import([files["references"]], db=store, source=EXAMPLE_SOURCE)
        if imported["records"] == 0 and not screening.screening_log(store).empty:
            screened = review_screen(db=store)  # already loaded: report, do not append the log twice
        else:
            screened = review_screen(db=store, csv=files["screening"])
    return {"import": imported, "screen": screened, "note": EXAMPLE_NOTE}
