"""CTDC victim records: layouts pinned to CTDC's published data dictionaries, mapped cell by cell.

The real CTDC files are not redistributable, so the mapping is tested on synthetic files built by
``tests/ctdc_fixtures.py`` with the dictionaries' variables and code values; the layouts themselves
are checked against the dictionary workbooks in ``ctdc_docs/``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ctdc_fixtures as fx
import tiplens
from tiplens.errors import InputFileError, TiplensError
from tiplens.sources import ctdc
from tiplens.store import SENSITIVE_TABLES

DICT_2017 = "CTDC_DATA_DICTIONARY_version_28_11_2017.xlsx"
DICT_2021 = "CTDC_Global_K-anon_Dataset_DATA_DICTIONARY_version_20210825.xlsx"
LAYOUTS = ["ctdc_2017", "ctdc_kanon_2021"]


def _sheet(path: Path, name: str) -> list[list]:
    from python_calamine import CalamineWorkbook
    workbook = CalamineWorkbook.from_path(str(path))
    sheet = next(s for s in workbook.sheet_names if s.strip() == name)
    return workbook.get_sheet_by_name(sheet).to_python()


def _dictionary_variables(path: Path) -> list[str]:
    rows = _sheet(path, "Main")
    assert str(rows[0][0]).strip() == "Variable name"
    return [str(r[0]).strip() for r in rows[1:] if str(r[0]).strip()]


def _lookup(path: Path, name: str) -> list[str]:
    """Codes of one lookup list of the dictionary's ``Lookups`` sheet."""
    rows = _sheet(path, "Lookups")
    codes, inside = [], False
    for row in rows:
        label = str(row[0]).strip()
        if label:
            inside = label == name
            continue
        if inside and str(row[1]).strip():
            codes.append(str(row[1]).strip())
    return codes


# -- the layouts are the published documents ---------------------------------------------------
def test_2017_columns_are_the_2017_dictionary(real_data):
    assert list(ctdc.COLUMNS_2017) == _dictionary_variables(real_data / "ctdc_docs" / DICT_2017)


def test_kanon_columns_are_the_2021_dictionary(real_data):
    assert list(ctdc.COLUMNS_KANON_2021) == _dictionary_variables(real_data / "ctdc_docs" / DICT_2021)


def test_kanon_marker_column_is_in_the_real_2021_file_not_in_the_dictionary(real_data):
    # kanon2021_missing_summary.csv lists the columns of the real K-anon file (third-party summary)
    summary = pd.read_csv(real_data / "ctdc_docs" / "kanon2021_missing_summary.csv", keep_default_na=False)
    real_columns = {c.casefold() for c in summary.iloc[:, 0]}
    dictionary = {c.casefold() for c in _dictionary_variables(real_data / "ctdc_docs" / DICT_2021)}
    for column in ctdc.KANON_2021_EXTRA:
        assert column.casefold() in real_columns and column.casefold() not in dictionary
    # the real file writes majorityEntry, the dictionary MajorityEntry: matching ignores case
    assert "majorityEntry" in set(summary.iloc[:, 0]) and "MajorityEntry" in ctdc.COLUMNS_KANON_2021


def test_code_lists_are_the_dictionary_lookups(real_data):
    path = real_data / "ctdc_docs" / DICT_2021
    assert list(ctdc.AGE_BANDS) == _lookup(path, "Age range 2")
    assert list(ctdc.DATA_SOURCES) == _lookup(path, "Datasource")
    assert [g for g in _lookup(path, "Gender") if g != "Unknown"] == list(ctdc.GENDERS)
    assert [c for c in _lookup(path, "Age category") if c != "Unknown"] == list(ctdc.MAJORITY)
    assert list(ctdc.AGE_BANDS) == _lookup(real_data / "ctdc_docs" / DICT_2017, "Age range 2")


def test_every_dictionary_country_code_resolves_or_means_unknown(real_data):
    from tiplens.harmonise.countries import resolve
    region = _sheet(real_data / "ctdc_docs" / DICT_2021, "Region")
    codes = [str(r[0]).strip() for r in region[1:] if str(r[0]).strip()]
    table = resolve(codes, "iso2")
    unresolved = set(table.loc[table["status"].isin(["unmatched", "non_country"]), "value"])
    # JE (Jersey), MF (Saint-Martin), SX (Sint Maarten) have ISO codes coco knows; nothing is left
    assert unresolved == set()
    assert table.set_index("value").loc["NA", "iso3"] == "NAM"


# -- synthetic files, cell by cell -------------------------------------------------------------
# expected cells per file row; keys absent here must be missing (None) in the record
EXPECTED = {
    2: {"year_of_registration": 2016, "data_source": "Case management", "gender": "Female", "age_band": "18--20",
        "majority_status": "Adult", "majority_status_at_exploit": "Adult", "majority_entry": "9--17",
        "citizenship_iso3": "NAM", "exploitation_iso3": "ZAF", "is_sexual_exploit": True, "is_forced_labour": False,
        "means_of_control_debt_bondage": True, "means_of_control_concatenated": "Debt bondage",
        "type_of_exploit_concatenated": "Sexual exploitation", "type_of_sex_prostitution": True,
        "is_slavery_and_practices": False},
    3: {"year_of_registration": 2019, "data_source": "Hotline", "gender": "Male", "exploitation_iso3": "USA",
        "is_forced_labour": True, "is_sexual_exploit": False, "type_of_labour_agriculture": True,
        "recruiter_relationship": "Employer", "recruiter_relation_other": True},
    4: {"data_source": "Case management", "exploitation_iso3": "NAM", "is_sexual_exploit": True},
    5: {"year_of_registration": 2008, "data_source": "Case management", "gender": "Transgender/NonConforming",
        "age_band": "48+", "majority_status": "Adult", "exploitation_iso3": "XKX", "is_forced_marriage": True,
        "is_slavery_and_practices": True},
    8: {"data_source": "Hotline", "citizenship_iso3": "PHL", "exploitation_iso3": "PHL", "is_sexual_exploit": True,
        "flag": "yearOfRegistration is not a year: '20x6'; gender not in the dictionary's codes: 'M'; "
                "ageBroad not in the dictionary's codes: '18-20'; isForcedLabour is not 0, 1 or -99: '2'"},
}


def _write(tmp_path: Path, layout: str, fmt: str, rows=None) -> Path:
    path = tmp_path / f"victims_{layout}.{fmt}"
    return (fx.write_csv if fmt == "csv" else fx.write_xlsx)(path, layout, rows)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_detect_and_dataset(tmp_path, layout, fmt):
    path = _write(tmp_path, layout, fmt)
    assert ctdc.detect(path)
    raw = ctdc.read(path)
    assert raw.dataset == layout
    assert raw.edition is None  # CTDC files do not state their release inside


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_mapping_cell_by_cell(tmp_path, layout, fmt):
    norm = ctdc.normalise(ctdc.read(_write(tmp_path, layout, fmt)))
    assert norm.observations.empty  # victim counts only through disclosure control
    records = norm.records["ctdc_victims"]
    assert list(records.columns) == list(ctdc.RECORD_COLUMNS)
    assert list(records["source_row"]) == sorted(EXPECTED)
    for _, record in records.iterrows():
        expected = dict(EXPECTED[record["source_row"]])
        if layout == "ctdc_2017":  # the 2017 layout has no isSlaveryAndPractices
            expected.pop("is_slavery_and_practices", None)
        for column in ctdc.RECORD_COLUMNS:
            if column == "source_row":
                continue
            cell = record[column]
            if column in expected:
                assert cell == expected[column], (record["source_row"], column, cell)
            else:
                assert pd.isna(cell), (record["source_row"], column, cell)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_quarantine_and_accounting(tmp_path, layout):
    norm = ctdc.normalise(ctdc.read(_write(tmp_path, layout, "csv")))
    assert norm.rows_read == 7
    assert norm.rows_loaded == 5
    assert norm.rows_read == norm.rows_loaded + len(norm.quarantine)
    reasons = dict(zip(norm.quarantine["row_number"], norm.quarantine["reason"]))
    assert reasons == {6: "country not matched: QQ", 7: "no usable value (every cell is missing)"}
    assert norm.quarantine.set_index("row_number").loc[6, "column_name"] == "citizenship"


def test_namibia_na_is_a_country_not_missing(tmp_path):
    rows = [{"yearOfRegistration": "2018", "Datasource": "Case management", "citizenship": "NA",
             "CountryOfExploitation": "NA"}]
    records = ctdc.normalise(ctdc.read(fx.write_csv(tmp_path / "na.csv", "ctdc_2017", rows))).records["ctdc_victims"]
    assert records.loc[0, "citizenship_iso3"] == "NAM"
    assert records.loc[0, "exploitation_iso3"] == "NAM"


@pytest.mark.parametrize("code", ["-99", "Unknown", "", "00", " unknown "])
def test_missing_codes_are_none(tmp_path, code):
    rows = [{"yearOfRegistration": "2018", "Datasource": "Case management", "citizenship": code,
             "CountryOfExploitation": "RU", "gender": code if code != "00" else "",
             "isForcedLabour": code if code != "00" else "-99"}]  # 00 is a country code only
    norm = ctdc.normalise(ctdc.read(fx.write_csv(tmp_path / "m.csv", "ctdc_kanon_2021", rows)))
    record = norm.records["ctdc_victims"].iloc[0]
    assert pd.isna(record["citizenship_iso3"]) and pd.isna(record["gender"]) and pd.isna(record["is_forced_labour"])
    assert record["exploitation_iso3"] == "RUS"
    assert pd.isna(record["flag"])


def test_detect_is_false_for_every_other_file(real_data):
    for path in sorted(p for p in real_data.rglob("*") if p.is_file()):
        assert not ctdc.detect(path), path


# -- bad input ---------------------------------------------------------------------------------
def test_missing_column_is_a_clear_error(tmp_path):
    table = fx.table("ctdc_2017")
    drop = table[0].index("gender")
    path = tmp_path / "no_gender.csv"
    path.write_text("\n".join(",".join(r[:drop] + r[drop + 1:]) for r in table) + "\n", encoding="utf-8")
    assert ctdc.detect(path)
    with pytest.raises(InputFileError, match="gender") as err:
        ctdc.read(path)
    assert str(path) in str(err.value)


def test_truncated_file_is_a_clear_error(tmp_path):
    path = fx.write_csv(tmp_path / "cut.csv", "ctdc_kanon_2021")
    data = path.read_bytes()
    path.write_bytes(data[:-60])  # cut inside the last row
    with pytest.raises(InputFileError, match="truncated") as err:
        ctdc.read(path)
    assert str(path) in str(err.value)


def test_latin1_file_is_a_clear_error(tmp_path):
    rows = [dict(fx.ROWS[0], meansOfControlConcatenated="Débt bondage")]
    path = fx.write_csv(tmp_path / "latin1.csv", "ctdc_2017", rows, encoding="latin-1")
    with pytest.raises(InputFileError, match="UTF-8|utf-8") as err:
        ctdc.read(path)
    assert str(path) in str(err.value)


def test_no_edition_in_file_needs_the_option(tmp_path, empty_store):
    path = fx.write_csv(tmp_path / "v.csv", "ctdc_kanon_2021")
    with pytest.raises(InputFileError, match="edition"):
        tiplens.ingest([path], db=empty_store, source="ctdc")


# -- the store ---------------------------------------------------------------------------------
def test_ingest_into_store_as_sensitive_table(tmp_path, empty_store):
    path = fx.write_csv(tmp_path / "v.csv", "ctdc_kanon_2021")
    result = tiplens.ingest([path], db=empty_store, source="ctdc", edition="2021-07-15")
    assert result[0]["dataset"] == "ctdc_kanon_2021"
    assert (result[0]["rows_read"], result[0]["rows_loaded"], result[0]["rows_quarantined"]) == (7, 5, 2)
    assert "records_ctdc_victims" in SENSITIVE_TABLES
    counts = empty_store.table_counts()
    assert counts["records_ctdc_victims"] == 5 and counts["observations"] == 0 and counts["quarantine"] == 2
    stored = empty_store.con.execute(
        "SELECT citizenship_iso3, is_slavery_and_practices FROM records_ctdc_victims ORDER BY source_row").fetchall()
    assert stored[0] == ("NAM", False)
    with pytest.raises(TiplensError, match="disclosure"):
        empty_store.records("ctdc_victims")
