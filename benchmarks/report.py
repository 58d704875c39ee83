"""Benchmark: `tiplens report` from the embedded default, as a whole process, and its file size.

Runs the command the way a user does (`tiplens report --out FILE`, a new Python process, start-up
and imports included) against a store holding only the embedded default dataset. Beside it, in
the same run, the baseline: a Python process that writes ONE plotly figure with
``write_html(include_plotlyjs=True)`` (the smallest self-contained plotly page there is). Prints
median wall time and file size of each and their ratios. Targets on 2 cores: at most 5 s and at
most 10 MB. With ``--full`` it also times the report of a store with GLOTIP 2025 and the MSE lists.

    python benchmarks/report.py [--repeat 5] [--full] [--data ../shared/data] [--quick]

Last line: ``RESULT {json}`` for ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import arguments
from run_all import figure, result_line

TIPLENS = Path(sys.executable).with_name("tiplens")
BASELINE = """
import sys
import plotly.graph_objects as go
fig = go.Figure(go.Scatter(x=list(range(2003, 2023)), y=[i * 1000 for i in range(20)]))
fig.write_html(sys.argv[1], include_plotlyjs=True)
"""


def run(command: list[str], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the child process."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = arguments(__doc__, repeat=5, quick="Two runs of each (same targets).")
    parser.add_argument("--full", action="store_true", help="also time a store with GLOTIP and the MSE lists")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "default.duckdb"
        subprocess.run([str(TIPLENS), "sources", "--db", str(db), "--json"], check=True, stdout=subprocess.DEVNULL)
        out = tmp / "report.html"
        base_out = tmp / "baseline.html"
        report_s, report_cpu = run([str(TIPLENS), "report", "--db", str(db), "--out", str(out)], args.repeat)
        base_s, base_cpu = run([sys.executable, "-c", BASELINE, str(base_out)], args.repeat)
        size, base_size = out.stat().st_size, base_out.stat().st_size
        print(f"cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.1f}  repeat: {args.repeat} "
              "(medians; whole process; wall time grows with other load, CPU time much less)")
        print(f"{'':40s}{'wall s':>8s}{'CPU s':>8s}{'size MB':>9s}")
        verdict = "OK" if report_s <= 5 and size <= 10e6 else "MISSED"
        print(f"{'tiplens report (embedded default)':40s}{report_s:8.2f}{report_cpu:8.2f}{size / 1e6:9.2f}"
              f"   target <= 5 s, <= 10 MB: {verdict}")
        print(f"{'baseline: one plotly figure write_html':40s}{base_s:8.2f}{base_cpu:8.2f}{base_size / 1e6:9.2f}")
        print(f"{'ratio report / baseline':40s}{report_s / base_s:8.2f}{report_cpu / base_cpu:8.2f}"
              f"{size / base_size:9.2f}")
        if args.full:
            import tiplens as tl
            from tiplens._default import catalogue
            full = tmp / "full.duckdb"
            store = tl.open_store(full, with_default=True)
            tl.ingest([args.data / "unodc_glotip/data_glotip_2025-04-14.xlsx"], db=store)
            for item in catalogue()["mse_lists"]["files"]:
                tl.ingest([args.data / item["mirror_path"]], db=store, source="mse_lists", edition=item.get("edition"))
            store.close()
            full_out = tmp / "full.html"
            full_s, full_cpu = run([str(TIPLENS), "report", "--db", str(full), "--out", str(full_out)],
                                   max(1, args.repeat // 2))
            print(f"{'tiplens report (GLOTIP + MSE lists)':40s}{full_s:8.2f}{full_cpu:8.2f}"
                  f"{full_out.stat().st_size / 1e6:9.2f}")
        figures = [
            figure("report from the embedded default, whole process (wall)", report_s, "s", target="<= 5 s",
                   baseline=base_s),
            figure("report, CPU time of the process", report_cpu, "s", baseline=base_cpu),
            figure("report file size", size / 1e6, "MB", target="<= 10 MB", baseline=base_size / 1e6),
        ]
        if args.full:
            figures.append(figure("report with GLOTIP + MSE lists, whole process (wall)", full_s, "s"))
    print(result_line(figures))


if __name__ == "__main__":
    main()
