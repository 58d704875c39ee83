"""Benchmark: `trends`, `periods` and `claims` on the full GLOTIP release, and the MSE bootstrap.

Each command's library twin runs against a store holding the GLOTIP 2025 release (it opens the
store, reads what it needs and computes, as the command does). Beside it, in the same run, a plain
pandas groupby computes the same world series from the raw CSV (the baseline a user writes today,
without bounds, coverage or sensitivity). Process start-up is excluded. Targets on 2 cores: each
command under 1 s; MSE with 1,000 bootstrap replicates on the six-list UK table under 30 s.

    python benchmarks/analysis.py [--data ../shared/data] [--repeat 3] [--quick]

Last line: ``RESULT {json}`` for ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from _common import arguments, timed
from run_all import figure, result_line

import tiplens as tl

GLOTIP_CSV = "unodc_glotip/data_glotip_2025-04-14.csv"


def baseline(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = frame[(frame.Indicator == "Detected trafficking victims") & (frame.Dimension == "Total")
                 & (frame.Sex == "Total") & (frame.Age == "Total")]
    text = rows.txtVALUE.str.strip()
    censored = text.eq("<5")
    value = pd.to_numeric(text.str.replace(",", "", regex=False).where(~censored), errors="coerce")
    rows = rows.assign(lower=value.where(~censored, 0.0), upper=value.where(~censored, 4.0))
    return rows.groupby("Year").agg(lower=("lower", "sum"), upper=("upper", "sum"),
                                    countries=("Iso3_code", "nunique"))


def main() -> None:
    args = arguments(__doc__, repeat=3, quick="One run of each (same targets).").parse_args()
    if args.quick:
        args.repeat = 1
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        tl.ingest([args.data / GLOTIP_CSV], db=db, edition="2025-04-14")
        tl.trends(db=db)  # warm the imports (start-up, not the command's work)
        base = timed(lambda: baseline(args.data / GLOTIP_CSV), args.repeat)
        results = {
            "trends (world, all, bootstrap 1000)": timed(lambda: tl.trends(db=db), args.repeat),
            "trends --breakdown sex --panel balanced": timed(
                lambda: tl.trends(db=db, breakdown="sex", panel="balanced", year_from=2017), args.repeat),
            "periods (all + balanced) + ITS both bounds": timed(
                lambda: (tl.periods(db=db), tl.interrupted_time_series(db=db)), args.repeat),
            "claims (shipped sets)": timed(lambda: tl.claims(db=db), args.repeat),
        }
    print(f"{'command':42} {'seconds':>8} {'x groupby time':>18} {'target':>7}")
    for name, seconds in results.items():
        verdict = "ok" if seconds < 1.0 else "MISSED"
        print(f"{name:42} {seconds:8.3f} {seconds / base:17.1f}x {'< 1 s':>7} {verdict}")
    print(f"{'plain pandas groupby (read CSV + sum)':42} {base:8.3f}")
    figures = [figure(name, seconds, "s", target="< 1 s", baseline=base) for name, seconds in results.items()]

    from tiplens.analysis import mse
    from tiplens.sources import mse_lists
    norm = mse_lists.normalise(mse_lists.read(args.data / "mse_modern_slavery_lists/UKdat.csv"))
    records = norm.records["mse_lists"]
    table = mse_lists.capture_table(records, records["study"].iloc[0])
    seconds = timed(lambda: mse.bootstrap(table, replicates=1000, seed=0), 1)
    print(f"{'mse bootstrap, 1,000 replicates (UK, 6 lists)':42} {seconds:8.3f} {'':>18} {'< 30 s':>7} "
          f"{'ok' if seconds < 30 else 'MISSED'}")
    print(f"Median of {args.repeat} runs; each includes opening the store and reading the observations.")
    figures.append(figure("mse bootstrap, 1,000 replicates (UK, 6 lists)", seconds, "s", target="< 30 s"))
    print(result_line(figures))


if __name__ == "__main__":
    main()
