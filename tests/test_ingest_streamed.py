"""Streamed ingest of GLOTIP CSV files: the same store as the whole-file path, in flat memory.

A GLOTIP CSV of at least ``tiplens.sources._base.STREAM_FROM_BYTES`` is read in chunks, its
row-level rules applied per chunk, the rows staged in a scratch DuckDB file, the shared-key rules
applied per partition of the staged rows, and the result copied into the store in one transaction.
These tests lower the threshold (and the chunk and partition sizes, so the real 2025 file spans
several of each) and check that the store then holds exactly what the whole-file path gives, that
bad input gives the same error with nothing written, that a kill leaves the state before or after,
and, in child processes, that peak memory does not grow with the file.
"""

from __future__ import annotations

import collections
import hashlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import hostile
import pandas as pd
import pytest

import tiplens
from tiplens import _ingest
from tiplens import store as store_module
from tiplens.errors import TiplensError
from tiplens.sources import _base

GLOTIP_CSV = "unodc_glotip/data_glotip_2025-04-14.csv"
EDITION = "2025-04-14"


@pytest.fixture
def streamed(monkeypatch):
    """Send every GLOTIP CSV through the streamed path, in chunks of 7,000 rows and partitions of
    20,000 staged rows (the real 2025 file: 9 chunks, 3 partitions)."""
    monkeypatch.setattr(_base, "STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(_base, "CSV_CHUNK_ROWS", 7_000)
    monkeypatch.setattr(store_module, "STREAM_PARTITION_ROWS", 20_000)


@pytest.fixture(scope="module")
def both(real_data, tmp_path_factory):
    """The real 2025 CSV ingested whole into one store and streamed into another."""
    folder = tmp_path_factory.mktemp("streamed")
    path = real_data / GLOTIP_CSV
    whole = tiplens.open_store(folder / "whole.duckdb", with_default=True)
    (whole_result,) = tiplens.ingest([path], db=whole, edition=EDITION)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_base, "STREAM_FROM_BYTES", 0)
        patch.setattr(_base, "CSV_CHUNK_ROWS", 7_000)
        patch.setattr(store_module, "STREAM_PARTITION_ROWS", 20_000)
        assert _ingest.open_streamed(path, edition=EDITION) is not None  # the streamed path is the one taken
        streamed_store = tiplens.open_store(folder / "streamed.duckdb", with_default=True)
        started = time.monotonic()
        (streamed_result,) = tiplens.ingest([path], db=streamed_store, edition=EDITION)
        seconds = time.monotonic() - started
    print(f"\nreal 2025 CSV streamed (9 chunks, 3 partitions) in {seconds:.1f} s")
    yield {"whole": whole, "streamed": streamed_store, "whole_result": whole_result,
           "streamed_result": streamed_result, "path": path, "folder": folder}
    whole.close()
    streamed_store.close()


def _sorted(frame: pd.DataFrame, drop=("file_id",)) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    return frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)


def test_real_file_is_below_the_threshold_and_read_whole(real_data):
    # 7.7 MB: the whole-file path is faster there (benchmarks/ingest.py), so it is the one used
    assert (real_data / GLOTIP_CSV).stat().st_size < _base.STREAM_FROM_BYTES
    assert _ingest.open_streamed(real_data / GLOTIP_CSV, edition=EDITION) is None


def test_same_observations(both):
    whole = both["whole"].observations(source="glotip", include_conflicts=True)
    streamed = both["streamed"].observations(source="glotip", include_conflicts=True)
    pd.testing.assert_frame_equal(_sorted(whole), _sorted(streamed))
    # PROVENANCE.md note 4: 906 rows of 'Other forms of exploitation' share keys and are summed
    flags = streamed["flag"].dropna()
    summed = streamed[flags.reindex(streamed.index).str.startswith("summed", na=False)]
    assert int(summed["source_rows"].sum()) == 906


def test_same_quarantine(both):
    whole, streamed = both["whole"].quarantine("glotip"), both["streamed"].quarantine("glotip")
    pd.testing.assert_frame_equal(_sorted(whole), _sorted(streamed))
    # PROVENANCE.md note 2: 120 questionnaire-code rows + 8 more values above 100,000
    assert len(streamed) == 128


def test_same_result_notes_and_provenance(both):
    whole, streamed = both["whole_result"], both["streamed_result"]
    assert streamed == whole
    # PROVENANCE.md: 58,769 data rows; sha256 computed here with hashlib
    assert streamed["rows_read"] == 58_769
    assert streamed["rows_read"] == streamed["rows_loaded"] + streamed["rows_quarantined"]
    assert streamed["sha256"] == hashlib.sha256(both["path"].read_bytes()).hexdigest()
    assert any("906 rows of 'Other forms of exploitation'" in note for note in streamed["notes"])
    columns = ["source", "dataset", "edition", "edition_origin", "sha256", "rows_read", "rows_loaded",
               "rows_quarantined", "origin"]
    pd.testing.assert_frame_equal(both["whole"].files("glotip")[columns], both["streamed"].files("glotip")[columns])
    # the embedded default's other sources are untouched, and no scratch file is left beside the store
    assert both["whole"].table_counts() == both["streamed"].table_counts()
    assert not list(both["folder"].glob("streamed.duckdb.staging*"))


def _snapshot(store) -> tuple:
    files = store.files()[["file_id", "source", "dataset", "edition", "sha256", "rows_read"]]
    checksum = store.con.execute("SELECT count(*), sum(hash(file_id, iso3, year, indicator, category, value, "
                                 "status)) FROM observations").fetchall()[0]
    return tuple(sorted(store.table_counts().items())), tuple(map(tuple, files.astype(str).to_numpy())), checksum


def _lines(real_data) -> list[bytes]:
    return (real_data / GLOTIP_CSV).read_bytes().split(b"\n")


def _damaged(real_data, tmp_path, name, lines) -> Path:
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines))
    return path


def _error(path: Path, store) -> str:
    with pytest.raises(TiplensError) as caught:
        tiplens.ingest([path], db=store, edition=EDITION)
    return str(caught.value)


@pytest.mark.parametrize("damage", ["bad byte deep inside", "extra cells deep inside", "last record cut",
                                    "column missing", "header only", "every row bad"])
def test_bad_input_same_error_and_nothing_written(real_data, tmp_path, monkeypatch, damage):
    """The streamed path's error is the whole-file path's, word for word, and the store (which holds
    an earlier load of the real file) is unchanged, with no scratch file left."""
    lines = _lines(real_data)
    if damage == "bad byte deep inside":
        lines[40_000] = lines[40_000][:6] + b"\xff" + lines[40_000][6:]  # file line 40,001, chunk 6
        expected = "row 40001"
    elif damage == "extra cells deep inside":
        lines[30_000] += b",x,y"  # file line 30,001: 15 cells of 13
        expected = "Expected 13 fields in line 30001, saw 15"
    elif damage == "last record cut":
        last = max(i for i, line in enumerate(lines) if line.strip())
        lines = lines[:last] + [b",".join(lines[last].split(b",")[:6])]  # 6 of 13 cells, file row 58,770
        expected = "row 58770 has only 6 of the header's 13 cells"
    elif damage == "column missing":
        lines[0] = lines[0].replace(b"Sex", b"Gender")
        expected = "is missing column(s) Sex"
    elif damage == "header only":
        lines = lines[:1]
        expected = "has a header but no data rows"
    else:  # every row's indicator unknown: refused rather than replacing an edition by nothing
        lines = [lines[0]] + [line.replace(b"Detected trafficking victims", b"X").replace(b"Persons", b"X")
                              .replace(b"Offences of trafficking", b"X") for line in lines[1:]]
        expected = "none of its 58769 data rows could be loaded (unknown indicator (58769 rows); value above 100,000"
    path = _damaged(real_data, tmp_path, "damaged.csv", lines)
    store = tiplens.open_store(tmp_path / "s.duckdb", with_default=False)
    try:
        tiplens.ingest([real_data / GLOTIP_CSV], db=store, edition=EDITION)
        before = _snapshot(store)
        whole_message = _error(path, store)
        monkeypatch.setattr(_base, "STREAM_FROM_BYTES", 0)
        monkeypatch.setattr(_base, "CSV_CHUNK_ROWS", 7_000)
        streamed_message = _error(path, store)
        assert _snapshot(store) == before
    finally:
        store.close()
    assert expected in streamed_message and "damaged.csv" in streamed_message
    assert streamed_message == whole_message
    assert not list(tmp_path.glob("s.duckdb.staging*"))


def test_streamed_file_replaces_its_edition_in_a_batch(both, real_data, streamed, tmp_path):
    """A second load of the same edition replaces the first; a batch with a streamed file and a
    whole one is written together, and a bad file in it leaves everything as it was."""
    store = both["streamed"]
    before = _snapshot(store)
    other = real_data / "cooperation_membership" / "asean_actip.csv"
    results = tiplens.ingest([both["path"], other], db=store, edition=EDITION)
    assert [r["source"] for r in results] == ["glotip", "membership"]
    assert [r["edition"] for r in results[0]["replaced"]] == [EDITION]
    files = store.files("glotip")
    assert len(files) == 1 and int(files["rows_loaded"].item()) == both["whole_result"]["rows_loaded"]
    after = _snapshot(store)
    cut = tmp_path / "cut.csv"
    cut.write_bytes(both["path"].read_bytes()[:-40])  # the last record cut short
    with pytest.raises(TiplensError, match="cut.csv"):
        tiplens.ingest([other, cut], db=store, edition=EDITION)
    assert _snapshot(store) == after and after != before


# -- SIGKILL during a streamed ingest ------------------------------------------------------------
_CHILD = """
import sys, tiplens
from tiplens.sources import _base
_base.STREAM_FROM_BYTES = 0
_base.CSV_CHUNK_ROWS = 10_000
tiplens.ingest([sys.argv[2]], db=sys.argv[1], edition="2025-04-14")
"""


def test_sigkill_during_streamed_ingest_leaves_before_or_after(real_data, tmp_path):
    before_path = tmp_path / "before.duckdb"
    store = tiplens.open_store(before_path, with_default=False)
    tiplens.ingest([real_data / "cooperation_membership" / "asean_actip.csv"], db=store, edition="2025-11")
    before = _snapshot(store)
    store.close()
    after_path = tmp_path / "after.duckdb"
    shutil.copy(before_path, after_path)
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", _CHILD, str(after_path), str(real_data / GLOTIP_CSV)], check=True,
                   timeout=120)
    duration = time.monotonic() - started
    store = tiplens.open_store(after_path, with_default=False)
    after = _snapshot(store)
    store.close()
    rng, outcomes = random.Random(3), collections.Counter()
    for trial in range(6):
        path = tmp_path / f"trial{trial}.duckdb"
        shutil.copy(before_path, path)
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(real_data / GLOTIP_CSV)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(duration * 0.3, duration * 1.1))  # past the imports; now and then too late
        finished = child.poll() is not None
        if not finished:
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        store = tiplens.open_store(path, with_default=False)  # the store must open
        state = _snapshot(store)
        store.close()
        assert state in (before, after), f"trial {trial}: the store holds neither the state before nor after"
        assert state == after or not finished
        outcomes[("finished, " if finished else "killed, ") + ("before" if state == before else "after")] += 1
    print(f"\nSIGKILL during a streamed ingest (run of {duration:.1f} s with start-up): 6 trials, {dict(outcomes)}")
    assert outcomes["killed, before"] + outcomes["killed, after"] >= 3


# -- memory ------------------------------------------------------------------------------------
def test_memory_stays_flat(real_data, tmp_path):
    """Two generated files, the larger three times the smaller: the streamed path's peak memory
    barely moves, and stays below the whole-file path's peak on the smaller file."""
    template = real_data / GLOTIP_CSV
    small, small_rows = hostile.big_csv(tmp_path / "small.csv", template, 50)
    large, large_rows = hostile.big_csv(tmp_path / "large.csv", template, 150)
    rows = [hostile.ingest_in_child(small, tmp_path / "a.duckdb", "streamed"),
            hostile.ingest_in_child(large, tmp_path / "b.duckdb", "streamed"),
            hostile.ingest_in_child(small, tmp_path / "c.duckdb", "whole")]
    print("\n" + "\n".join(hostile.describe(row) for row in rows))
    streamed_small, streamed_large, whole_small = rows
    assert (streamed_small["rows"], streamed_large["rows"]) == (small_rows, large_rows)
    assert all(row["stdout_lines"] == 1 for row in rows)  # no progress bar or other output on stdout
    assert streamed_large["peak_mb"] <= 1.3 * streamed_small["peak_mb"]
    assert streamed_large["peak_mb"] < whole_small["peak_mb"]
