"""Disclosure control: the one step between case-level records about people and any output.

Case-level records (the sensitive record tables of :data:`tiplens.store.SENSITIVE_TABLES`, such
as CTDC victim records) never reach a table, chart, export, dashboard response or report
directly. They reach them only as one of the :data:`DECLARED_TABLES` — two-way frequency tables
of victims (for example by year of registration × sex) with their row, column and grand totals —
and only after :func:`publish` (one table) or :func:`publish_release` (several tables released
together) has applied the rules below. There is no function for a free query over victims.

Rules (``k`` defaults to :data:`DEFAULT_K` = 10):

Primary suppression
    every published count ``n`` with ``0 < n < k`` is suppressed — interior cells *and*
    margins (a row total of 3 is as disclosive as a cell of 3).
Zero cells
    published as 0 by default: a zero describes nobody. ``suppress_zeros=True`` treats them as
    primary cells too (for users who consider "no victim of this nationality was exploited in
    forced labour" disclosive). Zeros are chosen as complements only when no non-zero cell can
    be.
Secondary (complementary) suppression
    a table and its margins form linear relations (each row of cells sums to its row total, each
    column to its column total, the totals to the grand total). A suppressed value that is the
    only unknown of such a relation can be recovered by differencing, so every relation holding
    a suppressed value must hold at least two; complements are chosen (interior cells before
    margins, smallest non-zero count first) until no relation holds exactly one — a fixed point.
    That rule is necessary but not sufficient (a suppressed cell joining two otherwise
    separate groups of suppressed cells is still determined), so each release is then *audited*:
    the values an attacker cannot see are the unknowns of the linear system formed by every
    published value, with the knowledge that counts are non-negative; any unknown that system
    pins to a single value gets a further complement, and the rule and the audit repeat until
    nothing is pinned. Because the constraint matrix of a two-way table with margins is totally
    unimodular, "not pinned over the reals" means at least two integer values remain possible.
Linked tables
    tables released together share their margins (year totals are the same in "year × sex" and
    "year × age band"): :func:`publish_release` solves them as one system, so a total suppressed
    in one table is suppressed in all of them.

Every release is recorded in a privacy ledger (:data:`LEDGER_COLUMNS`): which values were
suppressed, by which rule, with which ``k`` — never the suppressed values themselves. Given a
store, the ledger is appended to its ``privacy_ledger`` table.

Known limits (stated in ``SECURITY.md``): group attribute disclosure (a row whose only non-zero
cell is a count of at least ``k`` tells that every member of that group shares the column's
attribute) is not suppressed unless ``suppress_zeros``; tables released at different times are
audited together only when passed to one :func:`publish_release` call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from .errors import TiplensError

DEFAULT_K = 10
#: Label of records whose value of a variable is missing (they are counted, so totals add up).
NOT_STATED = "Not stated"
TOTAL = "Total"

RULE_PRIMARY = "primary: count below k"
RULE_PRIMARY_ZERO = "primary: zero cell (suppress_zeros)"
RULE_SECONDARY = "secondary: complementary, against differencing"
RULE_NESTED = "secondary: suppressed in the base release of the same records"

#: Columns of the ``privacy_ledger`` store table (one row per suppressed value per release).
LEDGER_COLUMNS: dict[str, str] = {
    "release_id": "VARCHAR",
    "released_at": "TIMESTAMP",
    "table_name": "VARCHAR",
    "source_table": "VARCHAR",
    "k": "INTEGER",
    "suppress_zeros": "BOOLEAN",
    "row_variable": "VARCHAR",
    "column_variable": "VARCHAR",
    "row": "VARCHAR",
    "column": "VARCHAR",
    "cell": "VARCHAR",
    "rule": "VARCHAR",
    "values_published": "INTEGER",
    "values_suppressed": "INTEGER",
}
LEDGER_TABLE = "privacy_ledger"


# -- variables and declared tables ------------------------------------------------------------
@dataclass(frozen=True)
class Variable:
    """One axis of a declared table: how to read it from the records, and its category order."""

    name: str
    label: str
    derive: Callable[[pd.DataFrame], pd.Series]
    order: tuple[str, ...] = ()   # categories listed first, in this order; others sorted after
    columns: tuple[str, ...] = ()  # the record columns it reads (the only ones fetched from the store)


def _column(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    def derive(records: pd.DataFrame) -> pd.Series:
        if name not in records.columns:
            raise TiplensError(f"the records have no column {name!r} (columns: {', '.join(map(str, records.columns))})")
        values = records[name]
        text = values.astype("string")
        if pd.api.types.is_float_dtype(values):  # years read back as floats
            text = values.astype("Int64").astype("string")
        return text.fillna(NOT_STATED).str.strip().replace("", NOT_STATED)
    return derive


def _exploitation_type(records: pd.DataFrame) -> pd.Series:
    """One form of exploitation per victim record, so that each record falls in one cell.

    Built from CTDC's flags in this order: ``is_sex_and_labour`` (both), then sexual, labour,
    forced marriage, any other form, else Not stated.
    """
    def flag(name: str) -> pd.Series:
        if name not in records.columns:
            return pd.Series(False, index=records.index)
        return records[name].astype("boolean").fillna(False).astype(bool)

    out = pd.Series(NOT_STATED, index=records.index, dtype="string")
    other = flag("is_other_exploit") | flag("is_forced_military") | flag("is_organ_removal")
    # later assignments win: write from the weakest to the strongest label
    out = out.mask(other, "Other")
    out = out.mask(flag("is_forced_marriage"), "Forced marriage")
    out = out.mask(flag("is_forced_labour"), "Forced labour")
    out = out.mask(flag("is_sexual_exploit"), "Sexual exploitation")
    out = out.mask(flag("is_sex_and_labour") | (flag("is_sexual_exploit") & flag("is_forced_labour")),
                   "Sexual exploitation and forced labour")
    return out


def _ctdc_order(attribute: str) -> tuple[str, ...]:
    from .sources import ctdc
    return tuple(getattr(ctdc, attribute))


VARIABLES: dict[str, Variable] = {v.name: v for v in (
    Variable("year", "Year of registration", _column("year_of_registration"), (), ("year_of_registration",)),
    Variable("sex", "Sex (gender as recorded)", _column("gender"), _ctdc_order("GENDERS"), ("gender",)),
    Variable("age_band", "Age band", _column("age_band"), _ctdc_order("AGE_BANDS"), ("age_band",)),
    Variable("citizenship", "Citizenship (ISO3)", _column("citizenship_iso3"), (), ("citizenship_iso3",)),
    Variable("exploitation_country", "Country of exploitation (ISO3)", _column("exploitation_iso3"), (),
             ("exploitation_iso3",)),
    Variable("exploitation_type", "Form of exploitation", _exploitation_type,
             ("Sexual exploitation", "Forced labour", "Sexual exploitation and forced labour", "Forced marriage",
              "Other"),
             ("is_sex_and_labour", "is_sexual_exploit", "is_forced_labour", "is_forced_marriage", "is_other_exploit",
              "is_forced_military", "is_organ_removal")),
    Variable("data_source", "Data source", _column("data_source"), _ctdc_order("DATA_SOURCES"), ("data_source",)),
)}


@dataclass(frozen=True)
class DeclaredTable:
    """A two-way frequency table of records that may be published (after disclosure control)."""

    name: str
    title: str
    source_table: str      # the sensitive store table the records come from
    rows: str              # a key of VARIABLES
    columns: str           # a key of VARIABLES


#: The only tables of case-level victim data that tiplens publishes.
DECLARED_TABLES: dict[str, DeclaredTable] = {t.name: t for t in (
    DeclaredTable("victims_by_year_sex", "Victim records by year of registration and sex",
                  "records_ctdc_victims", "year", "sex"),
    DeclaredTable("victims_by_year_age", "Victim records by year of registration and age band",
                  "records_ctdc_victims", "year", "age_band"),
    DeclaredTable("victims_by_year_exploitation", "Victim records by year of registration and form of exploitation",
                  "records_ctdc_victims", "year", "exploitation_type"),
    DeclaredTable("victims_by_sex_age", "Victim records by sex and age band",
                  "records_ctdc_victims", "sex", "age_band"),
    DeclaredTable("victims_by_citizenship_exploitation", "Victim records by citizenship and form of exploitation",
                  "records_ctdc_victims", "citizenship", "exploitation_type"),
    DeclaredTable("victims_by_exploitation_country_year",
                  "Victim records by country of exploitation and year of registration",
                  "records_ctdc_victims", "exploitation_country", "year"),
    DeclaredTable("victims_by_citizenship_exploitation_country",
                  "Victim records by citizenship and country of exploitation (flows)",
                  "records_ctdc_victims", "citizenship", "exploitation_country"),
    DeclaredTable("victims_by_data_source_year", "Victim records by data source and year of registration",
                  "records_ctdc_victims", "data_source", "year"),
)}


def declared_table(name: str) -> DeclaredTable:
    """The declared table called ``name``; a :class:`TiplensError` listing the valid names otherwise."""
    try:
        return DECLARED_TABLES[name]
    except KeyError:
        raise TiplensError(f"{name!r} is not a declared table: case-level records are published only as one of "
                           f"{', '.join(DECLARED_TABLES)}") from None


# -- the published result ---------------------------------------------------------------------
@dataclass
class Published:
    """A declared table after disclosure control.

    Attributes
    ----------
    name, title : str
        the declared table.
    k : int
        the threshold applied.
    table : DataFrame
        long format, one row per published value: ``row``, ``column`` (``Total`` for margins),
        ``cell`` (``cell``, ``row_total``, ``column_total``, ``grand_total``), ``count`` (Int64,
        missing where suppressed), ``suppressed`` (bool) and ``rule`` (why, where suppressed).
    ledger : DataFrame
        what was suppressed and why (columns :data:`LEDGER_COLUMNS`), never the values.
    """

    name: str
    title: str
    row_variable: str
    column_variable: str
    k: int
    table: pd.DataFrame
    ledger: pd.DataFrame
    release_id: str = ""
    notes: list[str] = field(default_factory=list)

    def wide(self) -> pd.DataFrame:
        """The table as a reader sees it: rows × columns plus a Total row and column; suppressed
        values are missing (shown as a dash by the report)."""
        frame = self.table.pivot(index="row", columns="column", values="count")
        rows = list(dict.fromkeys(self.table["row"]))
        columns = list(dict.fromkeys(self.table["column"]))
        frame = frame.reindex(index=rows, columns=columns)
        frame.index.name = VARIABLES[self.row_variable].label
        frame.columns.name = VARIABLES[self.column_variable].label
        return frame

    @property
    def suppressed(self) -> int:
        return int(self.table["suppressed"].sum())


# -- the linear system of a release -----------------------------------------------------------
# Every value of a release is a key: ("cell", table, r, c) for interior cells, ("margin", var, v)
# for a total by one variable (shared by every table with that axis), ("grand",) for the total.
# Relations: each list of keys sums to its total key.

def _categories(values: pd.Series, order: tuple[str, ...]) -> list[str]:
    present = set(values.unique())
    first = [c for c in order if c in present]
    rest = sorted(present - set(first) - {NOT_STATED})
    return first + rest + ([NOT_STATED] if NOT_STATED in present else [])


class _Release:
    def __init__(self, tables: list[DeclaredTable], records: pd.DataFrame):
        self.tables = tables
        self.labels = {}
        self.categories = {}
        for var in {v for t in tables for v in (t.rows, t.columns)}:
            labels = VARIABLES[var].derive(records).astype("string").fillna(NOT_STATED)
            self.labels[var] = labels
            self.categories[var] = _categories(labels, VARIABLES[var].order)
        self.value: dict[tuple, int] = {("grand",): len(records)}
        self.relations: list[tuple[list[tuple], tuple]] = []
        for var in self.labels:
            counts = self.labels[var].value_counts()
            keys = [("margin", var, c) for c in self.categories[var]]
            for key in keys:
                self.value[key] = int(counts.get(key[2], 0))
            self.relations.append((keys, ("grand",)))
        for t in tables:
            counts = pd.crosstab(self.labels[t.rows], self.labels[t.columns])
            rows, cols = self.categories[t.rows], self.categories[t.columns]
            counts = counts.reindex(index=rows, columns=cols, fill_value=0)
            for r in rows:
                for c in cols:
                    self.value[("cell", t.name, r, c)] = int(counts.at[r, c])
            for r in rows:
                self.relations.append(([("cell", t.name, r, c) for c in cols], ("margin", t.rows, r)))
            for c in cols:
                self.relations.append(([("cell", t.name, r, c) for r in rows], ("margin", t.columns, c)))
        self.keys = list(self.value)
        self.index = {key: i for i, key in enumerate(self.keys)}

    def lines(self) -> list[list[int]]:
        """Each relation as the indices of all its values (parts and total)."""
        return [[self.index[k] for k in parts] + [self.index[total]] for parts, total in self.relations]


def _complement_order(key: tuple, value: int) -> tuple:
    """Preference for complements: interior cells, then non-zero, then the smallest count."""
    return (key[0] != "cell", value == 0, value)


def _line_rule(release: _Release, suppressed: np.ndarray, reason: dict[int, str], lines: list[list[int]]) -> None:
    """Add complements until no relation holds exactly one suppressed value (a fixed point)."""
    values = [release.value[k] for k in release.keys]
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [i for i in line if suppressed[i]]
            if len(hidden) != 1:
                continue
            candidates = [i for i in line if not suppressed[i]]
            if not candidates:
                continue
            pick = min(candidates, key=lambda i: _complement_order(release.keys[i], values[i]))
            suppressed[pick] = True
            reason[pick] = RULE_SECONDARY
            changed = True


def _pinned(release: _Release, suppressed: np.ndarray, lines: list[list[int]]) -> list[int]:
    """Suppressed values that the published ones determine (see the module docstring).

    The unknowns are the suppressed values, x >= 0, each relation a linear equation. An unknown
    is pinned iff it is fixed on the affine hull of that polyhedron: the hull is the equations
    plus x_j = 0 for every unknown that is 0 in every solution (found with one LP that maximises
    how far each unknown can be from 0), and x_j is fixed on it iff row j of the hull's null
    space is zero.
    """
    from scipy.linalg import null_space
    from scipy.optimize import linprog

    hidden = np.flatnonzero(suppressed)
    if len(hidden) == 0:
        return []
    position = {int(i): p for p, i in enumerate(hidden)}
    values = np.array([release.value[k] for k in release.keys], dtype=float)
    rows, rhs = [], []
    for line in lines:
        total, parts = line[-1], line[:-1]
        coeffs = np.zeros(len(hidden))
        constant = 0.0
        for i, sign in [(p, 1.0) for p in parts] + [(total, -1.0)]:
            if suppressed[i]:
                coeffs[position[i]] += sign
            else:
                constant += sign * values[i]
        if coeffs.any():
            rows.append(coeffs)
            rhs.append(-constant)
    n = len(hidden)
    a_eq = np.array(rows) if rows else np.zeros((0, n))
    b_eq = np.array(rhs) if rhs else np.zeros(0)
    # variables [x, s]: maximise sum(s) with s <= x, 0 <= s <= 1
    result = linprog(c=np.concatenate([np.zeros(n), -np.ones(n)]),
                     A_ub=np.hstack([-np.eye(n), np.eye(n)]), b_ub=np.zeros(n),
                     A_eq=np.hstack([a_eq, np.zeros((len(a_eq), n))]), b_eq=b_eq,
                     bounds=[(0, None)] * n + [(0, 1)] * n, method="highs")
    if result.status != 0:  # the true values are always feasible: this is a bug, not user input
        raise RuntimeError(f"disclosure audit: linear program failed ({result.message})")
    always_zero = result.x[n:] < 1e-7
    hull = np.vstack([a_eq, np.eye(n)[always_zero]]) if always_zero.any() else a_eq
    if len(hull) == 0:
        return []
    basis = null_space(hull)
    free = np.abs(basis).max(axis=1) > 1e-9 if basis.size else np.zeros(n, dtype=bool)
    return [int(hidden[p]) for p in range(n) if not free[p]]


def _suppress(release: _Release, k: int, suppress_zeros: bool,
              forced: Iterable[tuple] = ()) -> tuple[np.ndarray, dict[int, str]]:
    values = np.array([release.value[key] for key in release.keys])
    suppressed = (values > 0) & (values < k)
    reason = {int(i): RULE_PRIMARY for i in np.flatnonzero(suppressed)}
    if suppress_zeros:
        zeros = values == 0
        suppressed |= zeros
        reason.update({int(i): RULE_PRIMARY_ZERO for i in np.flatnonzero(zeros)})
    for key in forced:
        i = release.index.get(key)
        if i is not None and not suppressed[i]:
            suppressed[i] = True
            reason[i] = RULE_NESTED
    lines = release.lines()
    lines_of: dict[int, list[list[int]]] = {}
    for line in lines:
        for i in line:
            lines_of.setdefault(i, []).append(line)
    while True:
        _line_rule(release, suppressed, reason, lines)
        pinned = _pinned(release, suppressed, lines)
        if not pinned:
            return suppressed, reason
        added = False
        for i in pinned:
            candidates = {j for line in lines_of.get(i, []) for j in line if not suppressed[j]}
            if not candidates:
                # widen to the relations of the suppressed values this one is linked with
                linked = {j for line in lines_of.get(i, []) for j in line}
                candidates = {m for j in linked for line in lines_of.get(j, []) for m in line if not suppressed[m]}
            if candidates:
                pick = min(candidates, key=lambda j: _complement_order(release.keys[j], int(values[j])))
                suppressed[pick] = True
                reason[pick] = RULE_SECONDARY
                added = True
                break  # one at a time: a single complement often frees several pinned values
        if not added:  # nothing left to add near the pinned values: publish nothing rather than leak
            for j in np.flatnonzero(~suppressed):
                reason[int(j)] = RULE_SECONDARY
            suppressed[:] = True
            return suppressed, reason


# -- public functions -------------------------------------------------------------------------
def publish(table_name: str, records: pd.DataFrame, k: int = DEFAULT_K, *, suppress_zeros: bool = False,
            store=None) -> Published:
    """Publish one declared table of case-level ``records`` with disclosure control.

    Parameters
    ----------
    table_name : str
        a key of :data:`DECLARED_TABLES` (anything else raises :class:`TiplensError`).
    records : DataFrame
        the rows of the declared table's sensitive record table (e.g. ``records_ctdc_victims``).
    k : int, default 10
        threshold: counts from 1 to ``k - 1`` are suppressed, with complements.
    suppress_zeros : bool, default False
        treat zero cells as primary cells too.
    store : Store, optional
        when given, the ledger is appended to its ``privacy_ledger`` table.

    Returns
    -------
    Published
    """
    return publish_release([table_name], records, k, suppress_zeros=suppress_zeros, store=store)[table_name]


def publish_release(table_names: Iterable[str], records: pd.DataFrame, k: int = DEFAULT_K, *,
                    suppress_zeros: bool = False, store=None,
                    nested_in: dict[str, Published] | None = None) -> dict[str, Published]:
    """Publish several declared tables of the same records together, audited as one system.

    Tables that share a variable share its totals, so suppressing a total in one suppresses it
    in all. Returns ``{name: Published}``, all with the same ``release_id``.

    ``nested_in`` is an earlier release of the same records (for example at the default ``k``):
    every value it suppressed is suppressed here too (rule :data:`RULE_NESTED`), so this release
    publishes a subset of what that one published and the two together tell an attacker no more
    than the earlier one alone. Without it, a release at a higher ``k`` may publish a complement
    of the earlier release and so let a small count be recovered from the pair.
    """
    names = list(dict.fromkeys(table_names))
    if not names:
        raise TiplensError(f"no declared table given; declared tables: {', '.join(DECLARED_TABLES)}")
    tables = [declared_table(n) for n in names]
    sources = {t.source_table for t in tables}
    if len(sources) > 1:
        raise TiplensError(f"tables {', '.join(names)} come from different record tables ({', '.join(sorted(sources))});"
                           " publish them in separate releases")
    k = int(k)
    if k < 1:
        raise TiplensError(f"k must be a whole number of at least 1 (got {k}); the default is {DEFAULT_K}")
    if not isinstance(records, pd.DataFrame):
        raise TiplensError("records must be a DataFrame of the declared table's record table")

    release = _Release(tables, records)
    suppressed, reason = _suppress(release, k, suppress_zeros, _suppressed_keys(nested_in or {}))
    release_id = uuid.uuid4().hex[:12]
    released_at = datetime.now(UTC).replace(tzinfo=None)

    out: dict[str, Published] = {}
    for t in tables:
        rows, cols = release.categories[t.rows], release.categories[t.columns]
        entries = []
        for r in rows:
            for c in cols:
                entries.append((r, c, "cell", ("cell", t.name, r, c)))
            entries.append((r, TOTAL, "row_total", ("margin", t.rows, r)))
        for c in cols:
            entries.append((TOTAL, c, "column_total", ("margin", t.columns, c)))
        entries.append((TOTAL, TOTAL, "grand_total", ("grand",)))
        hidden = [bool(suppressed[release.index[key]]) for *_, key in entries]
        table = pd.DataFrame({
            "row": [e[0] for e in entries],
            "column": [e[1] for e in entries],
            "cell": [e[2] for e in entries],
            "count": pd.array([None if h else release.value[e[3]] for e, h in zip(entries, hidden)], dtype="Int64"),
            "suppressed": hidden,
            "rule": [reason.get(release.index[e[3]]) if h else None for e, h in zip(entries, hidden)],
        })
        n_hidden = int(sum(hidden))
        base = {"release_id": release_id, "released_at": released_at, "table_name": t.name,
                "source_table": t.source_table, "k": k, "suppress_zeros": bool(suppress_zeros),
                "row_variable": t.rows, "column_variable": t.columns,
                "values_published": len(entries) - n_hidden, "values_suppressed": n_hidden}
        ledger_rows = [dict(base, row=r, column=c, cell=cell, rule=rule)
                       for r, c, cell, rule in table.loc[table["suppressed"], ["row", "column", "cell", "rule"]]
                       .itertuples(index=False, name=None)]
        if not ledger_rows:  # the release is recorded even when nothing needed suppressing
            ledger_rows = [dict(base, row=None, column=None, cell=None, rule="nothing suppressed")]
        ledger = pd.DataFrame(ledger_rows).reindex(columns=list(LEDGER_COLUMNS))
        notes = [(f"Cells from 1 to {k - 1} suppressed (k = {k}), with complementary suppression so that none can "
                  "be recovered from the totals; counts are victim records as the contributing agencies registered "
                  "them, not prevalence.")]
        out[t.name] = Published(name=t.name, title=t.title, row_variable=t.rows, column_variable=t.columns, k=k,
                                table=table, ledger=ledger, release_id=release_id, notes=notes)
    if store is not None:
        store.write_rows(LEDGER_TABLE, pd.concat([p.ledger for p in out.values()], ignore_index=True),
                         LEDGER_COLUMNS)
    return out


def _suppressed_keys(published: dict[str, Published]) -> list[tuple]:
    """The keys (see :class:`_Release`) of every value suppressed in ``published``."""
    keys = []
    for pub in published.values():
        hidden = pub.table[pub.table["suppressed"]]
        for r, c, cell in hidden[["row", "column", "cell"]].itertuples(index=False, name=None):
            keys.append({"cell": ("cell", pub.name, r, c), "row_total": ("margin", pub.row_variable, r),
                         "column_total": ("margin", pub.column_variable, c), "grand_total": ("grand",)}[cell])
    return keys


def columns_needed(table_names: Iterable[str]) -> list[str]:
    """The record columns the declared tables read (fetch only these from the store)."""
    tables = [declared_table(n) for n in table_names]
    return list(dict.fromkeys(c for t in tables for v in (t.rows, t.columns) for c in VARIABLES[v].columns))


def publish_from_store(table_names: Iterable[str], store, k: int = DEFAULT_K, *, dataset: str | None = None,
                       suppress_zeros: bool = False, record_ledger: bool = True) -> dict[str, Published]:
    """Release declared tables straight from a store's sensitive record table.

    Reads only :func:`columns_needed` of the newest edition of ``dataset`` through
    ``Store.sensitive_records`` (the one store accessor for sensitive tables, meant for this
    module only), then :func:`publish_release`; the ledger goes to the store when
    ``record_ledger`` (the store must then be open for writing).
    """
    names = list(dict.fromkeys(table_names))
    tables = [declared_table(n) for n in names]
    (source_table,) = {t.source_table for t in tables} or {None}
    records = store.sensitive_records(source_table.removeprefix("records_"), columns_needed(names), dataset=dataset)
    return publish_release(names, records, k, suppress_zeros=suppress_zeros,
                           store=store if record_ledger else None)


def privacy_ledger(store) -> pd.DataFrame:
    """The privacy ledger of a store: every release, what it suppressed and with which k."""
    return store.read_rows(LEDGER_TABLE, order_by=["released_at", "table_name", "row", "column"])
