"""`tiplens lens table`: the seed paper's Table regenerated from the knowledge base."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tiplens import open_store
from tiplens._api_lens import lens_table, write_lens_table
from tiplens.cli import app, to_jsonable
from tiplens.errors import TiplensError

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_17f5d2a2eb818521.txt"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("lens_table") / "s.duckdb", with_default=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def table(store):
    return lens_table(db=store)


def paper_rows() -> list[list[str]]:
    """The Table as printed in the seed paper's text: tab-separated lines after its header; a line
    whose entity cell is empty continues the row above (the ECPAT row is split over two lines)."""
    if not SEED.exists():
        pytest.skip(f"seed paper not found at {SEED}")
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Region\tCooperating Entities"))
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("*Case Study"):
            break
        if not line.strip():
            continue
        cells = line.split("\t")
        if cells[1].strip():
            rows.append([c.strip() for c in cells])
        else:  # continuation of the previous row's cells
            rows[-1] = [f"{a} {b.strip()}".strip() for a, b in zip(rows[-1], cells)]
    return rows


def test_every_row_of_the_paper_is_reproduced(table):
    printed = paper_rows()
    assert len(printed) == len(table) == 7
    region = ""
    for cells, row in zip(printed, table.itertuples()):
        region = cells[0] or region  # the paper prints a region once for its block of rows
        assert row.region == region
        assert row.cooperating_entities == cells[1]
        assert row.efforts == cells[2]
        assert row.concept == cells[3]
        assert row.references == cells[4]
        assert row.kb_entities and row.concepts and row.kb_sources


def test_corrections_carry_their_source_or_say_it_is_missing(table):
    by_row = table.set_index("row")
    glo_act = by_row.loc[5]
    assert "EU-funded" in glo_act["corrections"] and "UNODC with IOM and UNICEF" in glo_act["corrections"]
    assert glo_act["correction_sources"].startswith("UNODC, GLO.ACT overview page")
    usaid = by_row.loc[3]
    assert "[outdated] USAID was wound down in 2025" in usaid["corrections"]
    assert "USAID functions to the State Department by 1 July 2025" in usaid["correction_sources"].split(" | ")[0]
    greta = by_row.loc[6]
    assert "48 parties" in greta["corrections"] and "frameworks.csv" in greta["correction_sources"]
    assert by_row.loc[7, "corrections"].startswith("[wording] 'Educes' should read 'Educates'")
    # one source per correction, in order
    for row in table.itertuples():
        assert len(row.corrections.split(" | ")) == len(row.correction_sources.split(" | "))


def test_greta_parties_match_the_membership_file(real_data):
    # the '48 parties' of the GRETA correction, counted straight from the CETS 197 file
    with open(real_data / "cooperation_membership" / "coe_cets197_trafficking_convention.csv", encoding="utf-8",
              newline="") as fh:
        statuses = [row["status"].strip().lower() for row in csv.DictReader(fh)]
    assert statuses.count("party") == 48


def test_filters(store):
    assert lens_table(db=store, region="europe")["cooperating_entities"].str.startswith("GRETA").tolist() == [True]
    assert lens_table(db=store, region="ASEAN")["row"].tolist() == [1, 2, 3]
    # rows tagged rule of law, read off paper_table.yaml by hand: UNODC, GLO.ACT, GRETA, Blue Campaign
    assert lens_table(db=store, concept="rule_of_law")["row"].tolist() == [2, 5, 6, 7]
    assert lens_table(db=store, concept="Rule of law")["row"].tolist() == [2, 5, 6, 7]
    assert lens_table(db=store, region="Global", concept="transnational_advocacy_networks")["row"].tolist() == [4]
    with pytest.raises(TiplensError, match="no row of the paper's Table has this region; valid: ASEAN, Europe, "
                                           "Global, North America"):
        lens_table(db=store, region="Africa")
    with pytest.raises(TiplensError, match="'realism' is not a concept; valid ids: institutions_regimes"):
        lens_table(db=store, concept="realism")


def test_exports(table, tmp_path):
    write_lens_table(table, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["cooperating_entities"].tolist() == table["cooperating_entities"].tolist()
    write_lens_table(table, tmp_path / "t.xlsx")
    assert pd.read_excel(tmp_path / "t.xlsx", engine="openpyxl")["corrections"].tolist() == table["corrections"].tolist()
    write_lens_table(table, tmp_path / "t.md")
    lines = (tmp_path / "t.md").read_text(encoding="utf-8").splitlines()
    pipe_rows = [line for line in lines if line.startswith("| ")]
    assert len(pipe_rows) == 1 + 7  # header + every row
    assert "GLO.ACT (Global Action Against Trafficking) & Interpol" in pipe_rows[5]
    with pytest.raises(TiplensError, match=r"\.md, \.csv or \.xlsx"):
        write_lens_table(table, tmp_path / "t.docx")


def test_bad_kb_file_stops_the_table(store, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities:\n  - {id: x, name: X, type: programme, concepts: [realism], sources: [seed_paper]}\n")
    with pytest.raises(TiplensError, match="bad.yaml: entity 'x': concept 'realism' is unknown"):
        lens_table(db=store, extra=[bad])


def test_cli_json_is_the_twin(tmp_path):
    db = str(tmp_path / "cli.duckdb")  # its own store file: DuckDB allows one configuration per file
    result = CliRunner().invoke(app, ["lens", "table", "--region", "ASEAN", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"rows": to_jsonable(lens_table(db=db, region="ASEAN"))}


def test_cli_prints_corrections_and_errors(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    result = runner.invoke(app, ["lens", "table", "--db", db, "--out", str(tmp_path / "t.md")])
    assert result.exit_code == 0, result.output
    assert "Row 5 correction [error] GLO.ACT is an EU-funded programme" in result.stdout
    assert (tmp_path / "t.md").exists()
    result = runner.invoke(app, ["lens", "table", "--db", db, "--concept", "realism"])
    assert result.exit_code == 1
    assert "error: --concept 'realism' is not a concept" in result.output
