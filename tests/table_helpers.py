"""Small helpers shared by the tests."""

from __future__ import annotations

import pandas as pd


def one_row(frame: pd.DataFrame, **key) -> pd.Series:
    """The single row of ``frame`` whose columns equal ``key`` (fails the test if not exactly one)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in key.items():
        mask &= frame[column].eq(value)
    rows = frame[mask]
    assert len(rows) == 1, rows
    return rows.iloc[0]
