"""Library twins of ``tiplens victims`` and ``tiplens privacy-ledger``.

Case-level victim records (CTDC-style, table ``records_ctdc_victims``) reach an output only as the
declared tables of :mod:`tiplens.disclosure`, after its disclosure-control step. This module is
where the command line, the report and the dashboard get those tables, so that all of them show
the *same* release:

- every release covers all declared tables together (one linear system, audited as a whole);
  naming tables only chooses which of them are shown;
- a release at a ``k`` above the default, or with zero cells suppressed, is nested in the
  default release of the same records (:func:`tiplens.disclosure.publish_release` with
  ``nested_in``): it publishes a subset of what the default release publishes, so putting two
  outputs side by side recovers nothing;
- ``k`` below :data:`~tiplens.disclosure.DEFAULT_K` is refused;
- every release is appended to the store's privacy ledger before anything is shown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .disclosure import (
    DECLARED_TABLES,
    DEFAULT_K,
    LEDGER_COLUMNS,
    LEDGER_TABLE,
    RULE_PRIMARY,
    RULE_PRIMARY_ZERO,
    VARIABLES,
    Published,
    columns_needed,
    declared_table,
    publish_release,
)
from .errors import TiplensError
from .store import BUSY_TIMEOUT_SECONDS

#: The record table the declared tables read, without its ``records_`` prefix.
RECORD_TABLE = "ctdc_victims"
#: Shown in place of a suppressed count in printed tables, the report, the dashboard and wide exports.
MARKER = "[c]"
LEGEND = (f"{MARKER} = suppressed (confidential): a count from 1 to k-1, or a value hidden with it so that "
          "it cannot be recovered from the totals.")
NO_RECORDS = ("No case-level victim records in this store. They are not shipped with tiplens: download the "
              "CTDC Global K-anonymised dataset (or the Global Dataset) from ctdatacollaborative.org, accepting "
              "its terms of use, then run `tiplens ingest FILE --edition YYYY-MM-DD` (the release date).")
SOURCE = "Counter Trafficking Data Collaborative (CTDC) case records, published by tiplens after disclosure control"
#: Sources whose rows are records about one victim. Their quarantined rows keep row number, column
#: and reason, but an output never shows their raw cells (one person's record).
CASE_LEVEL_SOURCES = frozenset({"ctdc"})
WITHHELD = "(withheld: a case-level record about one person)"


def caveat() -> str:
    """What the counts are and are not (CTDC's coverage note)."""
    from .sources.ctdc import COVERAGE_NOTE
    return ("Counts of victim records registered by the agencies that contribute to CTDC, not of victims in "
            "a population: " + COVERAGE_NOTE)


def check_k(k) -> int:
    """``k`` as an int, refusing anything below the default (it would publish counts under 10)."""
    try:
        value = int(k)
    except (TypeError, ValueError):
        raise TiplensError(f"k must be a whole number of at least {DEFAULT_K} (got {k!r})") from None
    if value != k and not isinstance(k, str):
        raise TiplensError(f"k must be a whole number of at least {DEFAULT_K} (got {k!r})")
    if value < DEFAULT_K:
        raise TiplensError(f"k={value} is below {DEFAULT_K}: tiplens never publishes counts of fewer than "
                           f"{DEFAULT_K} victim records; choose k={DEFAULT_K} or higher")
    return value


def check_tables(tables) -> list[str]:
    """The declared tables to show (all of them when none is named)."""
    names = list(dict.fromkeys(tables or DECLARED_TABLES))
    for name in names:
        declared_table(name)  # raises with the valid names
    return names


@dataclass
class VictimRecords:
    """The records the declared tables read (only their columns), and where they came from.

    ``records`` never leaves this object except through :meth:`release`. ``message`` says why
    there is nothing to publish (no records loaded), else None.
    """

    records: pd.DataFrame = field(repr=False)  # never printed, not even in a traceback's repr
    dataset: str | None = None
    edition: str | None = None
    file: str | None = None
    message: str | None = None

    def release(self, tables=None, *, k: int = DEFAULT_K, suppress_zeros: bool = False) -> VictimRelease:
        """Release every declared table (nested in the default release when ``k`` or zeros differ)
        and keep the named ones. Nothing is written anywhere: see :func:`record_ledger`."""
        names = check_tables(tables)
        k = check_k(k)
        if self.message is not None:
            return VictimRelease(tables={}, k=k, suppress_zeros=suppress_zeros, message=self.message)
        every = list(DECLARED_TABLES)
        base = publish_release(every, self.records, DEFAULT_K)
        chosen = base
        if k != DEFAULT_K or suppress_zeros:
            chosen = publish_release(every, self.records, k, suppress_zeros=suppress_zeros, nested_in=base)
        shown = {name: chosen[name] for name in names}
        return VictimRelease(tables=shown, k=k, suppress_zeros=suppress_zeros, dataset=self.dataset,
                             edition=self.edition, file=self.file, countries=_exploitation_countries(chosen))


@dataclass
class VictimRelease:
    """Declared tables after disclosure control, with their provenance.

    ``tables`` maps names to :class:`tiplens.disclosure.Published`; it is empty when ``message``
    says there were no records. ``recorded`` turns True once the ledger rows are in the store.
    """

    tables: dict[str, Published]
    k: int
    suppress_zeros: bool
    dataset: str | None = None
    edition: str | None = None
    file: str | None = None
    message: str | None = None
    recorded: bool = False
    countries: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def release_id(self) -> str | None:
        return next(iter(self.tables.values())).release_id if self.tables else None

    def ledger(self) -> pd.DataFrame:
        """The ledger rows of the tables shown (what was suppressed, where and why; never a value)."""
        if not self.tables:
            return pd.DataFrame(columns=list(LEDGER_COLUMNS))
        return pd.concat([p.ledger for p in self.tables.values()], ignore_index=True)

    def countries_text(self) -> str:
        """How many countries of exploitation the records name (the row labels of a published table)."""
        if self.countries is None:
            return "not applicable"
        return f"{self.countries} countries of exploitation named in the records"

    def provenance(self) -> str:
        if not self.tables:
            return ""
        return f"CTDC dataset {self.dataset}, edition {self.edition} (file {self.file})"


def _exploitation_countries(release: dict[str, Published]) -> int | None:
    """Countries of exploitation in the release: the row labels of the table by country of
    exploitation, which every release publishes (so this number discloses nothing new)."""
    from .disclosure import NOT_STATED, TOTAL
    table = release.get("victims_by_exploitation_country_year")
    if table is None:
        return None
    return len({r for r in table.table["row"] if r not in (NOT_STATED, TOTAL)})


def wide_table(published: Published) -> pd.DataFrame:
    """One declared table as a reader sees it: the row labels, one column per category plus Total,
    counts as whole numbers and :data:`MARKER` where suppressed (text columns)."""
    wide = published.wide()
    row_label = wide.index.name
    shown = wide.astype(object).where(wide.notna(), MARKER)
    shown = shown.map(lambda v: v if v == MARKER else str(int(v)))
    shown.columns = [str(c) for c in shown.columns]
    shown = shown.reset_index(names=row_label)
    shown[row_label] = shown[row_label].astype(str)
    return shown


def suppression_counts(published: Published) -> dict[str, int]:
    """Values published and suppressed, by rule group (primary below k, zero cells, secondary)."""
    rules = published.table.loc[published.table["suppressed"], "rule"]
    primary = int(rules.eq(RULE_PRIMARY).sum())
    zeros = int(rules.eq(RULE_PRIMARY_ZERO).sum())
    return {"values": len(published.table), "published": int((~published.table["suppressed"]).sum()),
            "suppressed": len(rules), "primary": primary, "primary_zero": zeros,
            "secondary": len(rules) - primary - zeros}


def long_table(release: VictimRelease) -> pd.DataFrame:
    """All shown tables in one long frame (for files): one row per published value, the count
    missing where suppressed, with the release, k, source and edition on every row."""
    frames = []
    for name, pub in release.tables.items():
        frames.append(pub.table.assign(
            table=name, row_variable=pub.row_variable, column_variable=pub.column_variable, k=release.k,
            suppress_zeros=release.suppress_zeros, release_id=pub.release_id, source="ctdc",
            dataset=release.dataset, edition=release.edition))
    columns = ["table", "row_variable", "row", "column_variable", "column", "cell", "count", "suppressed", "rule",
               "k", "suppress_zeros", "release_id", "source", "dataset", "edition"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def withhold_case_level_raw(quarantine: pd.DataFrame) -> pd.DataFrame:
    """The quarantine table with the raw cells of case-level rows (:data:`CASE_LEVEL_SOURCES`)
    replaced by :data:`WITHHELD`."""
    if quarantine.empty or "raw" not in quarantine.columns:
        return quarantine
    case_level = quarantine["source"].isin(CASE_LEVEL_SOURCES)
    if not case_level.any():
        return quarantine
    out = quarantine.copy()
    out["raw"] = out["raw"].astype(object).where(~case_level, WITHHELD)
    return out


# -- reading and recording (the store) ------------------------------------------------------------
def read_victim_records(store, dataset: str | None = None) -> VictimRecords:
    """The columns of ``records_ctdc_victims`` that the declared tables read, newest edition of one
    dataset, through ``Store.sensitive_records`` (the one reader of sensitive tables)."""
    files = store.files(source="ctdc")
    datasets = sorted(files["dataset"].dropna().astype(str).unique())
    if dataset is None and len(datasets) > 1:
        raise TiplensError(f"the store holds CTDC victim records of several datasets ({', '.join(datasets)}): "
                           "choose one with --dataset (dataset= in Python)")
    records = store.sensitive_records(RECORD_TABLE, columns_needed(DECLARED_TABLES), dataset=dataset)
    if records.empty:
        return VictimRecords(records=records, message=NO_RECORDS)
    if dataset is None and len(datasets) == 1:
        dataset = datasets[0]
    files = files[files["dataset"].eq(dataset)].sort_values(["edition", "file_id"], ascending=False)
    newest = files.iloc[0] if len(files) else None
    return VictimRecords(records=records, dataset=dataset,
                         edition=None if newest is None else str(newest["edition"]),
                         file=None if newest is None else Path(str(newest["path"])).name)


def record_ledger(store, release: VictimRelease) -> int:
    """Append a release's ledger rows to the store (open for writing); returns the rows written."""
    if not release.tables:
        return 0
    if getattr(store, "read_only", False):
        raise TiplensError(f"{store.path}: the store is open read-only, so this release cannot be recorded in "
                           "the privacy ledger (and is not shown)")
    written = store.write_rows(LEDGER_TABLE, release.ledger(), LEDGER_COLUMNS)
    release.recorded = True
    return written


def record_ledger_at(db, release: VictimRelease, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> int:
    """:func:`record_ledger` for a caller that read the records from a read-only copy of the store
    (the report, the dashboard): opens ``db`` for writing just long enough to append."""
    from .api import using_store
    with using_store(db, timeout=timeout) as store:
        return record_ledger(store, release)


# -- the twins ------------------------------------------------------------------------------------
def victims(db=None, tables: list[str] | None = None, *, k: int = DEFAULT_K, suppress_zeros: bool = False,
            dataset: str | None = None, out: str | os.PathLike | None = None,
            timeout: float = BUSY_TIMEOUT_SECONDS) -> dict:
    """Publish the declared tables of case-level victim records through disclosure control.

    Parameters
    ----------
    db : path, Store or None
        The store (opened for writing: every release is recorded in its privacy ledger).
    tables : list of str, optional
        Declared tables to show (default: all of :data:`tiplens.disclosure.DECLARED_TABLES`). All of
        them are released together either way.
    k : int, default 10
        Threshold; counts from 1 to k-1 are suppressed with complements. Below 10 is refused.
    suppress_zeros : bool
        Treat zero cells as disclosive too.
    dataset : str, optional
        ``ctdc_kanon_2021`` or ``ctdc_2017`` when the store holds both.
    out : path, optional
        Also write every shown table in long form (``.csv``, ``.xlsx`` or ``.parquet``; text cells
        that a spreadsheet would run as formulas are marked as text).

    Returns
    -------
    dict
        ``status`` ("published" or "no_records"), ``message`` (why nothing is published, else
        None), ``k``, ``suppress_zeros``, ``marker``, ``legend``, ``release_id``, ``source``,
        ``dataset``, ``edition``, ``file``, ``caveat``, ``ledger_rows`` (rows appended to the
        privacy ledger), ``out`` and ``tables``: one dict per table with ``name``, ``title``,
        ``row_variable``, ``row_label``, ``column_variable``, ``column_label``, ``values``,
        ``published``, ``suppressed``, ``primary``, ``primary_zero``, ``secondary`` and ``cells``
        (a DataFrame: ``row``, ``column``, ``cell``, ``count`` (missing where suppressed),
        ``suppressed``, ``rule``).
    """
    from .api import using_store, write_table
    names = check_tables(tables)
    k = check_k(k)
    if out is not None and Path(out).suffix.lower() not in (".csv", ".xlsx", ".parquet"):
        raise TiplensError(f"{out}: write the tables as .csv, .xlsx or .parquet")
    with using_store(db, timeout=timeout) as store:
        release = read_victim_records(store, dataset).release(names, k=k, suppress_zeros=suppress_zeros)
        written = record_ledger(store, release)
    if out is not None and release.tables:
        write_table(long_table(release), out)
    return payload(release, ledger_rows=written, out=str(out) if out is not None and release.tables else None)


def payload(release: VictimRelease, **extra) -> dict:
    """A release as the JSON-shaped dict of :func:`victims`."""
    tables = []
    for name, pub in release.tables.items():
        tables.append({"name": name, "title": pub.title, "row_variable": pub.row_variable,
                       "row_label": VARIABLES[pub.row_variable].label, "column_variable": pub.column_variable,
                       "column_label": VARIABLES[pub.column_variable].label, **suppression_counts(pub),
                       "cells": pub.table})
    return {"status": "published" if release.tables else "no_records", "message": release.message,
            "k": release.k, "suppress_zeros": release.suppress_zeros, "marker": MARKER, "legend": LEGEND,
            "release_id": release.release_id, "source": "ctdc" if release.tables else None,
            "dataset": release.dataset, "edition": release.edition, "file": release.file,
            "countries": release.countries, "caveat": caveat(), **extra, "tables": tables}


def ledger_summary(ledger: pd.DataFrame) -> pd.DataFrame:
    """One row per release and table: when, k, values published and suppressed, by rule group."""
    columns = ["release_id", "released_at", "table_name", "k", "suppress_zeros", "values_published",
               "values_suppressed", "primary", "secondary"]
    if ledger.empty:
        return pd.DataFrame(columns=columns)
    rule = ledger["rule"].fillna("")
    counted = ledger.assign(primary=rule.str.startswith("primary"), secondary=rule.str.startswith("secondary"))
    summary = (counted.groupby(["release_id", "released_at", "table_name", "k", "suppress_zeros",
                                "values_published", "values_suppressed"], dropna=False)
               .agg(primary=("primary", "sum"), secondary=("secondary", "sum")).reset_index())
    summary[["primary", "secondary"]] = summary[["primary", "secondary"]].astype("int64")
    return summary.sort_values(["released_at", "table_name"], ignore_index=True)[columns]


def privacy_ledger(db=None, *, timeout: float = BUSY_TIMEOUT_SECONDS) -> dict:
    """The privacy ledger: every release of case-level data, what it suppressed and with which k.

    Returns
    -------
    dict
        ``releases`` (how many), ``summary`` (:func:`ledger_summary`: one row per release and
        table) and ``rows`` (the ledger itself, columns :data:`tiplens.disclosure.LEDGER_COLUMNS`:
        one row per suppressed value, never the value).
    """
    from .api import using_store
    from .disclosure import privacy_ledger as read_ledger
    with using_store(db, read_only=True, timeout=timeout) as store:
        ledger = read_ledger(store)
    if ledger.empty:
        ledger = pd.DataFrame(columns=list(LEDGER_COLUMNS))
    return {"releases": int(ledger["release_id"].nunique()), "summary": ledger_summary(ledger), "rows": ledger}
