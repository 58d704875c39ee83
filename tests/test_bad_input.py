"""Bad input through the command line: one clear line naming the file, exit 1, store unchanged."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

import tiplens as tl
from tiplens.cli import app

GLOTIP_CSV = "unodc_glotip/data_glotip_2025-04-14.csv"
MEMBERSHIP = "cooperation_membership/asean_membership.csv"


def _missing(real_data, tmp_path):
    return tmp_path / "data_glotip.csv", [], "file not found"


def _empty(real_data, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return path, [], "file is empty"


def _truncated(real_data, tmp_path):
    # cut in the middle of a row, as an interrupted download leaves it
    data = (real_data / GLOTIP_CSV).read_bytes()[:200_000]
    path = tmp_path / "data_glotip_2025-04-14.csv"
    path.write_bytes(data[: data.rfind(b",")])
    return path, ["--edition", "2025-04-14"], "row"


def _unrecognised(real_data, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("name,score\nalpha,1\nbeta,2\n", encoding="utf-8")
    return path, [], "not recognised as any known source"


def _wrong_columns(real_data, tmp_path):
    lines = (real_data / GLOTIP_CSV).read_text(encoding="utf-8").splitlines()[:100]
    lines[0] = lines[0].replace("txtVALUE", "Value")
    path = tmp_path / "glotip_renamed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, ["--source", "glotip", "--edition", "2025-04-14"], "glotip"


def _latin1(real_data, tmp_path):
    # the membership files are UTF-8; a Latin-1 copy has bytes that are not valid UTF-8
    text = (real_data / MEMBERSHIP).read_text(encoding="utf-8") + "\n"
    text = text.replace("Viet Nam", "Việt Nam").replace("Lao", "Laò")
    path = tmp_path / "asean_latin1.csv"
    path.write_bytes(text.encode("latin-1", errors="replace"))
    return path, ["--source", "membership", "--edition", "2025-11"], "UTF-8"


def _xlsx_changed_layout(real_data, tmp_path):
    # a GLOTIP-like workbook whose header moved far down (a changed layout)
    book = Workbook()
    sheet = book.active
    sheet.append(["UNODC"])
    sheet.append(["14/04/2025"])
    for _ in range(15):
        sheet.append([""])
    sheet.append(["Iso3_code", "Country", "Region", "Subregion", "Indicator", "Dimension", "Category",
                  "Sex", "Age", "Year", "Unit of measurement", "txtVALUE", "Source"])
    sheet.append(["ALB", "Albania", "Europe", "Southern Europe", "Persons convicted", "Total", "Total",
                  "Total", "Total", 2020, "Counts", "12", "GLOTIP"])
    path = tmp_path / "data_glotip.xlsx"
    book.save(path)
    return path, ["--source", "glotip"], "layout has changed"


CASES = [_missing, _empty, _truncated, _unrecognised, _wrong_columns, _latin1, _xlsx_changed_layout]


@pytest.fixture(scope="module")
def base_db(real_data, tmp_path_factory):
    db = tmp_path_factory.mktemp("bad") / "base.duckdb"
    tl.ingest([real_data / "unodc_glotip/data_glotip_2023-05-30.xlsx"], db=db)
    return db


def _state(db):
    with tl.open_store(db, read_only=True) as store:
        return store.table_counts(), store.files()[["source", "dataset", "edition", "sha256"]].to_dict("records")


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_bad_file_is_one_clear_line_and_changes_nothing(case, real_data, tmp_path, base_db):
    path, options, expected = case(real_data, tmp_path)
    before = _state(base_db)
    result = CliRunner().invoke(app, ["ingest", str(path), *options, "--db", str(base_db)])
    assert result.exit_code == 1, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and str(path) in message, message
    assert expected in message, message
    assert "Traceback" not in result.output
    assert _state(base_db) == before


def test_one_bad_file_in_a_batch_loads_none(real_data, tmp_path, base_db):
    path, _, _ = _empty(real_data, tmp_path)
    before = _state(base_db)
    result = CliRunner().invoke(app, ["ingest", str(real_data / MEMBERSHIP), str(path), "--edition", "2025-11",
                                      "--db", str(base_db)])
    assert result.exit_code == 1
    assert _state(base_db) == before
