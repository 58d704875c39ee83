"""UNDP HDR 2023/24 composite indices (wide, Latin-1)."""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest

import tiplens
from tiplens.errors import InputFileError
from tiplens.sources import hdr

FOLDER = "undp_hdr_2023_24"
FILE = "HDR23-24_Composite_indices_complete_time_series.csv"


@pytest.fixture(scope="module")
def loaded(real_data):
    raw = hdr.read(real_data / FOLDER / FILE)
    return raw, hdr.normalise(raw)


def _obs(obs, iso3, year, indicator):
    row = obs[(obs["iso3"] == iso3) & (obs["year"] == year) & (obs["indicator"] == indicator)]
    assert len(row) == 1, (iso3, year, indicator, len(row))
    return row.iloc[0]


def test_detect_own_file_and_no_other(real_data):
    own = real_data / FOLDER / FILE
    assert hdr.detect(own)
    others = [p for p in real_data.rglob("*") if p.is_file() and p != own]
    assert [p for p in others if hdr.detect(p)] == []


def test_row_accounting(loaded):
    raw, norm = loaded
    assert (raw.dataset, raw.edition) == ("composite_indices", None)
    # 206 rows: 195 countries/territories loaded, the 11 ZZ* aggregates (file rows 197-207) quarantined
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (206, 195, 11)
    assert list(norm.quarantine["row_number"]) == list(range(197, 208))
    assert norm.quarantine["reason"].str.startswith("not a country: ZZ").all()


def test_observation_count_matches_csv_module(real_data, loaded):
    # computed another way: Python's csv module, counting numeric cells of <indicator>_<year>
    # columns in non-ZZ rows, plus one HDI-group observation per non-blank hdicode
    with open(real_data / FOLDER / FILE, encoding="latin-1", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    year_columns = [i for i, name in enumerate(header) if re.fullmatch(r".+_\d{4}", name)]
    expected = 0
    for row in rows[1:]:
        if row[0].startswith("ZZ"):
            continue
        for i in year_columns:
            try:
                number = float(row[i])
            except ValueError:
                continue
            expected += number == number  # 'NaN' text parses to nan: not a value
        expected += row[header.index("hdicode")] != ""
    assert len(loaded[1].observations) == expected


def test_pinned_values(loaded):
    obs = loaded[1].observations
    # file row 43: CIV, C\xf4te d'Ivoire, Low, SSA; hdi_2022 0.534, gii_2022 0.612, gni_pc_f_2022 4063.05563,
    # hdi_rank_2022 166, hdi_1990 0.425
    hdi = _obs(obs, "CIV", 2022, "hdi")
    assert hdi["value"] == pytest.approx(0.534)
    assert (hdi["country"], hdi["source_region"], hdi["source_row"]) == ("Côte d'Ivoire", "SSA", 43)
    assert (hdi["measure"], hdi["unit"]) == ("covariate", "index (0-1)")
    assert _obs(obs, "CIV", 2022, "gii")["value"] == pytest.approx(0.612)
    assert _obs(obs, "CIV", 2022, "hdr_gni_pc_f")["value"] == pytest.approx(4063.05563)
    assert _obs(obs, "CIV", 2022, "hdr_hdi_rank")["value"] == 166
    assert _obs(obs, "CIV", 1990, "hdi")["value"] == pytest.approx(0.425)
    group = _obs(obs, "CIV", 2022, "hdr_hdicode")
    assert (group["value"], group["category"]) == (1, "Low")
    # row 132: Norway, developed country: blank region
    norway = _obs(obs, "NOR", 2022, "hdi")
    assert norway["value"] == pytest.approx(0.966) and pd.isna(norway["source_region"])


def test_indicator_names(loaded):
    names = set(loaded[1].observations["indicator"])
    assert {"hdi", "gii", "hdr_gni_pc_f", "hdr_diff_hdi_phdi", "hdr_rankdiff_hdi_phdi", "hdr_le_f"} <= names
    assert not {"hdr_hdi", "hdr_gii", "hdr_gni_pc", "hdr_diff_hdi"} & names  # split on the LAST underscore
    assert all(name in {"hdi", "gii"} or name.startswith("hdr_") for name in names)


def test_missing_values_are_not_observations(loaded):
    obs = loaded[1].observations
    # row 147: Rwanda diff_hdi_phdi_1994 is the text 'NaN'; row 117: Monaco has no HDI but a population
    assert obs[(obs["iso3"] == "RWA") & (obs["year"] == 1994) & (obs["indicator"] == "hdr_diff_hdi_phdi")].empty
    assert obs[(obs["iso3"] == "MCO") & (obs["indicator"] == "hdi")].empty
    assert _obs(obs, "MCO", 1990, "hdr_pop_total")["value"] == pytest.approx(0.030329)
    # PROVENANCE.md: GII for 177 rows in 2022, 11 of them aggregates
    assert (obs[(obs["indicator"] == "gii") & (obs["year"] == 2022)]["iso3"].nunique()) == 177 - 11


def _lines(real_data, n):
    return (real_data / FOLDER / FILE).read_text(encoding="latin-1").splitlines()[:n]


def test_utf8_copy_reads_the_same(real_data, tmp_path):
    path = tmp_path / "utf8.csv"
    path.write_text("\n".join(_lines(real_data, 45)) + "\n", encoding="utf-8")
    obs = hdr.normalise(hdr.read(path)).observations
    assert "Côte d'Ivoire" in set(obs["country"])


def test_row_without_values_quarantined_and_text_cell_noted(real_data, tmp_path):
    lines = _lines(real_data, 3)
    lines[2] = "ALB,Albania,," + "," * (len(lines[0].split(",")) - 4)
    lines[1] = lines[1].replace(",0.284,", ",abc,", 1)  # AFG hdi_1990
    path = tmp_path / "empty_row.csv"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    norm = hdr.normalise(hdr.read(path))
    assert (norm.rows_read, norm.rows_loaded) == (2, 1)
    assert norm.quarantine.set_index("row_number")["reason"][3] == "no value in any indicator column"
    assert any("row 2 hdi_1990='abc'" in note for note in norm.notes)
    assert norm.observations.query("indicator == 'hdi' and year == 1990").empty


def test_missing_column_raises(real_data, tmp_path):
    lines = [line.split(",", 1)[1] for line in _lines(real_data, 4)]  # drop iso3
    path = tmp_path / "no_iso3.csv"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(InputFileError, match="iso3") as err:
        hdr.read(path)
    assert str(path) in str(err.value)


def test_truncated_raises(real_data, tmp_path):
    lines = _lines(real_data, 5)
    path = tmp_path / "cut.csv"
    path.write_text("\n".join(lines[:-1] + [lines[-1][:300]]), encoding="latin-1")
    with pytest.raises(InputFileError, match="truncated") as err:
        hdr.read(path)
    assert str(path) in str(err.value)


def test_ingest(real_data, empty_store):
    result = tiplens.ingest([real_data / FOLDER / FILE], db=empty_store, edition="2023-24")
    assert [(r["source"], r["rows_read"], r["rows_loaded"], r["rows_quarantined"]) for r in result] \
        == [("hdr", 206, 195, 11)]
    value = empty_store.con.execute(
        "SELECT value FROM observations WHERE iso3 = 'CIV' AND year = 2022 AND indicator = 'gii'").fetchone()[0]
    assert value == pytest.approx(0.612)
