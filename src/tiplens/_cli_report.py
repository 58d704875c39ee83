"""The `tiplens report` commands (work in progress: registered, none yet)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
