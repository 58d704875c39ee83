"""tiplens report: sections, options, determinism (snapshot), atomic writing and the CLI twin."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import tiplens as tl
from tiplens._api_report import report
from tiplens.cli import app
from tiplens.errors import TiplensError
from tiplens.report import build
from tiplens.report.views import View

TIME_A = "2026-01-02T03:04:05+00:00"
TIME_B = "2027-11-12T13:14:15+00:00"


@pytest.fixture(scope="module")
def default_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "default.duckdb"
    tl.open_store(path, with_default=True).close()
    return path


@pytest.fixture(scope="module")
def default_report(default_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-out") / "report.html"
    result = report(db=default_db, out=out, generated_at=TIME_A)
    return result, out.read_text(encoding="utf-8")


def test_default_store_report(default_report):
    result, text = default_report
    assert result["sections"] == ["summary", "data", "trends", "hidden", "lens", "literature", "victims",
                                  "methods", "references"]
    assert result["size"] == len(text.encode("utf-8")) < 10_000_000
    # the default data draw the coverage heatmap, the cooperation network, the lens coverage and the
    # models they can fit (tiers); sources, claims, the paper's Table, the frameworks' reach and the
    # countries outside Palermo are tables; no review library yet (literature-prisma empty)
    assert result["figures"] == 4 and result["tables"] == 5
    assert "GLOTIP not loaded — run `tiplens ingest data_glotip.xlsx`" in text
    assert {e["id"] for e in result["empty"]} >= {"trends-world-all", "trends-world-balanced", "mse-none",
                                                  "literature-prisma", "literature-coding"}
    # plotly.js inlined once (its banner), no script or style loaded from elsewhere; the browser test
    # proves that opening the file requests nothing
    assert len(re.findall(r"\* plotly\.js v\d", text)) == 1
    assert not re.findall(r"<script[^>]+src=", text) and "<link" not in text and "@import" not in text


def test_every_figure_carries_its_context(default_report):
    result, text = default_report
    blocks = re.findall(r'<figure class="tl-figure[^"]*".*?</figure>', text, flags=re.DOTALL)
    # sources, coverage, the world series on two panels, claims, the hidden population, the Table,
    # the network, the frameworks, lens coverage, gaps, models, PRISMA, the coding profile
    assert len(blocks) == result["figures"] + result["tables"] + len(result["empty"]) == 14
    for block in blocks:
        for label in ("Source", "Edition", "Countries behind it", "Caveat"):
            assert f"<dt>{label}</dt>" in block
        empty = "tl-figure-empty" in block
        assert ("No data to show." in block) == empty
        assert ('download="' in block) != empty  # a CSV link exactly where there is data


def test_same_inputs_same_document(default_db, default_report, tmp_path):
    _, first = default_report
    again = tmp_path / "again.html"
    report(db=default_db, out=again, generated_at=TIME_A)
    assert again.read_text(encoding="utf-8") == first
    later = tmp_path / "later.html"
    report(db=default_db, out=later, generated_at=TIME_B)
    assert later.read_text(encoding="utf-8").replace(TIME_B, TIME_A) == first
    assert later.read_text(encoding="utf-8") != first


def test_sections_and_options(default_db, tmp_path):
    out = tmp_path / "trends.html"
    result = report(db=default_db, out=out, sections=["trends,methods"], year_from=2015, year_to=2020,
                    periods="pre=2016-2019,pandemic=2020-2021")
    assert result["sections"] == ["trends", "methods"]
    text = out.read_text(encoding="utf-8")
    assert "Years 2015–2020" in text and "pre" in text
    with pytest.raises(TiplensError, match="unknown section.*choose from summary, data, trends"):
        report(db=default_db, out=tmp_path / "x.html", sections=["networks"])
    with pytest.raises(TiplensError, match="after year_to"):
        report(db=default_db, out=tmp_path / "x.html", year_from=2020, year_to=2010)
    with pytest.raises(TiplensError, match="cannot read period"):
        report(db=default_db, out=tmp_path / "x.html", periods="pandemic:2020")
    with pytest.raises(TiplensError, match=r"\.html"):
        report(db=default_db, out=tmp_path / "x.txt")
    assert not (tmp_path / "x.html").exists()


def test_failed_write_leaves_nothing_under_the_final_name(default_db, tmp_path):
    existing = tmp_path / "keep.html"
    existing.write_text("previous report", encoding="utf-8")
    with pytest.raises(TiplensError):
        report(db=default_db, out=existing, sections=["nonsense"])
    assert existing.read_text(encoding="utf-8") == "previous report"
    folder = tmp_path / "a-folder.html"
    folder.mkdir()
    with pytest.raises(TiplensError, match="cannot write"):
        build.write_atomic(folder, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder.html", "keep.html"]


def test_registry_takes_new_sections(default_db, tmp_path):
    def extra(data, options):
        frame = data.records("frameworks")
        return build.Section("extra", "An extra section", intro="added by another module",
                             views=[View(id="extra-table", title="Frameworks", table=frame, source="tiplens",
                                         countries=0, caveat="test")])
    before = list(build.SECTIONS)
    try:
        build.register_section("extra", "An extra section", extra, after="hidden")
        assert build.section_ids() == ["summary", "data", "trends", "hidden", "extra", "lens", "literature",
                                       "victims", "methods", "references"]
        result = report(db=default_db, out=tmp_path / "r.html", sections=["extra"])
        assert result["sections"] == ["extra"] and result["tables"] == 1
        with pytest.raises(TiplensError, match="no section 'nowhere'"):
            build.register_section("x", "x", extra, after="nowhere")
    finally:
        build.SECTIONS[:] = before


def test_cli_json_equals_the_twin(default_db, tmp_path):
    out = tmp_path / "cli.html"
    result = CliRunner().invoke(app, ["report", "--db", str(default_db), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    twin = report(db=default_db, out=out)
    from tiplens._cli_common import to_jsonable
    # the generation time has the same length every second, so the size matches too
    assert payload == to_jsonable(twin)


def test_cli_errors_are_one_line(default_db, tmp_path):
    result = CliRunner().invoke(app, ["report", "--db", str(default_db), "--out", str(tmp_path / "r.html"),
                                      "--sections", "nope"])
    assert result.exit_code == 1
    assert "unknown section(s) nope" in result.output and "Traceback" not in result.output


def test_loaders_read_while_the_store_is_open(default_db, tmp_path):
    seen = {}

    def section(data, options):
        seen["files"] = data.loaded("file_count")
        return build.Section("counted", "Counted", intro=f"{data.loaded('file_count')} files")
    before_sections, before_loaders = list(build.SECTIONS), dict(build.LOADERS)
    try:
        build.register_loader("file_count", lambda store: len(store.files()))
        build.register_section("counted", "Counted", section)
        report(db=default_db, out=tmp_path / "r.html", sections=["counted"])
    finally:
        build.SECTIONS[:] = before_sections
        build.LOADERS.clear()
        build.LOADERS.update(before_loaders)
    store = tl.open_store(default_db, read_only=True)
    expected = len(store.files())
    store.close()
    assert seen["files"] == expected > 0


def _pid_of_loader(store):
    import os
    return os.getpid()


def test_background_loaders_run_in_a_second_process_only_on_a_read_only_store(default_db):
    import os
    before = (dict(build.LOADERS), set(build.BACKGROUND_LOADERS))
    try:
        build.register_loader("pid", _pid_of_loader, background=True)
        with tl.open_store(default_db, read_only=True) as store:
            data = build.ReportData.from_store(store)
        assert data.loaded("pid") != os.getpid()  # ran beside this process, on the same file
        with tl.open_store(default_db) as store:  # a writer holds the lock: the work stays here
            data = build.ReportData.from_store(store)
        assert data.loaded("pid") == os.getpid()
    finally:
        build.LOADERS.clear()
        build.LOADERS.update(before[0])
        build.BACKGROUND_LOADERS.clear()
        build.BACKGROUND_LOADERS.update(before[1])
