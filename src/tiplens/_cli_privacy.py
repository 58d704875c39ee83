"""`tiplens victims` and `tiplens privacy-ledger`: case-level victim data, only through disclosure control."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ._cli_common import (
    DbOption,
    DebugOption,
    JsonOption,
    TimeoutOption,
    _errors,
    _print_json,
    out,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("victims")(victims)
    app.command("privacy-ledger")(privacy_ledger)


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def victims(
    tables: Annotated[list[str] | None, typer.Argument(
        help="Declared tables to show (default: all), e.g. victims_by_year_sex.")] = None,
    k: Annotated[int, typer.Option("--k", help="Suppress counts from 1 to k-1 (at least 10, the default).")] = 10,
    suppress_zeros: Annotated[bool, typer.Option(
        "--suppress-zeros", help="Treat zero cells as disclosive too.")] = False,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="ctdc_kanon_2021 or ctdc_2017, when the store holds both.")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Also write the tables, one row per published value (.csv, .xlsx or .parquet).")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False, timeout: TimeoutOption = 10.0,
):
    """Case-level victim records (CTDC) as declared tables, after disclosure control.

    All declared tables are released together: counts from 1 to k-1 are suppressed, with
    complementary suppression so that none can be recovered from the totals, and the release is
    recorded in the privacy ledger (`tiplens privacy-ledger`). No other view of the records exists.
    """
    from ._api_privacy import victims as _victims
    with _errors(debug):
        result = _victims(db=db, tables=tables, k=k, suppress_zeros=suppress_zeros, dataset=dataset, out=out_file,
                          timeout=timeout)
    if as_json:
        _print_json(result)
        return
    if result["status"] != "published":
        _say(result["message"])
        return
    for table in result["tables"]:
        _wide(table, result["marker"])
        _say(f"  {table['published']} of {table['values']} values published; {table['suppressed']} suppressed: "
             f"{table['primary']} below k, {table['primary_zero']} zero cells, {table['secondary']} secondary "
             "(complementary).")
    _say(f"k = {result['k']}{', zero cells suppressed' if result['suppress_zeros'] else ''}; "
         f"release {result['release_id']}, recorded in the privacy ledger ({result['ledger_rows']} rows).")
    _say(f"Legend: {result['legend']}")
    _say(f"Source: CTDC dataset {result['dataset']}, edition {result['edition']} (file {result['file']}); "
         f"{result['countries']} countries of exploitation named in the records.")
    _say(f"Caveat: {result['caveat']}")
    if result.get("out"):
        _say(f"Wrote {result['out']}")


def _grid(title: str, header: list[str], rows: list[list[str]], right_from: int = 1) -> None:
    """Print a table at the width it needs (wider than the terminal if need be: a count cut to "…"
    would be worse than a wrapped line). Cells are plain Text: the marker's brackets would read as
    rich markup."""
    grid = Table(title=Text(title), title_justify="left")
    for i, name in enumerate(header):
        width = max([len(name), *(len(row[i]) for row in rows)])
        grid.add_column(Text(name), justify="right" if i >= right_from else "left", no_wrap=True, min_width=width)
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))
    needed = sum(max([len(h), *(len(r[i]) for r in rows)]) + 3 for i, h in enumerate(header)) + 1
    # a console of its own: Console.print never renders wider than its console
    Console(width=max(needed, out.width), soft_wrap=True).print(grid)


def _wide(table: dict, marker: str) -> None:
    """A declared table as rows × columns with its totals."""
    cells = table["cells"]
    rows = list(dict.fromkeys(cells["row"]))
    columns = list(dict.fromkeys(cells["column"]))
    shown = {(r, c): (marker if s else f"{int(n):,}")
             for r, c, n, s in cells[["row", "column", "count", "suppressed"]].itertuples(index=False, name=None)}
    _grid(f"{table['title']} ({table['name']}; rows: {table['row_label']}, columns: {table['column_label']})",
          [table["row_variable"], *map(str, columns)], [[str(r), *(shown[(r, c)] for c in columns)] for r in rows])


def privacy_ledger(
    full: Annotated[bool, typer.Option("--full", help="Every suppressed position, not only the summary.")] = False,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False, timeout: TimeoutOption = 10.0,
):
    """The privacy ledger: each release of case-level data, with its k and what it suppressed (never the values)."""
    from ._api_privacy import privacy_ledger as _ledger
    with _errors(debug):
        result = _ledger(db=db, timeout=timeout)
    if as_json:
        _print_json(result)
        return
    if not result["releases"]:
        _say("The privacy ledger is empty: no case-level data has been released from this store.")
        return
    summary = result["summary"]
    _grid(f"Privacy ledger: {result['releases']} releases (values of each table: published, suppressed, and "
          "the suppressed by rule)",
          ["release", "released (UTC)", "table", "k", "zeros", "published", "suppressed", "primary", "secondary"],
          [[str(r.release_id), str(r.released_at)[:19], str(r.table_name), str(r.k),
            "suppressed" if r.suppress_zeros else "shown", str(r.values_published), str(r.values_suppressed),
            str(r.primary), str(r.secondary)] for r in summary.itertuples(index=False)], right_from=3)
    if full:
        rows = result["rows"].fillna("")
        _grid("Suppressed positions (never the values)", ["release", "table", "row", "column", "cell", "rule"],
              [[str(v) for v in r] for r in rows[["release_id", "table_name", "row", "column", "cell", "rule"]]
               .itertuples(index=False, name=None)], right_from=6)
