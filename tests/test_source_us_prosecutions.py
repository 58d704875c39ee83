"""US federal trafficking prosecutions (HTDP): values, traps, and that no person's name is ever stored."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import tiplens
from tiplens.errors import InputFileError
from tiplens.sources import us_prosecutions as up
from tiplens.store import SENSITIVE_TABLES

FOLDER = "us_federal_ht_cases_htdp"
FILES = {"case_data.csv": ("htdp_cases", 674, 674, 0),
         "defendant_data.csv": ("htdp_defendants", 1762, 1762, 0),
         "judge_data.csv": ("htdp_judges", 675, 675, 0)}


def _load(real_data, name):
    norm = up.normalise(up.read(real_data / FOLDER / name))
    return norm, next(iter(norm.records.values()))


@pytest.mark.parametrize("name", sorted(FILES))
def test_detect_read_and_accounting(real_data, name):
    dataset, read, loaded, quarantined = FILES[name]
    path = real_data / FOLDER / name
    assert up.detect(path)
    raw = up.read(path)
    assert raw.dataset == dataset and raw.edition is None
    norm = up.normalise(raw)
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (read, loaded, quarantined)
    assert norm.observations.empty


def test_detect_is_false_for_every_other_file(real_data):
    for path in sorted(p for p in real_data.rglob("*") if p.is_file()):
        if path.parent.name == FOLDER and path.name in FILES:
            continue
        assert not up.detect(path), path


def test_names_are_dropped_at_read(real_data):
    assert "name" not in up.read(real_data / FOLDER / "defendant_data.csv").frame.columns
    cases = up.read(real_data / FOLDER / "case_data.csv").frame.columns
    assert not {"name", "summary", "number"} & set(cases)
    assert not {"name", "tenure"} & set(up.read(real_data / FOLDER / "judge_data.csv").frame.columns)


def test_case_values(real_data):
    _, cases = _load(real_data, "case_data.csv")
    by_row = cases.set_index("source_row")
    # case_data.csv, record row 2 (id 405): state PA, federal_district 3, year 2010, 30 victims,
    # 0 minors, 30 foreigners, 2 females, 6 males, 5 defendants
    first = by_row.loc[2]
    assert (first["case_id"], first["state"], first["federal_circuit"], first["year"]) == (405, "PA", 3, 2010)
    assert (first["n_victims"], first["n_minors"], first["n_foreigners"], first["n_females"], first["n_males"],
            first["n_defendants"]) == (30, 0, 30, 2, 6, 5)
    assert first["iso3"] == "USA"
    # record row 3 (id 406): n_males is blank
    assert pd.isna(by_row.loc[3, "n_males"])
    # record row 583 (id 815): federal_district 'Multiple' -> no circuit, flagged
    assert pd.isna(by_row.loc[583, "federal_circuit"]) and "Multiple" in by_row.loc[583, "flag"]
    # record row 182 (id 593): state written 'Guam'
    assert by_row.loc[182, "state"] == "GU"


def test_defendant_values_and_traps(real_data):
    _, defendants = _load(real_data, "defendant_data.csv")
    by_row = defendants.set_index("source_row")
    # defendant_data.csv row 2 (id 1797, case 405): Male, 51, White, arrested 2010-12-07, charged
    # 2010-03-17, statute 1961_to_1968, 1200 months, 3 charges, terminated 2012, restitution 288272
    row = by_row.loc[2]
    assert (row["defendant_id"], row["case_id"], row["gender"], row["arrest_age"], row["race"]) == \
        (1797, 405, "Male", 51, "White")
    assert (row["arrest_date"], row["charge_date"]) == ("2010-12-07", "2010-03-17")
    assert (row["first_statute"], row["statute_months_sentenced_first"], row["n_charges"],
            row["year_terminated"], row["restitution"]) == ("1961_to_1968", 1200.0, 3, 2012, 288272.0)
    # row 1207 (id 4218): arrest_date 2020-09-27 is after the 2018 scrape -> None and flagged
    assert pd.isna(by_row.loc[1207, "arrest_date"]) and "2020-09-27" in by_row.loc[1207, "flag"]
    assert by_row.loc[1207, "charge_date"] == "2012-09-18"
    assert defendants["arrest_date"].dropna().max() <= up.SCRAPE_DATE
    assert defendants["flag"].str.contains("is after the August 2018 scrape", na=False).sum() == 2
    # row 7 (id 1802): four statutes listed; statute_fines written NumPy style ['0' '0' '0' '0']
    row = by_row.loc[7]
    assert row["statutes"] == "1324; 1546; 1589; 1590" and row["n_statutes_listed"] == 4
    assert row["first_statute"] == "1324" and row["statute_counts_first"] == 14.0
    assert row["statute_months_sentenced"] == "120; 0; 130; 130" and row["statute_fines"] == "0; 0; 0; 0"
    # row 4 (id 1799): n_sentences 999 is a code -> None, flagged
    assert pd.isna(by_row.loc[4, "n_sentences"]) and "n_sentences 999" in by_row.loc[4, "flag"]
    # row 1566 (id 4093): total_months_sentenced 999, statute lists of None
    assert pd.isna(by_row.loc[1566, "total_months_sentenced"])
    assert by_row.loc[1566, "statute_counts_np"] is None or pd.isna(by_row.loc[1566, "statute_counts_np"])
    assert by_row.loc[1566, "statute_trial_guilty"] == "2; 2"
    assert (defendants["n_sentences"] == 999).sum() == 0


def test_judges_keep_only_non_identifying_attributes(real_data):
    _, judges = _load(real_data, "judge_data.csv")
    assert set(judges.columns) == {"case_id", "judge_gender", "judge_race", "appointed_by", "iso3", "source_row",
                                   "flag"}
    # judge_data.csv rows 583 and 584: the two judges of case 815, both White, Male, Republican
    both = judges[judges["case_id"] == 815]
    assert list(both["source_row"]) == [583, 584]
    assert set(both["appointed_by"]) == {"Republican"} and set(both["judge_gender"]) == {"Male"}


# -- bad input ---------------------------------------------------------------------------------
def test_missing_column_is_a_clear_error(real_data, tmp_path):
    frame = pd.read_csv(real_data / FOLDER / "judge_data.csv", dtype=str, keep_default_na=False).head(3)
    path = tmp_path / "judges.csv"
    frame.drop(columns=["gender"]).assign(name="X").to_csv(path, index=False)
    with pytest.raises(InputFileError, match="gender") as err:
        up.read(path)
    assert str(path) in str(err.value)


def test_truncated_file_is_a_clear_error(real_data, tmp_path):
    path = tmp_path / "defendants.csv"
    data = (real_data / FOLDER / "defendant_data.csv").read_bytes()
    path.write_bytes(data[:data.rindex(b"\n", 0, len(data) - 1) + 40])  # stop 40 bytes into the last row
    with pytest.raises(InputFileError, match="truncated") as err:
        up.read(path)
    assert str(path) in str(err.value)


def test_latin1_file_is_a_clear_error(real_data, tmp_path):
    frame = pd.read_csv(real_data / FOLDER / "judge_data.csv", dtype=str, keep_default_na=False).head(3)
    frame.loc[0, "race"] = "Hispánic"
    path = tmp_path / "judges_latin1.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(InputFileError, match="utf-8") as err:
        up.read(path)
    assert str(path) in str(err.value)


# -- privacy: no name anywhere in the store ----------------------------------------------------
def _store_text(store) -> dict[str, str]:
    """Every text cell of every table, per table, lower-cased and joined."""
    tables = [r[0] for r in store.con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    out = {}
    for table in tables:
        frame = store.con.execute(f'SELECT * FROM "{table}"').df()
        text = [frame[c].dropna().astype(str) for c in frame.columns
                if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
        out[table] = "\n".join("\n".join(s) for s in text).casefold()
    return out


def _personal_strings(real_data) -> tuple[set[str], set[str]]:
    """(full strings that identify people, surname tokens) from the source files' name columns."""
    htdp = real_data / FOLDER
    cldb = pd.read_csv(real_data / "unodc_cldb_us_cases" / "HumanTrafficking_CLDB.csv", dtype=str,
                       keep_default_na=False)
    cases = pd.read_csv(htdp / "case_data.csv", dtype=str, keep_default_na=False)
    names = pd.concat([pd.read_csv(htdp / f, dtype=str, keep_default_na=False)["name"]
                       for f in ("defendant_data.csv", "judge_data.csv")])
    full = {n.strip().casefold() for n in names if n.strip()}
    full |= {n.strip().casefold() for n in pd.concat([cases["name"], cases["number"], cldb["Name"], cldb["Link"]])
             if n.strip() and n.strip() not in ("NA",)}
    surnames = {t.casefold() for n in names for t in re.findall(r"[A-Za-z][A-Za-z']{5,}", n)}
    return full, surnames


def _kept_vocabulary(real_data) -> set[str]:
    """Words of the source columns that are no names or free text (state names, codes, labels)."""
    htdp = real_data / FOLDER
    identifying = {"name", "summary", "number", "tenure", "Name", "FactSummary", "CommentarySignificantFeatures",
                   "Link"}
    words = set()
    for path in [htdp / "case_data.csv", htdp / "defendant_data.csv", htdp / "judge_data.csv",
                 real_data / "unodc_cldb_us_cases" / "HumanTrafficking_CLDB.csv",
                 real_data / "unodc_cldb_us_cases" / "polaris_hotline_TotalCallsCases_by_state.csv"]:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        kept = frame.drop(columns=[c for c in frame.columns if c in identifying])
        words |= {w.casefold() for w in re.findall(r"[A-Za-z][A-Za-z']+", " ".join(kept.to_numpy().ravel()))}
    return words


def _leaks(text_by_table: dict[str, str], full: set[str], surnames: set[str]) -> list[tuple[str, str]]:
    """(table, string) for every full name anywhere and every surname word outside ``countries``."""
    found = []
    for table, text in text_by_table.items():
        found += [(table, s) for s in full if s in text]
        if table == "countries":  # reference country names ("Saint Pierre", "Solomon Islands"), not loaded data
            continue
        words = set(re.findall(r"[a-z][a-z']+", text))
        found += [(table, s) for s in surnames & words]
    return found


@pytest.fixture
def privacy_store(real_data, empty_store):
    htdp = real_data / FOLDER
    tiplens.ingest([htdp / "case_data.csv", htdp / "defendant_data.csv", htdp / "judge_data.csv"],
                   db=empty_store, source="us_prosecutions", edition="2018-08-21")
    cldb = real_data / "unodc_cldb_us_cases"
    tiplens.ingest([cldb / "HumanTrafficking_CLDB.csv", cldb / "polaris_hotline_TotalCallsCases_by_state.csv"],
                   db=empty_store, source="case_law", edition="2017-09-26")
    return empty_store


def test_no_personal_name_anywhere_in_the_store(real_data, privacy_store):
    full, surnames = _personal_strings(real_data)
    surnames -= _kept_vocabulary(real_data)  # a surname that is also a state, court or label word
    assert len(full) > 2000 and len(surnames) > 500  # the check has something to look for
    text = _store_text(privacy_store)
    assert {"records_prosecution_cases", "records_prosecution_defendants", "records_prosecution_judges",
            "records_case_law", "quarantine", "observations", "files"} <= set(text)
    assert _leaks(text, full, surnames) == []


def test_no_personal_name_in_quarantine_raw(real_data, privacy_store, tmp_path):
    full, surnames = _personal_strings(real_data)
    surnames -= _kept_vocabulary(real_data)
    raws = [json.loads(r[0]) for r in privacy_store.con.execute("SELECT raw FROM quarantine").fetchall()]
    keys = {k for raw in raws for k in raw}
    assert not keys & {"name", "summary", "number", "Name", "FactSummary", "Link", "CommentarySignificantFeatures"}
    text = "\n".join(str(v) for raw in raws for v in raw.values() if v).casefold()
    assert _leaks({"quarantine.raw": text}, full, surnames) == []
    # the quarantine of a file with bad rows must not carry names either: break one judge row's id
    frame = pd.read_csv(real_data / FOLDER / "judge_data.csv", dtype=str, keep_default_na=False).head(5)
    frame.loc[1, "case_id"] = "n/a"
    path = tmp_path / "judges_bad.csv"
    frame.to_csv(path, index=False)
    norm = up.normalise(up.read(path))
    assert list(norm.quarantine["row_number"]) == [3]
    assert frame.loc[1, "name"] not in norm.quarantine.loc[0, "raw"]
    assert set(json.loads(norm.quarantine.loc[0, "raw"])) == {"id", "race", "gender", "appointed_by", "case_id"}


def test_the_leak_check_finds_a_planted_name(real_data, privacy_store):
    full, surnames = _personal_strings(real_data)
    surnames -= _kept_vocabulary(real_data)
    planted, surname = sorted(full)[100], sorted(surnames)[100]
    privacy_store.con.execute("CREATE TABLE scratch (note VARCHAR)")
    privacy_store.con.execute("INSERT INTO scratch VALUES (?), (?)",
                              [f"mentions {planted.upper()} here", f"and {surname.title()}."])
    leaks = _leaks(_store_text(privacy_store), full, surnames)
    assert ("scratch", planted) in leaks and ("scratch", surname) in leaks


def test_prosecution_tables_are_sensitive(privacy_store):
    assert {"records_prosecution_cases", "records_prosecution_defendants"} <= SENSITIVE_TABLES
    counts = privacy_store.table_counts()
    assert counts["records_prosecution_cases"] == 674
    assert counts["records_prosecution_defendants"] == 1762
    assert counts["records_prosecution_judges"] == 675
    files = privacy_store.files("us_prosecutions")
    assert list(files["rows_read"]) == [674, 1762, 675]
