"""Walk Free GSI 2023 source: the workbook, its summary CSV and the derived M2121/M2122 CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import tiplens
from tiplens.errors import InputFileError
from tiplens.sources import gsi

FOLDER = "walkfree_gsi_2023"
WORKBOOK = "2023-Global-Slavery-Index-Data.xlsx"
SUMMARY_CSV = "gsi_2023_summary_data.csv"
PALERMO_CSV = "gsi_2023_palermo_indicator_M2121.csv"


def _load(path: Path):
    raw = gsi.read(path)
    return raw, gsi.normalise(raw)


def _value(obs: pd.DataFrame, iso3: str, indicator: str) -> pd.Series:
    row = obs[(obs["iso3"] == iso3) & (obs["indicator"] == indicator)]
    assert len(row) == 1, (iso3, indicator, len(row))
    return row.iloc[0]


@pytest.fixture(scope="module")
def workbook(real_data):
    return _load(real_data / FOLDER / WORKBOOK)


@pytest.fixture(scope="module")
def summary_csv(real_data):
    return _load(real_data / FOLDER / SUMMARY_CSV)


@pytest.fixture(scope="module")
def palermo(real_data):
    return _load(real_data / FOLDER / PALERMO_CSV)


def test_detect_own_files_and_no_other(real_data):
    own = {real_data / FOLDER / name for name in (WORKBOOK, SUMMARY_CSV, PALERMO_CSV)}
    for path in own:
        assert gsi.detect(path), path
    others = [p for p in real_data.rglob("*") if p.is_file() and p not in own]
    assert others
    assert [p for p in others if gsi.detect(p)] == []


def test_workbook_row_accounting_and_edition(workbook):
    raw, norm = workbook
    # 180 countries on sheet rows 4-183 (source line on row 2, header on row 3); none quarantined
    assert (raw.dataset, raw.edition, raw.first_row) == ("summary", "2023", 4)
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (180, 180, 0)
    # 180 populations - 4 zero placeholders + 160 x 8 estimate/vulnerability + 176 x 6 government response
    assert len(norm.observations) == 176 + 160 * 8 + 176 * 6


def test_csv_row_accounting_and_no_edition(summary_csv, palermo):
    raw, norm = summary_csv
    assert (raw.dataset, raw.edition, raw.first_row) == ("summary", None, 2)
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (180, 180, 0)
    raw, norm = palermo
    assert (raw.dataset, raw.edition) == ("palermo_indicator", None)
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (176, 176, 0)
    assert len(norm.observations) == 2 * 176


def test_pinned_values_workbook(workbook):
    obs = workbook[1].observations
    # sheet 'GSI 2023 summary data', row 4 (Afghanistan): prevalence, number, total vulnerability
    prevalence = _value(obs, "AFG", "gsi_prevalence_per_1000")
    assert prevalence["value"] == pytest.approx(12.9599723815918)
    assert (prevalence["year"], prevalence["measure"], prevalence["source_row"]) == (2021, "estimated", 4)
    assert prevalence["source_region"] == "Asia and the Pacific"
    assert _value(obs, "AFG", "gsi_victims_estimated")["value"] == 505000
    vulnerability = _value(obs, "AFG", "gsi_vulnerability")
    assert vulnerability["value"] == pytest.approx(86.1662322798377)
    assert (vulnerability["measure"], vulnerability["unit"]) == ("rated", "%")
    # Afghanistan has no government response (workbook note 1): no observation, not a zero
    assert obs[(obs["iso3"] == "AFG") & obs["indicator"].str.startswith("gsi_government_response")].empty


def test_pinned_values_csv(summary_csv):
    obs = summary_csv[1].observations
    # gsi_2023_summary_data.csv row 3 (Albania), last column 'Government response total (%)'
    response = _value(obs, "ALB", "gsi_government_response")
    assert response["value"] == pytest.approx(61.53845977783203)
    assert (response["year"], response["date"], response["unit"]) == (2022, "2022-08-31", "%")
    # row 85 (Kosovo): population 0 is a placeholder (not loaded); prevalence 8.021943092346191
    assert obs[(obs["iso3"] == "XKX") & (obs["indicator"] == "gsi_population")].empty
    assert _value(obs, "XKX", "gsi_prevalence_per_1000")["value"] == pytest.approx(8.021943092346191)
    assert _value(obs, "XKX", "gsi_prevalence_per_1000")["source_row"] == 85
    # row 159 (Taiwan): prevalence 1.68527090549469, re-scored government response flagged
    assert _value(obs, "TWN", "gsi_prevalence_per_1000")["value"] == pytest.approx(1.68527090549469)
    assert "re-scored" in _value(obs, "TWN", "gsi_government_response")["flag"]
    assert pd.isna(_value(obs, "ALB", "gsi_government_response")["flag"])


def test_names_resolved(summary_csv):
    obs = summary_csv[1].observations
    by_name = obs.drop_duplicates("country").set_index("country")["iso3"]
    assert by_name["Cape Verde"] == "CPV"
    assert by_name["Taiwan"] == "TWN"
    assert by_name["Kosovo"] == "XKX"
    assert by_name["Hong Kong"] == "HKG"
    assert by_name["Republic of the Congo"] == "COG"
    assert by_name["Niger"] == "NER"
    assert obs["iso3"].nunique() == 180


def test_workbook_and_csv_agree(workbook, summary_csv):
    key = ["iso3", "indicator", "year"]
    a = workbook[1].observations.sort_values(key, ignore_index=True)
    b = summary_csv[1].observations.sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(a[key + ["value", "unit"]], b[key + ["value", "unit"]])
    assert ((a["source_row"] - b["source_row"]) == 2).all()  # header on sheet row 3 vs CSV row 1


def test_palermo_indicator(palermo):
    obs = palermo[1].observations
    # gsi_2023_palermo_indicator_M2121.csv row 30 (Cape Verde): M2121 = 1, M2122 = 0
    m2121 = _value(obs, "CPV", "gsi_m2121_palermo_protocol_ratified")
    assert (m2121["value"], m2121["year"], m2121["date"], m2121["source_row"]) == (1, 2022, "2022-08-31", 30)
    assert _value(obs, "CPV", "gsi_m2122_trafficking_criminalised_standalone")["value"] == 0
    # row 84 (Kosovo): 0, because it cannot ratify UN conventions
    kosovo = _value(obs, "XKX", "gsi_m2121_palermo_protocol_ratified")
    assert kosovo["value"] == 0 and "cannot ratify" in kosovo["flag"]
    # PROVENANCE.md: M2121 = 1 for 164 countries, 0 for 12
    counts = obs[obs["indicator"] == "gsi_m2121_palermo_protocol_ratified"]["value"].value_counts()
    assert counts.to_dict() == {1.0: 164, 0.0: 12}


def _summary_text(real_data) -> str:
    return (real_data / FOLDER / SUMMARY_CSV).read_text(encoding="utf-8")


def test_quarantine_unmatched_name_and_empty_row(real_data, tmp_path):
    lines = _summary_text(real_data).splitlines()
    lines[1] = lines[1].replace("Afghanistan", "Atlantis", 1)
    lines[2] = "Albania,,Europe and Central Asia" + "," * 14
    path = tmp_path / "summary.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    norm = gsi.normalise(gsi.read(path))
    assert norm.rows_read == norm.rows_loaded + len(norm.quarantine) == 180
    reasons = norm.quarantine.set_index("row_number")["reason"]
    assert reasons[2] == "country not matched: Atlantis"
    assert reasons[3] == "no value in any indicator column"


def test_missing_column_raises(real_data, tmp_path):
    frame = pd.read_csv(real_data / FOLDER / SUMMARY_CSV, dtype=str, keep_default_na=False)
    path = tmp_path / "no_vulnerability.csv"
    frame.drop(columns=["Total Vulnerability score (%)"]).to_csv(path, index=False)
    with pytest.raises(InputFileError, match="Total Vulnerability score") as err:
        gsi.read(path)
    assert str(path) in str(err.value)


def test_truncated_csv_raises(real_data, tmp_path):
    text = _summary_text(real_data)
    path = tmp_path / "truncated.csv"
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 30], encoding="utf-8")
    with pytest.raises(InputFileError, match="truncated") as err:
        gsi.read(path)
    assert str(path) in str(err.value)


def test_truncated_workbook_raises(real_data, tmp_path):
    data = (real_data / FOLDER / WORKBOOK).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert gsi.detect(path) is False
    with pytest.raises(InputFileError) as err:
        gsi.read(path)
    assert str(path) in str(err.value)


def test_latin1_csv_raises(real_data, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(_summary_text(real_data).encode("latin-1"))  # Côte d'Ivoire, Türkiye become 1 byte
    with pytest.raises(InputFileError, match="not valid utf-8") as err:
        gsi.read(path)
    assert str(path) in str(err.value)


def test_ingest_workbook(real_data, empty_store):
    result = tiplens.ingest([real_data / FOLDER / WORKBOOK], db=empty_store)
    assert [(r["source"], r["dataset"], r["edition"], r["rows_read"], r["rows_loaded"], r["rows_quarantined"])
            for r in result] == [("gsi", "summary", "2023", 180, 180, 0)]
    count = empty_store.con.execute("SELECT count(*) FROM observations WHERE source = 'gsi'").fetchone()[0]
    assert count == 176 + 160 * 8 + 176 * 6
    region = empty_store.countries().set_index("iso3").loc["XKX", "walkfree_region"]
    assert region == "Europe and Central Asia"


def test_country_given_twice_is_a_conflict(real_data, tmp_path):
    lines = _summary_text(real_data).splitlines()
    path = tmp_path / "twice.csv"
    path.write_text("\n".join(lines[:3] + [lines[2]]) + "\n", encoding="utf-8")  # Albania on rows 3 and 4
    norm = gsi.normalise(gsi.read(path))
    assert (norm.rows_read, norm.rows_loaded) == (3, 3)
    statuses = norm.observations.groupby("iso3")["status"].agg(set).to_dict()
    assert statuses == {"AFG": {"ok"}, "ALB": {"conflict"}}
