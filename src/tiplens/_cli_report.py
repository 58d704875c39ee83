"""`tiplens report`: the whole analysis as one self-contained HTML document (or a PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._cli_common import DbOption, DebugOption, JsonOption, _errors, _print_json, out


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("report")(report)


def report(
    out_file: Annotated[Path, typer.Option("--out", help="Output file (.html; .pdf with --pdf).")] = Path(
        "tiplens-report.html"),
    pdf: Annotated[bool, typer.Option("--pdf", help="Print the report to PDF through headless Chromium.")] = False,
    sections: Annotated[list[str] | None, typer.Option(
        "--sections", help="Sections to include, by id (repeat or comma-separate): summary, data, trends, "
                           "hidden, lens, literature, victims, methods, references (default: all).")] = None,
    year_from: Annotated[int | None, typer.Option("--from", help="First year of the trend figures.")] = None,
    year_to: Annotated[int | None, typer.Option("--to", help="Last year of the trend figures.")] = None,
    periods: Annotated[str | None, typer.Option(
        "--periods", help="Periods of the pandemic comparison, e.g. pre=2017-2019,pandemic=2020-2021,post=2022-")] = None,
    panel: Annotated[str, typer.Option(
        "--panel", help="Panel of the breakdown figures: all, balanced or a FILE of ISO3 codes.")] = "all",
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Write the report: summary, data and coverage, trends, the hidden population, methods, references.

    One HTML file with every script and style inline (plotly.js once): it opens offline and asks
    nothing of the network. Every figure carries its source, edition, the countries behind it, its
    caveat and a CSV download of its data.
    """
    from ._api_report import report as _report
    with _errors(debug):
        result = _report(db=db, out=out_file, pdf=pdf, sections=sections, year_from=year_from, year_to=year_to,
                         periods=periods, panel=panel)
    if as_json:
        _print_json(result)
        return
    out.print(f"wrote {result['path']} ({result['size'] / 1e6:.1f} MB): {len(result['sections'])} sections "
              f"({', '.join(result['sections'])}), {result['figures']} figures, {result['tables']} tables",
              markup=False, highlight=False)
    for item in result["empty"]:
        out.print(f"no data for {item['id']}: {item['reason']}", markup=False, highlight=False)
