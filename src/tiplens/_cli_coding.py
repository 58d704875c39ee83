"""The `tiplens code`, `tiplens codings ...` and `tiplens codebook ...` commands (thin: one twin each)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import _api_coding as api
from ._cli_common import DbOption, DebugOption, JsonOption, _errors, _print_frame, _print_json, out

codings_app = typer.Typer(help="The codings and people's decisions on them: list, accept, reject, agree, "
                               "export, compare lenses.", no_args_is_help=True)
codebook_app = typer.Typer(help="Codebooks: list, show, export and import (YAML or REFI-QDA .qdc).",
                           no_args_is_help=True)

CodebookOption = Annotated[str, typer.Option(
    "--codebook", help="A codebook name (liberalism, realism, constructivism, or one imported) or a "
                       ".yaml/.qdc file.")]
MethodOption = Annotated[str, typer.Option("--method", help="dictionary (keywords) or embedding (MiniLM).")]
CoderOption = Annotated[Optional[str], typer.Option("--coder", help="Who decides (default: your user name).")]


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def _short(frame, column: str = "text", width: int = 90):
    return frame.assign(**{column: [t if not isinstance(t, str) or len(t) <= width else t[: width - 3] + "..."
                                    for t in frame[column]]})


def code(
    paths: Annotated[list[Path], typer.Argument(help="Documents: .txt, .md or .pdf.")],
    codebook: CodebookOption = "liberalism",
    method: MethodOption = "dictionary",
    precision: Annotated[str, typer.Option(
        "--precision", help="Embedding coder only: int8 (default; about twice as fast on a CPU, the same "
                            "validation scores) or float32 (the model's published weights).")] = "int8",
    limit: Annotated[int, typer.Option("--limit", help="Rows to show in the table (JSON shows all).")] = 30,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Code documents with a codebook: one suggestion per sentence and code, with score and evidence.

    Suggestions are stored for people to accept or reject (tiplens codings accept|reject ID).
    """
    with _errors(debug):
        frame = api.code(paths, db=db, codebook=codebook, method=method, precision=precision)
    if as_json:
        _print_json({"rows": frame[api.CODE_COLUMNS]})
        return
    documents = sorted(set(frame["document"]))
    _print_frame(f"First {min(limit, len(frame))} of {len(frame)} suggestions ({method} coder, codebook "
                 f"{codebook}) in {', '.join(documents)}", _short(frame.head(limit), width=60),
                 ["id", "segment", "code", "score", "evidence", "text"], {"score": 2})
    counts = frame.groupby(["document", "code"], as_index=False).size().rename(columns={"size": "sentences"})
    _print_frame("Sentences per code", counts, ["document", "code", "sentences"])
    _say("A suggestion is not a coding until a person accepts it: tiplens codings accept ID... --coder NAME")


@codings_app.command("list")
def codings_list(
    codebook: Annotated[Optional[str], typer.Option("--codebook", help="Only this codebook.")] = None,
    method: Annotated[Optional[str], typer.Option("--method", help="dictionary, embedding or person.")] = None,
    document: Annotated[Optional[str], typer.Option("--document", help="Only this document (file name).")] = None,
    code_: Annotated[Optional[str], typer.Option("--code", help="Only this code and the codes below it.")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="open, accepted, rejected or disputed.")] = None,
    query: Annotated[Optional[str], typer.Option(
        "--query", help="Segments whose codes satisfy e.g. 'cooperation AND (human_rights OR rule_of_law)'.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show in the table (JSON shows all).")] = 50,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Stored codings with their status (open, accepted, rejected, disputed) and who decided."""
    with _errors(debug):
        frame = api.codings_list(db=db, codebook=codebook, method=method, document=document, code=code_,
                                 status=status, query=query)
    if as_json:
        _print_json({"rows": frame})
        return
    documents = ", ".join(sorted(set(frame["document"]))) or "no documents"
    _print_frame(f"First {min(limit, len(frame))} of {len(frame)} codings in {documents}",
                 _short(frame.head(limit), width=50),
                 ["id", "segment", "code", "method", "status", "accepted_by", "rejected_by", "text"])


def _decision_command(decision: str):
    def command(
        ids: Annotated[Optional[list[int]], typer.Argument(help="Suggestion ids (tiplens codings list).")] = None,
        coder: CoderOption = None,
        document: Annotated[Optional[str], typer.Option(
            "--document", help="With --segment and --code: decide on a code no coder suggested.")] = None,
        segment: Annotated[Optional[int], typer.Option("--segment", help="Segment number in the document.")] = None,
        code_: Annotated[Optional[str], typer.Option("--code", help="The code.")] = None,
        codebook: Annotated[Optional[str], typer.Option(
            "--codebook", help="The codebook of --code (default liberalism).")] = None,
        note: Annotated[str, typer.Option("--note", help="Why (kept in the audit trail).")] = "",
        db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
    ):
        with _errors(debug):
            twin = api.codings_accept if decision == "accept" else api.codings_reject
            frame = twin(ids, db=db, coder=coder, document=document, segment=segment, code=code_,
                         codebook=codebook, note=note)
        if as_json:
            _print_json({"decisions": frame})
            return
        for row in frame.itertuples():
            _say(f"{row.coder} {decision}s {row.code} on {row.document} segment {row.segment} "
                 f"(decision {row.decision_id}{', suggestion ' + str(row.suggestion_id) if row.suggestion_id is not None and str(row.suggestion_id) != '<NA>' else ''})")

    command.__doc__ = (f"{decision.capitalize()} suggested codes (by id), or a code on a segment; appended to "
                       "the audit trail (a later decision by the same person supersedes, never erases).")
    return command


codings_app.command("accept")(_decision_command("accept"))
codings_app.command("reject")(_decision_command("reject"))


@codings_app.command("agree")
def codings_agree(
    codebook: CodebookOption = "liberalism",
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Agreement per code between people and coders: percent, Cohen's kappa, PABAK, Fleiss, alpha."""
    import pandas as pd
    with _errors(debug):
        frame = api.codings_agree(db=db, codebook=codebook)
    if as_json:
        _print_json({"rows": frame})
        return
    pairs = frame[frame["rater_a"].notna()]
    keys = ["code", "rater_a", "rater_b", "n_items"]
    wide = pairs.set_index([*keys, "statistic"])["value"].unstack("statistic")
    wide = wide.reindex(pd.MultiIndex.from_frame(pairs[keys].drop_duplicates())).reset_index()
    _print_frame(f"Pairwise agreement on codebook {codebook} (machine:METHOD = a coder)", wide,
                 ["code", "rater_a", "rater_b", "n_items", "percent_agreement", "cohen_kappa", "pabak"],
                 {"percent_agreement": 3, "cohen_kappa": 3, "pabak": 3})
    together = frame[frame["rater_a"].isna()]
    overall = together.set_index(["code", "statistic"])["value"].unstack("statistic").reindex(
        together["code"].drop_duplicates()).reset_index()
    _print_frame("All raters together (alpha allows segments not every rater reviewed)", overall,
                 ["code", "fleiss_kappa", "krippendorff_alpha"], {"fleiss_kappa": 3, "krippendorff_alpha": 3})
    _say("An empty kappa is undefined: both raters gave one and the same label to every item.")
    _say("A person's label is 1 for codes they accepted on a segment they reviewed, 0 otherwise.")


@codings_app.command("export")
def codings_export(
    path: Annotated[Path, typer.Argument(help="Output file: .csv, .parquet or .xlsx.")],
    table: Annotated[str, typer.Option(
        "--table", help="codings, decisions (audit trail), frequencies, cooccurrence, quotes or segments.")] = "codings",
    codebook: Annotated[Optional[str], typer.Option("--codebook", help="Only this codebook.")] = "liberalism",
    method: Annotated[Optional[str], typer.Option("--method", help="Only this coder.")] = None,
    accepted: Annotated[bool, typer.Option("--accepted", help="Only codings a person accepted.")] = False,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Write codings, the decision audit trail, code frequencies, co-occurrence or quotes to a file."""
    with _errors(debug):
        result = api.codings_export(path, db=db, table=table, codebook=codebook, method=method, accepted=accepted)
    if as_json:
        _print_json(result)
        return
    _say(f"Wrote {result['rows']} rows ({result['table']}) to {result['path']}")


@codings_app.command("compare")
def codings_compare(
    paths: Annotated[Optional[list[Path]], typer.Argument(
        help="Documents to code with all three lenses (default: compare what is stored).")] = None,
    method: MethodOption = "dictionary",
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Lens comparison: liberalism, realism and constructivism per document and section."""
    with _errors(debug):
        frame = api.lens_compare(paths or None, db=db, method=method)
    if as_json:
        _print_json({"rows": frame})
        return
    lenses = [c[: -len("_share")] for c in frame.columns if c.endswith("_share")]
    _print_frame("Share of sentences with at least one code of each lens", _short(frame, "section", 40),
                 ["document", "section", "segments", *[f"{lens}_share" for lens in lenses], "dominant"],
                 {f"{lens}_share": 2 for lens in lenses})
    if len(frame):
        _say(f"Caveat: {frame['caveat'].iloc[0]}")


@codebook_app.command("list")
def codebook_list(db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False):
    """The codebooks: shipped and imported."""
    with _errors(debug):
        frame = api.codebook_list(db=db)
    if as_json:
        _print_json({"codebooks": frame})
        return
    _print_frame("Codebooks", frame, ["name", "version", "title", "codes", "top_level", "origin"])


@codebook_app.command("show")
def codebook_show(
    name: Annotated[str, typer.Argument(help="Codebook name or file.")] = "liberalism",
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """A codebook's codes: definitions, when to use, keywords and examples."""
    with _errors(debug):
        result = api.codebook_show(name, db=db)
    if as_json:
        _print_json(result)
        return
    meta = result["codebook"]
    _say(f"{meta['name']} {meta['version']}: {meta['title']} ({meta['origin']})")
    codes = result["codes"]
    _print_frame("Codes", codes, ["code", "parent", "name", "n_keywords", "n_examples"])
    for row in codes.itertuples():
        _say(f"{row.code}: {row.definition}")
        if row.keywords:
            _say(f"  keywords: {row.keywords}")


@codebook_app.command("export")
def codebook_export(
    name: Annotated[str, typer.Argument(help="Codebook name or file.")],
    path: Annotated[Path, typer.Argument(help="Output: .qdc (REFI-QDA, for NVivo, ATLAS.ti, MAXQDA, QualCoder) "
                                               "or .yaml.")],
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Export a codebook as REFI-QDA .qdc or YAML (nothing is lost: import reads it back whole)."""
    with _errors(debug):
        result = api.codebook_export(name, path, db=db)
    if as_json:
        _print_json(result)
        return
    _say(f"Wrote codebook {result['name']} {result['version']} ({result['codes']} codes) to {result['path']}")


@codebook_app.command("import")
def codebook_import(
    path: Annotated[Path, typer.Argument(help="A .qdc (REFI-QDA) or .yaml codebook.")],
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Import a codebook into the store (validated first; then --codebook NAME finds it)."""
    with _errors(debug):
        result = api.codebook_import(path, db=db)
    if as_json:
        _print_json(result)
        return
    verb = "Replaced" if result["replaced"] else "Imported"
    _say(f"{verb} codebook {result['name']} {result['version']} ({result['codes']} codes) from {result['path']}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("code")(code)
    app.add_typer(codings_app, name="codings")
    app.add_typer(codebook_app, name="codebook")
