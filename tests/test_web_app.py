"""The dashboard app through its HTTP interface (no browser): every route, the 400 pages, the
access token, the downloads and reading the store without holding it."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import tiplens
from tiplens.analysis import trends
from tiplens.web import exports
from tiplens.web.app import create_app
from tiplens.web.data import TrendSelection, load, trend_lines
from tiplens.web.pages import PAGES

GLOTIP_2025 = "unodc_glotip/data_glotip_2025-04-14.xlsx"


@pytest.fixture(scope="module")
def store_path(real_data, tmp_path_factory):
    """The embedded default plus GLOTIP 2025, written and closed (the app opens it itself)."""
    path = tmp_path_factory.mktemp("web") / "store.duckdb"
    store = tiplens.open_store(path, with_default=True)
    tiplens.ingest([real_data / GLOTIP_2025], db=store)
    store.close()
    return path


@pytest.fixture(scope="module")
def client(store_path):
    return TestClient(create_app(store_path))


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


# -- every route -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_renders_with_skip_link_language_and_labels(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert '<html lang="en">' in html
    assert 'class="skip-link" href="#main"' in html and 'id="main"' in html
    # every select has a label pointing at it
    for control_id in re.findall(r'<select id="([^"]+)"', html):
        assert f'<label for="{control_id}">' in html
    assert not re.search(r'src="(https?:)?//', html)  # scripts and images only from this server
    assert not re.search(r'<link[^>]+href="(https?:)?//', html)
    assert 'src="/static/plotly.min.js"' in html


def test_lens_and_literature_pages_show_what_their_modules_give(client):
    html = client.get("/cooperation").text
    for view_id in ("lens-table", "lens-network", "lens-gaps", "frameworks", "framework-members"):
        assert f'data-view="{view_id}"' in html
    # this store has no review library and no codings: the page says so and what to run
    html = client.get("/literature").text
    assert "the review library is empty: import references first" in html
    assert "no coded documents in this store yet" in html
    html = client.get("/models").text  # fitted on this first visit
    assert 'data-view="lens-models"' in html and "models fitted" in html


def test_every_chart_shows_coverage_and_caveat(client):
    for path in ("/", "/trends", "/flows", "/cooperation"):
        html = client.get(path).text
        assert html.count('class="tl-chart"') >= 1, path
        assert html.count('class="tl-countries"') >= html.count('class="tl-chart"')
        assert "Reporting countries are not a random sample" in html or "partial" in html


def test_static_files_come_from_the_installed_plotly(client):
    import plotly
    response = client.get("/static/plotly.min.js")
    assert response.status_code == 200
    shipped = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    assert response.content == shipped
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/secret.txt").status_code == 404


def test_responses_forbid_outside_scripts(client):
    policy = client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy


# -- numbers ------------------------------------------------------------------------------------------
def test_trend_of_one_country_matches_the_source_file(client):
    # data_glotip_2025-04-14.csv, row "NGA,...,Detected trafficking victims,Total,Total,Total,Total,2020,
    # Counts,"1,087"": read by hand
    rows = _csv(client.get("/trends?country=NGA&from=2020&to=2020&format=csv"))
    assert len(rows) == 1
    assert float(rows[0]["value"]) == 1087 and float(rows[0]["lower"]) == 1087
    assert rows[0]["countries"] == "1"


def test_trend_lines_equal_the_analysis_series(store_path):
    """The dashboard's fast path sums the same cells as tiplens.analysis.trends.series (the CLI's
    `tiplens trends`), which aggregates with its own code."""
    data = load(store_path)
    cases = [(TrendSelection(), {"by": "world"}),
             (TrendSelection(indicator="convicted", panel="balanced", year_from=2017, year_to=2022),
              {"by": "world", "panel": "balanced", "year_from": 2017, "year_to": 2022, "indicator": "convicted"}),
             (TrendSelection(region="Africa", breakdown="sex"), {"by": "region", "breakdown": "sex"}),
             (TrendSelection(breakdown="form"), {"by": "world", "breakdown": "form"})]
    for sel, kwargs in cases:
        lines, _ = trend_lines(data, sel)
        kwargs.setdefault("indicator", "detected_victims")
        expected = trends.series(data.glotip, data.countries, bootstrap=0, **kwargs)
        if sel.region:
            expected = expected[expected["group"].eq(sel.region)]
        merged = lines.merge(expected, on=["year", "category"], suffixes=("", "_series"), validate="1:1")
        assert len(merged) == len(lines) == len(expected), sel
        for column in ("lower", "upper", "countries"):
            assert (merged[column] == merged[f"{column}_series"]).all(), (sel, column)
        assert merged["value"].isna().equals(merged["value_series"].isna())


def test_censored_cells_stay_intervals(client, store_path):
    data = load(store_path)
    cells = data.totals[("detected_victims", None)]
    censored = cells[cells["censored"]].iloc[0]
    rows = _csv(client.get(f"/trends?country={censored['iso3']}&from={censored['year']}&to={censored['year']}"
                           "&format=csv"))
    # a '<5' cell is the interval 0-4 with no point value (PROVENANCE of unodc_glotip)
    assert rows[0]["value"] == "" and float(rows[0]["lower"]) == 0 and float(rows[0]["upper"]) == 4


# -- filters ------------------------------------------------------------------------------------------
def test_filters_change_the_view_and_live_in_the_url(client):
    html = client.get("/trends?indicator=convicted&region=Europe&panel=balanced&from=2015&to=2020").text
    assert "Convicted, Europe" in html
    assert '<option value="Europe" selected>' in html
    assert "format=csv" in html and "indicator=convicted" in html  # the download keeps the selection


@pytest.mark.parametrize("query, name, valid", [
    ("indicator=victims", "indicator", "detected_victims"),
    ("region=Atlantis", "region", "Europe"),
    ("country=XXX", "country", "NGA"),
    ("sex=F", "sex", "Female"),
    ("from=1990", "from", "2003"),
    ("panel=fixed", "panel", "balanced"),
])
def test_an_unknown_filter_value_gives_400_listing_the_valid_ones(client, query, name, valid):
    response = client.get(f"/trends?{query}")
    assert response.status_code == 400
    assert f"Valid values for <code>{name}</code>" in response.text
    assert f"<code>{valid}</code>" in response.text


def test_a_window_past_the_indicators_data_is_cut_and_said(client):
    # suspected starts in 2010 in GLOTIP 2025 (data_years of the file); the address from another
    # indicator (from=2003) stays valid
    html = client.get("/trends?indicator=suspected&from=2003&to=2022").text
    assert "Suspected has data for 2010-2022: showing 2010-2022 of the window 2003-2022 asked for." in html
    assert client.get("/trends?indicator=suspected&from=2003&to=2005").status_code == 400


def test_other_400s(client):
    assert client.get("/trends?indicater=convicted").status_code == 400  # a misspelt filter
    assert client.get("/trends?sex=each&age=each").status_code == 400  # two breakdowns
    assert client.get("/trends?from=2020&to=2010").status_code == 400
    assert client.get("/flows?domestic=maybe").status_code == 400
    assert client.get("/sources?source=nosuch").status_code == 400
    response = client.get("/trends?format=pdf")
    assert response.status_code == 400 and "<code>xlsx</code>" in response.text
    assert client.get("/trends?format=csv&view=nosuch").status_code == 400
    assert client.get("/nosuch").status_code == 404


def test_an_empty_selection_says_why(client):
    html = client.get("/trends?country=NGA&region=Europe").text
    assert "No data to show." in html and "Nigeria (NGA) is in Africa" in html
    response = client.get("/trends?country=NGA&region=Europe&format=csv")
    assert response.status_code == 404 and "is in Africa" in response.text


def test_text_is_escaped(client):
    html = client.get("/trends?indicator=<script>alert(1)</script>").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- downloads ---------------------------------------------------------------------------------------
def test_every_view_downloads_as_csv_and_excel(client):
    for path in PAGES:
        html = client.get(path).text
        for view_id in set(re.findall(r'data-view="([^"]+)"', html)):
            glue = "&" if "?" in path else "?"
            csv_response = client.get(f"{path}{glue}format=csv&view={view_id}")
            if csv_response.status_code == 404:  # an empty view: nothing to download, said so
                assert "Nothing to download" in csv_response.text
                continue
            assert csv_response.status_code == 200, (path, view_id)
            assert csv_response.headers["content-disposition"].endswith(f'{view_id}.csv"')
            xlsx = client.get(f"{path}{glue}format=xlsx&view={view_id}")
            assert xlsx.status_code == 200
            sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
            assert sheet.max_row == len(_csv(csv_response)) + 1, (path, view_id)


def test_exports_neutralise_spreadsheet_formulas():
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "Benin",
                                   None],
                          "count": [-5, 1, 2, 3, 4, 5, 6, 7],
                          "=bad column": ["a"] * 8})
    rows = list(csv.reader(io.StringIO(exports.to_bytes(frame, "csv").decode("utf-8-sig"), newline="")))
    assert rows[0] == ["name", "count", "'=bad column"]
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tx",
                                        "'\rx", "Benin", ""]
    assert rows[1][1] == "-5"  # numbers stay numbers
    sheet = openpyxl.load_workbook(io.BytesIO(exports.to_bytes(frame, "xlsx"))).active
    cells = [sheet.cell(row=i, column=1) for i in range(2, 6)]
    assert [c.value for c in cells] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-2+3", "'@SUM(A1)"]
    assert all(c.data_type == "s" for c in cells)  # text, not formulas
    assert sheet.cell(row=2, column=2).value == -5


# -- access token -------------------------------------------------------------------------------------
def test_token_is_required_when_set(store_path):
    app = create_app(store_path, token="s3cret-token")
    anonymous = TestClient(app)
    assert anonymous.get("/").status_code == 401
    assert anonymous.get("/static/plotly.min.js").status_code == 401
    assert anonymous.get("/?token=wrong").status_code == 403
    assert anonymous.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert anonymous.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    browser = TestClient(app)
    first = browser.get("/trends?token=s3cret-token")
    assert first.status_code == 200 and "httponly" in first.headers["set-cookie"].lower()
    assert browser.get("/flows").status_code == 200  # the cookie carries it from now on
    assert "s3cret-token" not in first.text  # never echoed into links


def test_reload_refuses_cross_site_posts(client):
    response = client.post("/reload", headers={"Origin": "http://evil.example"})
    assert response.status_code == 403


# -- the store is not held --------------------------------------------------------------------------
def test_ingest_runs_while_the_app_exists_and_reload_picks_it_up(real_data, tmp_path):
    """DuckDB allows one writer or several readers: the app must not keep the store open."""
    path = tmp_path / "live.duckdb"
    tiplens.open_store(path, with_default=True).close()
    app_client = TestClient(create_app(path))
    assert "GLOTIP not loaded" in app_client.get("/trends").text
    # a file whose name a spreadsheet would run as a formula, to follow it into the sources download
    crafted = tmp_path / "=2+3.csv"
    shutil.copy(real_data / "unodc_glotip/data_glotip_2025-04-14.csv", crafted)
    tiplens_cli = Path(sys.executable).with_name("tiplens")
    done = subprocess.run([str(tiplens_cli), "ingest", str(crafted), "--edition", "2025-04-14", "--db", str(path),
                           "--timeout", "2"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "GLOTIP not loaded" in app_client.get("/trends").text  # still the data read at start
    response = app_client.post("/reload", data={"next": "/trends"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/trends"
    html = app_client.get("/trends").text
    assert "GLOTIP not loaded" not in html and 'class="tl-chart"' in html
    files = _csv(app_client.get("/sources?format=csv&view=sources"))
    assert "'=2+3.csv" in {row["file"] for row in files}
    # and the store is free again for the next writer
    tiplens.open_store(path).close()


def test_reload_answers_json_when_asked(client):
    payload = client.post("/reload", headers={"Accept": "application/json"}).json()
    assert payload["glotip_edition"] == "2025-04-14" and payload["files"] > 1


def test_region_flows_equal_the_analysis_flows(store_path):
    """The flows page sums yearly country flows prepared at load; tiplens.analysis.trends.flows
    (the `tiplens flows` command) sums the window at once: the two must agree."""
    from tiplens.web.data import region_flows
    data = load(store_path)
    for indicator, start, end in (("detected_victims", 2007, 2022), ("detected_victims", 2015, 2019),
                                  ("convicted", 2017, 2022)):
        mine = region_flows(data, indicator=indicator, year_from=start, year_to=end)
        expected = trends.flows(data.glotip, indicator=indicator, year_from=start, year_to=end,
                                countries=data.countries, level="region")
        merged = mine.merge(expected, on=["origin_region", "detection_region"], suffixes=("", "_flows"),
                            validate="1:1")
        assert len(merged) == len(mine) == len(expected) > 0
        for column in ("lower", "upper", "countries", "years"):
            assert (merged[column] == merged[f"{column}_flows"]).all(), (indicator, column)
        assert merged["value"].isna().equals(merged["value_flows"].isna())


def test_a_reload_while_another_process_writes_keeps_the_data(store_path, tmp_path):
    path = tmp_path / "busy.duckdb"
    shutil.copy(store_path, path)
    app_client = TestClient(create_app(path, busy_timeout=0.5))
    # another process holds the store for writing, as `tiplens ingest` does
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, tiplens; s = tiplens.open_store(sys.argv[1]); print('open', flush=True); "
        "time.sleep(30)"), str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        response = app_client.post("/reload", data={"next": "/trends"}, follow_redirects=False)
        assert response.status_code == 503 and "store is busy" in response.text
        assert 'class="tl-chart"' in app_client.get("/trends").text  # the data read at start stay
    finally:
        writer.kill()
        writer.wait()
    assert app_client.post("/reload", follow_redirects=False).status_code == 303


def test_the_literature_page_shows_an_imported_review(store_path, tmp_path):
    from tiplens import _api_review
    path = tmp_path / "review.duckdb"
    shutil.copy(store_path, path)
    _api_review.review_example(db=path)  # the seed paper's references and a SYNTHETIC screening log
    html = TestClient(create_app(path)).get("/literature").text
    assert 'data-view="prisma"' in html and "the review library is empty" not in html
    assert "PRISMA 2020 flow: records at each stage" in html
