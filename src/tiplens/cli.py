"""The ``tiplens`` command line: thin skins over the library (parse, call one function, print).

Every command takes ``--db PATH`` (default ``$TIPLENS_DB``, else the user data directory; a new
store is filled from the embedded default dataset) and ``--json`` (machine-readable output on
stdout, the shapes documented in ``docs/cli.md``). User mistakes print one line and exit 1;
``--debug`` shows the traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from . import _cli_coding, _cli_lens, _cli_privacy, _cli_report, _cli_review, _cli_web, api
from ._cli_common import (DbOption, DebugOption, JsonOption, TimeoutOption, _errors, _print_frame, _print_json,
                          _table, err, out)
from ._cli_common import to_jsonable  # noqa: F401  (re-exported: tests and users import it from here)
from .errors import TiplensError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="tiplens: human trafficking data, harmonised, with provenance. "
                       "Start with `tiplens panel`, or load files with `tiplens ingest`.")
@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to load (xlsx or csv as published).")],
    source: Annotated[Optional[str], typer.Option(
        "--source", help="Source name; by default detected from each file's content.")] = None,
    edition: Annotated[Optional[str], typer.Option(
        "--edition", help="Edition (release date or year) for files that do not state it.")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
    timeout: TimeoutOption = 10.0,
):
    """Load public data files into the store: all of them, or on any error none.

    Each file's source is detected from its content. Loading a source and edition that is already
    in the store replaces it; another edition lands beside it. Ends with rows read / loaded /
    quarantined per file (rows read = loaded + quarantined, always).
    """
    with _errors(debug):
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
            task = bar.add_task("ingest", total=len(paths) + 1)

            def progress(stage: str, path: Path) -> None:
                bar.update(task, description=f"{stage} {path.name}", advance=0 if stage == "writing" else 1)

            result = api.ingest(paths, db=db, source=source, edition=edition, progress=progress,
                                timeout=timeout)
            bar.update(task, completed=len(paths) + 1)
    if as_json:
        _print_json({"files": result})
        return
    for row in result:
        name = Path(row["path"]).name
        out.print(f"{name}: {row['source']}/{row['dataset']}, edition {row['edition']}: "
                  f"{row['rows_read']:,} rows read = {row['rows_loaded']:,} loaded + "
                  f"{row['rows_quarantined']:,} quarantined", markup=False, highlight=False)
        for old in row["replaced"]:
            out.print(f"  replaced {old['source']}/{old['dataset']} edition {old['edition']} "
                      f"({old['origin']}: {Path(old['path']).name})", markup=False, highlight=False)
        for note in row["notes"]:
            out.print(f"  {note}", markup=False, highlight=False)
    if any(row["rows_quarantined"] for row in result):
        out.print("See why rows were quarantined: tiplens quarantine", markup=False, highlight=False)


@app.command()
def sources(db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False):
    """What is loaded: one row per file, with its provenance and row counts."""
    with _errors(debug):
        frame = api.sources(db=db)
    if as_json:
        _print_json({"files": frame})
        return
    frame = frame.assign(file=[Path(p).name for p in frame["path"]],
                         loaded=frame["loaded_at"].astype(str).str[:16].replace("NaT", ""))
    out.print(_table("Loaded files", frame, ["source", "dataset", "edition", "origin", "rows_read",
                                             "rows_loaded", "rows_quarantined", "loaded", "file"]))


@app.command()
def quarantine(
    source: Annotated[Optional[str], typer.Option("--source", help="Only this source.")] = None,
    reason: Annotated[Optional[str], typer.Option(
        "--reason", help="Only reasons containing this text (e.g. 'not matched' lists the country "
                         "names that could not be matched).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show in the table (JSON shows all).")] = 50,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Rows that were not loaded, with file, row number, column and reason."""
    with _errors(debug):
        frame = api.quarantine(db=db, source=source, reason=reason)
    if as_json:
        _print_json({"rows": frame})
        return
    summary = frame.assign(reason=frame["reason"].str.split(":").str[0]).groupby(
        ["source", "edition", "reason"], as_index=False).size()
    out.print(_table("Quarantined rows by reason", summary, ["source", "edition", "reason", "size"]))
    if len(frame):
        out.print(_table(f"First {min(limit, len(frame))} of {len(frame)} rows", frame.head(limit),
                         ["source", "edition", "row_number", "column_name", "reason"]))


def _editions(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        source, sep, edition = pair.partition("=")
        if not sep or not source or not edition:
            raise TiplensError(f"--edition {pair!r}: write it as SOURCE=EDITION, e.g. glotip=2023-05-30")
        out[source.strip()] = edition.strip()
    return out


@app.command()
def panel(
    year_from: Annotated[Optional[int], typer.Option("--from", help="First year.")] = None,
    year_to: Annotated[Optional[int], typer.Option("--to", help="Last year.")] = None,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="Write the panel to this file: .csv, .parquet or .xlsx.")] = None,
    edition: Annotated[Optional[list[str]], typer.Option(
        "--edition", help="Use this edition of a source instead of the newest, as SOURCE=EDITION "
                          "(e.g. glotip=2023-05-30); repeat for several sources.")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """The country-year panel: GLOTIP totals with bounds, TIP tier, 3P, Palermo, covariates.

    One row per iso3 and year; the columns are documented in docs/panel.md
    (`tiplens panel --json` prints them under "columns").
    """
    with _errors(debug):
        frame = api.panel(db=db, year_from=year_from, year_to=year_to, editions=_editions(edition))
        if out_file is not None:
            api.write_table(frame, out_file)
    if as_json:
        _print_json({"columns": api.panel_columns(), "rows": frame})
        return
    from ._panel import describe
    coverage = describe(frame)
    have = coverage[coverage["countries"] > 0].assign(
        years=lambda t: t["first_year"].astype(str) + "-" + t["last_year"].astype(str))
    out.print(_table("Panel columns with data (countries and country-years with a value)", have,
                     ["column", "countries", "country_years", "years", "source"]))
    empty = coverage[coverage["countries"] == 0]
    if len(empty):
        sources = ", ".join(sorted(set(empty["source"])))
        out.print(f"No data in this store for: {', '.join(empty['column'])}. Load the files of "
                  f"{sources} with `tiplens ingest` (docs/sources.md says where to get them).",
                  markup=False, highlight=False)
    out.print(f"{len(frame)} country-years, {frame['iso3'].nunique()} countries, "
              f"{frame['year'].min()}-{frame['year'].max()}." if len(frame) else "The panel is empty.",
              markup=False, highlight=False)
    from .sources.glotip import CENSORING_NOTE
    out.print(f"Bounds: {CENSORING_NOTE}", markup=False, highlight=False)
    if out_file is not None:
        out.print(f"Wrote {out_file}", markup=False, highlight=False)


@app.command()
def fetch(
    names: Annotated[Optional[list[str]], typer.Argument(help="Sources to fetch (default: all).")] = None,
    mirror: Annotated[Optional[str], typer.Option(
        "--mirror", help="Base URL of a mirror laid out like the public data folder "
                         "(default: $TIPLENS_FETCH_MIRROR, else the official addresses).")] = None,
    net_timeout: Annotated[float, typer.Option("--net-timeout", help="Seconds to wait for a server.")] = 30.0,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Download the official files, check their checksums, cache them and ingest them."""
    with _errors(debug):
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
            tasks: dict[str, int] = {}

            def progress(name: str, done: int, total: int | None) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done)

            result = api.fetch(names or None, db=db, base_url=mirror, progress=progress, timeout=net_timeout)
    if as_json:
        _print_json({"files": result})
        return
    import pandas as pd
    frame = pd.DataFrame(result)
    cols = [c for c in ["source", "name", "status", "rows_read", "rows_loaded", "rows_quarantined", "message"]
            if c in frame.columns]
    out.print(_table("Fetched", frame, cols))


IndicatorOption = Annotated[str, typer.Option(
    "--indicator", help="detected_victims, suspected, prosecuted, convicted or offences.")]
EditionOption = Annotated[Optional[str], typer.Option(
    "--edition", help="GLOTIP edition to use (default: the newest in the store).")]


@app.command()
def trends(
    indicator: IndicatorOption = "detected_victims",
    by: Annotated[str, typer.Option("--by", help="world, region, subregion or country.")] = "world",
    breakdown: Annotated[Optional[str], typer.Option(
        "--breakdown", help="sex, age, form (of exploitation) or citizenship (domestic/foreign).")] = None,
    panel: Annotated[str, typer.Option(
        "--panel", help="all (every reporter), balanced (reported every year of the window) or a FILE "
                        "of ISO3 codes.")] = "all",
    year_from: Annotated[Optional[int], typer.Option("--from", help="First year.")] = None,
    year_to: Annotated[Optional[int], typer.Option("--to", help="Last year.")] = None,
    edition: EditionOption = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the rows (.csv/.parquet/.xlsx).")] = None,
    chart: Annotated[Optional[Path], typer.Option(
        "--chart", help="Draw the series with its coverage: .html (interactive) or .png (static).")] = None,
    influence: Annotated[Optional[int], typer.Option(
        "--influence", help="Instead of the series: the countries that move this year's world total most "
                            "(leave one country out).")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """A GLOTIP series by year with censoring bounds, countries reporting and country-mix sensitivity.

    lower/upper are the bounds that '<5' cells allow; countries is how many countries stand behind
    each value; ci_low/ci_high (shares and changes within a fixed panel only) show sensitivity to the
    mix of reporting countries, not sampling error: reporters are not a random sample.
    """
    from .analysis.trends import CAVEAT
    if influence is not None:
        with _errors(debug):
            table = api.leave_one_out(db=db, indicator=indicator, year=influence, panel=panel, edition=edition)
        if as_json:
            _print_json({"rows": table})
            return
        _print_frame(f"{indicator} {influence}: the countries that move the world total most", table.head(15),
                     ["iso3", "country_lower", "country_upper", "share_of_total"], {"share_of_total": 3})
        out.print(f"Caveat: {CAVEAT}", markup=False, highlight=False)
        return
    with _errors(debug):
        frame = api.trends(db=db, indicator=indicator, by=by, breakdown=breakdown, panel=panel,
                           year_from=year_from, year_to=year_to, edition=edition)
        if out_file is not None:
            api.write_table(frame, out_file)
        if chart is not None:
            api.write_chart(frame, chart, title=f"{indicator} by year ({by}, panel {panel})", caveat=CAVEAT)
    if as_json:
        _print_json({"rows": frame})
        return
    shown = frame.assign(population=frame["population_share"])
    cols = ["year", "group", "category", "lower", "upper", "countries", "population"]
    if frame["ci_low"].notna().any():
        cols += ["ci_low", "ci_high"]
    _print_frame(f"{indicator} ({by}, panel: {panel}); population = reporters' share of world population",
                 shown.head(200), cols, {"population": 2, "ci_low": 3, "ci_high": 3})
    if frame["ci_low"].notna().any():
        what = ", ".join(sorted(set(frame["ci_of"].dropna()))) if "ci_of" in frame else "shares or changes"
        out.print(f"ci_low/ci_high: bootstrap over countries for the {what} (sensitivity to the country mix).",
                  markup=False, highlight=False)
    if len(frame) > 200:
        out.print(f"... {len(frame)} rows in all (use --out or --json for every row)", markup=False)
    out.print(f"Caveat: {CAVEAT}", markup=False, highlight=False)


@app.command()
def flows(
    indicator: IndicatorOption = "detected_victims",
    by: Annotated[str, typer.Option("--by", help="region (M49 region of origin and of detection) or country.")]
    = "region",
    year_from: Annotated[Optional[int], typer.Option("--from", help="First year.")] = None,
    year_to: Annotated[Optional[int], typer.Option("--to", help="Last year.")] = None,
    edition: EditionOption = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the rows (.csv/.parquet/.xlsx).")] = None,
    chart: Annotated[Optional[Path], typer.Option("--chart", help="Draw a Sankey diagram (.html).")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Origin → detection flows of victims, summed over the years, from the citizenship categories
    that name one country (others cannot be placed and are left out: flows undercount foreign victims)."""
    from .analysis.plots import FLOWS_NOTE
    from .analysis.trends import CAVEAT
    with _errors(debug):
        frame = api.flows(db=db, indicator=indicator, level=by, year_from=year_from, year_to=year_to,
                          edition=edition)
        if out_file is not None:
            api.write_table(frame, out_file)
        if chart is not None:
            api.write_flows_chart(frame, chart)
    if as_json:
        _print_json({"rows": frame})
        return
    where = ["origin_region", "detection_region"] if by == "region" else ["origin_iso3", "detection_iso3"]
    _print_frame(f"{indicator}: origin → detection ({by}), largest first", frame.head(30),
                 [*where, "lower", "upper", "countries", "years"])
    if len(frame) > 30:
        out.print(f"... {len(frame)} flows in all (use --out or --json for every row)", markup=False)
    out.print(f"Note: {FLOWS_NOTE}", markup=False, highlight=False)
    out.print(f"Caveat: {CAVEAT}", markup=False, highlight=False)


@app.command()
def periods(
    indicator: IndicatorOption = "detected_victims",
    periods_text: Annotated[Optional[str], typer.Option(
        "--periods", help="Named periods, e.g. pre=2017-2019,pandemic=2020-2021,post=2022-2022 "
                          "(default: pre 2017-2019, pandemic 2020-2021, post 2022 to the last year).")] = None,
    panel: Annotated[Optional[list[str]], typer.Option(
        "--panel", help="Panels to compare side by side: all, balanced or a FILE of ISO3 codes "
                        "(repeat; default all and balanced).")] = None,
    edition: EditionOption = None,
    its: Annotated[bool, typer.Option("--its/--no-its", help="Also fit the interrupted time series "
                                                               "(balanced panel from 2010).")] = True,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the rows (.csv/.parquet/.xlsx).")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Before, during and after the pandemic: level and change per period, on each panel side by side,
    and an interrupted time series (level shifts against the pre-pandemic trend, country effects,
    country-clustered intervals, at both censoring bounds)."""
    with _errors(debug):
        frame = api.periods(db=db, indicator=indicator, periods=periods_text,
                            panels=tuple(panel) if panel else ("all", "balanced"), edition=edition)
        model = api.interrupted_time_series(db=db, indicator=indicator, edition=edition) if its else None
        if out_file is not None:
            api.write_table(frame, out_file)
    if as_json:
        _print_json({"rows": frame, "its": model if model is not None else []})
        return
    shown = frame.assign(years=frame["first_year"].astype(str) + "-" + frame["last_year"].astype(str),
                         per_year_low=frame["lower"], per_year_high=frame["upper"],
                         change_pct_low=frame["change_pct_lower"], change_pct_high=frame["change_pct_upper"])
    _print_frame(f"{indicator} per year, by period (bounds from censored cells)", shown,
                 ["panel", "period", "years", "countries", "per_year_low", "per_year_high", "change_pct_low",
                  "change_pct_high", "ci_low", "ci_high"],
                 {"change_pct_low": 1, "change_pct_high": 1, "ci_low": 1, "ci_high": 1})
    out.print("ci_low/ci_high: bootstrap over the countries of a fixed panel for change_pct (sensitivity to "
              "the country mix, not sampling error).", markup=False, highlight=False)
    for note in [*frame.attrs.get("notes", []), *sorted(set(n for n in frame["note"].dropna() if n))]:
        out.print(f"Note: {note}", markup=False, highlight=False)
    if model is not None:
        terms = model[model["term"].isin(["pandemic", "post"])] if "term" in model else model
        members = model.attrs.get("panel") or []
        _print_frame(f"Interrupted time series on a balanced panel of {len(members)} countries from 2010: "
                     "level shifts (log scale) against the pre-pandemic trend", terms,
                     ["bound", "term", "estimate", "ci_low", "ci_high", "p_value", "countries"],
                     {"estimate": 3, "ci_low": 3, "ci_high": 3, "p_value": 3})
        if model.attrs.get("note"):
            out.print(f"Note: {model.attrs['note']}", markup=False, highlight=False)
    if frame.attrs.get("caveat"):
        out.print(f"Caveat: {frame.attrs['caveat']}", markup=False, highlight=False)


@app.command()
def claims(
    file: Annotated[Optional[Path], typer.Argument(
        help="A claims file (YAML); default: the shipped sets (the seed paper, UNODC GLOTIP 2024).")] = None,
    edition: EditionOption = None,
    figure: Annotated[Optional[Path], typer.Option(
        "--figure", help="Also write the seed paper's figure regenerated from the data, with its "
                         "coverage (.html or .png).")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Check quantitative claims against the data: published vs measured, and a verdict with its reason."""
    with _errors(debug):
        frame = api.claims(file, db=db, edition=edition)
        if figure is not None:
            api.seed_figure(figure, db=db, edition=edition)
    if as_json:
        _print_json({"rows": frame})
        return
    _print_frame("Claims checked (lower-upper: what the data allow)", frame,
                 ["id", "published", "lower", "upper", "verdict"], {"lower": 1, "upper": 1})
    for row in frame.itertuples():
        out.print(f"{row.id}: {row.verdict}. {row.explanation}", markup=False, highlight=False)


@app.command()
def mse(
    file: Annotated[Path, typer.Argument(help="List-overlap table: one 0/1 column per list and a count column.")],
    threshold: Annotated[float, typer.Option("--threshold", help="p-value below which a list pair enters "
                                                                  "the model (stepwise selection).")] = 0.02,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates (each redoes the "
                                                                "model selection); 0 for none.")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed for the bootstrap.")] = 0,
    as_json: JsonOption = False, debug: DebugOption = False,
):
    """Estimate the hidden population from overlapping lists (multiple systems estimation)."""
    with _errors(debug):
        result = api.mse(file, threshold=threshold, bootstrap=bootstrap, seed=seed)
    if as_json:
        _print_json(result)
        return
    out.print(f"Observed cases: {result['observed']:,}", markup=False)
    out.print(f"Estimated total: {result['estimate']:,.0f} (95% interval {result['ci_low']:,.0f} to "
              f"{result['ci_high']:,.0f})", markup=False)
    if "bootstrap_low" in result:
        out.print(f"Bootstrap interval ({result['bootstrap_replicates']} replicates, selection redone): "
                  f"{result['bootstrap_low']:,.0f} to {result['bootstrap_high']:,.0f}", markup=False)
    out.print(f"Model: main effects + {', '.join(result['model']) or 'no interactions'}", markup=False)
    for warning in result.get("warnings", []):
        out.print(f"Warning: {warning}", markup=False, highlight=False)
    models = result["models"].assign(selected=lambda m: m["selected"].map({True: "yes", False: ""}))
    _print_frame("Model sensitivity: the best models by AIC (pairs = interaction terms)", models,
                 ["rank", "pairs", "delta_aic", "estimate", "ci_low", "ci_high", "selected"], {"delta_aic": 2})
    out.print(f"Caveat: {result['caveat']}", markup=False, highlight=False)


for _module in (_cli_lens, _cli_review, _cli_coding, _cli_report, _cli_web, _cli_privacy):
    _module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
