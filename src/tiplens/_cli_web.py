"""The `tiplens serve` command (the dashboard)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
