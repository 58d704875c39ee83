"""Benchmark: the dashboard under 20 clients, each asking for a filter combination nobody asked before.

`tiplens serve` runs as its own process on a store holding the GLOTIP 2025 release. In the same run,
and from the same 20 client threads:

1. baseline: each client fetches a static file served by the same server (/static/app.js) once a
   second for --duration seconds;
2. views: each client requests a different, never-repeated filter combination of /trends or /flows
   (so no cache could help) once a second for --duration seconds;
3. throughput: 8 clients with no think time, first on the static file, then on new combinations,
   for a third of --duration each: the most requests per second the server sustains.

Prints p50/p95/p99 latency and errors for each, and the ratios of views to the static baseline.
Targets: p95 at most 100 ms for the views, no errors.

    python benchmarks/dashboard.py [--data ../shared/data] [--duration 30] [--clients 20] [--quick]

``--quick`` shortens each phase to 10 s (same clients, same targets).
Last line: ``RESULT {json}`` for ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import itertools
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from _common import arguments, free_port, trend_filters
from run_all import figure, result_line

GLOTIP_XLSX = "unodc_glotip/data_glotip_2025-04-14.xlsx"


def combinations(db: Path, seed: int = 0) -> list[str]:
    """Every distinct, valid trends/flows URL for the store's data, shuffled."""
    from tiplens.web.data import load
    data = load(db)
    regions, splits = trend_filters(data)
    urls = []
    for indicator, (first, last) in data.years.items():
        windows = [(a, b) for a in range(first, last + 1) for b in range(a + 2, last + 1)]
        for region, split, (start, end), panel in itertools.product(regions, splits, windows, ("all", "balanced")):
            params = {"indicator": indicator, "region": region, **split, "from": start, "to": end, "panel": panel}
            urls.append("/trends?" + urlencode({k: v for k, v in params.items() if v != ""}))
        for (start, end), domestic in itertools.product(windows, ("include", "exclude")):
            urls.append("/flows?" + urlencode({"indicator": indicator, "from": start, "to": end,
                                               "domestic": domestic}))
    random.Random(seed).shuffle(urls)
    return urls


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1


def _get(client: httpx.Client, url: str, recorder: Recorder, kind: str) -> None:
    start = time.perf_counter()
    try:
        ok = client.get(url).status_code == 200
    except httpx.HTTPError:
        ok = False
    recorder.add(kind, time.perf_counter() - start, ok)


def paced(base: str, clients: int, duration: float, next_url, recorder: Recorder) -> None:
    """Each client sends one request a second (a fresh URL from next_url) for duration seconds."""
    def client_loop(index: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            time.sleep(index / clients)  # spread the clients over the second
            deadline = time.monotonic() + duration
            tick = time.monotonic()
            while tick < deadline:
                url, kind = next_url()
                _get(client, url, recorder, kind)
                tick += 1.0
                time.sleep(max(0.0, tick - time.monotonic()))
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def flat_out(base: str, workers: int, duration: float, next_url, recorder: Recorder) -> float:
    """Requests per second with no think time."""
    done = [0]
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + duration
            while time.monotonic() < deadline:
                url, kind = next_url()
                _get(client, url, recorder, kind)
                with lock:
                    done[0] += 1
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.perf_counter() - start)


def percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of each paced phase.")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8, help="Clients of the no-think-time phase.")
    parser.add_argument("--quick", action="store_true", help="10 s phases (same clients, same targets).")
    args = parser.parse_args()
    if args.quick:
        args.duration = 10.0
    import tiplens as tl
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        tl.ingest([args.data / GLOTIP_XLSX], db=db)
        urls = iter(combinations(db))
        lock = threading.Lock()

        def next_view():
            with lock:
                url = next(urls)
            return url, url.split("?")[0]

        def static():
            return "/static/app.js", "static file"

        port = free_port()
        tiplens_cli = Path(sys.executable).with_name("tiplens")
        # the server's output goes to a file: an unread pipe would fill and stall the server
        server_log = open(Path(tmp) / "serve.log", "w+", encoding="utf-8")  # noqa: SIM115 - closed below
        server = subprocess.Popen([str(tiplens_cli), "serve", "--db", str(db), "--port", str(port)],
                                  stdout=server_log, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/static/app.js", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        server_log.seek(0)
                        raise SystemExit(f"server did not start: {server_log.read()}")
                    time.sleep(0.2)
            for page in ("/", "/trends", "/flows"):  # warm the imports, as a user's first pages do
                httpx.get(base + page, timeout=30)
            paced_runs = Recorder()
            paced(base, args.clients, args.duration, static, paced_runs)
            paced(base, args.clients, args.duration, next_view, paced_runs)
            flat = Recorder()
            static_rate = flat_out(base, args.workers, args.duration / 3, static, flat)
            view_rate = flat_out(base, args.workers, args.duration / 3, next_view, flat)
        finally:
            server.terminate()
            server.wait(10)
            server_log.seek(0)
            problems = [line for line in server_log.read().splitlines() if "Traceback" in line or "ERROR" in line]
            server_log.close()

    print(f"{args.clients} clients, one request a second each, {args.duration:.0f} s per phase "
          f"(every view URL requested once: uncached)")
    print(f"{'requests':28} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    static_p95 = percentiles(paced_runs.latencies["static file"])[1]
    for kind in ("static file", "/trends", "/flows"):
        values = paced_runs.latencies.get(kind, [])
        if len(values) < 2:
            continue
        p50, p95, p99 = percentiles(values)
        print(f"{kind:28} {len(values):6d} {p50:8.1f} {p95:8.1f} {p99:8.1f} {paced_runs.errors.get(kind, 0):7d}")
    views = paced_runs.latencies.get("/trends", []) + paced_runs.latencies.get("/flows", [])
    p50, p95, p99 = percentiles(views)
    errors = paced_runs.errors.get("/trends", 0) + paced_runs.errors.get("/flows", 0)
    print(f"{'all views':28} {len(views):6d} {p50:8.1f} {p95:8.1f} {p99:8.1f} {errors:7d}")
    print(f"views p95 = {p95 / static_p95:.1f}x the static file's; target p95 <= 100 ms, no errors: "
          f"{'met' if p95 <= 100 and errors == 0 else 'NOT met'}")
    flat_errors = sum(flat.errors.values())
    print(f"no think time, {args.workers} clients: static file {static_rate:.0f} req/s, new views "
          f"{view_rate:.0f} req/s ({view_rate / static_rate:.2f}x), errors {flat_errors}")
    if problems:
        print(f"the server logged {len(problems)} errors, first: {problems[0]}")
    static_p50, _, static_p99 = percentiles(paced_runs.latencies["static file"])
    label = f"{args.clients} clients, 1 req/s, uncached"
    print(result_line([
        figure(f"dashboard views p95 ({label})", p95, "ms", target="<= 100 ms", baseline=static_p95),
        figure(f"dashboard views p50 ({label})", p50, "ms", baseline=static_p50),
        figure(f"dashboard views p99 ({label})", p99, "ms", baseline=static_p99),
        figure(f"dashboard view errors ({len(views)} requests)", errors, "errors", target="== 0 errors",
               baseline=paced_runs.errors.get("static file", 0)),
        figure(f"dashboard new views/s, no think time ({args.workers} clients)", view_rate, "req/s",
               baseline=static_rate),
        figure("dashboard errors, no think time + server log", flat_errors + len(problems), "errors",
               target="== 0 errors"),
    ]))


if __name__ == "__main__":
    main()
