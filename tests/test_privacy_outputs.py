"""Case-level victim records reach every output only through disclosure control.

The records are SYNTHETIC: a CTDC-shaped CSV (the variable names and codes of CTDC's Global
K-anonymised dataset data dictionary, 2021-08-25, written by ``ctdc_fixtures``) generated here
with many small cells; no real person stands behind any row (the real files are not
redistributable). It is ingested through the real ``tiplens.ingest``, then every output is read
back *as a user gets it* — the command's text and ``--json``, the CSV/XLSX export, the report's
HTML, the dashboard's HTML, chart JSON and CSV/XLSX downloads over real HTTP from ``tiplens
serve`` — and checked:

- no published count from 1 to k-1 appears, and every cell whose true count (counted here with
  ``collections.Counter`` from the rows written, not by tiplens) is from 1 to k-1 shows the marker;
- no suppressed value can be recovered by differencing: the attacker of ``test_disclosure``
  (``_attacker_intervals``: linprog over the published values alone, totals shared across the
  tables of a release) finds at least two possible values for each, also for outputs at
  different k put side by side;
- the privacy ledger grows with each release;
- a store without records gives the clear message naming the file to get.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import openpyxl
import pandas as pd
import pytest
from ctdc_fixtures import write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import serving
from test_disclosure import _attacker_intervals, _records_from_counts, count_matrices
from typer.testing import CliRunner

import tiplens
from tiplens._api_privacy import MARKER, NO_RECORDS, privacy_ledger, victims
from tiplens._api_report import report
from tiplens.cli import app, to_jsonable
from tiplens.disclosure import DECLARED_TABLES, DEFAULT_K, TOTAL, VARIABLES

runner = CliRunner()
EDITION = "2021-07-15"
MISSING = {"", "-99", "Unknown"}
# what the checks covered, printed once at the end of the module
STATS = {"outputs": [], "tables": 0, "values": 0, "suppressed": 0}

# ISO2 codes as CTDC writes them -> the ISO3 codes tiplens publishes (ISO 3166-1)
ISO3 = {"PH": "PHL", "UA": "UKR", "MD": "MDA", "NA": "NAM", "KH": "KHM", "US": "USA", "RO": "ROU", "NP": "NPL",
        "RU": "RUS", "TH": "THA", "ZA": "ZAF", "GB": "GBR"}


def synthetic_rows(seed: int = 11, n: int = 800) -> list[dict[str, str]]:
    """SYNTHETIC CTDC K-anon rows: skewed categories, so that many cells hold 1 to 9 records."""
    rng = np.random.default_rng(seed)

    def pick(values, weights):
        return str(rng.choice(values, p=np.array(weights) / sum(weights)))

    rows = []
    for _ in range(n):
        hotline = rng.random() < 0.3
        missing = "Unknown" if hotline else "-99"
        forced_labour, sexual = pick(["0", "1", missing], [4, 4, 1]), pick(["0", "1", missing], [4, 4, 1])
        rows.append({
            "yearOfRegistration": pick(["2014", "2015", "2016", "2017", "2018", "2019", "2020", "2021", missing],
                                       [60, 90, 110, 130, 150, 160, 12, 4, 8]),
            "Datasource": "Hotline" if hotline else "Case management",
            "gender": pick(["Female", "Male", "Transgender/NonConforming", missing], [60, 35, 1.5, 3]),
            "ageBroad": pick(["0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+",
                              missing], [2, 12, 14, 14, 12, 10, 14, 6, 2, 10]),
            "citizenship": pick(["PH", "UA", "MD", "NA", "KH", "US", "RO", "NP", missing],
                                [25, 25, 18, 6, 4, 8, 3, 1, 10]),
            "CountryOfExploitation": pick(["US", "RU", "TH", "ZA", "GB", missing], [45, 20, 15, 6, 1, 8]),
            "isForcedLabour": forced_labour, "isSexualExploit": sexual,
            "isForcedMarriage": pick(["0", "1"], [30, 1]),
        })
    return rows


def _label(value: str) -> str:
    return "Not stated" if value in MISSING else value


def hand_counts_year_sex(rows) -> Counter:
    """victims_by_year_sex counted from the rows written (missing codes -> Not stated), with totals."""
    counts: Counter = Counter()
    for row in rows:
        year, sex = _label(row["yearOfRegistration"]), _label(row["gender"])
        for key in ((year, sex), (year, TOTAL), (TOTAL, sex), (TOTAL, TOTAL)):
            counts[key] += 1
    return counts


@pytest.fixture(scope="module")
def rows():
    return synthetic_rows()


@pytest.fixture(scope="module")
def db(rows, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("privacy")
    path = folder / "store.duckdb"
    store = tiplens.open_store(path, with_default=False)
    try:
        result = tiplens.ingest([write_csv(folder / "ctdc_synthetic.csv", "ctdc_kanon_2021", rows)], db=store,
                                edition=EDITION)
    finally:
        store.close()
    assert result[0]["rows_loaded"] == len(rows)  # every synthetic row is usable: nothing quarantined
    return path


@pytest.fixture(scope="module")
def truth(db):
    """True counts of every declared table, computed here with Counter over tiplens' own variable
    derivations of the stored records (the published counts must equal these where shown)."""
    from tiplens.disclosure import columns_needed
    with tiplens.open_store(db, read_only=True) as store:
        records = store.sensitive_records("ctdc_victims", columns_needed(DECLARED_TABLES))
    out = {}
    for name, table in DECLARED_TABLES.items():
        rows_of = VARIABLES[table.rows].derive(records)
        cols_of = VARIABLES[table.columns].derive(records)
        counts: Counter = Counter()
        for r, c in zip(rows_of, cols_of):
            for key in ((r, c), (r, TOTAL), (TOTAL, c), (TOTAL, TOTAL)):
                counts[(str(key[0]), str(key[1]))] += 1
        out[name] = counts
    return out


def _releases(path) -> int:
    return privacy_ledger(db=path)["releases"]


# -- turning what a user sees back into tables ------------------------------------------------------
def _cell_kind(row: str, column: str) -> str:
    if row == TOTAL and column == TOTAL:
        return "grand_total"
    return "row_total" if column == TOTAL else "column_total" if row == TOTAL else "cell"


def _published(name: str, grid: dict[tuple[str, str], int | None]) -> SimpleNamespace:
    """One table as the attacker of test_disclosure takes it: long frame plus its variables."""
    table = pd.DataFrame([{"row": r, "column": c, "cell": _cell_kind(r, c), "count": n, "suppressed": n is None,
                           "rule": "?" if n is None else None} for (r, c), n in grid.items()])
    declared = DECLARED_TABLES[name]
    return SimpleNamespace(table=table, row_variable=declared.rows, column_variable=declared.columns)


def _number(text: str) -> int | None:
    text = text.strip()
    if text == MARKER:
        return None
    return int(float(text.replace(",", "")))


def _check(published: dict[str, SimpleNamespace], truth, k: int = DEFAULT_K, where: str = "") -> int:
    """The checks every output must pass; returns how many suppressed values were attacked."""
    for name, pub in published.items():
        for row in pub.table.itertuples(index=False):
            true = truth[name][(str(row.row), str(row.column))]
            if row.suppressed:
                continue
            assert row.count == true, f"{where} {name} [{row.row}, {row.column}]: {row.count} != {true}"
            assert not 0 < row.count < k, f"{where} {name} [{row.row}, {row.column}] shows {row.count} < k={k}"
        # every true count from 1 to k-1 is suppressed (present in the table and hidden)
        shown = {(str(r), str(c)): s for r, c, s in pub.table[["row", "column", "suppressed"]].itertuples(index=False)}
        for position, true in truth[name].items():
            if 0 < true < k:
                assert shown.get(position) is True, f"{where} {name} {position}: {true} < k not suppressed"
    attacked = _attacker_intervals(published)
    for name, row, column, low, high, _ in attacked:
        assert high - low >= 1 - 1e-7, f"{where} {name} [{row}, {column}] can be derived: it must be {low}"
    STATS["outputs"].append(where)
    STATS["tables"] += len(published)
    STATS["values"] += sum(len(p.table) for p in published.values())
    STATS["suppressed"] += len(attacked)
    return len(attacked)


def _from_long(frame: pd.DataFrame) -> dict[str, SimpleNamespace]:
    out = {}
    for name, part in frame.groupby("table", sort=False):
        grid = {(str(r), str(c)): (None if bool(s) else int(n))
                for r, c, n, s in part[["row", "column", "count", "suppressed"]].itertuples(index=False)}
        out[name] = _published(name, grid)
    return out


def _from_wide(name: str, header: list[str], body: list[list[str]]) -> SimpleNamespace:
    grid = {}
    for cells in body:
        for column, text in zip(header[1:], cells[1:]):
            grid[(cells[0], column)] = _number(text)
    return _published(name, grid)


def _from_text(text: str) -> dict[str, SimpleNamespace]:
    """The box-drawn tables that `tiplens victims` prints."""
    out = {}
    name, header, body = None, None, []
    for line in text.splitlines():
        title = re.match(r"^Victim records .*\((victims_\w+); rows:", line)
        if title:
            name, header, body = title.group(1), None, []
        elif line.startswith("┃") and name:
            header = [c.strip() for c in line.strip("┃").split("┃")]
        elif line.startswith("│") and name:
            body.append([c.strip() for c in line.strip("│").split("│")])
        elif line.startswith("└") and name:
            out[name] = _from_wide(name, header, body)
            name = None
    return out


def _from_html_tables(text: str, ids: dict[str, str]) -> dict[str, SimpleNamespace]:
    """Tables of the figures with the given ids (figure id -> declared table) in report/dashboard HTML."""
    out = {}
    for figure_id, name in ids.items():
        start = text.index(f'id="{figure_id}"')
        block = text[start:text.index("</figure>", start)]
        lines = [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                  for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.DOTALL)]
                 for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", block, flags=re.DOTALL)]
        out[name] = _from_wide(name, lines[0], lines[1:])
    return out


# -- the command line and the library twin ----------------------------------------------------------
def test_json_equals_the_twin_and_passes_every_check(db, truth, rows):
    before = _releases(db)
    result = runner.invoke(app, ["victims", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    twin = to_jsonable(victims(db=db))
    # each call is a release of its own: only the release id (random) differs
    assert printed.pop("release_id") != twin.pop("release_id")
    assert printed == twin
    assert _releases(db) == before + 2
    assert printed["status"] == "published" and printed["k"] == DEFAULT_K and printed["marker"] == MARKER
    assert printed["source"] == "ctdc" and printed["edition"] == EDITION and printed["dataset"] == "ctdc_kanon_2021"
    assert "not the prevalence" in printed["caveat"]
    # countries of exploitation: the distinct codes written in the synthetic rows, mapped by hand to ISO3
    assert printed["countries"] == len({ISO3[r["CountryOfExploitation"]] for r in rows
                                        if r["CountryOfExploitation"] not in MISSING}) == 5
    assert [t["name"] for t in printed["tables"]] == list(DECLARED_TABLES)
    published = {t["name"]: _published(t["name"], {(str(c["row"]), str(c["column"])): c["count"]
                                                    for c in t["cells"]}) for t in printed["tables"]}
    assert _check(published, truth, where="--json") > 20
    # the synthetic data has small cells in every kind of table: suppression happened everywhere
    assert all(t["suppressed"] > 0 for t in printed["tables"] if t["name"] != "victims_by_year_exploitation")


def test_one_table_pinned_by_hand(db, rows):
    """victims_by_year_sex against counts made with Counter from the synthetic rows as written."""
    counts = hand_counts_year_sex(rows)
    result = victims(db=db, tables=["victims_by_year_sex"])
    (table,) = result["tables"]
    cells = table["cells"]
    assert counts[(TOTAL, TOTAL)] == 800
    for row, column, count, suppressed in cells[["row", "column", "count", "suppressed"]].itertuples(index=False):
        true = counts[(row, column)]
        if suppressed:
            assert pd.isna(count)
        else:
            assert count == true, (row, column)
        if 0 < true < DEFAULT_K:
            assert suppressed, (row, column, true)
    # 2021 has a handful of records (weight 4 of 724): its row total is suppressed, 2019 (the largest year) is not
    by_position = {(r, c): s for r, c, s in cells[["row", "column", "suppressed"]].itertuples(index=False)}
    assert counts[("2021", TOTAL)] < DEFAULT_K and by_position[("2021", TOTAL)]
    assert not by_position[("2019", TOTAL)]
    assert table["primary"] == sum(1 for key, n in counts.items() if 0 < n < DEFAULT_K)


def test_text_output_shows_the_marker_and_passes_every_check(db, truth):
    before = _releases(db)
    result = runner.invoke(app, ["victims", "--db", str(db)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"Legend: {MARKER} = suppressed" in text and "Caveat: Counts of victim records" in text
    assert f"Source: CTDC dataset ctdc_kanon_2021, edition {EDITION}" in text
    assert "k = 10; release " in text and "recorded in the privacy ledger" in text
    published = _from_text(text)
    assert set(published) == set(DECLARED_TABLES)
    _check(published, truth, where="text")
    assert _releases(db) == before + 1


def test_exports_pass_every_check(db, truth, tmp_path):
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"victims{suffix}"
        result = runner.invoke(app, ["victims", "--db", str(db), "--out", str(out), "--json"])
        assert result.exit_code == 0, result.output
        frame = pd.read_csv(out) if suffix == ".csv" else pd.read_excel(out, engine="openpyxl")
        assert set(frame["k"]) == {DEFAULT_K} and set(frame["edition"].astype(str)) == {EDITION}
        assert frame.loc[frame["suppressed"], "count"].isna().all()
        _check(_from_long(frame), truth, where=suffix)


def test_a_higher_k_is_nested_in_the_default_release(db, truth):
    """Outputs at k = 10, 25 and with zeros suppressed, put side by side, recover nothing: every value
    published at a higher k is published at k = 10 too, and the union of what all three show passes
    the attacker."""
    releases = [victims(db=db), victims(db=db, k=25), victims(db=db, k=10, suppress_zeros=True)]
    grids = []
    for result in releases:
        grids.append({t["name"]: {(str(r), str(c)): (None if s else int(n))
                                  for r, c, n, s in t["cells"][["row", "column", "count", "suppressed"]]
                                  .itertuples(index=False)} for t in result["tables"]})
    base, higher, zeros = grids
    for name in DECLARED_TABLES:
        for position, value in higher[name].items():
            assert value is None or base[name][position] == value, (name, position)
        for position, value in zeros[name].items():
            assert value is None or base[name][position] == value, (name, position)
        assert all(v != 0 for v in zeros[name].values())  # no zero shown when zeros are suppressed
    union = {name: _published(name, {p: next((g[name][p] for g in grids if g[name][p] is not None), None)
                                     for p in base[name]}) for name in DECLARED_TABLES}
    _check(union, truth, where="k=10+25+zeros")
    _check({n: _published(n, higher[n]) for n in DECLARED_TABLES}, truth, k=25, where="k=25")
    assert releases[1]["tables"][0]["values"] == releases[0]["tables"][0]["values"]


def test_without_nesting_the_pair_of_outputs_would_leak(db):
    """Why releases are nested: the same records released at k = 10 and, separately, with zero cells
    suppressed, each safe on its own, together let the attacker pin cells (on this synthetic data
    two: 9 and 7 records). This is what the nesting of test_a_higher_k_is_nested... prevents."""
    from tiplens.disclosure import columns_needed, publish_release
    with tiplens.open_store(db, read_only=True) as store:
        records = store.sensitive_records("ctdc_victims", columns_needed(DECLARED_TABLES))
    every = list(DECLARED_TABLES)
    alone = [publish_release(every, records, DEFAULT_K), publish_release(every, records, DEFAULT_K,
                                                                          suppress_zeros=True)]
    union = {}
    for name in every:
        grids = [{(str(r), str(c)): (None if s else int(n)) for r, c, n, s in
                  release[name].table[["row", "column", "count", "suppressed"]].itertuples(index=False)}
                 for release in alone]
        union[name] = _published(name, {p: grids[0][p] if grids[0][p] is not None else grids[1][p]
                                        for p in grids[0]})
    pinned = sorted((low, name, row, column) for name, row, column, low, high, _ in _attacker_intervals(union)
                    if high - low < 1 - 1e-7)
    assert [p[0] for p in pinned] == [7.0, 9.0], pinned
    assert all(0 < p[0] < DEFAULT_K for p in pinned)  # small counts, the very ones suppression protects


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_matrices(), st.sampled_from([15, 20, 40]), st.booleans(), st.integers(0, 1000))
def test_nested_releases_of_random_records_publish_a_subset_and_the_union_is_safe(counts, k, zeros, seed):
    """Random case-level datasets (year x age band, with a random sex): a release at a higher k or
    with zeros suppressed, nested in the default one, publishes only what the default release
    publishes, and the two side by side leave every hidden value at least two possible values."""
    from tiplens.disclosure import publish_release
    records = _records_from_counts(counts, sexes_seed=seed)
    names = ["victims_by_year_age", "victims_by_year_sex", "victims_by_sex_age"]
    base = publish_release(names, records, DEFAULT_K)
    nested = publish_release(names, records, k, suppress_zeros=zeros, nested_in=base)
    union = {}
    for name in names:
        before = base[name].table.set_index(["row", "column"])
        after = nested[name].table.set_index(["row", "column"])
        assert (after["suppressed"] | ~before["suppressed"]).all()  # hidden before => hidden now
        published = after.loc[~after["suppressed"], "count"]
        assert ((published >= k) if zeros else ((published == 0) | (published >= k))).all()
        grid = {(str(r), str(c)): (None if s else int(n)) for (r, c), n, s in
                zip(before.index, before["count"], before["suppressed"])}
        union[name] = _published(name, grid)  # what both show together: the default release alone
    for name, row, column, low, high, _ in _attacker_intervals(union):
        assert high - low >= 1 - 1e-7, (name, row, column, low)


def test_bad_requests_are_one_clear_line(db):
    result = runner.invoke(app, ["victims", "--k", "5", "--db", str(db)])
    assert result.exit_code == 1 and "k=5 is below 10" in result.stderr
    result = runner.invoke(app, ["victims", "victims_by_name", "--db", str(db)])
    assert result.exit_code == 1 and "not a declared table" in result.stderr and "victims_by_year_sex" in result.stderr
    result = runner.invoke(app, ["victims", "--db", str(db), "--out", str(db.parent / "x.txt")])
    assert result.exit_code == 1 and "write the tables as .csv, .xlsx or .parquet" in result.stderr


def test_two_ctdc_layouts_in_one_store_need_a_choice(db, rows, tmp_path):
    import shutil
    both = tmp_path / "both.duckdb"
    shutil.copyfile(db, both)
    tiplens.ingest([write_csv(tmp_path / "ctdc_2017.csv", "ctdc_2017", rows[:300])], db=both, edition="2017-11-28")
    result = runner.invoke(app, ["victims", "--db", str(both)])
    assert result.exit_code == 1 and "several datasets (ctdc_2017, ctdc_kanon_2021): choose one with --dataset" in result.stderr
    chosen = victims(db=both, dataset="ctdc_2017", tables=["victims_by_year_sex"])
    assert chosen["dataset"] == "ctdc_2017" and chosen["edition"] == "2017-11-28"
    grand = chosen["tables"][0]["cells"].query("cell == 'grand_total'")["count"].item()
    assert grand == 300  # the rows written to that file


def test_ledger_command_equals_its_twin(db):
    result = runner.invoke(app, ["privacy-ledger", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == to_jsonable(privacy_ledger(db=db))
    ledger = privacy_ledger(db=db)
    assert ledger["releases"] >= 5 and not {"count", "value"} & set(ledger["rows"].columns)
    text = runner.invoke(app, ["privacy-ledger", "--db", str(db)]).stdout
    assert f"Privacy ledger: {ledger['releases']} releases" in text


# -- the report -----------------------------------------------------------------------------------------
def test_report_section_passes_every_check(db, truth, tmp_path):
    before = _releases(db)
    result = report(db=db, out=tmp_path / "r.html", sections=["victims"], generated_at="2026-01-01T00:00:00")
    assert result["sections"] == ["victims"] and result["tables"] == len(DECLARED_TABLES) + 1
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Case-level victim records (disclosure-controlled)" in text
    published = _from_html_tables(text, {f"victims-{n}": n for n in DECLARED_TABLES})
    _check(published, truth, where="report")
    assert "victims-ledger" in text and "never the suppressed values" in text
    # the CSV inlined in each figure is the same table
    csv_text = re.search(r'id="victims-victims_by_year_sex".*?href="data:text/csv;charset=utf-8,([^"]+)"', text,
                         flags=re.DOTALL).group(1)
    from urllib.parse import unquote
    lines = list(csv.reader(io.StringIO(unquote(html.unescape(csv_text)))))
    _check({"victims_by_year_sex": _from_wide("victims_by_year_sex", lines[0], lines[1:])}, truth,
           where="report csv")
    assert _releases(db) == before + 1
    # a second report is a second release, and the same document but for the generation time
    report(db=db, out=tmp_path / "again.html", sections=["victims"], generated_at="2027-01-01T00:00:00")
    assert (tmp_path / "again.html").read_text(encoding="utf-8").replace("2027-01-01", "2026-01-01") == text
    assert _releases(db) == before + 2


# -- the dashboard over real HTTP -------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(db, tmp_path_factory):
    """`tiplens serve` on a free port of 127.0.0.1, in its own process."""
    with serving(db, tmp_path_factory.mktemp("serve") / "serve.log") as served:
        yield served["url"]


def _chart(text: str, name: str) -> dict:
    match = re.search(rf'<script type="application/json" id="victims-{name}-chart-json">(.*?)</script>', text,
                      flags=re.DOTALL)
    return json.loads(match.group(1))


def test_dashboard_pages_charts_and_downloads_pass_every_check(db, truth, server):
    before = _releases(db)
    pages, downloads, xlsx = {}, {}, {}
    for name in DECLARED_TABLES:
        response = httpx.get(f"{server}/victims?table={name}", timeout=60)
        assert response.status_code == 200, response.text[:300]
        pages.update(_from_html_tables(response.text, {f"victims-{name}": name}))
        # the chart's JSON: a bar for each published cell, none (null) where suppressed
        grid = {}
        for trace in _chart(response.text, name)["data"]:
            for row, y, label in zip(trace["x"], trace["y"], trace["text"]):
                grid[(row, trace["name"])] = y
                assert (y is None) == (label == MARKER)
        shown = {k: v for k, v in grid.items()}
        for (row, column), value in shown.items():
            if value is not None:
                assert value == truth[name][(row, column)] and not 0 < value < DEFAULT_K
            elif 0 < truth[name][(row, column)] < DEFAULT_K:
                pass  # suppressed, as it must be
        for position, true in truth[name].items():
            if 0 < true < DEFAULT_K and TOTAL not in position:
                assert shown[position] is None, (name, position)
        answer = httpx.get(f"{server}/victims?table={name}&format=csv&view=victims-{name}", timeout=60)
        assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
        lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        downloads[name] = _from_wide(name, lines[0], lines[1:])
        book = openpyxl.load_workbook(io.BytesIO(httpx.get(
            f"{server}/victims?table={name}&format=xlsx&view=victims-{name}-chart", timeout=60).content))
        values = list(book.active.values)
        xlsx_frame = pd.DataFrame(values[1:], columns=values[0]).assign(table=name)
        xlsx.update(_from_long(xlsx_frame))
    for what, published in (("dashboard html", pages), ("dashboard csv", downloads), ("dashboard xlsx", xlsx)):
        assert set(published) == set(DECLARED_TABLES)
        _check(published, truth, where=what)
    # eight pages at one k are one release, recorded once; a new k is a new release
    assert _releases(db) == before + 1
    assert httpx.get(f"{server}/victims?k=20", timeout=60).status_code == 200
    assert _releases(db) == before + 2


def test_dashboard_refuses_k_below_10_and_unknown_tables(server):
    response = httpx.get(f"{server}/victims?k=5", timeout=30)
    assert response.status_code == 400 and "k=5 is below 10" in response.text
    response = httpx.get(f"{server}/victims?table=records", timeout=30)
    assert response.status_code == 400 and "victims_by_year_sex" in response.text
    response = httpx.get(f"{server}/victims?k=11", timeout=30)
    words = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
    assert response.status_code == 400 and "Valid values for k 10 15 20 25 30 50 100" in words


def test_dashboard_shows_nothing_it_cannot_record(db, server):
    """While another process writes the store, a new release cannot be recorded: 503, no table."""
    from tiplens.disclosure import privacy_ledger as read_ledger
    writer = tiplens.open_store(db)  # this process now holds the write lock
    try:
        before = read_ledger(writer)["release_id"].nunique()
        response = httpx.get(f"{server}/victims?k=30", timeout=60)
        assert response.status_code == 503 and "store is busy" in response.text
        assert 'data-view="victims-victims_by_year_sex"' not in response.text and MARKER not in response.text
        assert read_ledger(writer)["release_id"].nunique() == before
    finally:
        writer.close()
    response = httpx.get(f"{server}/victims?k=30", timeout=60)
    assert response.status_code == 200 and 'data-view="victims-victims_by_year_sex"' in response.text
    assert _releases(db) == before + 1


def test_dashboard_and_quarantine_command_never_show_a_quarantined_case_record(tmp_path):
    """A CTDC row that cannot be loaded goes to the quarantine with its raw cells (one person's
    record): the dashboard's /sources page and its downloads, and `tiplens quarantine` (text and
    JSON), show its reason, never those cells."""
    from fastapi.testclient import TestClient

    from tiplens._api_privacy import WITHHELD
    from tiplens.web.app import create_app
    path = tmp_path / "q.duckdb"
    with tiplens.open_store(path, with_default=False) as store:
        # ctdc_fixtures.ROWS: rows 6 (citizenship QQ) and 7 (nothing usable) are quarantined
        tiplens.ingest([write_csv(tmp_path / "ctdc.csv", "ctdc_kanon_2021")], db=store, edition=EDITION)
        stored = store.quarantine()
    assert len(stored) == 2 and stored["raw"].str.contains('"ageBroad": "0--8"').any()  # the store keeps them
    client = TestClient(create_app(path))
    page = client.get("/sources?source=ctdc").text
    download = client.get("/sources?source=ctdc&format=csv&view=quarantine").content.decode("utf-8-sig")
    printed = runner.invoke(app, ["quarantine", "--json", "--db", str(path)]).stdout
    for text in (page, download, printed):
        assert "country not matched: QQ" in text and WITHHELD in text
        assert "0--8" not in text and "yearOfRegistration" not in text
    command = runner.invoke(app, ["quarantine", "--db", str(path)]).stdout  # reasons only, wrapped
    assert "0--8" not in command and "yearOfRegistration" not in command


# -- a store without records ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def no_records(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("norecords") / "store.duckdb"
    tiplens.open_store(path, with_default=False).close()
    return path


def test_without_records_every_output_says_what_to_ingest(no_records, tmp_path):
    result = runner.invoke(app, ["victims", "--db", str(no_records)])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert result.stdout.strip() == NO_RECORDS and "ctdatacollaborative.org" in NO_RECORDS
    printed = json.loads(runner.invoke(app, ["victims", "--json", "--db", str(no_records)]).stdout)
    assert printed["status"] == "no_records" and printed["tables"] == [] and printed["message"] == NO_RECORDS
    assert privacy_ledger(db=no_records)["releases"] == 0  # nothing released, nothing recorded
    assert "ledger is empty" in runner.invoke(app, ["privacy-ledger", "--db", str(no_records)]).stdout
    report(db=no_records, out=tmp_path / "r.html", sections=["victims"])
    assert html.escape(NO_RECORDS, quote=True) in (tmp_path / "r.html").read_text(encoding="utf-8")
    from fastapi.testclient import TestClient

    from tiplens.web.app import create_app
    page = TestClient(create_app(no_records)).get("/victims")
    assert page.status_code == 200 and "No case-level victim records in this store" in page.text


def test_print_counts():
    """Summary of the checks (run last in this module)."""
    print(f"\nprivacy outputs: {len(STATS['outputs'])} outputs checked ({', '.join(STATS['outputs'])}): "
          f"{STATS['tables']} tables, {STATS['values']} values read back, {STATS['suppressed']} suppressed values "
          "attacked by differencing, none recovered")
    assert len(STATS["outputs"]) >= 10
