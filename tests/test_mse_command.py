"""`tiplens mse`: the command's JSON equals its library twin; bad list files get one clear line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import tiplens as tl
from tiplens.cli import app, to_jsonable

UK = "mse_modern_slavery_lists/UKdat.csv"


def test_json_equals_library_twin(real_data):
    result = CliRunner().invoke(app, ["mse", str(real_data / UK), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload == to_jsonable(tl.mse(real_data / UK))
    # the contract's keys (ARCHITECTURE.md)
    assert {"observed", "estimate", "ci_low", "ci_high", "model"} <= set(payload)
    # Home Office (Silverman 2014): 10,000 to 13,000 victims in the UK in 2013
    assert 10_000 <= payload["estimate"] <= 13_000 and payload["observed"] == 2744


def test_negative_count_is_one_clear_line(real_data, tmp_path):
    lines = (real_data / UK).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index(header[-1])] = "-3"
    bad = tmp_path / "lists.csv"
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["mse", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {bad}, row 2:")


def test_not_a_list_file(real_data):
    path = real_data / "unodc_glotip/data_glotip_2025-04-14.csv"
    result = CliRunner().invoke(app, ["mse", str(path)])
    assert result.exit_code == 1 and "not a list-overlap table" in result.stderr
