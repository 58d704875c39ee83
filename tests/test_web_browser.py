"""The dashboard in a real browser: Debian's chromium driven by Playwright (never `playwright install`).

The app runs under uvicorn in a thread on 127.0.0.1 and a free port. Every request the browser makes
is routed through the test: anything not addressed to that server is recorded and aborted, and
must not happen. Screenshots of each page go to tests/artifacts/ (kept out of git).
"""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

import tiplens

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
PAGES = ["/", "/trends", "/flows", "/map", "/cooperation", "/models", "/literature", "/sources"]


@pytest.fixture(scope="module")
def store_path(real_data, tmp_path_factory):
    path = tmp_path_factory.mktemp("web_browser") / "store.duckdb"
    store = tiplens.open_store(path, with_default=True)
    tiplens.ingest([real_data / "unodc_glotip/data_glotip_2025-04-14.xlsx"], db=store)
    store.close()
    return path


@pytest.fixture(scope="module")
def live_server(store_path):
    import uvicorn

    from tiplens._cli_web import bind_socket
    from tiplens.web.app import create_app
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(store_path), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (the README's test command installs it)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page that records console errors and refuses (and records) any outside request."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.console_errors = []
    page.outside_requests = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))

    def route(r):
        if r.request.url.startswith(live_server + "/") or r.request.url.startswith("data:"):
            r.continue_()
        else:
            page.outside_requests.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    yield page
    context.close()


def _wait_for_charts(page) -> int:
    charts = page.locator(".tl-chart").count()
    if charts:
        page.wait_for_function(f"document.querySelectorAll('.tl-chart[data-rendered]').length === {charts}",
                               timeout=20000)
        page.wait_for_timeout(300)  # plotly lays out asynchronously; let the last relayout settle
    return charts


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_cleanly(page, live_server, path):
    response = page.goto(live_server + path)
    assert response.status == 200
    charts = _wait_for_charts(page)
    ARTIFACTS.mkdir(exist_ok=True)
    name = path.strip("/") or "overview"
    page.screenshot(path=str(ARTIFACTS / f"dashboard_{name}.png"), full_page=True)
    assert page.console_errors == []
    assert page.outside_requests == []
    if path in ("/", "/trends", "/flows", "/cooperation"):
        assert charts >= 1
        assert page.locator(".tl-chart .main-svg").count() >= charts
    assert page.locator("h1").first.inner_text()


def test_changing_filters_changes_the_chart_and_the_url(page, live_server):
    page.goto(live_server + "/trends")
    _wait_for_charts(page)
    before = page.locator(".tl-chart .gtitle").first.text_content()
    page.select_option("#f-indicator", "convicted")
    page.select_option("#f-region", "Europe")
    page.select_option("#f-sex", "each")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/trends?*indicator=convicted*")
    _wait_for_charts(page)
    after = page.locator(".tl-chart .gtitle").first.text_content()
    assert after != before and "Convicted, Europe, by sex" in after
    query = parse_qs(urlparse(page.url).query)
    assert query["indicator"] == ["convicted"] and query["region"] == ["Europe"] and query["sex"] == ["each"]
    # one band per sex category is drawn (Female, Male and maybe Other/Unknown)
    assert page.locator(".tl-chart .legendtext").filter(has_text="Female").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard_trends_filtered.png"), full_page=True)
    assert page.console_errors == [] and page.outside_requests == []


def test_a_csv_download_reads_back(page, live_server, tmp_path):
    page.goto(live_server + "/trends?country=NGA&from=2019&to=2020")
    _wait_for_charts(page)
    with page.expect_download() as info:
        page.locator("a.tl-csv").first.click()
    saved = tmp_path / "download.csv"
    info.value.save_as(saved)
    with saved.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # data_glotip_2025-04-14.csv: NGA, Detected trafficking victims, Total/Total/Total, 2020 = "1,087" (by hand)
    assert [r["year"] for r in rows] == ["2019", "2020"]
    assert float(rows[1]["value"]) == 1087


def test_keyboard_reaches_the_content_first(page, live_server):
    page.goto(live_server + "/trends")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # every form control can be reached with Tab and has a visible label
    labels = page.evaluate("""Array.from(document.querySelectorAll('select')).map(
        s => s.labels.length && s.labels[0].offsetParent !== null)""")
    assert labels and all(labels)


# WCAG 2 relative luminance and contrast ratio, computed in the page for every visible text element
# against its effective background.
_CONTRAST_SCRIPT = """() => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => { for (; el; el = el.parentElement) { const c = parse(getComputedStyle(el).backgroundColor);
                              if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3); } return [255, 255, 255]; };
  const bad = [];
  document.querySelectorAll('main *, header *, footer *').forEach(el => {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('.tl-chart') || !el.offsetParent) return;
    const fg = parse(getComputedStyle(el).color).slice(0, 3), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) bad.push(el.tagName + ' ' + el.textContent.trim().slice(0, 40) + ' ' + ratio.toFixed(2));
  });
  return bad;
}"""


@pytest.mark.parametrize("path", ["/", "/trends", "/sources", "/trends?indicator=nosuch"])
def test_text_contrast_meets_wcag_aa(page, live_server, path):
    page.goto(live_server + path)
    assert page.evaluate(_CONTRAST_SCRIPT) == []
