"""Hostile and broken input: every case ends in a clear error or a load with rows accounted for.

The corpus (``tests/hostile.py``) is made from the real files in ``../shared/data``: each base
file broken in one way per case (truncated, bytes flipped, columns dropped/swapped/renamed,
header moved, re-encoded, numbers replaced by text, huge and empty cells ...), plus files
without a base (empty, random binary, a zip bomb renamed .xlsx, a folder, a missing path).

For every case exactly one of:

* ``error``: a :class:`TiplensError` whose message names the file, and the store exactly as it
  was (same row counts in every table, same provenance rows): no partial load;
* ``loaded`` / ``quarantined``: the ingest succeeded with rows read = rows loaded + rows
  quarantined, and the store's quarantine table holds exactly ``rows_quarantined`` rows for it.

Any other exception fails the test, listing every case that raised it. A summary line is
printed (cases tried and how each was handled). ``TIPLENS_SOAK=1`` runs more rounds and the
large-CSV memory test.
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import hostile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tiplens
from tiplens.errors import TiplensError

SOAK = os.environ.get("TIPLENS_SOAK") == "1"
ROUNDS = 4 if SOAK else 1


def _snapshot(store) -> tuple:
    files = store.files()[["file_id", "source", "dataset", "edition", "sha256", "rows_read"]]
    return tuple(sorted(store.table_counts().items())), tuple(map(tuple, files.astype(str).to_numpy()))


def run_case(store, case: hostile.Case) -> tuple[str, str]:
    """(outcome, detail) of ingesting one case; raises AssertionError when an invariant breaks."""
    before = _snapshot(store)
    try:
        results = tiplens.ingest([case.path], db=store, source=case.source, edition=case.edition)
    except TiplensError as exc:
        message = str(exc)
        assert case.path.name in message, f"error does not name the file: {message}"
        assert _snapshot(store) == before, "store changed although the ingest failed"
        # the kind of problem: the message without the path, up to the first number or quote
        problem = message.split(": ", 1)[-1]
        return "error", problem.split(". ")[0][:60]
    (result,) = results
    assert result["rows_read"] == result["rows_loaded"] + result["rows_quarantined"], result
    files = store.files()
    new = files[(files["source"] == result["source"]) & (files["dataset"] == result["dataset"])
                & (files["edition"] == result["edition"])]
    assert len(new) == 1 and int(new["rows_quarantined"].item()) == result["rows_quarantined"]
    stored = store.quarantine(result["source"])
    stored = stored[(stored["dataset"] == result["dataset"]) & (stored["edition"] == result["edition"])]
    assert len(stored) == result["rows_quarantined"]
    return ("quarantined" if result["rows_quarantined"] else "loaded"), result["source"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tiplens.open_store(tmp_path_factory.mktemp("hostile") / "hostile.duckdb", with_default=False)
    yield store
    store.close()


@pytest.fixture(scope="module")
def cases(real_data, tmp_path_factory):
    return hostile.corpus(real_data, tmp_path_factory.mktemp("corpus"), seed=20261125, rounds=ROUNDS)


TALLY: collections.Counter = collections.Counter()


def test_every_base_loads_cleanly(real_data, store, tmp_path):
    """The corpus is made from files that load: a failure below is the mutation's doing."""
    for base in hostile.bases(real_data, tmp_path):
        outcome, _ = run_case(store, base)
        assert outcome in ("loaded", "quarantined"), base


def test_corpus(store, cases):
    started = time.monotonic()
    outcomes = collections.Counter()
    problems = collections.Counter()
    failures = []
    for case in cases:
        try:
            outcome, detail = run_case(store, case)
        except AssertionError as exc:
            failures.append(f"{case.mutation} of {case.base or case.path.name} (source={case.source}): {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - exactly what this test hunts
            failures.append(f"{case.mutation} of {case.base or case.path.name} (source={case.source}): "
                            f"{type(exc).__name__}: {str(exc)[:200]}")
            continue
        outcomes[outcome] += 1
        if outcome == "error":
            problems[detail] += 1
    TALLY.update(outcomes)
    elapsed = time.monotonic() - started
    common = "; ".join(f"{n}x {p!r}" for p, n in problems.most_common(6))
    print(f"\nhostile corpus: {len(cases)} cases in {elapsed:.0f} s: {outcomes['error']} clear errors naming the "
          f"file, {outcomes['quarantined']} loaded with rows quarantined, {outcomes['loaded']} loaded whole, "
          f"{len(failures)} failures\n  most common errors: {common}")
    assert not failures, "\n".join(failures)
    assert len(cases) >= 300 * ROUNDS


def _outcome(store, case: hostile.Case) -> tuple:
    """What an ingest of ``case`` did, comparable across the two reading paths."""
    try:
        (result,) = tiplens.ingest([case.path], db=store, source=case.source, edition=case.edition)
    except TiplensError as exc:
        return ("error", str(exc).split(": ", 1)[-1].split(" (")[0][:40])
    return ("load", result["rows_read"], result["rows_loaded"], result["rows_quarantined"], tuple(result["notes"]))


def test_glotip_csv_cases_through_the_streamed_path(real_data, store, tmp_path, monkeypatch):
    """Every CSV damage of the GLOTIP base, read whole and then streamed (tiny chunks and partitions,
    so that a problem falls inside the file, between chunks, or in its last chunk): the streamed path
    keeps every invariant, and ends the same way as the whole-file path."""
    from tiplens import store as store_module
    from tiplens.sources import _base
    rng = random.Random(20261126)
    (base,) = [b for b in hostile.bases(real_data, tmp_path / "b") if b.base.endswith("glotip_2025-04-14.csv")]
    cases = [hostile.mutate(base, mutation, tmp_path, rng, tag=str(round_))
             for round_ in range(6 if SOAK else 3) for mutation in hostile.CSV_MUTATIONS]
    whole = [_outcome(store, case) for case in cases]
    monkeypatch.setattr(_base, "STREAM_FROM_BYTES", 0)
    monkeypatch.setattr(_base, "CSV_CHUNK_ROWS", 7)
    monkeypatch.setattr(store_module, "STREAM_PARTITION_ROWS", 50)
    outcomes, differ, failures = collections.Counter(), [], []
    for case, before in zip(cases, whole):
        try:
            outcome, _ = run_case(store, case)
        except Exception as exc:  # noqa: BLE001 - an invariant broken or a traceback
            failures.append(f"{case.mutation} (source={case.source}): {type(exc).__name__}: {str(exc)[:200]}")
            continue
        outcomes[outcome] += 1
        after = _outcome(store, case)
        if after != before:
            differ.append(f"{case.mutation}: whole {before[:4]} / streamed {after[:4]}")
    TALLY.update({f"streamed {k}": v for k, v in outcomes.items()})
    print(f"\nGLOTIP CSV damage through the streamed path: {len(cases)} cases: {dict(outcomes)}; "
          f"{len(cases) - len(differ) - len(failures)} end exactly as read whole, {len(differ)} differ")
    assert not failures, "\n".join(failures)
    assert not differ, "\n".join(differ)


@settings(max_examples=200 if SOAK else 40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_to_random_files(real_data, store, tmp_path_factory, data):
    """Hypothesis picks the base file, the mutation and its random choices (and shrinks a failure)."""
    folder = tmp_path_factory.mktemp("hypo")
    base_cases = _bases(real_data, tmp_path_factory)
    base = data.draw(st.sampled_from(base_cases), label="base")
    table = hostile.XLSX_MUTATIONS if base.path.suffix == ".xlsx" else hostile.CSV_MUTATIONS
    mutation = data.draw(st.sampled_from(sorted(table)), label="mutation")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    case = hostile.mutate(base, mutation, folder, random.Random(seed))
    outcome, _ = run_case(store, case)
    TALLY["hypothesis " + outcome] += 1


_BASES: list = []


def _bases(real_data, tmp_path_factory):
    if not _BASES:
        _BASES.extend(hostile.bases(real_data, tmp_path_factory.mktemp("hbases")))
    return _BASES


def _try(call, case_path: Path) -> tuple[str, str]:
    """(outcome, detail): 'ok', 'error' (a TiplensError naming the file), 'error, file not named', or
    'crash' with the exception type."""
    try:
        call()
    except TiplensError as exc:
        return ("error" if case_path.name in str(exc) else "error, file not named"), str(exc)[:120]
    except Exception as exc:  # noqa: BLE001 - exactly what this test hunts
        return "crash", f"{type(exc).__name__}: {str(exc)[:150]}"
    return "ok", ""


def test_list_overlap_files_for_mse(real_data, tmp_path):
    """``tiplens mse FILE`` on every MSE list file broken in every way: an estimate or a clear error."""
    rng = random.Random(11)
    outcomes, crashes, unnamed = collections.Counter(), [], []
    for original in sorted((real_data / "mse_modern_slavery_lists").glob("*.csv")):
        base = hostile.Case(original, None, None, original.name, "none")
        for mutation in hostile.CSV_MUTATIONS:
            case = hostile.mutate(base, mutation, tmp_path, rng)
            outcome, detail = _try(lambda case=case: tiplens.api.mse(case.path), case.path)
            outcomes[outcome] += 1
            if outcome == "crash":
                crashes.append(f"{mutation} of {original.name}: {detail}")
            elif outcome == "error, file not named":
                unnamed.append(detail)
    TALLY.update({f"mse {k}": v for k, v in outcomes.items()})
    print(f"\nmse list files: {sum(outcomes.values())} cases: {dict(outcomes)}; errors without the file name: "
          f"{sorted(set(unnamed))}")
    assert not crashes, "\n".join(crashes)
    assert not unnamed, unnamed  # every error names the file


CLAIM_MUTATIONS = {
    "truncate": hostile.truncate, "flip_bytes": hostile.flip_bytes, "nul_bytes": hostile.nul_bytes,
    "utf16": hostile.utf16, "empty": lambda data, rng: b"",
    "binary": lambda data, rng: bytes(rng.randrange(256) for _ in range(4096)),
    "huge comment": lambda data, rng: data + b"\n# " + b"x" * 3_000_000,
    "published as text": lambda data, rng: data.replace(b"published: ", b"published: many "),
    "top-level list": lambda data, rng: b"- 1\n- 2\n",
    "python tag": lambda data, rng: b"claims: !!python/object/apply:os.system ['echo unsafe']\n",
    # a billion-laughs style alias bomb: 9^6 items if expanded
    "alias bomb": lambda data, rng: b"a: &a [x,x,x,x,x,x,x,x,x]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode() for i in range(5))
        + b"claims: *f\n",
}


def test_claims_files(tmp_path):
    """``tiplens claims FILE`` on the shipped claim sets broken in many ways."""
    from importlib import resources
    store = tiplens.open_store(tmp_path / "claims.duckdb")
    rng = random.Random(5)
    outcomes, crashes = collections.Counter(), []
    try:
        folder = resources.files("tiplens.analysis").joinpath("claimsets")
        for shipped in sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml")):
            data = folder.joinpath(shipped).read_bytes()
            for name, mutation in CLAIM_MUTATIONS.items():
                for round_ in range(4 if name in ("truncate", "flip_bytes", "nul_bytes") else 1):
                    path = tmp_path / f"{name.replace(' ', '_')}{round_}_{shipped}"
                    path.write_bytes(mutation(data, rng))
                    outcome, detail = _try(lambda path=path: tiplens.api.claims(path, db=store), path)
                    outcomes[outcome] += 1
                    if outcome != "ok" and not outcome.startswith("error"):
                        crashes.append(f"{name} of {shipped}: {detail}")
                    assert outcome != "error, file not named", detail
    finally:
        store.close()
    TALLY.update({f"claims {k}": v for k, v in outcomes.items()})
    print(f"\nclaims files: {sum(outcomes.values())} cases: {dict(outcomes)}")
    assert not crashes, "\n".join(crashes)


def test_zip_bomb_is_refused_quickly_with_bounded_memory(tmp_path):
    """In a child process with a 1.5 GB address-space cap: a clear error, in seconds."""
    bomb = hostile.zip_bomb(tmp_path / "bomb.xlsx", inflated_mb=600)
    assert bomb.stat().st_size < 4 << 20  # small on disk ...
    script = (
        "import resource, sys, tiplens\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))\n"
        "from tiplens.errors import TiplensError\n"
        f"store = tiplens.open_store({str(tmp_path / 's.duckdb')!r}, with_default=False)\n"
        "for source in ('glotip', 'gsi', 'ctdc', None):\n"
        "    try:\n"
        f"        tiplens.ingest([{str(bomb)!r}], db=store, source=source, edition='2021')\n"
        "        print('LOADED', source)\n"
        "    except TiplensError as exc:\n"
        "        print('ERROR', source, exc)\n"
        # VmHWM, not ru_maxrss: Linux carries the parent's (pytest's) peak into ru_maxrss
        "print('PEAK_KB', next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert all(line.startswith("ERROR") for line in lines[:-1]) and len(lines) == 5, done.stdout
    assert "inflates" in lines[0] and "bomb.xlsx" in lines[0]
    peak_mb = int(lines[-1].split()[1]) / 1024
    print(f"\nzip bomb: {bomb.stat().st_size / 1e6:.1f} MB on disk, 600 MB inflated: refused in {elapsed:.1f} s, "
          f"peak RSS {peak_mb:.0f} MB")
    TALLY["zip bomb refused"] += 4


@pytest.mark.skipif(not SOAK, reason="large-CSV memory test runs only with TIPLENS_SOAK=1")
def test_large_csv_is_read_with_flat_memory(real_data, tmp_path):
    """GLOTIP-shaped CSVs of 100 MB and several hundred MB, ingested in child processes the way a
    user's ingest goes (the size decides the path): the larger file's peak memory is at most 1.3
    times the smaller's, and under 600 MB (the target of benchmarks/ingest.py)."""
    target_mb = int(os.environ.get("TIPLENS_SOAK_CSV_MB", "400"))
    template = real_data / "unodc_glotip" / "data_glotip_2025-04-14.csv"
    small, _ = hostile.big_csv(tmp_path / "small_glotip.csv", template, 100)
    small_row = hostile.ingest_in_child(small, tmp_path / "small.duckdb")
    small.unlink()
    path, records = hostile.big_csv(tmp_path / "big_glotip.csv", template, target_mb)
    row = hostile.ingest_in_child(path, tmp_path / "big.duckdb")
    print(f"\nlarge CSV, {records} records:\n{hostile.describe(small_row)}\n{hostile.describe(row)}\n"
          f"peak RSS {row['peak_mb'] / row['mb']:.2f} x the file size; x{row['peak_mb'] / small_row['peak_mb']:.2f} "
          "the 100 MB file's")
    assert row["rows"] == records
    assert row["stdout_lines"] == 1  # nothing else on stdout (DuckDB's progress bar would break --json)
    assert row["peak_mb"] <= 1.3 * small_row["peak_mb"]
    assert row["peak_mb"] < 600


def test_print_summary():
    print(f"\nhostile input, all cases: {dict(TALLY)}; total {sum(TALLY.values())}")
    assert TALLY
