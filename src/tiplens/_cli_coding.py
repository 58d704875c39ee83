"""The `tiplens code`, `tiplens codings ...` and `tiplens codebook ...` commands."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
