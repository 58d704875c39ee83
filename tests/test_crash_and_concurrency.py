"""Crashes, concurrent writers and a full disk: the store is never left in between.

* SIGKILL: a child ``tiplens ingest`` is killed at a random moment, many times; afterwards the
  store opens and holds exactly the state before the ingest or the state after it.
* Two writers: while one ``tiplens ingest`` holds the store, a second one with a short
  ``--timeout`` says "store is busy" (exit 1, one line), one with a long ``--timeout`` waits and
  then loads; a reader (``tiplens sources``) waits and sees a complete state.
* Full disk: the store on a 3 MB tmpfs mounted by the test (root only; skipped with a message
  otherwise): ingesting a large file ends in one clear error, and the store is unchanged.

``TIPLENS_SOAK=1`` runs 100 kill trials instead of 20.
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tiplens
from tiplens.errors import TiplensError

SOAK = os.environ.get("TIPLENS_SOAK") == "1"
KILL_TRIALS = 100 if SOAK else 20
TIPLENS = str(Path(sys.executable).with_name("tiplens"))


def snapshot(path: Path) -> tuple:
    """What the store holds: row counts per table, provenance, and a checksum of the observations."""
    store = tiplens.open_store(path, with_default=False)
    try:
        counts = tuple(sorted(store.table_counts().items()))
        files = store.files()[["source", "dataset", "edition", "sha256", "rows_read", "rows_loaded",
                               "rows_quarantined"]]
        checksum = store.con.execute(
            "SELECT count(*), sum(hash(source, dataset, edition, iso3, year, indicator, category, value)) "
            "FROM observations").fetchall()[0]
        return counts, tuple(map(tuple, files.astype(str).to_numpy())), tuple(checksum)
    finally:
        store.close()


def _cli(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([TIPLENS, *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def states(real_data, tmp_path_factory):
    """A store before the ingest, the same store after it, and how long the ingest takes."""
    folder = tmp_path_factory.mktemp("crash")
    before = folder / "before.duckdb"
    store = tiplens.open_store(before, with_default=False)
    tiplens.ingest([real_data / "cooperation_membership" / "asean_actip.csv"], db=store, edition="2025-11")
    store.close()
    workload = [real_data / "unodc_glotip" / "data_glotip_2023-05-30.xlsx"]
    after = folder / "after.duckdb"
    shutil.copy(before, after)
    started = time.monotonic()
    done = _cli("ingest", *workload, "--db", after)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return {"before": before, "after": after, "workload": workload, "duration": duration,
            "snap_before": snapshot(before), "snap_after": snapshot(after), "folder": folder}


# The same ingest through the library twin, saying on stdout when it starts writing, so that half
# of the kills can be aimed at the write itself (the CLI prints no progress when not on a terminal).
_AIMED = """
import sys, tiplens
def progress(stage, path):
    if stage == "writing":
        print("WRITING", flush=True)
tiplens.ingest(sys.argv[2:], db=sys.argv[1], progress=progress)
print("DONE", flush=True)
"""


def _aimed_child(path: Path, workload) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _AIMED, str(path), *map(str, workload)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_sigkill_during_ingest_leaves_before_or_after(states):
    assert states["snap_before"] != states["snap_after"]
    # how long the write takes: from WRITING to DONE
    probe = states["folder"] / "probe.duckdb"
    shutil.copy(states["before"], probe)
    child = _aimed_child(probe, states["workload"])
    assert child.stdout.readline().strip() == "WRITING"
    started = time.monotonic()
    assert child.stdout.readline().strip() == "DONE"
    write_seconds = time.monotonic() - started
    child.wait(timeout=60)

    rng = random.Random(7)
    outcomes = collections.Counter()
    for trial in range(KILL_TRIALS):
        path = states["folder"] / f"trial{trial}.duckdb"
        shutil.copy(states["before"], path)
        aimed = trial % 2 == 1
        if aimed:  # kill at a random moment of the write
            child = _aimed_child(path, states["workload"])
            assert child.stdout.readline().strip() == "WRITING"
            delay = rng.uniform(0.0, write_seconds * 1.2)
        else:  # kill the command at a random moment of its whole run
            child = subprocess.Popen([TIPLENS, "ingest", *map(str, states["workload"]), "--db", str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            delay = rng.uniform(0.0, states["duration"] * 1.05)
        time.sleep(delay)
        finished = child.poll() is not None
        if not finished:
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        if child.stdout:
            child.stdout.close()
        state = snapshot(path)  # the store must open
        how = ("during write" if aimed else "during command") if not finished else "finished"
        if state == states["snap_before"]:
            outcomes[f"killed {how}, before" if not finished else "finished, before"] += 1
        elif state == states["snap_after"]:
            outcomes[f"killed {how}, after" if not finished else "finished, after"] += 1
        else:
            pytest.fail(f"trial {trial}: killed {how} after {delay:.2f} s, the store holds neither state: {state[0]}")
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
    print(f"\nSIGKILL: {KILL_TRIALS} trials (command {states['duration']:.1f} s, write {write_seconds:.2f} s): "
          f"{dict(outcomes)}; the store opened every time and held the state before or after")
    assert sum(v for k, v in outcomes.items() if k.startswith("killed")) >= KILL_TRIALS // 2


def _wait_until_locked(path: Path, child: subprocess.Popen, limit: float = 30.0) -> bool:
    """True once another process holds the store (a read-only open is refused with a lock error)."""
    import duckdb
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and child.poll() is None:
        try:
            duckdb.connect(str(path), read_only=True).close()
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                return True
        time.sleep(0.05)
    return False


def test_two_writers_and_a_reader(states, real_data):
    path = states["folder"] / "busy.duckdb"
    shutil.copy(states["before"], path)
    second = real_data / "cooperation_membership" / "asean_membership.csv"
    first = subprocess.Popen([TIPLENS, "ingest", *map(str, states["workload"]), "--db", str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not _wait_until_locked(path, first):
            pytest.skip("the first ingest finished before the store could be seen locked (machine too fast)")
        impatient = _cli("ingest", second, "--edition", "2025-11", "--db", path, "--timeout", "0.2")
        patient = subprocess.Popen([TIPLENS, "ingest", str(second), "--edition", "2025-11", "--db", str(path),
                                    "--timeout", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        reader = subprocess.Popen([TIPLENS, "sources", "--db", str(path), "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, first_err = first.communicate(timeout=120)
        _, patient_err = patient.communicate(timeout=120)
        reader_out, reader_err = reader.communicate(timeout=120)
    finally:
        for process in (first,):
            if process.poll() is None:
                process.kill()
    # the second writer: one clear line, exit 1, no traceback
    assert impatient.returncode == 1
    message = (impatient.stdout + impatient.stderr).strip()
    assert "store is busy" in message and "Traceback" not in message and len(message.splitlines()) <= 3
    assert first.returncode == 0, first_err
    assert patient.returncode == 0, patient_err
    # the reader waited for the writer (or was told the store is busy): never a half state
    import json
    if reader.returncode == 0:
        seen = {(f["source"], f["dataset"]) for f in json.loads(reader_out)["files"]}
        assert ("membership", "asean_actip") in seen
        assert ("glotip", "country_data") in seen or not any(s == "glotip" for s, _ in seen)
    else:
        assert "store is busy" in reader_out + reader_err
    # nothing corrupted: both ingests are there, every file accounted for
    store = tiplens.open_store(path, with_default=False)
    try:
        files = store.files()
        assert {"glotip", "membership"} <= set(files["source"])
        assert (files["rows_read"] == files["rows_loaded"] + files["rows_quarantined"]).all()
        assert len(files) == len(states["snap_after"][1]) + 1
    finally:
        store.close()
    print(f"\nconcurrency: second writer told {message.splitlines()[0][-80:]!r}; a patient writer waited and "
          f"loaded; a reader exited {reader.returncode}")


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("full-disk test needs root to mount a 3 MB tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"full-disk test: mounting a tmpfs is not permitted here ({done.stderr.strip()})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True)


def test_full_disk_gives_a_clear_error_and_leaves_the_store_unchanged(small_disk, real_data):
    path = small_disk / "store.duckdb"
    store = tiplens.open_store(path, with_default=False)
    tiplens.ingest([real_data / "cooperation_membership" / "asean_actip.csv"], db=store, edition="2025-11")
    store.close()
    before = snapshot(path)
    big = real_data / "unodc_glotip" / "data_glotip_2025-04-14.csv"  # 7.7 MB of CSV, 3 MB of disk
    store = tiplens.open_store(path, with_default=False)
    try:
        with pytest.raises(TiplensError, match="disk holding the store is full") as caught:
            tiplens.ingest([big], db=store, edition="2025-04-14")
    finally:
        store.close()
    assert str(path) in str(caught.value)
    assert snapshot(path) == before
    # the same through the command line: exit 1, one line, no traceback, store unchanged
    done = _cli("ingest", big, "--edition", "2025-04-14", "--db", path)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert "disk holding the store is full" in done.stderr + done.stdout
    assert snapshot(path) == before
    print(f"\nfull disk: 3 MB tmpfs, ingest of a 7.7 MB CSV refused twice (library and CLI) with "
          f"{str(caught.value)[:70]!r}...; store unchanged")
