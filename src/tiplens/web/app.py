"""The dashboard's web app: routes, access token, error pages, downloads.

:func:`create_app` builds a FastAPI app over one store. Pages are rendered on the server from Jinja
templates (autoescaped) shared with the report (``tiplens/report/templates/_figure.html.j2``);
charts are drawn by plotly.js served from the installed plotly package, so the browser requests
nothing outside this server. The filter state lives in the query string, so a view can be shared
by its URL; ``?format=csv`` or ``?format=xlsx`` (with ``&view=ID`` to pick one of a page's views)
downloads the table behind a view.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from .._version import __version__
from ..api import StoreLike
from ..errors import StoreBusyError, TiplensError
from ..store import BUSY_TIMEOUT_SECONDS
from . import exports
from .data import DataHolder
from .pages import NAVIGATION, PAGES, FilterError, Filters, UnknownParameterError

HERE = Path(__file__).parent
REPORT_TEMPLATES = HERE.parent / "report" / "templates"
TOKEN_COOKIE = "tiplens_token"
#: Browsers may fetch and run only what this server sends (plotly needs inline styles; the shared
#: figure template draws each chart with a small inline script).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
                           "'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: The largest request body accepted (the reload form holds one short field).
MAX_BODY_BYTES = 16 * 1024
#: The longest path plus query string accepted (the longest filter address is a few hundred bytes).
MAX_TARGET_BYTES = 8 * 1024
#: The most header bytes accepted (names and values together).
MAX_HEADER_BYTES = 32 * 1024
#: Host names answered without a token besides loopback addresses. "testserver" is the name
#: Starlette's TestClient sends; no public DNS name ends like that, so a web page cannot use it.
LOCAL_HOST_NAMES = frozenset({"localhost", "testserver"})


def is_local_host_header(host: str) -> bool:
    """True if a Host header names this machine's loopback interface (``127.0.0.1:8000``,
    ``localhost``, ``[::1]:8000``...).

    Without a token this is what keeps other web sites out: a page on evil.example can point its
    own name at 127.0.0.1 (DNS rebinding) and read the dashboard through the user's browser, but
    the browser then sends ``Host: evil.example``.
    """
    name = host.strip().lower()
    if name.startswith("["):  # [IPv6]:port
        name = name[1:name.find("]")] if "]" in name else ""
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    name = name.rstrip(".")
    if name in LOCAL_HOST_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plotly_js_path() -> Path:
    """plotly.min.js as installed with the plotly package (never a CDN copy)."""
    import plotly
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _environment() -> jinja2.Environment:
    loaders = [jinja2.FileSystemLoader(HERE / "templates"), jinja2.FileSystemLoader(REPORT_TEMPLATES)]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals["navigation"] = NAVIGATION
    env.globals["version"] = __version__
    return env


def _with_params(request: Request, **changes) -> str:
    """The current URL (path and query) with some parameters set; the token never goes into a link."""
    params = {k: v for k, v in request.query_params.items() if k != "token"}
    params.update({k: v for k, v in changes.items() if v is not None})
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def create_app(db: StoreLike = None, token: str | None = None, *,
               busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> FastAPI:
    """The dashboard app over the store ``db`` (a path, an open Store, or None for the default store).

    The store is read at once and closed (see :mod:`tiplens.web.data`); ``POST /reload`` reads it
    again. With ``token``, every request must carry it: ``?token=...`` once (the app then sets a
    cookie), the cookie, or an ``Authorization: Bearer`` header; without it the answer is 401, with a
    wrong one 403. Without ``token``, only requests whose Host header names the loopback interface
    are answered (others get 421: see :func:`is_local_host_header`). Request bodies over
    ``MAX_BODY_BYTES`` get 413. ``busy_timeout`` is how long a reload waits for a store that
    another process is writing before it answers 503 and keeps the data it has.
    """
    holder = DataHolder(db)
    env = _environment()
    app = FastAPI(title="tiplens dashboard", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.holder = holder
    app.state.token = token

    def render(template: str, request: Request, status: int = 200, **context) -> HTMLResponse:
        data = holder.current
        html = env.get_template(template).render(request_path=request.url.path, loaded_at=data.loaded_at,
                                             store_name=Path(data.store_path).name, **context)
        return HTMLResponse(html, status_code=status)

    def error_page(request: Request, status: int, title: str, message: str, valid=None, name: str = "") -> HTMLResponse:
        return render("error.html.j2", request, status=status, title=title, message=message, valid=valid or [],
                      name=name, status_code=status)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        # sizes first: nothing of an oversized request is read, parsed or echoed
        target = len(request.scope.get("raw_path") or b"") + len(request.scope.get("query_string") or b"")
        if target > MAX_TARGET_BYTES:
            return _plain_error(414, f"Address too long (at most {MAX_TARGET_BYTES:,} bytes).")
        if sum(len(k) + len(v) for k, v in request.scope.get("headers", ())) > MAX_HEADER_BYTES:
            return _plain_error(431, f"Request headers too large (at most {MAX_HEADER_BYTES:,} bytes).")
        supplied = None
        if token is not None:
            header = request.headers.get("authorization", "")
            supplied = (request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
                        or (header[7:] if header.lower().startswith("bearer ") else None))
            if not supplied:
                return _plain_error(401, "This dashboard needs its access token: open the address that "
                                         "`tiplens serve` printed (it ends in ?token=...).")
            if not secrets.compare_digest(supplied.encode(), token.encode()):
                return _plain_error(403, "Wrong access token: open the address that `tiplens serve` printed.")
        elif not is_local_host_header(request.headers.get("host", "")):
            return _plain_error(421, "This dashboard runs without an access token, so it answers only to "
                                     "addresses of this machine (127.0.0.1, localhost). To reach it from "
                                     "elsewhere, start it with --host and a --token.")
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return _plain_error(413, f"Request body too large (at most {MAX_BODY_BYTES:,} bytes).")
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
                return _plain_error(403, "Cross-site request refused.")
        response = await call_next(request)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    # Specific static routes, declared before anything else that could shadow them.
    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(plotly_js_path(), media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        allowed = {"app.js": "text/javascript", "style.css": "text/css",
                   "figure.css": "text/css"}
        if name not in allowed:
            return Response("not found", status_code=404, media_type="text/plain")
        path = REPORT_TEMPLATES / "_figure.css" if name == "figure.css" else HERE / "static" / name
        return FileResponse(path, media_type=allowed[name], headers={"Cache-Control": "public, max-age=3600"})

    @app.post("/reload")
    async def reload(request: Request):
        body = b""
        async for chunk in request.stream():  # a chunked body declares no length: count it
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _plain_error(413, f"Request body too large (at most {MAX_BODY_BYTES:,} bytes).")
        form = parse_qs(body.decode("utf-8", "replace"))
        target = form.get("next", ["/"])[0]
        if target not in PAGES:  # only back to a page of this server ("/\\evil.example" is another site)
            target = "/"
        try:
            data = await run_in_threadpool(holder.reload, timeout=busy_timeout)
        except StoreBusyError as exc:
            return error_page(request, 503, "Store busy", f"{exc} The data shown so far stays until then.")
        except TiplensError as exc:
            return error_page(request, 500, "Reload failed", str(exc))
        if "application/json" in request.headers.get("accept", ""):
            return {"loaded_at": data.loaded_at.isoformat(), "files": len(data.files),
                    "glotip_edition": data.glotip_edition}
        return RedirectResponse(target, status_code=303)

    def page_route(path: str, build):
        def endpoint(request: Request):
            data = holder.current
            filters = Filters(request.query_params)
            try:
                page = build(data, filters)
            except FilterError as exc:
                return error_page(request, 400, "Unknown filter value",
                                  f"{exc.label} cannot be {exc.value!r}. The valid values are listed below.",
                                  valid=exc.valid, name=exc.name)
            except UnknownParameterError as exc:
                return error_page(request, 400, "Unknown filter", str(exc),
                                  valid=[(v, v) for v in exc.valid], name="parameter")
            except StoreBusyError as exc:  # a release that cannot be recorded in the ledger is not shown
                return error_page(request, 503, "Store busy", f"{exc} Open this page again in a moment.")
            except TiplensError as exc:
                return error_page(request, 400, "Cannot show this selection", str(exc))
            fmt = request.query_params.get("format")
            if fmt is not None:
                return _download(request, page, fmt)
            links = {view.id: {f: _with_params(request, format=f, view=view.id) for f in exports.FORMATS}
                     for view in page.views}
            return render("page.html.j2", request, page=page, links=links)
        endpoint.__name__ = "page_" + (path.strip("/") or "overview")
        app.get(path, response_class=HTMLResponse)(endpoint)

    def _download(request: Request, page, fmt: str):
        if fmt not in exports.FORMATS:
            return error_page(request, 400, "Unknown download format", f"format cannot be {fmt!r}.",
                              valid=[(f, f) for f in exports.FORMATS], name="format")
        wanted = request.query_params.get("view")
        # without view=, the first view that has data (else the first, to say why it has none)
        candidates = [v for v in page.views if v.empty_reason is None] or page.views[:1]
        if wanted is not None:
            chosen = [v for v in page.views if v.id == wanted]
            if not chosen:
                return error_page(request, 400, "Unknown view", f"view cannot be {wanted!r}.",
                                  valid=[(v.id, v.title) for v in page.views], name="view")
            candidates = chosen
        if not candidates or candidates[0].empty_reason is not None:
            reason = candidates[0].empty_reason if candidates else "this page has no table to download"
            return error_page(request, 404, "Nothing to download", reason)
        view = candidates[0]
        body = exports.to_bytes(view.table, fmt, sheet=view.id)
        name = exports.file_name(view.id, fmt)
        return Response(body, media_type=exports.MEDIA_TYPES[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    for path, build in PAGES.items():
        page_route(path, build)

    @app.exception_handler(404)
    async def not_found(request: Request, exc):
        return error_page(request, 404, "Page not found", f"There is no page {request.url.path!r}.",
                          valid=[(p, label) for p, label in NAVIGATION], name="page")

    return app


def _plain_error(status: int, message: str) -> HTMLResponse:
    """A minimal page for requests refused before any data is touched (no template, no store)."""
    import html
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{status} · tiplens</title>'
            f'</head><body><main><h1>{status}</h1><p>{html.escape(message)}</p></main></body></html>')
    return HTMLResponse(body, status_code=status)
