"""`tiplens serve` in its own process on a free port of 127.0.0.1, for tests over real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


@contextmanager
def serving(db: Path, log: Path, *, start_seconds: float = 120) -> Iterator[dict]:
    """Start the dashboard over the store ``db`` (output to ``log``); yields port, process, log and
    base url once the server answers, and stops it afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with log.open("w") as handle:
        process = subprocess.Popen([str(Path(sys.executable).with_name("tiplens")), "serve", "--db", str(db),
                                    "--port", str(port)], stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + start_seconds
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/static/app.js", timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"tiplens serve did not start: {log.read_text()}")
            time.sleep(0.2)
    try:
        yield {"port": port, "process": process, "log": log, "url": f"http://127.0.0.1:{port}"}
    finally:
        process.terminate()
        process.wait(15)
