"""The analysis commands: each --json equals its library twin; no GLOTIP gives one clear line."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import tiplens as tl
from tiplens.cli import app, to_jsonable

runner = CliRunner()


@pytest.fixture(scope="module")
def db(real_data, tmp_path_factory):
    path = tmp_path_factory.mktemp("analysis") / "s.duckdb"   # embedded default + GLOTIP 2025
    tl.ingest([real_data / "unodc_glotip/data_glotip_2025-04-14.csv"], db=path, edition="2025-04-14")
    return path


def _json(*args):
    result = runner.invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_trends_json_equals_library(db):
    payload = _json("trends", "--from", 2017, "--breakdown", "sex", "--panel", "balanced", "--db", db)
    twin = tl.trends(db=db, year_from=2017, breakdown="sex", panel="balanced")
    assert payload["rows"] == to_jsonable(twin)
    # 143 countries reported detected victims in 2020 (the figure, recomputed in test_trends)
    world = _json("trends", "--db", db)["rows"]
    assert [r["countries"] for r in world if r["year"] == 2020] == [143]


def test_periods_json_equals_library(db):
    payload = _json("periods", "--db", db)
    assert payload["rows"] == to_jsonable(tl.periods(db=db))
    assert payload["its"] == to_jsonable(tl.interrupted_time_series(db=db))


def test_flows_json_equals_library_and_sankey(db, tmp_path):
    payload = _json("flows", "--from", 2020, "--to", 2022, "--db", db, "--chart", tmp_path / "flows.html")
    twin = tl.flows(db=db, year_from=2020, year_to=2022)
    assert payload["rows"] == to_jsonable(twin)
    html = (tmp_path / "flows.html").read_text(encoding="utf-8")
    assert '"type":"sankey"' in html and "flows undercount foreign victims" in html
    # the Sankey's link widths are the flows' upper bounds, largest first
    from tiplens.analysis.plots import flows_figure
    figure = flows_figure(twin)
    assert list(figure.data[0].link.value[:3]) == twin["upper"].head(3).tolist()
    result = runner.invoke(app, ["flows", "--db", str(db), "--chart", str(tmp_path / "f.png")])
    assert result.exit_code == 1 and "as .html" in result.stderr


def test_panel_file(db, tmp_path):
    panel = tmp_path / "panel.txt"
    panel.write_text("NGA\nTHA\nUSA\n", encoding="utf-8")
    rows = _json("trends", "--panel", panel, "--from", 2015, "--db", db)["rows"]
    assert {r["countries"] for r in rows} <= {1, 2, 3}


def test_seed_figure_and_chart_files(db, tmp_path):
    result = runner.invoke(app, ["claims", "--db", str(db), "--figure", str(tmp_path / "seed.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "seed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runner.invoke(app, ["trends", "--db", str(db), "--chart", str(tmp_path / "t.html")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert "countries" in html
    # plotly.js is inline: no script is loaded from another address
    assert not re.search(r"<script[^>]*\bsrc=[\"']https?://", html)


def test_without_glotip_the_error_says_how_to_get_it(tmp_path):
    result = runner.invoke(app, ["trends", "--db", str(tmp_path / "fresh.duckdb")])
    assert result.exit_code == 1
    assert "no GLOTIP data in the store" in result.stderr and "tiplens ingest" in result.stderr


def test_unknown_indicator_lists_valid_ones(db):
    result = runner.invoke(app, ["trends", "--indicator", "victims", "--db", str(db)])
    assert result.exit_code == 1
    assert "detected_victims" in result.stderr
