"""`tiplens lens coverage` and `tiplens lens models` (added to the lens sub-app by _cli_lens)."""

import typer


def add_commands(lens_app: typer.Typer) -> None:
    """Add the coverage and models commands to the ``lens`` sub-app."""
