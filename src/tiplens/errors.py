"""The one exception family for mistakes a user can fix.

Data problems *inside* a file are not exceptions: they become quarantine rows.
Everything raised here carries a message that names the file (and row and column
where there is one) and says what to do; the CLI prints it on one line and exits 1.
"""

from __future__ import annotations


class TiplensError(Exception):
    """A problem the user can fix: a bad file, a wrong option, a busy store."""


class InputFileError(TiplensError):
    """A file cannot be read as the source it claims (or is detected) to be."""

    def __init__(self, path, problem: str, fix: str, *, row: int | None = None, column: str | None = None):
        self.path, self.problem, self.fix, self.row, self.column = str(path), problem, fix, row, column
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}. {fix}")


class StoreBusyError(TiplensError):
    """Another process holds the store for writing."""
