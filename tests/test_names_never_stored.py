"""Named people never reach the store.

The prosecution files in ``../shared/data`` name defendants and judges (PROVENANCE.md of
``us_federal_ht_cases_htdp`` and ``unodc_cldb_us_cases``). The sources ``us_prosecutions`` and
``case_law`` drop those columns when they read the files. Here the files are ingested, plus a
damaged copy of each whose rows are quarantined (the quarantine keeps a row's raw cells as JSON,
a second way for a name to slip in), and then every column of every table of the DuckDB file is
read back *with duckdb directly* (not through tiplens) as text and searched for the names read
from the raw files with the csv module.

Names are compared as sequences of words (case-folded, split on anything that is not a letter
or digit), so ``Paul S. Diamond`` is found in ``"judge: paul s diamond,"`` but not inside another word.
"""

from __future__ import annotations

import csv
import re

import duckdb

import tiplens

WORD = re.compile(r"[^\W_]+", re.UNICODE)
PARTY = re.compile(r"^(?P<a>.+?)\s+v\.?\s+(?P<b>.+?)(?:,|\s+et\.?\s+al|\s+\(|$)", re.IGNORECASE)
GOVERNMENT = {("united", "states"), ("the", "united", "states"), ("u", "s"), ("usa",), ("us",), ("united", "states", "of", "america")}


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in WORD.findall(text or ""))


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _people(real_data) -> dict[str, set[tuple[str, ...]]]:
    """Names of people in the raw files, by kind, as word tuples."""
    htdp = real_data / "us_federal_ht_cases_htdp"
    defendants = {_words(r["name"]) for r in _read(htdp / "defendant_data.csv")}
    judges = {_words(r["name"]) for r in _read(htdp / "judge_data.csv")}
    parties = set()
    for row in _read(real_data / "unodc_cldb_us_cases" / "HumanTrafficking_CLDB.csv"):
        match = PARTY.match(row["Name"].strip())
        if match:  # "United States v. Jermaine Lamon Roy", "Linda Velez v. Betsy Sanchez"
            for side in (match["a"], match["b"]):
                words = _words(side)
                if words and words not in GOVERNMENT:
                    parties.add(words)
    # a surname alone is searched only when it is distinctive: 6+ letters and not a word that
    # the store holds anyway (checked against a store without these files, below), likewise one-word party names
    surnames = {n[-1:] for n in defendants | judges if n and len(n[-1]) >= 6}
    named = {"defendant": defendants, "judge": judges, "cldb party": parties, "surname": surnames}
    return {kind: {n for n in names if n} for kind, names in named.items()}


def _store_phrases(path) -> set[tuple[str, ...]]:
    """Every run of 1 to 6 consecutive words in any text cell of any table of the DuckDB file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        phrases: set[tuple[str, ...]] = set()
        for table in tables:
            # names can only be in text: every VARCHAR column, one distinct pass per column
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "AND data_type = 'VARCHAR'", [table]).fetchall()]
            for column in columns:
                for (cell,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall():
                    words = _words(cell) if cell is not None else ()
                    for size in range(1, 7):
                        for i in range(len(words) - size + 1):
                            phrases.add(words[i:i + size])
        return phrases, tables
    finally:
        con.close()


def _damaged_copies(real_data, folder):
    """Copies whose rows get quarantined: ids that are not numbers, a case id that is text."""
    htdp = real_data / "us_federal_ht_cases_htdp"
    out = []
    for name, column in (("defendant_data.csv", "id"), ("judge_data.csv", "case_id")):
        rows = _read(htdp / name)
        for row in rows[::7]:
            row[column] = "x" + row[column]
        target = folder / f"damaged_{name}"
        with open(target, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        out.append(target)
    return out


def test_no_name_of_a_defendant_or_judge_reaches_the_store(real_data, tmp_path):
    people = _people(real_data)
    baseline_path = tmp_path / "baseline.duckdb"
    tiplens.open_store(baseline_path, with_default=True).close()
    baseline, _ = _store_phrases(baseline_path)

    path = tmp_path / "names.duckdb"
    store = tiplens.open_store(path, with_default=True)
    htdp, cldb = real_data / "us_federal_ht_cases_htdp", real_data / "unodc_cldb_us_cases"
    files = [htdp / "case_data.csv", htdp / "defendant_data.csv", htdp / "judge_data.csv",
             cldb / "HumanTrafficking_CLDB.csv", cldb / "polaris_hotline_TotalCallsCases_by_state.csv"]
    loaded = tiplens.ingest(files, db=store, edition="2018")
    damaged_dir = tmp_path / "damaged"
    damaged_dir.mkdir()
    damaged = tiplens.ingest(_damaged_copies(real_data, damaged_dir), db=store, edition="2018-damaged")
    store.close()
    assert sum(f["rows_loaded"] for f in loaded) == 674 + 1762 + 675 + 181 + 51  # rows x cols in PROVENANCE.md
    quarantined = sum(f["rows_quarantined"] for f in damaged)
    assert quarantined == len(range(0, 1762, 7)) + len(range(0, 675, 7))  # every 7th row damaged

    stored, tables = _store_phrases(path)
    searched = found_total = 0
    report = []
    for kind, names in people.items():
        if kind == "surname" or kind == "cldb party":
            # one-word names ("Lee") only where the store does not hold the word anyway
            names = {n for n in names if len(n) > 1 or n not in baseline}
        found = sorted(" ".join(n) for n in names if n in stored)
        searched += len(names)
        found_total += len(found)
        report.append(f"{len(names)} {kind} names")
        assert not found, f"{kind} names found in the store: {found[:10]}"
    print(f"\nnames: searched {searched} distinct names ({', '.join(report)}) in {len(tables)} tables "
          f"after loading {len(files)} files and {quarantined} quarantined rows; found {found_total}")
    # the search can find a name: the defendant table's first name is in the raw file's words
    assert ("omelyan", "botsvynyuk") in people["defendant"]


def test_the_search_finds_a_name_that_is_stored(tmp_path):
    """The search itself works: a name written into a store on purpose is found."""
    path = tmp_path / "planted.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (a INTEGER, b VARCHAR)")
    con.execute("INSERT INTO t VALUES (1, 'judge: Paul S. Diamond, 2004')")
    con.close()
    stored, _ = _store_phrases(path)
    assert _words("Paul S. Diamond") in stored and _words("Paul Diamond") not in stored
