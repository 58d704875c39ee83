"""What every benchmark script shares: the data folder, its command line, timing and peak memory."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The public data folder: ``$TIPLENS_TEST_DATA``, else ``../shared/data`` beside the repository.
DATA = Path(os.environ.get("TIPLENS_TEST_DATA", REPO.parent / "shared" / "data"))


def arguments(doc: str, *, repeat: int | None = None, quick: str | None = None,
              data: bool = True) -> argparse.ArgumentParser:
    """A parser described by the script's docstring, with ``--data`` and, when asked for,
    ``--repeat`` (default ``repeat``) and ``--quick`` (help text ``quick``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if data:
        parser.add_argument("--data", type=Path, default=DATA,
                            help="The public data folder (default: $TIPLENS_TEST_DATA, else ../shared/data).")
    if repeat is not None:
        parser.add_argument("--repeat", type=int, default=repeat, help=f"Runs of each, median reported (default {repeat}).")
    if quick is not None:
        parser.add_argument("--quick", action="store_true", help=quick)
    return parser


def timed(function, repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now, on ``host`` (loopback: benchmarks load no other machine)."""
    import socket
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def trend_filters(data) -> tuple[list[str], list[dict]]:
    """The dashboard's /trends filter values for a loaded store (:func:`tiplens.web.data.load`):
    regions ("" = world) and breakdown choices ({} = none, {"sex": "each"}, {"sex": "Female"}, ...)."""
    breakdowns = ("sex", "age", "form")
    regions = [""] + data.regions()
    splits = [{}] + [{b: "each"} for b in breakdowns] + [{b: c} for b in breakdowns for c in data.categories(b)]
    return regions, splits
