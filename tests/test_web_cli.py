"""`tiplens serve`: where it listens, when it needs a token, and what it says when the port is taken."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import tiplens
from tiplens._cli_web import bind_socket, is_loopback
from tiplens.cli import app

TIPLENS = Path(sys.executable).with_name("tiplens")


@pytest.fixture(scope="module")
def default_store(tmp_path_factory):
    """The embedded default only: enough to serve every page (GLOTIP pages then say it is missing)."""
    path = tmp_path_factory.mktemp("web_cli") / "store.duckdb"
    tiplens.open_store(path, with_default=True).close()
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str]) -> tuple[subprocess.Popen, str]:
    """Start `tiplens serve` and return the process and the first line it prints (the address)."""
    process = subprocess.Popen([str(TIPLENS), "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail(f"serve printed nothing: {process.stderr.read()}")
    return process, line.strip()


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _, stderr = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr


def _get(url: str, **kwargs) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=10, **kwargs)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")


def test_a_port_in_use_gives_one_line_and_exit_1(default_store):
    taken = bind_socket("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--db", str(default_store)])
    finally:
        taken.close()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [(f"error: port {port} on 127.0.0.1 is in use (another program, or another tiplens serve): "
                      "choose another with --port")]


def test_serve_listens_on_loopback_without_token_by_default(default_store):
    port = _free_port()
    process, line = _start(["--port", str(port), "--db", str(default_store)])
    try:
        assert line.startswith(f"tiplens dashboard on http://127.0.0.1:{port}/ ")
        response = _get(f"http://127.0.0.1:{port}/trends")
        assert response.status_code == 200 and "GLOTIP not loaded" in response.text
    finally:
        stderr = _stop(process)
    assert "warning" not in stderr


def test_another_host_needs_a_token_and_gets_a_warning(default_store):
    port = _free_port()
    process, line = _start(["--host", "0.0.0.0", "--port", str(port), "--db", str(default_store)])
    try:
        assert "?token=" in line
        token = line.split("?token=")[1].split()[0]
        assert len(token) >= 24
        assert _get(f"http://127.0.0.1:{port}/").status_code == 401
        assert _get(f"http://127.0.0.1:{port}/?token=not-{token}").status_code == 403
        assert _get(f"http://127.0.0.1:{port}/?token={token}").status_code == 200
    finally:
        stderr = _stop(process)
    assert stderr.startswith("warning: listening on 0.0.0.0, reachable from other machines")


def test_a_given_token_is_used(default_store):
    port = _free_port()
    process, line = _start(["--port", str(port), "--token", "my-own-token", "--db", str(default_store)])
    try:
        assert line.endswith("?token=my-own-token  (Ctrl+C to stop)")
        assert _get(f"http://127.0.0.1:{port}/sources").status_code == 401
        assert _get(f"http://127.0.0.1:{port}/sources",
                    headers={"Authorization": "Bearer my-own-token"}).status_code == 200
    finally:
        _stop(process)
