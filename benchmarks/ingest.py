"""Benchmark: ingest the GLOTIP xlsx and CSV into a fresh store, against what a user writes today.

Baseline (the usual notebook code): ``pandas.read_excel(path, skiprows=2)`` with pandas' default
engine (openpyxl), or ``pandas.read_csv(path)``, then the same parsing of ``txtVALUE`` (``<5`` →
interval 0-4, thousands separators) and the same filtering (questionnaire-code categories and
values above 100,000). tiplens does more (country harmonisation, citizenship mapping, shared-key
rules, provenance, a DuckDB transaction), so the comparison is generous to the baseline.

Streamed ingest (issue 7): GLOTIP-shaped CSVs of two generated sizes (the real 2025 CSV's records
repeated, ``tests/hostile.big_csv``), ingested through the streamed path and, as the baseline,
through the whole-file path (the streaming threshold set out of reach), side by side in the same
run: seconds and peak memory of each, and how much the streamed peak grows from the smaller file
to the larger (target: at most 1.3 times, and under 600 MB). One run each (they take minutes).

Each measurement runs in its own process so peak memory (max RSS) is its own; time is measured
inside the process after the imports (start-up excluded). Median of ``--repeat`` runs.

    python benchmarks/ingest.py [--data ../shared/data] [--repeat 3] [--quick] [--sizes 64 192]

Last line: ``RESULT {json}`` for ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, arguments
from run_all import figure, result_line

FILES = {"xlsx": "unodc_glotip/data_glotip_2025-04-14.xlsx", "csv": "unodc_glotip/data_glotip_2025-04-14.csv"}
TARGETS = {"xlsx": 1.5, "csv": 0.5}
MEMORY_TARGET_MB = 500
STREAMED_SIZES_MB = (64, 192)
STREAMED_MEMORY_TARGET_MB = 600
STREAMED_GROWTH_TARGET = 1.3

CHILD = r"""
import json, resource, sys, time
kind, how, path, db = sys.argv[1:5]
import pandas as pd
if how in ("tiplens", "streamed", "whole"):
    import tiplens as tl
    from tiplens.sources import _base
    if how != "tiplens":  # force one path: streamed always, or whole-file always
        _base.STREAM_FROM_BYTES = 0 if how == "streamed" else 1 << 62
    from tiplens.store import open_store
    import tiplens.harmonise.citizenship, tiplens.sources.glotip  # imports are start-up, not ingest
    t0 = time.perf_counter()
    store = open_store(db, with_default=False)
    result = tl.ingest([path], db=store, edition=None if kind == "xlsx" else "2025-04-14")
    store.close()
    seconds = time.perf_counter() - t0
    rows = result[0]["rows_loaded"]
else:
    t0 = time.perf_counter()
    frame = pd.read_excel(path, skiprows=2) if kind == "xlsx" else pd.read_csv(path)
    text = frame["txtVALUE"].astype(str).str.strip()
    censored = text.eq("<5")
    value = pd.to_numeric(text.str.replace(",", "", regex=False).where(~censored), errors="coerce")
    frame["lower"] = value.where(~censored, 0.0)
    frame["upper"] = value.where(~censored, 4.0)
    bad = frame["Category"].astype(str).str.match(r"^Q\d") | (value > 100_000)
    frame = frame[~bad]
    seconds = time.perf_counter() - t0
    rows = len(frame)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows}))
"""


def run(kind: str, how: str, path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        done = subprocess.run([sys.executable, "-c", CHILD, kind, how, str(path), db],
                              capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def streamed_figures(data: Path, sizes: tuple[int, int]) -> list[dict]:
    """Streamed against whole-file ingest of two generated CSVs (one run each)."""
    sys.path.insert(0, str(REPO / "tests"))
    from hostile import big_csv
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path, records = big_csv(Path(tmp) / f"glotip_{size}mb.csv", data / FILES["csv"], size)
            streamed, whole = run("csv", "streamed", path), run("csv", "whole", path)
            rows.append((size, path.stat().st_size / 1e6, records, streamed, whole))
            path.unlink()
    print("\nstreamed ingest of generated GLOTIP CSVs (whole-file path as the baseline, one run each)")
    print(f"{'file MB':>8} {'rows':>10} {'streamed s':>11} {'whole s':>8} {'streamed MB':>12} {'whole MB':>9} "
          f"{'memory ratio':>13}")
    figures = []
    for size, megabytes, records, streamed, whole in rows:
        print(f"{megabytes:8.0f} {records:10,} {streamed['seconds']:11.1f} {whole['seconds']:8.1f} "
              f"{streamed['peak_mb']:12.0f} {whole['peak_mb']:9.0f} {streamed['peak_mb'] / whole['peak_mb']:12.2f}x")
        figures.append(figure(f"streamed ingest, {megabytes:.0f} MB CSV: peak memory (max RSS)", streamed["peak_mb"],
                              "MB", target=f"< {STREAMED_MEMORY_TARGET_MB} MB", baseline=whole["peak_mb"]))
        figures.append(figure(f"streamed ingest, {megabytes:.0f} MB CSV: seconds", streamed["seconds"], "s",
                              baseline=whole["seconds"], note=f"{records} rows; baseline: the whole-file path"))
    growth = rows[1][3]["peak_mb"] / rows[0][3]["peak_mb"]
    whole_growth = rows[1][4]["peak_mb"] / rows[0][4]["peak_mb"]
    print(f"peak memory from {rows[0][1]:.0f} MB to {rows[1][1]:.0f} MB: streamed x{growth:.2f} (target <= "
          f"{STREAMED_GROWTH_TARGET}), whole-file x{whole_growth:.2f}")
    figures.append(figure("streamed ingest: peak memory, larger file / smaller file", growth, "x",
                          target=f"<= {STREAMED_GROWTH_TARGET} x", baseline=whole_growth,
                          note=f"files of {rows[0][1]:.0f} and {rows[1][1]:.0f} MB; baseline: the whole-file path"))
    return figures


def main() -> None:
    parser = arguments(__doc__, repeat=3, quick="One run of each, smaller generated files.")
    parser.add_argument("--sizes", type=int, nargs=2, default=STREAMED_SIZES_MB, metavar=("SMALL", "LARGE"),
                        help="Sizes in MB of the two generated CSVs for the streamed ingest.")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
        args.sizes = (40, 120)
    figures = []
    print(f"{'file':5} {'tiplens s':>10} {'baseline s':>11} {'speed-up':>9} {'target s':>9} "
          f"{'tiplens MB':>11} {'baseline MB':>12} {'rows (tiplens/baseline)':>24}")
    for kind, rel in FILES.items():
        path = args.data / rel
        ours = [run(kind, "tiplens", path) for _ in range(args.repeat)]
        base = [run(kind, "baseline", path) for _ in range(args.repeat)]
        t_ours = statistics.median(r["seconds"] for r in ours)
        t_base = statistics.median(r["seconds"] for r in base)
        m_ours = max(r["peak_mb"] for r in ours)
        m_base = max(r["peak_mb"] for r in base)
        verdict = "ok" if t_ours <= TARGETS[kind] and m_ours < MEMORY_TARGET_MB else "MISSED"
        print(f"{kind:5} {t_ours:10.3f} {t_base:11.3f} {t_base / t_ours:8.1f}x {TARGETS[kind]:9.1f} "
              f"{m_ours:11.0f} {m_base:12.0f} {ours[0]['rows']:>12}/{base[0]['rows']:<11} {verdict}")
        figures.append(figure(f"ingest GLOTIP 2025 {kind} into a fresh store", t_ours, "s",
                              target=f"<= {TARGETS[kind]} s", baseline=t_base))
        if kind == "xlsx":
            figures.append(figure("ingest xlsx: times faster than read_excel baseline", t_base / t_ours, "x",
                                  target=">= 3 x"))
        figures.append(figure(f"ingest {kind}: peak memory (max RSS)", m_ours, "MB",
                              target=f"< {MEMORY_TARGET_MB} MB", baseline=m_base))
    print(f"targets: xlsx <= 1.5 s and >= 3x faster than baseline; csv <= 0.5 s; peak memory < "
          f"{MEMORY_TARGET_MB} MB. Median of {args.repeat} runs; max RSS of each process.")
    figures += streamed_figures(args.data, tuple(args.sizes))
    print(result_line(figures))


if __name__ == "__main__":
    main()
