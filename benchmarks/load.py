"""Load test: the dashboard held at 10, 50 and 100 clients, and once with no think time.

`tiplens serve` runs as its own process, on 127.0.0.1 and a free port only, over a temporary store
holding the embedded default data plus the GLOTIP 2025 release. Client threads (httpx) then, phase
after phase, each for --duration seconds:

* baseline: 50 clients fetch a static file of the same server (/static/app.js) once a second
  (what the machine and the client threads cost without any work in tiplens);
* 10, 50 and 100 clients each request a different view once a second: /trends, /flows and /map
  with filter combinations no one asked for before in this run (the app keeps no cache, and no
  URL is repeated, so no cache could help);
* no think time: --workers clients request new views as fast as the server answers.

For each phase: requests, throughput (answered requests per second), p50/p95/p99 latency, errors
(anything but a 200, or no answer within 30 s), and the server's resident memory (VmRSS from
/proc/PID/status) before and after. The load generator stops by itself after the last phase and
stops the server. Target (issue 7): 50 clients with p95 under 200 ms and no errors on 2 cores.

The last line printed is ``RESULT {json}`` with the figures, for benchmarks/run_all.py.

    python benchmarks/load.py [--data ../shared/data] [--duration 30] [--workers 16]
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
from _common import arguments, free_port, trend_filters

GLOTIP_XLSX = "unodc_glotip/data_glotip_2025-04-14.xlsx"
HOST = "127.0.0.1"  # never anything else: this script must not load a machine it does not run on
REQUEST_TIMEOUT = 30.0
TARGET_P95_MS = 200.0
STATIC_URL = "/static/app.js"


def view_urls(db: Path, seed: int = 0) -> list[str]:
    """Distinct valid /trends, /flows and /map URLs for the store's data, shuffled."""
    from tiplens.web.data import load
    data = load(db)
    regions, splits = trend_filters(data)
    first = min(a for a, _ in data.years.values())
    last = max(b for _, b in data.years.values())
    windows = [(a, b) for a in range(first, last + 1) for b in range(a + 1, last + 1)]
    urls = []
    for indicator, (have_first, have_last) in data.years.items():
        usable = [(a, b) for a, b in windows if b >= have_first and a <= have_last]
        for region, split, (start, end), panel in itertools.product(regions, splits, usable, ("all", "balanced")):
            params = {"indicator": indicator, "region": region, **split, "from": start, "to": end, "panel": panel}
            urls.append("/trends?" + urlencode({k: v for k, v in params.items() if v != ""}))
        for (start, end), domestic in itertools.product(usable, ("include", "exclude")):
            urls.append("/flows?" + urlencode({"indicator": indicator, "from": start, "to": end,
                                               "domestic": domestic}))
        for start, end in usable:
            urls.append("/map?" + urlencode({"indicator": indicator, "from": start, "to": end}))
    random.Random(seed).shuffle(urls)
    return urls


class UrlSource:
    """Hands out each view URL once; counts how many had to be reused if the list runs out."""

    def __init__(self, urls: list[str]):
        self.urls, self.position, self.reused = urls, 0, 0
        self.lock = threading.Lock()

    def next(self) -> str:
        with self.lock:
            url = self.urls[self.position % len(self.urls)]
            self.reused += self.position >= len(self.urls)
            self.position += 1
            return url


@dataclass
class Phase:
    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict = field(default_factory=dict)
    seconds: float = 0.0
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float, problem: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            if problem is not None:
                self.errors += 1
                self.error_kinds[problem] = self.error_kinds.get(problem, 0) + 1

    def percentiles(self) -> tuple[float, float, float]:
        if len(self.latencies) < 2:
            return (float("nan"),) * 3
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000

    @property
    def throughput(self) -> float:
        return (len(self.latencies) - self.errors) / self.seconds if self.seconds else 0.0


def _request(client: httpx.Client, url: str, phase: Phase) -> None:
    start = time.perf_counter()
    problem = None
    try:
        response = client.get(url)
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        problem = type(exc).__name__
    phase.add(time.perf_counter() - start, problem)


def run_phase(base: str, phase: Phase, duration: float, next_url, *, think: bool) -> None:
    """``phase.clients`` threads, each with its own connection, for ``duration`` seconds.

    With ``think``, each client sends one request a second (starting spread over the first second,
    and catching up at once when an answer took longer than a second); without, each sends the
    next request as soon as the previous one is answered.
    """
    def client_loop(index: int, deadline: float) -> None:
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
            if think:
                time.sleep(index / phase.clients)
            tick = time.monotonic()
            while time.monotonic() < deadline:
                _request(client, next_url(), phase)
                if think:
                    tick += 1.0
                    time.sleep(max(0.0, min(tick, deadline) - time.monotonic()))

    deadline = time.monotonic() + duration
    start = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(i, deadline), daemon=True) for i in range(phase.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + REQUEST_TIMEOUT + 5)
    phase.seconds = time.perf_counter() - start


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_server(db: Path, port: int, log_path: Path) -> subprocess.Popen:
    tiplens_cli = Path(sys.executable).with_name("tiplens")
    # the server's output goes to a file: an unread pipe would fill and stall the server
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - the child holds it; closed with the run
    return subprocess.Popen([str(tiplens_cli), "serve", "--db", str(db), "--host", HOST, "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, text=True)


def wait_until_up(base: str, server: subprocess.Popen, log_path: Path, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            httpx.get(base + STATIC_URL, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start: {log_path.read_text()}") from None
            time.sleep(0.2)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of each phase (default 30).")
    parser.add_argument("--workers", type=int, default=16, help="Clients of the no-think-time phase.")
    parser.add_argument("--levels", default="10,50,100", help="Client counts of the paced phases.")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    import tiplens as tl
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.duckdb"
        store = tl.open_store(db, with_default=True)
        tl.ingest([args.data / GLOTIP_XLSX], db=store)
        store.close()
        urls = UrlSource(view_urls(db))
        port = free_port(HOST)
        log_path = Path(tmp) / "serve.log"
        server = start_server(db, port, log_path)
        base = f"http://{HOST}:{port}"
        try:
            wait_until_up(base, server, log_path)
            for page in ("/", "/trends", "/flows", "/map"):  # warm the imports, as a user's first pages do
                httpx.get(base + page, timeout=60)
            rss_start = rss_mb(server.pid)
            plan = [(Phase("static file (baseline)", 50), lambda: STATIC_URL, True)]
            plan += [(Phase(f"{n} clients, 1 view/s each", n), urls.next, True) for n in levels]
            plan += [(Phase(f"{args.workers} clients, no think time", args.workers), urls.next, False)]
            for phase, next_url, think in plan:
                phase.rss_before_mb = rss_mb(server.pid)
                run_phase(base, phase, args.duration, next_url, think=think)
                phase.rss_after_mb = rss_mb(server.pid)
                phases.append(phase)
                print(f"  done: {phase.name} ({len(phase.latencies)} requests)", file=sys.stderr, flush=True)
            rss_end = rss_mb(server.pid)
            alive = server.poll() is None
        finally:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            logged = log_path.read_text(encoding="utf-8", errors="replace")
    problems = [line for line in logged.splitlines() if "Traceback" in line or "ERROR" in line]
    report(phases, args, rss_start, rss_end, alive, urls, problems)


def report(phases: list[Phase], args, rss_start: float, rss_end: float, alive: bool, urls: UrlSource,
           problems: list[str]) -> None:
    cores = len(os.sched_getaffinity(0))
    print(f"tiplens serve on {HOST}, store: embedded default + GLOTIP 2025; {cores} cores; "
          f"{args.duration:.0f} s per phase; {urls.position} view requests, {urls.reused} of them repeated URLs")
    print(f"{'phase':34} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6} "
          f"{'RSS MB before→after':>20}")
    for phase in phases:
        p50, p95, p99 = phase.percentiles()
        print(f"{phase.name:34} {len(phase.latencies):8d} {phase.throughput:7.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} "
              f"{phase.errors:6d} {phase.rss_before_mb:9.0f} → {phase.rss_after_mb:6.0f}")
        if phase.error_kinds:
            print(f"{'':34} errors: {phase.error_kinds}")
    print(f"server memory: {rss_start:.0f} MB after warm-up, {rss_end:.0f} MB after all phases "
          f"({rss_end - rss_start:+.0f} MB); server {'still running' if alive else 'DIED'} at the end")
    if problems:
        print(f"the server logged {len(problems)} errors, first: {problems[0]}")
    baseline = phases[0]
    base_p95 = baseline.percentiles()[1]
    figures = []
    target_met = None
    for phase in phases[1:]:
        p95 = phase.percentiles()[1]
        target = f"< {TARGET_P95_MS:.0f} ms" if phase.clients == 50 and "think" not in phase.name else ""
        if target:
            target_met = p95 < TARGET_P95_MS and phase.errors == 0
        figures.append({"name": f"dashboard load: p95, {phase.name}", "target": target, "measured": round(p95, 1),
                        "baseline": round(base_p95, 1), "ratio": round(p95 / base_p95, 2) if base_p95 else None,
                        "unit": "ms"})
        figures.append({"name": f"dashboard load: errors, {phase.name}", "target": "0" if target else "",
                        "measured": phase.errors, "baseline": baseline.errors, "ratio": None, "unit": "requests"})
        figures.append({"name": f"dashboard load: throughput, {phase.name}", "target": "", "measured":
                        round(phase.throughput, 1), "baseline": round(baseline.throughput, 1),
                        "ratio": round(phase.throughput / baseline.throughput, 2) if baseline.throughput else None,
                        "unit": "req/s"})
    figures.append({"name": "dashboard load: server memory growth over all phases", "target": "",
                    "measured": round(rss_end - rss_start, 1), "baseline": round(rss_start, 1),
                    "ratio": round(rss_end / rss_start, 2) if rss_start else None, "unit": "MB"})
    if target_met is not None:
        print(f"target (50 clients: p95 < {TARGET_P95_MS:.0f} ms, no errors): {'met' if target_met else 'NOT met'}")
    print("RESULT " + json.dumps({"figures": figures}))


if __name__ == "__main__":
    main()
