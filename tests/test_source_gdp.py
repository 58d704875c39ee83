"""GDP per capita (PPP, constant 2021 $), World Bank via Our World in Data."""

from __future__ import annotations

import pytest

import tiplens
from tiplens.errors import InputFileError
from tiplens.sources import gdp

FOLDER = "gdp_per_capita_owid"
FILE = "gdp-per-capita-worldbank.csv"


@pytest.fixture(scope="module")
def loaded(real_data):
    raw = gdp.read(real_data / FOLDER / FILE)
    return raw, gdp.normalise(raw)


def _obs(obs, iso3, year):
    row = obs[(obs["iso3"] == iso3) & (obs["year"] == year)]
    assert len(row) == 1, (iso3, year, len(row))
    return row.iloc[0]


def test_detect_own_file_and_no_other(real_data):
    own = real_data / FOLDER / FILE
    assert gdp.detect(own)
    others = [p for p in real_data.rglob("*") if p.is_file() and p != own]
    assert [p for p in others if gdp.detect(p)] == []


def test_row_accounting(loaded):
    raw, norm = loaded
    assert (raw.dataset, raw.edition) == ("owid_gdp_per_capita", None)
    # 7,063 rows: 13 code-less aggregates x 34 years (442) and OWID_WRL (34) quarantined;
    # Faeroe Islands (16 rows, no code) is a country and is kept
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (7063, 6587, 476)
    assert norm.quarantine["reason"].str.startswith("not a country: ").all()
    assert len(norm.observations) == 6587
    assert norm.observations["iso3"].nunique() == 197 + 2  # ISO3 codes + Kosovo + Faeroe Islands


def test_pinned_values(loaded):
    obs = loaded[1].observations
    # row 1469: Cote d'Ivoire,CIV,2022,6261.533
    civ = _obs(obs, "CIV", 2022)
    assert civ["value"] == pytest.approx(6261.533)
    assert (civ["indicator"], civ["measure"], civ["source_row"]) == ("gdp_per_capita_ppp", "covariate", 1469)
    assert civ["unit"] == "constant 2021 international $ (PPP)"
    # row 3288: Kosovo,OWID_KOS,2008,7098.403
    assert _obs(obs, "XKX", 2008)["value"] == pytest.approx(7098.403)
    # row 2118: Faeroe Islands,,2008,53528.785 (no code: resolved by name, flagged)
    faroe = _obs(obs, "FRO", 2008)
    assert faroe["value"] == pytest.approx(53528.785)
    assert "no code" in faroe["flag"]


def test_aggregates_quarantined(loaded):
    reasons = loaded[1].quarantine.set_index("row_number")["reason"]
    # row 6996: World,OWID_WRL,2023,20670.941 ; row 2709: High-income countries,,2023,57577.62
    assert reasons[6996].startswith("not a country: OWID_WRL")
    assert reasons[2709].startswith("not a country: High-income countries")


def test_unit_follows_header():
    assert gdp.unit_of("GDP per capita, PPP (constant 2017 international $)") == \
        "constant 2017 international $ (PPP)"


def _lines(real_data, n):
    return (real_data / FOLDER / FILE).read_text(encoding="utf-8").splitlines()[:n]


def test_unknown_entity_and_bad_value_quarantined(real_data, tmp_path):
    lines = _lines(real_data, 4)
    lines[1] = "Atlantis,,2000,100.0"
    lines[2] = lines[2].rsplit(",", 1)[0] + ",n/a"
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    norm = gdp.normalise(gdp.read(path))
    reasons = norm.quarantine.set_index("row_number")["reason"]
    assert reasons[2] == "country not matched: Atlantis / Atlantis"
    assert reasons[3] == "no value: n/a"
    assert (norm.rows_read, norm.rows_loaded) == (3, 1)


def test_missing_column_raises(real_data, tmp_path):
    path = tmp_path / "no_value.csv"
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in _lines(real_data, 5)) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="GDP per capita") as err:
        gdp.read(path)
    assert str(path) in str(err.value)


def test_truncated_raises(real_data, tmp_path):
    lines = _lines(real_data, 6)
    path = tmp_path / "cut.csv"
    path.write_text("\n".join(lines[:-1] + [lines[-1][:12]]), encoding="utf-8")
    with pytest.raises(InputFileError, match="truncated") as err:
        gdp.read(path)
    assert str(path) in str(err.value)


def test_latin1_raises(real_data, tmp_path):
    lines = _lines(real_data, 3) + ["Curaçao,CUW,2000,30000.0"]
    path = tmp_path / "latin1.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(InputFileError, match="not valid utf-8") as err:
        gdp.read(path)
    assert str(path) in str(err.value)


def test_ingest(real_data, empty_store):
    result = tiplens.ingest([real_data / FOLDER / FILE], db=empty_store, edition="2024")
    assert [(r["source"], r["rows_read"], r["rows_loaded"], r["rows_quarantined"]) for r in result] \
        == [("gdp", 7063, 6587, 476)]
    quarantined = empty_store.quarantine(source="gdp")
    assert len(quarantined) == 476
