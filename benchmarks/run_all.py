"""Run every benchmark and print one table: figure, target, measured, baseline, ratio.

Each benchmark is a script in this folder that runs on its own (``python benchmarks/X.py``) and
prints, as its last line, ``RESULT {json}``::

    RESULT {"figures": [{"name": "ingest GLOTIP xlsx", "target": "<= 1.5 s", "measured": 0.9,
                         "baseline": 4.2, "ratio": 0.21, "unit": "s", "met": true}, ...]}

``target`` is text: a comparison, a number and the unit (``"<= 1.5 s"``, ``">= 300 sent/s"``,
``"== 0 errors"``; a bare number means equal to it), or null (or "") for a figure shown for context. ``ratio`` is measured / baseline
(below 1 means less time, memory or latency than the baseline). ``met`` is optional: when a
script leaves it out it is read from the target. Scripts build the line with :func:`figure` and
:func:`result_line` below.

This runner starts each script in its own process (its own process group, killed whole on
timeout: several scripts start servers or child processes), reads that line, samples the load
average while the script runs (the machine may be shared), and prints the combined table. A
script that prints no such line is listed as "no machine-readable result", with its own output
kept under ``--log-dir`` if given.

    python benchmarks/run_all.py [--only NAME ...] [--quick] [--json] [--markdown]
                                 [--timeout SECONDS] [--log-dir DIR] [--save FILE]
    python benchmarks/run_all.py --from FILE [--markdown]     # print a saved run again

``--quick`` passes ``--quick`` to the scripts that declare it (fewer repeats, shorter phases;
the targets stay the same). The exit code is 1 when a benchmark crashed or timed out, else 0;
a missed target is a figure, not a failure of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

HERE = Path(__file__).resolve().parent
RESULT_PREFIX = "RESULT "
NO_RESULT = "no machine-readable result"

# Known benchmarks in the order they run, with a timeout in seconds for a full (not --quick) run
# on a busy 2-core machine. Any other script in this folder runs after them with DEFAULT_TIMEOUT.
KNOWN = {
    "ingest": 900,
    "analysis": 600,
    "mse": 600,
    "lens": 900,
    "report": 600,
    "dashboard": 600,
    "coding": 1500,
    "load": 1200,
}
DEFAULT_TIMEOUT = 900
# Quick options for scripts that do not declare --quick themselves (written by other people).
FALLBACK_QUICK = {"coding": ["--repeat", "1", "--sentences", "2000"], "load": ["--duration", "10"]}

_TARGET = re.compile(r"^\s*(<=|>=|==|<|>|=)?\s*([-+]?(?:\d[\d,]*)?\.?\d+(?:[eE][-+]?\d+)?)")


# ---------------------------------------------------------------------------------------------
# The protocol, for the benchmark scripts


def _number(value):
    """A JSON-safe float (NaN and infinities become None), or None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def target_met(target: str | None, measured: float | None) -> bool | None:
    """Whether ``measured`` satisfies a target such as ``"<= 1.5 s"``; None when it cannot say."""
    if target is None or measured is None:
        return None
    match = _TARGET.match(target)
    if match is None:
        return None
    op, bound = match.group(1) or "==", float(match.group(2).replace(",", ""))  # a bare number: equal to it
    return {"<=": measured <= bound, ">=": measured >= bound, "<": measured < bound,
            ">": measured > bound, "==": measured == bound, "=": measured == bound}[op]


def figure(name: str, measured: float | None, unit: str, target: str | None = None,
           baseline: float | None = None, met: bool | None = None, note: str | None = None) -> dict:
    """One row of a benchmark's result; ratio = measured / baseline, met read from the target."""
    measured, baseline = _number(measured), _number(baseline)
    ratio = measured / baseline if measured is not None and baseline else None
    row = {"name": name, "target": target, "measured": measured, "baseline": baseline,
           "ratio": _number(ratio), "unit": unit,
           "met": target_met(target, measured) if met is None else bool(met)}
    if note:
        row["note"] = note
    return row


def result_line(figures: list[dict]) -> str:
    """The line a benchmark prints last: ``RESULT`` and the figures as JSON."""
    return RESULT_PREFIX + json.dumps({"figures": figures}, allow_nan=False)


# ---------------------------------------------------------------------------------------------
# Running and parsing


@dataclass
class Outcome:
    """What one benchmark script gave: its figures, or why there are none."""

    name: str
    status: str  # "ok", NO_RESULT, "failed", "timed out", "bad RESULT line", "missing"
    figures: list[dict] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0
    load: dict = field(default_factory=dict)  # 1-minute load average while it ran: min, mean, max
    command: list[str] = field(default_factory=list)


def parse_result(stdout: str) -> tuple[list[dict] | None, str]:
    """The figures of the last ``RESULT`` line of a script's output, or None and why not.

    Missing keys are filled (ratio from measured / baseline, met from the target) so that
    hand-written lines and :func:`figure` rows look the same downstream.
    """
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        return None, NO_RESULT
    try:
        payload = json.loads(lines[-1][len(RESULT_PREFIX):])
        rows = payload["figures"]
        if not isinstance(rows, list):
            raise TypeError("'figures' is not a list")
        figures = []
        for row in rows:
            if not isinstance(row, dict) or "name" not in row or "measured" not in row:
                raise ValueError(f"figure without 'name' and 'measured': {row!r}")
            made = figure(str(row["name"]), row.get("measured"), str(row.get("unit") or ""),
                          target=row.get("target") or None, baseline=row.get("baseline"),
                          met=row.get("met"), note=row.get("note"))
            if row.get("ratio") is not None:
                made["ratio"] = _number(row["ratio"])
            figures.append(made)
    except (ValueError, TypeError, KeyError) as exc:
        return None, f"bad RESULT line: {exc}"
    return figures, ""


def declares_quick(script: Path) -> bool:
    return '"--quick"' in script.read_text(encoding="utf-8", errors="replace")


def quick_options(script: Path) -> list[str]:
    if declares_quick(script):
        return ["--quick"]
    return FALLBACK_QUICK.get(script.stem, [])


def discover(folder: Path = HERE) -> list[str]:
    """Known benchmarks first, in their order, then any other script of the folder."""
    present = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all"}
    return [name for name in KNOWN if name in present] + sorted(present - set(KNOWN))


class LoadSampler:
    """Samples the 1-minute load average every few seconds on a background thread."""

    def __init__(self, every: float = 5.0):
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.every):
                self.samples.append(os.getloadavg()[0])
                return

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        if not self.samples:
            return {}
        return {"min": min(self.samples), "mean": sum(self.samples) / len(self.samples),
                "max": max(self.samples), "samples": len(self.samples)}


def run_script(script: Path, timeout: float, extra: list[str] | None = None,
               log_dir: Path | None = None) -> Outcome:
    """Run one benchmark script in its own process group and read its RESULT line."""
    name = script.stem
    if not script.is_file():
        return Outcome(name, "missing", detail=f"{script} does not exist")
    command = [sys.executable, str(script), *(extra or [])]
    started = time.perf_counter()
    with LoadSampler() as load:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=script.parent.parent, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            # the whole group: servers and child processes the script started go with it
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            timed_out = True
    seconds = time.perf_counter() - started
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{name}.out").write_text(stdout, encoding="utf-8")
        (log_dir / f"{name}.err").write_text(stderr, encoding="utf-8")
    outcome = Outcome(name, "ok", seconds=seconds, load=load.summary(), command=command)
    figures, why = parse_result(stdout)
    if timed_out:
        outcome.status, outcome.detail = "timed out", f"killed after {timeout:.0f} s"
    elif process.returncode != 0:
        last = (stderr.strip().splitlines() or ["(no output on stderr)"])[-1]
        outcome.status, outcome.detail = "failed", f"exit code {process.returncode}: {last}"
    elif figures is None:
        outcome.status = NO_RESULT if why == NO_RESULT else "bad RESULT line"
        outcome.detail = why
    if figures is not None:
        outcome.figures = figures  # a script that crashed after printing its line still shows it
    return outcome


# ---------------------------------------------------------------------------------------------
# The machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def machine() -> dict:
    """CPU model, cores, RAM, Python, OS, date and load: what the figures depend on."""
    cpuinfo = _read("/proc/cpuinfo")
    cpu = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    family = re.search(r"^cpu family\s*:\s*(\d+)$", cpuinfo, re.MULTILINE)
    model = re.search(r"^model\s*:\s*(\d+)$", cpuinfo, re.MULTILINE)
    cpu_name = cpu.group(1).strip() if cpu else platform.processor() or platform.machine()
    if family and model:  # a virtual machine may show only "AMD EPYC": the family and model still tell
        cpu_name += f" (family {family.group(1)}, model {model.group(1)})"
    if re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.MULTILINE):
        cpu_name += ", virtual machine"
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    os_name = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', _read("/etc/os-release"), re.MULTILINE)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                                text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "cpu": cpu_name,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gb": round(int(mem.group(1)) / 1024 ** 2, 1) if mem else None,
        "python": platform.python_version(),
        "os": f"{os_name.group(1) if os_name else platform.system()} (kernel {platform.release()})",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "load_at_start": os.getloadavg(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    }


# ---------------------------------------------------------------------------------------------
# Printing


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100 or value == int(value):
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def rows(outcomes: list[Outcome]) -> list[list[str]]:
    table = []
    for outcome in outcomes:
        detail = "" if outcome.detail == outcome.status else outcome.detail[:70]
        if not outcome.figures:
            table.append([outcome.name, f"({outcome.status})", "", detail, "", "", ""])
            continue
        for item in outcome.figures:
            unit = f" {item['unit']}" if item["unit"] and item["measured"] is not None else ""
            base_unit = f" {item['unit']}" if item["unit"] and item["baseline"] is not None else ""
            verdict = {True: "yes", False: "MISSED", None: ""}[item["met"]]
            table.append([outcome.name, item["name"], item["target"] or "—", fmt(item["measured"]) + unit,
                          fmt(item["baseline"]) + base_unit,
                          "—" if item["ratio"] is None else f"{item['ratio']:.2f}x", verdict])
        if outcome.status != "ok":
            table.append([outcome.name, f"({outcome.status})", "", detail, "", "", ""])
    return table


HEADER = ["benchmark", "figure", "target", "measured", "baseline", "ratio", "met"]


def text_table(outcomes: list[Outcome]) -> str:
    body = rows(outcomes)
    widths = [max(len(r[i]) for r in [HEADER, *body]) for i in range(len(HEADER))]
    right = {3, 4, 5}
    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, body)])


def markdown_table(outcomes: list[Outcome]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows(outcomes)]
    return "\n".join(lines)


def load_text(load: dict) -> str:
    if not load:
        return "load —"
    return f"load {load['min']:.1f}–{load['max']:.1f} (mean {load['mean']:.1f})"


def summary_lines(info: dict, outcomes: list[Outcome]) -> list[str]:
    every = [o.load for o in outcomes if o.load]
    overall = (f"{min(x['min'] for x in every):.1f}–{max(x['max'] for x in every):.1f}" if every else "—")
    lines = [(f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
              f"{info['ram_gb']} GB RAM; Python {info['python']}; {info['os']}"),
             (f"run: {info['date']}, commit {info['commit'] or '?'}, OPENBLAS_NUM_THREADS={info['blas_threads']}; "
              f"1-min load average during the run {overall} (shared machine: other work ran too)")]
    for o in outcomes:
        lines.append(f"  {o.name:10} {o.status:28} {o.seconds:7.0f} s  {load_text(o.load)}")
    return lines


def as_json(info: dict, outcomes: list[Outcome], quick: bool) -> dict:
    return {"machine": info, "quick": quick, "benchmarks": [
        {"name": o.name, "status": o.status, "detail": o.detail, "seconds": round(o.seconds, 1),
         "load": o.load, "command": o.command, "figures": o.figures} for o in outcomes]}


def print_run(info: dict, outcomes: list[Outcome], quick: bool, as_json_text: bool, markdown: bool) -> None:
    if as_json_text:
        print(json.dumps(as_json(info, outcomes, quick), indent=2))
        return
    print(markdown_table(outcomes) if markdown else text_table(outcomes))
    print()
    print("\n".join(summary_lines(info, outcomes)))
    if quick:
        print("quick run: fewer repeats and shorter phases than the published figures")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="Run only this benchmark (repeatable, or comma-separated).")
    parser.add_argument("--quick", action="store_true", help="Pass --quick to the scripts that have it.")
    parser.add_argument("--json", action="store_true", help="Print machine and figures as JSON.")
    parser.add_argument("--markdown", action="store_true", help="Print the table as Markdown (for BENCHMARKS.md).")
    parser.add_argument("--timeout", type=float, help="Seconds per script (default: per script, see KNOWN).")
    parser.add_argument("--log-dir", type=Path, help="Keep each script's stdout and stderr here.")
    parser.add_argument("--save", type=Path, help="Also write the run as JSON to this file.")
    parser.add_argument("--from", dest="saved", type=Path, help="Print a run saved with --save; run nothing.")
    parser.add_argument("--folder", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.saved is not None:
        saved = json.loads(args.saved.read_text(encoding="utf-8"))
        outcomes = [Outcome(b["name"], b["status"], b["figures"], b["detail"], b["seconds"], b["load"], b["command"])
                    for b in saved["benchmarks"]]
        print_run(saved["machine"], outcomes, saved["quick"], args.json, args.markdown)
        return 0

    names = discover(args.folder)
    if args.only:
        wanted = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown benchmark {', '.join(unknown)}; valid: {', '.join(names)}")
        names = [n for n in names if n in wanted]

    info = machine()
    outcomes = []
    for name in names:
        script = args.folder / f"{name}.py"
        extra = quick_options(script) if args.quick else []
        timeout = args.timeout or KNOWN.get(name, DEFAULT_TIMEOUT)
        print(f"running {name} {' '.join(extra)} (timeout {timeout:.0f} s) ...", file=sys.stderr, flush=True)
        outcome = run_script(script, timeout, extra, args.log_dir)
        print(f"  {outcome.status}, {len(outcome.figures)} figures, {outcome.seconds:.0f} s, "
              f"{load_text(outcome.load)}", file=sys.stderr, flush=True)
        outcomes.append(outcome)

    if args.save is not None:
        args.save.write_text(json.dumps(as_json(info, outcomes, args.quick), indent=2) + "\n", encoding="utf-8")
    print_run(info, outcomes, args.quick, args.json, args.markdown)
    return 1 if any(o.status in ("failed", "timed out") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
