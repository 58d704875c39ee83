"""The command line: each command's --json equals its library twin; errors are one line, exit 1."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import tiplens as tl
from tiplens.cli import app, to_jsonable

runner = CliRunner()
GLOTIP_2023 = "unodc_glotip/data_glotip_2023-05-30.xlsx"


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def loaded_db(real_data, tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "cli.duckdb"
    result = invoke("ingest", real_data / GLOTIP_2023, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    return db, json.loads(result.stdout)


def test_ingest_json_matches_library(loaded_db, real_data, tmp_path):
    _, payload = loaded_db
    twin = tl.ingest([real_data / GLOTIP_2023], db=tmp_path / "twin.duckdb")
    assert payload == {"files": to_jsonable(twin)}
    row = payload["files"][0]
    # the contract's fields (docs/cli.md)
    for key in ("path", "source", "edition", "sha256", "rows_read", "rows_loaded", "rows_quarantined"):
        assert key in row
    assert row["rows_read"] == row["rows_loaded"] + row["rows_quarantined"] == 46_556


@pytest.mark.parametrize("command, twin, key", [
    (["sources"], lambda db: tl.sources(db=db), "files"),
    (["quarantine", "--source", "glotip"], lambda db: tl.quarantine(db=db, source="glotip"), "rows"),
    (["panel", "--from", "2015", "--to", "2020"], lambda db: tl.panel(db=db, year_from=2015, year_to=2020), "rows"),
    (["panel", "--edition", "glotip=2023-05-30", "--from", "2019"],
     lambda db: tl.panel(db=db, editions={"glotip": "2023-05-30"}, year_from=2019), "rows"),
    (["quarantine", "--reason", "not a country"], lambda db: tl.quarantine(db=db, reason="not a country"), "rows"),
])
def test_json_equals_library_twin(loaded_db, command, twin, key):
    db, _ = loaded_db
    result = invoke(*command, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[key] == to_jsonable(twin(db))


def test_panel_writes_each_format(loaded_db, tmp_path):
    db, _ = loaded_db
    expected = tl.panel(db=db, year_from=2019, year_to=2019)
    for suffix, reader in ((".csv", pd.read_csv), (".parquet", pd.read_parquet), (".xlsx", lambda p: pd.read_excel(p, engine="calamine"))):
        out = tmp_path / f"panel{suffix}"
        result = invoke("panel", "--from", 2019, "--to", 2019, "--out", out, "--db", db)
        assert result.exit_code == 0, result.output
        back = reader(out)
        assert list(back.columns) == list(expected.columns)
        assert len(back) == len(expected)


def test_panel_unknown_suffix_is_clear(loaded_db, tmp_path):
    db, _ = loaded_db
    result = invoke("panel", "--out", tmp_path / "panel.txt", "--db", db)
    assert result.exit_code == 1
    assert "unknown output format .txt" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_is_one_line_exit_1(tmp_path):
    result = invoke("ingest", tmp_path / "nope.xlsx", "--db", tmp_path / "s.duckdb")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2 and "nope.xlsx: file not found" in result.stderr


def test_unknown_source_name(tmp_path, real_data):
    result = invoke("ingest", real_data / GLOTIP_2023, "--source", "glotipp", "--db", tmp_path / "s.duckdb")
    assert result.exit_code == 1
    assert "unknown source 'glotipp'" in result.stderr


def test_help_explains_every_command():
    for command in ("ingest", "sources", "quarantine", "panel", "fetch"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert "--db" in result.output and "--json" in result.output
