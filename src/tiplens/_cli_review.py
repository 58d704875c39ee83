"""The `tiplens review` commands: import references, screen, PRISMA, agreement (thin: one twin each)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import _api_review as api
from ._cli_common import (
    DbOption,
    DebugOption,
    JsonOption,
    _errors,
    _print_frame,
    _print_json,
    out,
)

review_app = typer.Typer(help="Systematic review: import references, screen them, agreement, PRISMA diagram.",
                         no_args_is_help=True)

StageOption = Annotated[str, typer.Option("--stage", help="title_abstract or full_text.")]


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


@review_app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="BibTeX, RIS, CSV or ASReview-export files.")],
    source: Annotated[str | None, typer.Option(
        "--source", help="Database the records come from (PRISMA 'identified from'); default: the file name.")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", help="bibtex, ris, csv or asreview (default: detected from the content).")] = None,
    asreview_reviewer: Annotated[str | None, typer.Option(
        "--asreview-reviewer", help="Also record an ASReview export's labels as title/abstract decisions "
                                    "of this reviewer.")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Import references; duplicates (same DOI, or same title + year + first author) are kept and reported."""
    with _errors(debug):
        result = api.review_import(paths, db=db, source=source, format=format, asreview_reviewer=asreview_reviewer)
    if as_json:
        _print_json(result)
        return
    _print_import(result)


def _print_import(result: dict) -> None:
    for f in result["files"]:
        if f["skipped"]:
            _say(f"{f['path']}: skipped, {f['skipped']}")
        else:
            _say(f"{f['path']} ({f['format']}, source '{f['source']}'): {f['records']} records, "
                 f"{f['duplicates']} duplicates")
    if result["duplicates"]:
        import pandas as pd
        _print_frame("Duplicates found (kept in the library, removed before screening)",
                     pd.DataFrame(result["duplicates"]), ["record_id", "kept_id", "rule", "title"])
    lib = result["library"]
    _say(f"Library: {lib['records']} records identified, {lib['unique']} unique.")
    if result.get("decisions"):
        _say(f"ASReview labels stored as title/abstract decisions: {result['decisions']}")


@review_app.command("screen")
def screen(
    records: Annotated[list[str] | None, typer.Argument(help="Record ids (R0001) or citation keys.")] = None,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Who decides.")] = None,
    stage: StageOption = "title_abstract",
    decision: Annotated[str | None, typer.Option("--decision", help="include or exclude.")] = None,
    reason: Annotated[str | None, typer.Option(
        "--reason", help="Why (required for full-text exclusions; 'not retrieved' for reports not obtained).")] = None,
    time: Annotated[str | None, typer.Option("--time", help="When (ISO 8601; default now).")] = None,
    final: Annotated[bool, typer.Option("--final", help="This decision resolves a conflict for the stage.")] = False,
    csv: Annotated[Path | None, typer.Option(
        "--csv", help="A file of decisions: record, reviewer, stage, decision, reason, time[, final, synthetic].")] = None,
    status: Annotated[bool, typer.Option("--status", help="List every record with its current status.")] = False,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Record screening decisions (append-only) and show conflicts and where screening stands."""
    with _errors(debug):
        if status:
            table = api.review_status(db=db)
        else:
            result = api.review_screen(records, db=db, reviewer=reviewer, stage=stage, decision=decision,
                                       reason=reason, time=time, final=final, csv=csv)
    if status:
        if as_json:
            _print_json({"rows": table})
            return
        _print_frame("Screening status of every record", table,
                     ["record_id", "key", "status", "reason", "decisions"])
        return
    if as_json:
        _print_json(result)
        return
    _print_screen(result)


def _print_screen(result: dict) -> None:
    if result["synthetic"]:
        _say("SYNTHETIC example log: these decisions were invented to show the workflow.")
    _say(f"Decisions stored: {result['added']}")
    for note in result["notes"]:
        _say(f"Note: {note}")
    _say("Status: " + ", ".join(f"{name} {n}" for name, n in result["status"].items() if n))
    if len(result["conflicts"]):
        _print_frame("Conflicts awaiting a final decision (tiplens review screen ID --final ...)",
                     result["conflicts"], ["record_id", "stage", "title", "decisions"])
    else:
        _say("No open conflicts.")


@review_app.command("prisma")
def prisma(
    svg: Annotated[Path | None, typer.Option("--svg", help="Write the flow diagram as SVG.")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write the flow diagram as PNG.")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """PRISMA 2020 counts derived from the library and the screening log, and the flow diagram."""
    with _errors(debug):
        counts = api.review_prisma(db=db, svg=svg, png=png)
    if as_json:
        _print_json(counts)
        return
    c = counts
    sources = ", ".join(f"{name} {n}" for name, n in c["identified_by_source"].items())
    lines = [
        f"Records identified: {c['identified']} ({sources})",
        f"Duplicates removed: {c['duplicates_removed']}",
        f"Records screened: {c['screened']}",
        f"  excluded at title/abstract: {c['excluded_title_abstract']}",
        f"  awaiting decision: {c['awaiting_title_abstract']}, in conflict: {c['conflict_title_abstract']}",
        f"Reports sought for retrieval: {c['sought_for_retrieval']}",
        f"  not retrieved: {c['not_retrieved']}",
        f"Reports assessed for eligibility: {c['assessed_full_text']}",
        f"  excluded: {c['excluded_full_text']}"
        + "".join(f"\n    {reason}: {n}" for reason, n in c["excluded_full_text_reasons"].items()),
        f"  awaiting decision: {c['awaiting_full_text']}, in conflict: {c['conflict_full_text']}",
        f"Studies included: {c['included']}",
        c["note"],
    ]
    for line in lines:
        _say(line)
    for kind, path in c["files"].items():
        _say(f"Wrote {kind.upper()}: {path}")


@review_app.command("agree")
def agree(
    stage: StageOption = "title_abstract",
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Agreement between reviewers: Cohen's kappa and PABAK per pair, Fleiss' kappa, Krippendorff's alpha."""
    with _errors(debug):
        table = api.review_agree(db=db, stage=stage)
    if as_json:
        _print_json({"rows": table})
        return
    _print_frame(f"Agreement between reviewers, stage {stage}", table,
                 ["statistic", "rater_a", "rater_b", "value", "n_items"], {"value": 3})
    for statistic, note in table.drop_duplicates("statistic")[["statistic", "note"]].itertuples(index=False):
        _say(f"{statistic}: {note}")
    _say("PABAK removes the effect of skewed prevalence (real screening is mostly 'exclude'); "
         "final (conflict-resolving) decisions are not counted as ratings.")


@review_app.command("example")
def example(db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False):
    """Load the shipped example: the seed paper's 19 references and a SYNTHETIC two-reviewer screening log."""
    with _errors(debug):
        result = api.review_example(db=db)
    if as_json:
        _print_json(result)
        return
    _say(result["note"])
    _print_import(result["import"])
    _print_screen(result["screen"])


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(review_app, name="review")
