"""Disclosure control of case-level victim records (tiplens.disclosure).

The property tests play the attacker: from nothing but the published tables they build the
linear system (each row of cells sums to its published row total, each column to its column
total, margins to the grand total, the same totals across tables released together, counts
non-negative) and ask scipy's linprog for the smallest and largest value each suppressed entry
can take. That check is written here from the published frames only, independently of the
library's own audit (which uses one LP plus a null-space test).

``TIPLENS_SOAK=1`` runs many more random datasets.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from ctdc_fixtures import write_csv
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import tiplens
from tiplens.disclosure import (
    DECLARED_TABLES,
    DEFAULT_K,
    LEDGER_COLUMNS,
    NOT_STATED,
    TOTAL,
    columns_needed,
    privacy_ledger,
    publish,
    publish_from_store,
    publish_release,
)
from tiplens.errors import TiplensError
from tiplens.sources import ctdc

SOAK = os.environ.get("TIPLENS_SOAK") == "1"
EXAMPLES = 400 if SOAK else 60
AGE_BANDS = list(ctdc.AGE_BANDS)
SEXES = list(ctdc.GENDERS)

# counts collected across the property tests, printed once at the end of the module
STATS = {"datasets": 0, "tables": 0, "suppressed": 0, "primary": 0, "lp_checks": 0, "min_width": None,
         "widths_below_k": 0}


def _records_from_counts(counts: list[list[int]], sexes_seed: int | None = None) -> pd.DataFrame:
    """Victim records whose year × age-band crosstab is ``counts`` (last row/column: Not stated)."""
    years = [2010 + i for i in range(len(counts) - 1)] + [None]
    bands = AGE_BANDS[:len(counts[0]) - 1] + [None]
    rows = [(years[i], bands[j]) for i, line in enumerate(counts) for j, n in enumerate(line) for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["year_of_registration", "age_band"])
    frame["year_of_registration"] = frame["year_of_registration"].astype("Int64")
    rng = np.random.default_rng(sexes_seed or 0)
    frame["gender"] = rng.choice(SEXES + [None], size=len(frame), p=[0.55, 0.35, 0.04, 0.06])
    return frame


def _attacker_intervals(published: dict) -> list[tuple[str, str, str, float, float, str]]:
    """(table, row, column, min, max, rule) for every suppressed entry, from the published frames alone."""
    unknown: dict[tuple, int] = {}
    known: dict[tuple, float] = {}
    equations: list[list[tuple[tuple, float]]] = []
    margin_of: dict[tuple, list[tuple]] = {}
    for name, pub in published.items():
        for row in pub.table.itertuples(index=False):
            key = (name, row.row, row.column)
            if row.suppressed:
                unknown.setdefault(key, len(unknown))
            else:
                known[key] = float(row.count)
        cells = pub.table[pub.table["cell"] == "cell"]
        for r, part in cells.groupby("row", sort=False):
            equations.append([((name, r, c), 1.0) for c in part["column"]] + [((name, r, TOTAL), -1.0)])
        for c, part in cells.groupby("column", sort=False):
            equations.append([((name, r, c), 1.0) for r in part["row"]] + [((name, TOTAL, c), -1.0)])
        row_totals = pub.table[pub.table["cell"] == "row_total"]["row"]
        col_totals = pub.table[pub.table["cell"] == "column_total"]["column"]
        equations.append([((name, r, TOTAL), 1.0) for r in row_totals] + [((name, TOTAL, TOTAL), -1.0)])
        equations.append([((name, TOTAL, c), 1.0) for c in col_totals] + [((name, TOTAL, TOTAL), -1.0)])
        # totals of the same variable are the same numbers in every table of the release
        for r in row_totals:
            margin_of.setdefault((pub.row_variable, r), []).append((name, r, TOTAL))
        for c in col_totals:
            margin_of.setdefault((pub.column_variable, c), []).append((name, TOTAL, c))
        margin_of.setdefault(("grand",), []).append((name, TOTAL, TOTAL))
    for same in margin_of.values():
        for other in same[1:]:
            equations.append([(same[0], 1.0), (other, -1.0)])
    if not unknown:
        return []
    a_eq, b_eq = [], []
    for eq in equations:
        row, rhs = np.zeros(len(unknown)), 0.0
        for key, coef in eq:
            if key in unknown:
                row[unknown[key]] += coef
            else:
                rhs -= coef * known[key]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
        else:
            assert abs(rhs) < 1e-9, "published values are inconsistent"
    a_eq, b_eq = np.array(a_eq), np.array(b_eq)
    rules = {(n, r.row, r.column): r.rule for n, p in published.items() for r in p.table.itertuples() if r.suppressed}
    out = []
    for key, j in unknown.items():
        objective = np.zeros(len(unknown))
        objective[j] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0
        upper = np.inf if high.status == 3 else -high.fun  # status 3: unbounded
        out.append((*key, low.fun, upper, rules[key]))
    STATS["lp_checks"] += 2 * len(unknown)
    return out


def _check_release(published: dict, records: pd.DataFrame, k: int) -> None:
    for name, pub in published.items():
        table = DECLARED_TABLES[name]
        STATS["tables"] += 1
        # every published count is the true count (pandas crosstab with margins, computed here)
        def labels(column):
            values = records[column].astype("string").fillna(NOT_STATED)
            return values
        column_of = {"year": "year_of_registration", "age_band": "age_band", "sex": "gender"}
        rows_of, cols_of = labels(column_of[table.rows]), labels(column_of[table.columns])

        def truth(r, c, rows_of=rows_of, cols_of=cols_of):
            mask = pd.Series(True, index=records.index)
            if r != TOTAL:
                mask &= rows_of == r
            if c != TOTAL:
                mask &= cols_of == c
            return int(mask.sum())
        shown = pub.table[~pub.table["suppressed"]]
        for row in shown.itertuples(index=False):
            assert int(row.count) == truth(str(row.row), str(row.column))
            # no published count from 1 to k-1 survives
            assert not (0 < row.count < k), (name, row)
        assert shown["count"].notna().all() and pub.table.loc[pub.table["suppressed"], "count"].isna().all()
        STATS["suppressed"] += pub.suppressed
        STATS["primary"] += int((pub.table["rule"] == "primary: count below k").sum())
    for name, row, column, low, high, rule in _attacker_intervals(published):
        # integer polytope (totally unimodular): min < max means at least two integer values remain
        assert high - low >= 1 - 1e-7, f"{name} [{row}, {column}] ({rule}) is pinned to {low}"
        width = high - low
        STATS["min_width"] = width if STATS["min_width"] is None else min(STATS["min_width"], width)
        STATS["widths_below_k"] += int(width < k)


COUNT = st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 40))


@st.composite
def count_matrices(draw):
    n_rows = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 5))
    return [[draw(COUNT) for _ in range(n_cols)] for _ in range(n_rows)]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_matrices(), st.sampled_from([3, 5, 10]))
# found by hypothesis with the audit switched off: the row/column rule alone leaves the 0--8
# column total pinned to 10 (a bridge between two groups of suppressed cells)
@example(counts=[[0, 0, 0, 1], [10, 0, 0, 0], [0, 0, 10, 0], [0, 0, 0, 1]], k=3)
def test_one_table_never_shows_a_small_cell_nor_lets_one_be_derived(counts, k):
    records = _records_from_counts(counts)
    STATS["datasets"] += 1
    published = {"victims_by_year_age": publish("victims_by_year_age", records, k)}
    _check_release(published, records, k)


@settings(max_examples=max(EXAMPLES // 2, 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_matrices(), st.integers(0, 2**16))
def test_linked_tables_released_together_cannot_be_differenced(counts, seed):
    # year x age and year x sex share the year totals: an attacker combines both tables
    records = _records_from_counts(counts, seed)
    STATS["datasets"] += 1
    published = publish_release(["victims_by_year_age", "victims_by_year_sex", "victims_by_sex_age"], records)
    assert len({p.release_id for p in published.values()}) == 1
    _check_release(published, records, DEFAULT_K)


def test_a_single_small_cell_gets_complements_in_its_row_and_column():
    # by hand: 2x2 of (12, 3 / 20, 25): the 3 is primary; its row (12) and column (25) get
    # complements, and the diagonal (20) closes the cycle; every total is >= 10 and published.
    records = _records_from_counts([[12, 3, 0], [20, 25, 0], [0, 0, 0]])
    pub = publish("victims_by_year_age", records)
    shown = pub.wide()
    assert list(shown.index) == ["2010", "2011", TOTAL] and list(shown.columns) == ["0--8", "9--17", TOTAL]
    assert shown.isna().to_numpy().tolist() == [[True, True, False], [True, True, False], [False, False, False]]
    assert shown.loc[TOTAL, TOTAL] == 60 and shown.loc["2010", TOTAL] == 15
    rules = pub.table.set_index(["row", "column"])["rule"]
    assert rules[("2010", "9--17")] == "primary: count below k"
    assert rules[("2010", "0--8")] == rules[("2011", "9--17")] == "secondary: complementary, against differencing"


def test_a_small_total_is_suppressed_with_its_cells_and_a_complement():
    # the year 2011 has only 4 records: its total is a primary suppression, and so are its cells
    records = _records_from_counts([[30, 25, 0], [2, 2, 0], [0, 0, 0]])
    pub = publish("victims_by_year_age", records)
    table = pub.table.set_index(["row", "column"])
    assert table.loc[("2011", TOTAL), "suppressed"] and table.loc[("2011", TOTAL), "rule"] == "primary: count below k"
    # the year totals sum to the grand total: a second total had to go (or the grand total)
    hidden_totals = table[(table["cell"].isin(["row_total", "grand_total"])) & table["suppressed"]]
    assert len(hidden_totals) >= 2


def test_zero_cells_are_published_unless_asked():
    records = _records_from_counts([[40, 0, 0], [30, 25, 0], [0, 0, 0]])
    assert publish("victims_by_year_age", records).wide().loc["2010", "9--17"] == 0
    strict = publish("victims_by_year_age", records, suppress_zeros=True)
    assert pd.isna(strict.wide().loc["2010", "9--17"])
    assert "primary: zero cell (suppress_zeros)" in set(strict.table["rule"].dropna())


def test_fewer_than_k_records_publish_nothing():
    records = _records_from_counts([[3, 2], [1, 0]])
    pub = publish("victims_by_year_sex", records)
    assert pub.table.loc[pub.table["count"].notna(), "count"].eq(0).all()
    assert pub.table.loc[pub.table["cell"] == "grand_total", "suppressed"].item()


def test_only_declared_tables_and_valid_k():
    records = _records_from_counts([[12, 3], [20, 25]])
    with pytest.raises(TiplensError, match="not a declared table.*victims_by_year_sex"):
        publish("victims_by_name", records)
    with pytest.raises(TiplensError, match="k must be"):
        publish("victims_by_year_sex", records, k=0)
    with pytest.raises(TiplensError, match="no column 'citizenship_iso3'"):
        publish("victims_by_citizenship_exploitation", records)


def test_the_store_refuses_sensitive_tables_and_keeps_the_ledger(empty_store):
    with pytest.raises(TiplensError, match="only available through declared"):
        empty_store.records("ctdc_victims")
    records = _records_from_counts([[12, 3, 0], [20, 25, 0], [0, 0, 0]])
    release = publish_release(["victims_by_year_age", "victims_by_year_sex"], records, store=empty_store)
    ledger = privacy_ledger(empty_store)
    assert set(ledger.columns) == set(LEDGER_COLUMNS)
    # one ledger row per suppressed value (or one "nothing suppressed" row) per table
    expected = sum(max(p.suppressed, 1) for p in release.values())
    assert len(ledger) == expected
    assert set(ledger["k"]) == {10} and ledger["release_id"].nunique() == 1
    # the ledger says where and why, never the suppressed value: no column holds a count
    assert not {"count", "value"} & set(ledger.columns)


def _ctdc_file(tmp_path):
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(600):
        rows.append({"yearOfRegistration": str(rng.choice(["2015", "2016", "2017", "2018", "2019"])),
                     "Datasource": str(rng.choice(["Case management", "Hotline"])),
                     "gender": str(rng.choice(["Female", "Male", "Transgender/NonConforming"], p=[.6, .38, .02])),
                     "ageBroad": str(rng.choice(AGE_BANDS)),
                     "citizenship": str(rng.choice(["PH", "UA", "MD", "NA", "US", "KH"], p=[.3, .3, .2, .1, .07, .03])),
                     "CountryOfExploitation": str(rng.choice(["US", "RU", "TH", "ZA"])),
                     "isSexualExploit": str(rng.choice(["0", "1"])), "isForcedLabour": str(rng.choice(["0", "1"]))})
    return write_csv(tmp_path / "ctdc.csv", "ctdc_kanon_2021", rows)


def test_real_ctdc_layout_end_to_end(tmp_path):
    """A CTDC-layout file (synthetic rows: the real file is not redistributable) read by the source
    module, then every declared table released together."""
    norm = ctdc.normalise(ctdc.read(_ctdc_file(tmp_path)))
    records = norm.records["ctdc_victims"]
    assert len(records) == 600
    release = publish_release(list(DECLARED_TABLES), records)
    for name, pub in release.items():
        counts = pub.table["count"].dropna()
        assert not ((counts > 0) & (counts < DEFAULT_K)).any(), name
        # 600 records, grand total published in every table
        assert pub.table.loc[pub.table["cell"] == "grand_total", "count"].item() == 600
    # the flows table (6 citizenships x 4 countries, many small cells) is audited too
    flows = release["victims_by_citizenship_exploitation_country"]
    assert flows.suppressed > 0
    for row in _attacker_intervals({"victims_by_citizenship_exploitation_country": flows}):
        assert row[4] - row[3] >= 1 - 1e-7
    # only the columns the declared tables read are needed: the same tables from those alone
    needed = columns_needed(DECLARED_TABLES)
    assert "flag" not in needed and "means_of_control_concatenated" not in needed
    again = publish_release(list(DECLARED_TABLES), records[needed])
    for name in DECLARED_TABLES:
        pd.testing.assert_frame_equal(again[name].table, release[name].table)


def test_publish_from_store(tmp_path):
    store = tiplens.open_store(tmp_path / "s.duckdb", with_default=False)
    try:
        tiplens.ingest([_ctdc_file(tmp_path)], db=store, edition="2021-07-15")
        release = publish_from_store(["victims_by_year_sex", "victims_by_year_age"], store)
        assert release["victims_by_year_sex"].table.loc[lambda t: t["cell"] == "grand_total", "count"].item() == 600
        assert len(privacy_ledger(store)) >= 2
    finally:
        store.close()


def test_print_counts():
    """Summary of the property tests (run last in this module)."""
    print(f"\ndisclosure: {STATS['datasets']} random datasets, {STATS['tables']} tables published, "
          f"{STATS['suppressed']} values suppressed ({STATS['primary']} primary), {STATS['lp_checks']} attacker LPs, "
          f"none pinned; smallest attacker interval {STATS['min_width']}, "
          f"{STATS['widths_below_k']} intervals narrower than k")
    assert STATS["datasets"] > 0
