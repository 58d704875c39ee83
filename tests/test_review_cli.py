"""`tiplens review ...` end to end from the command line; --json equals the library twins."""

import json

import pytest
from typer.testing import CliRunner

import tiplens
from tiplens._api_review import (
    example_files,
    review_agree,
    review_example,
    review_import,
    review_prisma,
    review_screen,
    review_status,
)
from tiplens._cli_common import to_jsonable
from tiplens.cli import app

runner = CliRunner()


def _bare(path):
    tiplens.open_store(path, with_default=False).close()  # no embedded country data: faster, not needed
    return path


def _json(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _without_entry_time(payload):
    for row in payload["screen"]["decisions"]:
        row.pop("entered_at")
    return payload


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    return _bare(tmp_path_factory.mktemp("cli") / "cli.duckdb")


@pytest.fixture(scope="module")
def example_payload(cli_db):
    return _json("review", "example", "--db", cli_db, "--json")


def test_example_json_equals_twin(example_payload, tmp_path):
    twin = to_jsonable(review_example(_bare(tmp_path / "twin.duckdb")))
    assert _without_entry_time(json.loads(json.dumps(example_payload))) == _without_entry_time(twin)
    assert example_payload["import"]["records"] == 19 and example_payload["screen"]["added"] == 77
    assert "SYNTHETIC" in example_payload["note"]


def test_screen_status_agree_prisma_json_equal_twins(example_payload, cli_db, tmp_path):
    assert _json("review", "screen", "--db", cli_db, "--json") == to_jsonable(review_screen(db=cli_db))
    assert _json("review", "screen", "--status", "--db", cli_db, "--json")["rows"] == \
        to_jsonable(review_status(cli_db))
    for stage in ("title_abstract", "full_text"):
        assert _json("review", "agree", "--stage", stage, "--db", cli_db, "--json")["rows"] == \
            to_jsonable(review_agree(cli_db, stage=stage))
    svg, png = tmp_path / "flow.svg", tmp_path / "flow.png"
    payload = _json("review", "prisma", "--db", cli_db, "--svg", svg, "--png", png, "--json")
    assert payload == to_jsonable(review_prisma(cli_db, svg=svg, png=png))
    assert payload["included"] == 13 and svg.stat().st_size > 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_import_json_equals_twin_and_reports_duplicates(tmp_path):
    ris = tmp_path / "more.ris"
    ris.write_text("TY  - JOUR\nTI  - Human trafficking\nAU  - Shelley, L.\nPY  - 2010\nER  - \n", encoding="utf-8")
    bib = example_files()["references"]
    cli = _json("review", "import", bib, ris, "--db", _bare(tmp_path / "a.duckdb"), "--json")
    twin = review_import([bib, ris], db=_bare(tmp_path / "b.duckdb"))
    assert cli == to_jsonable(twin)
    # the RIS record repeats item [4] of the seed list (Shelley 2010, 'Human trafficking')
    assert [(d["record_id"], d["kept_id"], d["rule"]) for d in cli["duplicates"]] == [("R0020", "R0004",
                                                                                      "title_year_author")]


def test_screen_from_the_command_line_and_text_output(tmp_path):
    db = _bare(tmp_path / "c.duckdb")
    runner.invoke(app, ["review", "import", str(example_files()["references"]), "--db", str(db)])
    result = runner.invoke(app, ["review", "screen", "R0001", "R0002", "--reviewer", "ann", "--decision", "include",
                                 "--db", str(db)])
    assert result.exit_code == 0 and "Decisions stored: 2" in result.stdout
    result = runner.invoke(app, ["review", "screen", "R0001", "--reviewer", "bo", "--decision", "exclude",
                                 "--db", str(db)])
    assert "Conflicts awaiting a final decision" in result.stdout and "R0001" in result.stdout


def test_bad_input_is_one_line_and_exit_1(tmp_path):
    db = _bare(tmp_path / "d.duckdb")
    bad = tmp_path / "bad.bib"
    bad.write_text("@article{a, title={X}, year={2000}}\n@article{b, title={Y, year={2001}\n", encoding="utf-8")
    result = runner.invoke(app, ["review", "import", str(bad), "--db", str(db)])
    assert result.exit_code == 1 and "bad.bib: line 2:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["review", "prisma", "--db", str(db)])
    assert result.exit_code == 1 and "library is empty" in result.stderr
