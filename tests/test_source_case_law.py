"""UNODC case-law extract (181 US cases) and Polaris hotline totals by state."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import tiplens
from tiplens.errors import InputFileError
from tiplens.sources import case_law
from tiplens.store import OBSERVATION_COLUMNS, SENSITIVE_TABLES

FOLDER = "unodc_cldb_us_cases"
CLDB = "HumanTrafficking_CLDB.csv"
POLARIS = "polaris_hotline_TotalCallsCases_by_state.csv"


@pytest.fixture(scope="module")
def cases(real_data):
    norm = case_law.normalise(case_law.read(real_data / FOLDER / CLDB))
    return norm, norm.records["case_law"].set_index("source_row")


@pytest.fixture(scope="module")
def polaris(real_data):
    return case_law.normalise(case_law.read(real_data / FOLDER / POLARIS))


def test_detect_and_accounting(real_data, cases, polaris):
    assert case_law.detect(real_data / FOLDER / CLDB) and case_law.detect(real_data / FOLDER / POLARIS)
    assert case_law.read(real_data / FOLDER / CLDB).dataset == "cldb_us_cases"
    assert case_law.read(real_data / FOLDER / POLARIS).dataset == "polaris_hotline_states"
    norm, _ = cases
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (181, 181, 0)
    assert norm.observations.empty
    assert (polaris.rows_read, polaris.rows_loaded, len(polaris.quarantine)) == (51, 51, 0)
    assert polaris.records == {}


def test_detect_is_false_for_every_other_file(real_data):
    for path in sorted(p for p in real_data.rglob("*") if p.is_file()):
        if path.parent.name == FOLDER and path.name in (CLDB, POLARIS):
            continue
        assert not case_law.detect(path), path


def test_no_name_bearing_column_is_kept(cases):
    _, records = cases
    for column in ("Name", "FactSummary", "CommentarySignificantFeatures", "Link", "name", "fact_summary", "link"):
        assert column not in records.columns
    # the kept free-text columns hold codes, courts and counts, never "United States v. <name>"
    text = records.select_dtypes(include=["object", "string"]).astype(str)
    assert not text.apply(lambda s: s.str.contains(r" v\. |united_states_v", case=False, regex=True)).any().any()


def test_case_values(cases):
    _, records = cases
    # HumanTrafficking_CLDB.csv record row 2 (WebOrder 1, USA178): VerdictDate placeholder YYYY-MM-DD,
    # Place CA, NumberVictims 'Several teenage girls*', MinorsIncluded Yes
    row = records.loc[2]
    assert (row["web_order"], row["unodc_case_id"], row["places"]) == (1, "USA178", "CA")
    assert pd.isna(row["verdict_date"]) and row["verdict_date_raw"] == "YYYY-MM-DD"
    assert "placeholder" in row["flag"] and "Several teenage girls" in row["flag"]
    assert pd.isna(row["victims_min"]) and row["number_victims_raw"] == "Several teenage girls*"
    assert bool(row["minors_included"]) is True and row["iso3"] == "USA"
    # row 4 (USA181): VerdictDate 7/1/15, Place LA
    assert (records.loc[4, "verdict_date"], records.loc[4, "verdict_year"], records.loc[4, "places"]) == \
        ("2015-07-01", 2015, "LA")
    # row 3 (USA180): Place 'GA; AL', NumberVictims 3
    assert records.loc[3, "places"] == "GA; AL"
    assert (records.loc[3, "victims_min"], records.loc[3, "victims_max"]) == (3, 3)
    # row 162 (USA028): VerdictDate 7/30/81 is 1981, Place '?'
    assert records.loc[162, "verdict_date"] == "1981-07-30"
    assert bool(records.loc[162, "place_uncertain"]) and pd.isna(records.loc[162, "places"])
    # row 180 (USA064): NumberVictims '25-100*'; row 47 (USA098): '15+'
    assert (records.loc[180, "victims_min"], records.loc[180, "victims_max"]) == (25, 100)
    assert records.loc[47, "victims_min"] == 15 and pd.isna(records.loc[47, "victims_max"])
    # row 47: AmericanNationality 'Yes*' -> True, the coder's star flagged
    assert bool(records.loc[47, "american_nationality"]) and "AmericanNationality marked '*'" in records.loc[47, "flag"]
    # row 114 (USA037): MinorsIncluded written 'yes'
    assert bool(records.loc[114, "minors_included"]) is True


def test_places(cases):
    _, records = cases
    # row 137 (USA068): '? OK; PA' -> OK; PA, uncertain
    assert records.loc[137, "places"] == "OK; PA" and bool(records.loc[137, "place_uncertain"])
    # row 108 (USA084): 'Saipan' -> Northern Mariana Islands
    assert records.loc[108, "places"] == "MP"
    # row 57 (USA121): 'Kuwait' is no US state: not guessed, flagged, raw kept
    assert pd.isna(records.loc[57, "places"]) and records.loc[57, "places_raw"] == "Kuwait"
    assert "Kuwait" in records.loc[57, "flag"]
    assert records["place_uncertain"].sum() == 30  # 25 '?' plus 5 '? XX'


def test_multi_valued_fields_are_normalised(cases):
    _, records = cases
    # row 96 (USA124): 'Transnational;\nOrganized Criminal Group'
    assert records.loc[96, "form_of_trafficking"] == "Transnational; Organized Criminal Group"
    assert records.loc[96, "form_of_trafficking_raw"] == "Transnational;\nOrganized Criminal Group"
    # 'Organized criminal group' (2 rows) takes the file's most frequent spelling
    values = records["form_of_trafficking"].dropna().str.split("; ").explode()
    assert "Organized criminal group" not in set(values)
    assert set(values) == {"Internal", "Transnational", "Organized Criminal Group", "International"}
    # row 142 (USA107): 'Domestic Servitude' -> 'Domestic servitude'
    assert records.loc[142, "exploitation_sector"] == "Domestic servitude"


def test_repeated_case_id_is_kept_and_flagged(cases):
    _, records = cases
    # rows 45 and 102 both carry UNODC case id USA174 (and one link)
    assert list(records.index[records["unodc_case_id"] == "USA174"]) == [45, 102]
    assert all("USA174 appears on more than one row" in records.loc[r, "flag"] for r in (45, 102))


def test_polaris_observations(polaris):
    obs = polaris.observations
    assert set(obs.columns) <= set(OBSERVATION_COLUMNS)
    assert set(obs["indicator"]) == {"polaris_hotline_calls", "polaris_hotline_cases"}
    assert set(obs["measure"]) == {"covariate"} and set(obs["iso3"]) == {"USA"}
    assert set(obs["flag"]) == {case_law.POLARIS_FLAG} and "contacts, not victims" in case_law.POLARIS_FLAG
    assert len(obs) == 102 and obs["category"].nunique() == 51
    values = obs.set_index(["category", "indicator"])["value"]
    # polaris_hotline_TotalCallsCases_by_state.csv row 2: Alabama,829,210
    assert values[("Alabama", "polaris_hotline_calls")] == 829 and values[("Alabama", "polaris_hotline_cases")] == 210
    # row 52: District-of-Columbia,1747,360
    assert values[("District of Columbia", "polaris_hotline_calls")] == 1747
    # row 51: Wyoming,163,35
    assert values[("Wyoming", "polaris_hotline_cases")] == 35
    # totals in PROVENANCE.md: 92,885 calls, 24,430 cases
    assert obs.groupby("indicator")["value"].sum().to_dict() == {"polaris_hotline_calls": 92885.0,
                                                                 "polaris_hotline_cases": 24430.0}
    assert (obs["lower"] == obs["value"]).all() and (obs["upper"] == obs["value"]).all()


# -- bad input ---------------------------------------------------------------------------------
def test_missing_column_is_a_clear_error(real_data, tmp_path):
    frame = pd.read_csv(real_data / FOLDER / CLDB, dtype=str, keep_default_na=False).head(3)
    path = tmp_path / "cldb.csv"
    frame.drop(columns=["MeansUsed"]).to_csv(path, index=False)
    with pytest.raises(InputFileError, match="MeansUsed") as err:
        case_law.read(path)
    assert str(path) in str(err.value)


def test_truncated_files_are_clear_errors(real_data, tmp_path):
    data = (real_data / FOLDER / CLDB).read_bytes()
    cut_in_quote = tmp_path / "cldb_cut.csv"
    cut_in_quote.write_bytes(data[: len(data) // 2])  # inside a quoted fact summary
    with pytest.raises(InputFileError) as err:
        case_law.read(cut_in_quote)
    assert str(cut_in_quote) in str(err.value)
    states = (real_data / FOLDER / POLARIS).read_bytes()
    cut_row = tmp_path / "polaris_cut.csv"
    cut_row.write_bytes(states[: states.rindex(b",")])  # the last row loses its cases cell
    with pytest.raises(InputFileError, match="truncated") as err:
        case_law.read(cut_row)
    assert str(cut_row) in str(err.value)


def test_latin1_file_is_a_clear_error(tmp_path):
    path = tmp_path / "polaris_latin1.csv"
    path.write_bytes("state,calls,cases\nNew-México,1,1\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="utf-8") as err:
        case_law.read(path)
    assert str(path) in str(err.value)


def test_bad_polaris_rows_are_quarantined(tmp_path):
    path = tmp_path / "polaris.csv"
    path.write_text("state,calls,cases\nAlabama,829,210\nAtlantis,5,1\nTexas,lots,3\nOhio,,\n", encoding="utf-8")
    norm = case_law.normalise(case_law.read(path))
    assert (norm.rows_read, norm.rows_loaded) == (4, 1)
    assert dict(zip(norm.quarantine["row_number"], norm.quarantine["reason"])) == {
        3: "not a US state: Atlantis", 4: "calls is not a count: lots",
        5: "no usable value (calls and cases both empty)"}


# -- the store ---------------------------------------------------------------------------------
def test_ingest(real_data, empty_store):
    result = tiplens.ingest([real_data / FOLDER / CLDB, real_data / FOLDER / POLARIS], db=empty_store,
                            source="case_law", edition="2017-09-26")
    assert [(r["dataset"], r["rows_read"], r["rows_loaded"]) for r in result] == [
        ("cldb_us_cases", 181, 181), ("polaris_hotline_states", 51, 51)]
    assert "records_case_law" in SENSITIVE_TABLES
    counts = empty_store.table_counts()
    assert counts["records_case_law"] == 181 and counts["observations"] == 102
    stored = empty_store.con.execute(
        "SELECT value FROM observations WHERE indicator = 'polaris_hotline_calls' AND category = 'New York'"
    ).fetchone()
    assert stored == (4335.0,)  # polaris file row 33: New-York,4335,1237
    columns = [r[0] for r in empty_store.con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'records_case_law'").fetchall()]
    assert not {"Name", "FactSummary", "Link", "CommentarySignificantFeatures"} & set(columns)
    raws = [json.loads(r[0]) for r in empty_store.con.execute("SELECT raw FROM quarantine").fetchall()]
    assert raws == []
