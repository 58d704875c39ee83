"""MSE list-overlap loader on the SparseMSE tables; expected values read by hand from the CSVs."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import tiplens as tl
from tiplens.errors import InputFileError
from tiplens.sources import mse_lists

FOLDER = "mse_modern_slavery_lists"

# file → (dataset, data rows = `wc -l` minus header, cases); case totals from PROVENANCE.md
FILES = {
    "UKdat.csv": ("uk_2013", 25, 2744),
    "UKdat_5.csv": ("uk_2013_5lists", 18, 2744),
    "Ned.csv": ("netherlands", 24, 8234),
    "Ned_5.csv": ("netherlands_5lists", 17, 8234),
    "NewOrl.csv": ("new_orleans", 19, 185),
    "NewOrl_5.csv": ("new_orleans_5lists", 14, 185),
    "Western.csv": ("western_us", 13, 345),
}


def _load(path):
    return mse_lists.normalise(mse_lists.read(path))


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_file_accounted(real_data, name):
    dataset, rows, cases = FILES[name]
    raw = mse_lists.read(real_data / FOLDER / name)
    norm = mse_lists.normalise(raw)
    assert raw.dataset == dataset and raw.edition is None
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (rows, rows, 0)
    table = norm.records["mse_lists"]
    assert set(table["study"]) == {dataset}
    assert int(table["count"].sum()) == cases
    assert len(norm.observations) == 0
    # no zero cells invented, no all-zero history
    assert (table["count"] > 0).all() and (table["n_lists_captured"] > 0).all()


def test_values_read_by_hand(real_data):
    uk = _load(real_data / FOLDER / "UKdat.csv").records["mse_lists"]
    # UKdat.csv row 4: 0,0,1,0,0,0,907 → police forces (PF) only
    row = uk[uk["source_row"] == 4].iloc[0]
    assert (row.lists, row.history, row.captured_on, row["count"]) == ("LA|NG|PF|GO|GP|NCA", "001000", "PF", 907)
    # UKdat.csv row 26: 1,1,1,1,0,0,1 → on four lists
    row = uk[uk["source_row"] == 26].iloc[0]
    assert (row.history, row.captured_on, row.n_lists_captured, row["count"]) == ("111100", "LA|NG|PF|GO", 4, 1)
    ned = _load(real_data / FOLDER / "Ned.csv").records["mse_lists"]
    # Ned.csv row 22: 0,0,0,1,0,0,4466 → list P only
    row = ned[ned["source_row"] == 22].iloc[0]
    assert (row.history, row.captured_on, row["count"]) == ("000100", "P", 4466)


def test_capture_table_round_trip(real_data):
    path = real_data / FOLDER / "Western.csv"
    table = mse_lists.capture_table(_load(path).records["mse_lists"], "western_us")
    published = pd.read_csv(path).rename(columns={"n": "count"})
    pd.testing.assert_frame_equal(table, published, check_dtype=False)


def test_study_recognised_by_content(real_data, tmp_path):
    renamed = tmp_path / "table1.csv"
    shutil.copy(real_data / FOLDER / "Ned_5.csv", renamed)
    assert mse_lists.read(renamed).dataset == "netherlands_5lists"
    # anonymised list names (A-E) with other histories are not 'Western': label from the file name
    other = tmp_path / "County X 2021.csv"
    other.write_text("A,B,C,D,E,n\n1,0,0,0,0,10\n0,1,0,0,0,7\n1,1,0,0,0,2\n", encoding="utf-8")
    raw = mse_lists.read(other)
    norm = mse_lists.normalise(raw)
    assert raw.dataset == "capture_histories"
    assert set(norm.records["mse_lists"]["study"]) == {"county_x_2021"}
    assert "taken from the file name" in " ".join(norm.notes)


def test_malformed_rows_quarantined(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text("\n".join([
        "LA,NG,PF,GO,GP,NCA,count",
        "1,0,0,0,0,0,54",      # 2 ok
        "0,2,0,0,0,0,463",     # 3 not 0/1
        "0,0,1,0,0,0,-907",    # 4 negative
        "0,0,0,1,0,0,69.5",    # 5 not whole
        "0,0,0,0,1,0,",        # 6 empty count
        "0,0,0,0,0,0,12",      # 7 all-zero history
        "0,0,0,0,0,1,57",      # 8 repeated history
        "0,0,0,0,0,1,5",       # 9 repeated history
        "0,x,1,0,0,0,3",       # 10 not 0/1
    ]) + "\n", encoding="utf-8")
    norm = _load(path)
    reasons = dict(zip(norm.quarantine["row_number"], norm.quarantine["reason"]))
    assert reasons[3] == "capture history is not 0/1: NG='2'"
    assert reasons[4] == "count is not a non-negative whole number: '-907'"
    assert reasons[5] == "count is not a non-negative whole number: '69.5'"
    assert reasons[6] == "count is not a non-negative whole number: ''"
    assert reasons[7].startswith("all-zero capture history")
    assert reasons[8] == reasons[9] == "capture history 000001 appears more than once (rows 8, 9): not summed"
    assert reasons[10] == "capture history is not 0/1: NG='x'"
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (9, 1, 8)
    assert norm.records["mse_lists"]["count"].tolist() == [54]


def test_bad_files_raise_naming_the_file(real_data, tmp_path):
    source = real_data / FOLDER / "UKdat.csv"
    no_count = tmp_path / "no_count.csv"
    pd.read_csv(source, dtype=str).drop(columns=["count"]).to_csv(no_count, index=False)
    cut = tmp_path / "cut.csv"
    data = source.read_bytes()
    cut.write_bytes(data[: len(data) - 6])   # ends inside the last row
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("LA,NG,count\n1,0,5\n0,1,3\n\xe9,1,2\n".encode("latin-1"))
    messages = {}
    for bad in (no_count, cut, latin1):
        with pytest.raises(InputFileError) as info:
            mse_lists.read(bad)
        assert str(bad) in str(info.value)
        messages[bad.name] = str(info.value)
    assert "last column must be the case count" in messages["no_count.csv"]
    assert "truncated" in messages["cut.csv"] and "row 26 " in messages["cut.csv"]
    assert "not valid utf-8" in messages["latin1.csv"]


def test_detect_only_list_tables(real_data):
    for path in sorted(real_data.rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".xlsx"):
            assert mse_lists.detect(path) == (path.parent.name == FOLDER), path


def test_ingest_keeps_studies_apart(real_data, empty_store):
    paths = [real_data / FOLDER / name for name in sorted(FILES)]
    result = tl.ingest(paths, db=empty_store, edition="SparseMSE-2.0.1")
    assert sorted(r["dataset"] for r in result) == sorted(v[0] for v in FILES.values())
    stored = empty_store.records("mse_lists")
    totals = stored.groupby("study")["count"].sum()
    assert totals["uk_2013"] == 2744 and totals["uk_2013_5lists"] == 2744      # PROVENANCE: UK 2,744
    assert totals["netherlands"] == 8234 and totals["netherlands_5lists"] == 8234
    assert len(stored) == sum(v[1] for v in FILES.values())
    assert empty_store.table_counts()["observations"] == 0
