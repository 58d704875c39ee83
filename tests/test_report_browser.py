"""The report in a real browser (Debian's Chromium through Playwright): it opens offline, asks
nothing of the network, draws every chart without a console error, downloads its data as CSV, and
prints to PDF. Screenshots go to $TIPLENS_TEST_ARTIFACTS (default: the test's temporary folder)."""

from __future__ import annotations

import csv
import os
import unicodedata
from pathlib import Path

import pytest

import tiplens as tl
from tiplens._api_report import report
from tiplens._default import catalogue

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
TIME = "2026-01-02T03:04:05+00:00"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                "(the README's test command installs it)")


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("TIPLENS_TEST_ARTIFACTS") or tmp_path_factory.mktemp("artefacts")) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def reports(real_data, tmp_path_factory):
    """The report of the embedded default, and of the default plus GLOTIP 2025, the MSE lists and the
    review example."""
    folder = tmp_path_factory.mktemp("browser")
    default_db = folder / "default.duckdb"
    tl.open_store(default_db, with_default=True).close()
    full_db = folder / "full.duckdb"
    store = tl.open_store(full_db, with_default=True)
    tl.ingest([real_data / "unodc_glotip/data_glotip_2025-04-14.xlsx"], db=store)
    for item in catalogue()["mse_lists"]["files"]:
        tl.ingest([real_data / item["mirror_path"]], db=store, source="mse_lists", edition=item.get("edition"))
    store.close()
    tl.review_example(db=full_db)  # the seed paper's references with the SYNTHETIC screening log
    from tiplens._api_coding import lens_compare
    lens_compare([real_data.parent / "seed" / "000_17f5d2a2eb818521.txt"], db=full_db)  # the three lenses
    return {"default": report(db=default_db, out=folder / "default.html", generated_at=TIME),
            "full": report(db=full_db, out=folder / "full.html", generated_at=TIME),
            "default_db": default_db, "folder": folder}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as play:
        launched = play.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def open_offline(browser, path: Path):
    """Open a file with every non-file request refused and recorded; return (page, requests, errors)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    requests, errors = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def guard(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()
    page.route("**/*", guard)
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    page.wait_for_function("Array.from(document.querySelectorAll('.tl-chart')).every(d => d.querySelector('.main-svg'))",
                           timeout=60_000)
    page.wait_for_timeout(300)  # let plotly finish laying out before the screenshot
    return page, requests, errors


@pytest.mark.parametrize("name", ["default", "full"])
def test_report_opens_offline_and_draws_every_chart(reports, browser, artefacts, name):
    result = reports[name]
    page, requests, errors = open_offline(browser, Path(result["html"]))
    try:
        assert requests == [] and errors == []
        charts = page.locator(".tl-chart")
        drawn_svg = page.locator(".tl-map-wrap > svg")  # the world map and the PRISMA diagram
        assert charts.count() + drawn_svg.count() == result["figures"]
        for i in range(charts.count()):
            assert charts.nth(i).locator(".main-svg").count() >= 1
        assert page.locator(".tl-empty").count() == len(result["empty"])
        page.screenshot(path=str(artefacts / f"report-{name}.png"), full_page=True)
    finally:
        page.close()


def test_full_report_content(reports):
    result = reports["full"]
    assert result["empty"] == []  # GLOTIP, list data, map outlines and a review library are all there
    # the seed figure, world x2 panels, sex, age, form, flows, pandemic, coverage, map, one MSE chart
    # per study, the cooperation network, lens coverage, the models, PRISMA, the coding profile;
    # tables: sources, the interrupted time series, claims, the paper's Table, the frameworks, gaps,
    # reviewer agreement
    assert result["figures"] == 15 + len(catalogue()["mse_lists"]["files"])
    assert result["tables"] == 7


def test_map_draws_offline(reports, browser):
    page, requests, errors = open_offline(browser, Path(reports["full"]["html"]))
    try:
        assert requests == [] and errors == []
        countries = page.locator("#map-reporting svg g.country")
        assert countries.count() > 170  # the packaged outlines, drawn with no request
        nigeria = page.locator('#map-reporting svg g[data-iso3="NGA"]')
        assert nigeria.get_attribute("fill") != "#e6e6e6"  # Nigeria reports: a blue step, not grey
        box = nigeria.bounding_box()
        assert box is not None and box["width"] > 5 and box["height"] > 5
    finally:
        page.close()


def test_csv_download_reads_back(reports, browser, tmp_path):
    page, _, _ = open_offline(browser, Path(reports["default"]["html"]))
    try:
        link = page.locator("#coverage-years a.tl-csv")
        with page.expect_download() as info:
            link.click()
        download = info.value
        assert download.suggested_filename == "coverage-years.csv"
        target = tmp_path / "coverage.csv"
        download.save_as(target)
    finally:
        page.close()
    with open(target, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["source", "year", "countries", "edition"]
    store = tl.open_store(reports["default_db"], read_only=True)
    obs = store.observations(source="wgi")
    store.close()
    # the WGI row of one year counts that year's distinct countries in the store
    year = int(rows[-1]["year"]) if rows[-1]["source"] == "wgi" else 2019
    expected = obs.loc[obs["year"].eq(year) & obs["iso3"].notna(), "iso3"].nunique()
    got = [int(r["countries"]) for r in rows if r["source"] == "wgi" and int(r["year"]) == year]
    assert got == [expected]


def test_pdf(reports, tmp_path):
    from pypdf import PdfReader
    result = report(db=reports["default_db"], out=tmp_path / "report.pdf", pdf=True, generated_at=TIME)
    pdf = Path(result["path"])
    assert pdf.suffix == ".pdf" and pdf.read_bytes()[:5] == b"%PDF-" and result["size"] == pdf.stat().st_size
    reader = PdfReader(pdf)
    # NFKC: Chromium's fonts set "fi" as one ligature glyph
    text = unicodedata.normalize("NFKC", "".join(page.extract_text() for page in reader.pages))
    assert len(reader.pages) >= 4
    assert "Summary of findings" in text and "GLOTIP not loaded" in text
    assert not list(tmp_path.glob(".*partial"))
