"""The `tiplens serve` command (the dashboard)."""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from typing import Annotated

import typer

from ._cli_common import DbOption, DebugOption, _errors, err, out
from .errors import TiplensError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a TiplensError that says the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise TiplensError(f"port {port} on {host} is in use (another program, or another tiplens serve): "
                               f"choose another with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            raise TiplensError(f"cannot listen on {host}: not an address of this machine; use --host 127.0.0.1 "
                               "or one of this machine's addresses") from None
        raise TiplensError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --host or --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(
            "--host", help="Address to listen on. Anything but 127.0.0.1/localhost needs an access token.")] = DEFAULT_HOST,
        port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = DEFAULT_PORT,
        token: Annotated[str | None, typer.Option(
            "--token", help="Access token the browser must present (default on a non-local --host: a new "
                            "random one, printed).")] = None,
        db: DbOption = None, debug: DebugOption = False,
    ):
        """The dashboard: trends, flows, map, cooperation, models, literature and sources in a browser.

        Reads the store at start and on "Reload data" (and lets go of it in between, so `tiplens
        ingest` can run meanwhile). Listens on 127.0.0.1 unless told otherwise. Stop it with Ctrl+C.
        """
        with _errors(debug):
            if not is_loopback(host):
                if token is None:
                    token = secrets.token_urlsafe(24)
                err.print(f"warning: listening on {host}, reachable from other machines. Anyone with the "
                          "address below (it holds the access token) can read the data in this store; the "
                          "connection is not encrypted.", markup=False, highlight=False, soft_wrap=True)
            sock = bind_socket(host, port)
            try:
                from .web.app import create_app
                web_app = create_app(db=db, token=token)
            except BaseException:
                sock.close()
                raise
        import uvicorn
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{sock.getsockname()[1]}/" + (f"?token={token}" if token else "")
        out.print(f"tiplens dashboard on {url}  (Ctrl+C to stop)", markup=False, highlight=False, soft_wrap=True)
        config = uvicorn.Config(web_app, log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
