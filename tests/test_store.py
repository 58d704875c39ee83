"""The store: transactions, replacement by identity, busy handling, newest edition."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

import tiplens as tl
from tiplens import _ingest
from tiplens.errors import StoreBusyError, TiplensError

GLOTIP_2023 = "unodc_glotip/data_glotip_2023-05-30.xlsx"
GLOTIP_2025_CSV = "unodc_glotip/data_glotip_2025-04-14.csv"


def _snapshot(store):
    return {name: store.con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').df()
            for name in ("files", "observations", "quarantine")}


def test_reingest_changes_nothing(real_data, empty_store):
    tl.ingest([real_data / GLOTIP_2023], db=empty_store)
    before = _snapshot(empty_store)
    result = tl.ingest([real_data / GLOTIP_2023], db=empty_store)
    assert len(result[0]["replaced"]) == 1
    after = _snapshot(empty_store)
    for name in ("observations", "quarantine"):
        pd.testing.assert_frame_equal(before[name], after[name])
    assert len(after["files"]) == 1
    assert after["files"]["sha256"].iloc[0] == before["files"]["sha256"].iloc[0]


def test_failed_write_rolls_back_everything(real_data, empty_store):
    tl.ingest([real_data / GLOTIP_2023], db=empty_store)
    before = _snapshot(empty_store)
    info, obs, qua, records, _ = _ingest.prepare_file(real_data / GLOTIP_2023)
    # a record table whose column type clashes with the existing one makes DuckDB fail mid-batch,
    # after the old rows of the same identity were already deleted inside the transaction
    empty_store.replace_files([({**info, "dataset": "probe", "edition": "x"}, obs.head(3), qua.head(0),
                                {"probe": pd.DataFrame({"n": [1]})})])
    with pytest.raises(Exception):
        empty_store.replace_files([(info, obs, qua, {"probe": pd.DataFrame({"n": ["not a number"]})})])
    after = _snapshot(empty_store)
    assert len(after["files"]) == len(before["files"]) + 1  # only the probe
    glotip_rows = after["observations"][after["observations"]["dataset"] == "country_data"]
    assert len(glotip_rows) == len(before["observations"])


def test_default_rows_are_superseded_by_a_real_file(real_data, empty_store):
    _ingest.ingest([real_data / GLOTIP_2023], store=empty_store, origin="default")
    assert set(empty_store.files()["origin"]) == {"default"}
    tl.ingest([real_data / GLOTIP_2025_CSV], db=empty_store, edition="2025-04-14")
    files = empty_store.files()
    assert list(files["origin"]) == ["ingest"] and list(files["edition"]) == ["2025-04-14"]
    assert set(empty_store.observations(newest=False)["edition"]) == {"2025-04-14"}


def test_second_writer_gets_store_is_busy(tmp_path):
    db = tmp_path / "busy.duckdb"
    tl.open_store(db, with_default=False).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(30)",
         str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with pytest.raises(StoreBusyError, match="store is busy"):
            tl.open_store(db, timeout=1.0)
        assert time.monotonic() - start >= 1.0  # it waited before giving up
    finally:
        holder.kill()
        holder.wait()
    tl.open_store(db, timeout=1.0).close()  # free again once the other process is gone


def test_newest_edition_is_the_default(real_data, empty_store):
    tl.ingest([real_data / GLOTIP_2023], db=empty_store)
    tl.ingest([real_data / GLOTIP_2025_CSV], db=empty_store, edition="2025-04-14")
    assert set(empty_store.observations(source="glotip")["edition"]) == {"2025-04-14"}
    pinned = empty_store.observations(source="glotip", edition="2023-05-30")
    assert set(pinned["edition"]) == {"2023-05-30"}
    # panel can pin an edition too: 2021 is the last year of the 2023 release
    panel = tl.panel(db=empty_store, editions={"glotip": "2023-05-30"})
    assert panel["year"].max() == 2021


def test_conflicts_are_out_of_queries_unless_asked(real_data, empty_store):
    tl.ingest([real_data / GLOTIP_2025_CSV], db=empty_store, edition="2025-04-14")
    plain = empty_store.observations(source="glotip")
    everything = empty_store.observations(source="glotip", include_conflicts=True)
    assert (plain["status"] == "conflict").sum() == 0
    assert (everything["status"] == "conflict").sum() == 310  # PROVENANCE note 4: 1,216 - 906


def test_workflow_tables_write_replace_and_roll_back(empty_store):
    columns = {"codebook": "VARCHAR", "code": "VARCHAR", "n": "INTEGER"}
    first = pd.DataFrame({"codebook": ["a", "a", "b"], "code": ["x", "y", "z"], "n": [1, 2, 3]})
    assert empty_store.write_rows("coding_test", first, columns) == 3
    empty_store.write_rows("coding_test", pd.DataFrame({"codebook": ["a"], "code": ["w"], "n": [9]}), columns,
                           replace_where={"codebook": "a"})
    rows = empty_store.read_rows("coding_test", order_by=["code"])
    assert rows["code"].tolist() == ["w", "z"]  # a's two rows replaced by one, b kept
    with pytest.raises(RuntimeError):
        with empty_store.transaction():
            empty_store.write_rows("coding_test", first, columns, replace_all=True)
            raise RuntimeError("fails half way")
    assert empty_store.read_rows("coding_test")["code"].sort_values().tolist() == ["w", "z"]
    assert empty_store.read_rows("review_absent").empty
    with pytest.raises(TiplensError, match="not a workflow table"):
        empty_store.write_rows("observations", first, columns)
    with pytest.raises(TiplensError, match="not declared"):
        empty_store.write_rows("coding_test", first.assign(extra=1), columns)
