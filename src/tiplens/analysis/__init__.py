"""Analyses on the store's frames: DataFrame in, DataFrame out (no I/O, no printing).

``trends``: coverage-aware GLOTIP series; ``periods``: the pandemic comparison; ``plots``: charts
(import ``tiplens.analysis.plots`` explicitly: it loads plotly and matplotlib).
"""

from .periods import (DEFAULT_PERIODS, change_points, compare, interrupted_time_series, its_both_bounds,
                      parse_periods)
from .trends import CAVEAT, INDICATORS, balanced_panel, country_totals, flows, leave_one_out, series

__all__ = ["CAVEAT", "INDICATORS", "balanced_panel", "country_totals", "flows", "leave_one_out", "series",
           "DEFAULT_PERIODS", "change_points", "compare", "interrupted_time_series", "its_both_bounds",
           "parse_periods"]
