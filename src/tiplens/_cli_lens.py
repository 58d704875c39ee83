"""The `tiplens lens` commands: the seed paper's Table from the knowledge base and the cooperation
network (coverage and models are added by `_cli_lens_analysis`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._cli_common import DbOption, DebugOption, JsonOption, _errors, _print_frame, _print_json, out

lens_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                       help="The liberal lens: the cooperation regime as a knowledge base and a network.")

KbOption = Annotated[Optional[list[Path]], typer.Option(
    "--kb", help="A YAML file that extends the knowledge base (documents, concepts, entities, relations, "
                 "memberships); repeat for several. See docs/lens.md.")]


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


@lens_app.command("table")
def table(
    region: Annotated[Optional[str], typer.Option("--region", help="Only this region of the paper's Table "
                                                                    "(ASEAN, Global, Europe, North America).")] = None,
    concept: Annotated[Optional[str], typer.Option("--concept", help="Only rows tagged with this concept "
                                                                      "(id or label, e.g. rule_of_law).")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the Table: .md, .csv or .xlsx.")] = None,
    kb: KbOption = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """The seed paper's Table regenerated from the knowledge base, every row with its corrections.

    The paper's cells are kept as printed; each row is linked to knowledge-base entities and
    concepts, and each correction names its source (or says that none is available).
    """
    from . import _api_lens
    with _errors(debug):
        frame = _api_lens.lens_table(db=db, region=region, concept=concept, extra=kb)
        if out_file is not None:
            _api_lens.write_lens_table(frame, out_file)
    if as_json:
        _print_json({"rows": frame})
        return
    _print_frame("The seed paper's Table, regenerated (paper's cells; tiplens concepts)", frame,
                 ["row", "region", "cooperating_entities", "concept", "concepts", "kb_entities"])
    for row in frame.itertuples():
        corrections = row.corrections.split(" | ") if row.corrections else []
        sources = row.correction_sources.split(" | ") if row.correction_sources else []
        for text, source in zip(corrections, sources):
            cited = source if source.startswith("source missing") else f"source: {source}"
            _say(f"Row {row.row} correction {text} ({cited})")
    _say(f"Note: {frame.attrs.get('caveat', '')}")
    if out_file is not None:
        _say(f"Wrote {out_file}")


@lens_app.command("network")
def network(
    mode: Annotated[str, typer.Option(
        "--mode", help="countries (countries x mechanisms), actors (actors x frameworks), all, "
                       "country-projection, framework-projection or actor-projection.")] = "countries",
    status: Annotated[Optional[list[str]], typer.Option(
        "--status", help="Membership statuses that count as ties (repeat; default party and member; also "
                         "signatory, not_bound, not_party, unknown).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the community detection and chart layout.")] = 42,
    graphml: Annotated[Optional[Path], typer.Option("--graphml", help="Write the graph as GraphML.")] = None,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="Write the node table (.csv/.parquet/.xlsx); the edges go beside it as NAME_edges.SUFFIX.")] = None,
    chart: Annotated[Optional[Path], typer.Option(
        "--chart", help="Draw the network: .html (interactive) or .png (static).")] = None,
    top: Annotated[int, typer.Option("--top", help="Rows of each table to print.")] = 15,
    kb: KbOption = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """The cooperation network: two-mode graphs and projections, with centralities, brokers between
    regions and communities.

    Countries are nodes by ISO3; a membership is a tie only if its status counts (party and member by
    default). Metrics: degree, betweenness, eigenvector centrality (largest component), Louvain
    communities (fixed seed), regions bridged (UN M49 regions of the countries a node links).
    """
    from . import _api_lens
    with _errors(debug):
        result = _api_lens.lens_network(db=db, mode=mode, extra=kb, seed=seed,
                                        **({"statuses": tuple(status)} if status else {}))
        written = _api_lens.write_network(result, graphml=graphml, out=out_file, chart=chart)
    if as_json:
        _print_json(result)
        return
    nodes, summary = result["nodes"], result["summary"]
    _say(f"Mode {summary['mode']}: {summary['nodes']} nodes ({summary['countries']} countries, "
         f"{summary['frameworks']} frameworks, {summary['actors']} actors), {summary['edges']} ties, "
         f"density {summary['density']:.3f}, {summary['components']} component(s), {summary['communities']} "
         f"communities (Louvain, seed {summary['seed']}); ties count statuses {', '.join(summary['statuses'])}.")
    _say(f"Data: {_data_line(summary['data'])}.")
    digits = {"degree_centrality": 3, "betweenness": 3, "eigenvector": 3, "region_diversity": 2}
    central = nodes.sort_values(["betweenness", "degree"], ascending=False).head(top)
    _print_frame(f"Most central nodes (by betweenness; top {top})", central,
                 ["id", "kind", "region", "degree", "degree_centrality", "betweenness", "eigenvector", "community"],
                 digits)
    brokers = nodes[nodes["kind"] != "country"].dropna(subset=["regions_bridged"])
    if len(brokers):
        brokers = brokers.sort_values(["region_diversity", "betweenness"], ascending=False).head(top)
        _print_frame("Brokers between regions (UN M49 regions of the countries each node links)", brokers,
                     ["id", "kind", "countries_linked", "regions_bridged", "region_diversity", "regions"], digits)
    _print_frame("Communities", result["communities"].assign(members=result["communities"]["members"].str.slice(0, 90)),
                 ["community", "size", "members"])
    for note in result["notes"]:
        _say(f"Note: {note}")
    for path in written:
        _say(f"Wrote {path}")


def _data_line(items: list[str]) -> str:
    """'membership edition 2025-11 (12 datasets); records_...' from 'source/dataset edition E' items."""
    groups: dict[str, int] = {}
    others = []
    for item in items:
        if "/" in item and " edition " in item:
            source, _, rest = item.partition("/")
            key = f"{source} edition {rest.partition(' edition ')[2]}"
            groups[key] = groups.get(key, 0) + 1
        else:
            others.append(item)
    parts = [f"{key} ({n} dataset{'s' if n > 1 else ''})" for key, n in groups.items()] + others
    return "; ".join(parts) or "no membership data in the store"


def register(app: typer.Typer) -> None:
    """Add the ``lens`` sub-app to the main app."""
    app.add_typer(lens_app, name="lens")


from ._cli_lens_analysis import add_commands  # noqa: E402  (the coverage and models commands)

add_commands(lens_app)
