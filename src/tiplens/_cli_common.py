"""What every command module shares: the common options, JSON output and the error guard."""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import TiplensError

out = Console(soft_wrap=True)
err = Console(stderr=True)

DbOption = Annotated[Optional[Path], typer.Option(
    "--db", help="Store file (default: $TIPLENS_DB, else tiplens.duckdb in the user data directory).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
TimeoutOption = Annotated[float, typer.Option(
    "--timeout", help="Seconds to wait for a store that another process is writing.")]


def _plain(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if value.__class__.__name__ in ("NAType", "NaTType"):
        return None
    if value.__class__.__name__ == "Timestamp":
        return value.isoformat()
    return value


def to_jsonable(obj):
    """DataFrames → list of records; numpy/pandas scalars and NaN → JSON values."""
    import pandas as pd
    if isinstance(obj, pd.DataFrame):
        return [{k: to_jsonable(v) for k, v in row.items()} for row in obj.to_dict("records")]
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return _plain(obj)


def _print_json(payload) -> None:
    sys.stdout.write(json.dumps(to_jsonable(payload), ensure_ascii=False, indent=1) + "\n")


@contextmanager
def _errors(debug: bool):
    try:
        yield
    except TiplensError as exc:
        if debug:
            raise
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _table(title: str, frame, columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, overflow="fold", no_wrap=i == 0)
    for row in frame[columns].itertuples(index=False):
        table.add_row(*("" if _plain(v) is None else str(_plain(v)) for v in row))
    return table


def _fmt(value, digits: int = 0) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _print_frame(title: str, frame, columns: list[str], digits: dict | None = None) -> None:
    digits = digits or {}
    shown = frame[columns].copy().astype(object)
    for col in columns:
        shown[col] = [_fmt(v, digits.get(col, 0)) for v in frame[col]]
    out.print(_table(title, shown, columns))
