"""The embedded default dataset: what a fresh machine gets with no public files and no network."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import tiplens as tl
from tiplens._default import build_default_tables, default_files, default_tables
from tiplens.cli import app
from tiplens.sources import SOURCES


@pytest.fixture(scope="module")
def fresh_panel(tmp_path_factory):
    db = tmp_path_factory.mktemp("fresh") / "fresh.duckdb"
    return db, tl.panel(db=db)


def test_fresh_store_is_filled_from_the_default(fresh_panel):
    db, _ = fresh_panel
    files = tl.sources(db=db)
    assert set(files["origin"]) == {"default"}
    assert set(files["source"]) == {"tip_tiers", "wgi", "gdp", "hdr", "membership"}
    for row in files.itertuples():
        assert row.rows_read == row.rows_loaded + row.rows_quarantined


def test_default_holds_only_redistributable_sources():
    shipped = default_tables()
    assert set(shipped["files"]["source"]) <= {name for name, m in SOURCES.items() if m.REDISTRIBUTABLE}
    # the Global Slavery Index's terms forbid redistribution; GLOTIP has no open licence
    assert not {"gsi", "glotip"} & set(shipped["observations"]["source"])


def test_panel_cells_on_the_default(fresh_panel):
    _, panel = fresh_panel
    cell = panel.set_index(["iso3", "year"])
    # undp_hdr_2023_24/HDR23-24_Composite_indices_complete_time_series.csv, row 132 (NOR):
    # hdi_2022 = 0.966, gii_2015 = 0.04; row 79 (IND): hdi_2022 = 0.644, gii_2015 = 0.51
    assert cell.loc[("NOR", 2022), "hdi"] == pytest.approx(0.966)
    assert cell.loc[("NOR", 2015), "gii"] == pytest.approx(0.04)
    assert cell.loc[("IND", 2022), "hdi"] == pytest.approx(0.644)
    # gdp_per_capita_owid/gdp-per-capita-worldbank.csv, line 3245: Kenya,KEN,2015,4679.622
    assert cell.loc[("KEN", 2015), "gdp_per_capita_ppp"] == pytest.approx(4679.622)
    # tip_tiers_kelley/tip_tiers_orig.csv, line 2880: "Thailand","THA",2010,800,"Watchlist    "
    # and line 2884: 2014 "Tier 3"
    assert cell.loc[("THA", 2010), "tip_tier"] == 2.5
    assert cell.loc[("THA", 2010), "tip_tier_label"] == "Tier 2 Watch List"
    assert cell.loc[("THA", 2014), "tip_tier"] == 3
    # no GLOTIP in the default: the victims columns exist but are empty, never 0
    assert panel["detected_victims"].isna().all()


def test_every_panel_column_is_documented(fresh_panel):
    from tiplens._panel import columns_documentation
    _, panel = fresh_panel
    assert list(panel.columns) == list(columns_documentation()["column"])


def test_panel_command_on_a_fresh_machine(tmp_path):
    result = CliRunner().invoke(app, ["panel", "--db", str(tmp_path / "new.duckdb"), "--from", "2010"])
    assert result.exit_code == 0, result.output
    assert "country-years" in result.output


def test_shipped_default_equals_the_build(real_data, tmp_path):
    built = build_default_tables(real_data, tmp_path / "scratch.duckdb")
    shipped = default_tables()
    assert set(built) == set(shipped)
    for name, frame in built.items():
        pd.testing.assert_frame_equal(frame, shipped[name], check_dtype=False, obj=name)


def test_default_files_skip_duplicate_formats():
    paths = [rel for _, rel, _ in default_files()]
    assert len(paths) == len(set(paths))
    assert not any(p.endswith("map_tiers.csv") for p in paths)  # the same table as tip_tiers_orig.csv


def test_panel_doc_is_current():
    # docs/panel.md is generated from the column list; a stale page misleads users
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "scripts" / "build_panel_doc.py"
    assert subprocess.run([sys.executable, str(script), "--check"]).returncode == 0, \
        "docs/panel.md is stale: run python scripts/build_panel_doc.py"
