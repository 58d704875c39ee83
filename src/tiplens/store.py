"""The store: one embedded DuckDB file. This is the only module that talks to DuckDB.

Tables (see ``docs/store.md`` for every column):

``files``
    provenance, one row per ingested file; identity is (source, dataset, edition).
``observations``
    one row per published value, long format, with censoring bounds.
``quarantine``
    every source row that was not loaded, with its row number, column and reason.
``countries``
    ISO3 → names, UN M49 region/subregion, and the sources' own regions.
``kb_*``, ``review_*``, ``coding_*``, ``privacy_*``
    workflow tables of the knowledge base, the systematic review and document coding, written
    through :meth:`Store.write_rows` with columns their owning modules declare.
``records_<name>``
    case-level and list tables (CTDC victims, prosecution cases, MSE capture histories).
    Tables whose name is in :data:`SENSITIVE_TABLES` hold case-level data about people and
    must only reach an output through the disclosure-control step.

An ingest is one transaction: :meth:`Store.replace_files` deletes the previous rows of the same
(source, dataset, edition) and of the embedded default for that source, inserts the new rows
and the provenance row, and commits; any failure rolls everything back. A file too large to hold
in memory comes as a :class:`StreamedFile`: its chunks are staged in a scratch DuckDB file beside
the store and combined partition by partition before the transaction, which then copies the
finished rows in (see ``docs/store.md``).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb
import pandas as pd

from .errors import StoreBusyError, TiplensError

#: Columns of ``observations``, in order, with their DuckDB types.
OBSERVATION_COLUMNS: dict[str, str] = {
    "file_id": "INTEGER",
    "source": "VARCHAR",
    "dataset": "VARCHAR",
    "edition": "VARCHAR",
    "iso3": "VARCHAR",
    "country": "VARCHAR",
    "source_region": "VARCHAR",
    "source_subregion": "VARCHAR",
    "year": "INTEGER",
    "date": "VARCHAR",
    "indicator": "VARCHAR",
    "measure": "VARCHAR",
    "dimension": "VARCHAR",
    "category": "VARCHAR",
    "category_iso3": "VARCHAR",
    "category_class": "VARCHAR",
    "sex": "VARCHAR",
    "age": "VARCHAR",
    "value": "DOUBLE",
    "lower": "DOUBLE",
    "upper": "DOUBLE",
    "censored": "BOOLEAN",
    "unit": "VARCHAR",
    "status": "VARCHAR",
    "flag": "VARCHAR",
    "source_row": "INTEGER",
    "source_rows": "INTEGER",
}

QUARANTINE_COLUMNS: dict[str, str] = {
    "file_id": "INTEGER",
    "source": "VARCHAR",
    "dataset": "VARCHAR",
    "edition": "VARCHAR",
    "row_number": "INTEGER",
    "column_name": "VARCHAR",
    "reason": "VARCHAR",
    "raw": "VARCHAR",
}

FILE_COLUMNS: dict[str, str] = {
    "file_id": "INTEGER",
    "path": "VARCHAR",
    "source": "VARCHAR",
    "dataset": "VARCHAR",
    "edition": "VARCHAR",
    "edition_origin": "VARCHAR",
    "sha256": "VARCHAR",
    "rows_read": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "loaded_at": "TIMESTAMP",
    "tiplens_version": "VARCHAR",
    "origin": "VARCHAR",
}

COUNTRY_COLUMNS: dict[str, str] = {
    "iso3": "VARCHAR",
    "name": "VARCHAR",
    "name_official": "VARCHAR",
    "m49_code": "INTEGER",
    "m49_region": "VARCHAR",
    "m49_subregion": "VARCHAR",
    "m49_intermediate": "VARCHAR",
    "unodc_region": "VARCHAR",
    "unodc_subregion": "VARCHAR",
    "walkfree_region": "VARCHAR",
    "un_member_since": "INTEGER",
    "note": "VARCHAR",
}

#: Record tables that hold case-level data about people (victims, defendants).
SENSITIVE_TABLES = frozenset({"records_ctdc_victims", "records_prosecution_cases",
                              "records_prosecution_defendants", "records_case_law"})

BUSY_TIMEOUT_SECONDS = 10.0

#: Prefixes of the tables that the knowledge base, the review and the coding workflow write
#: through :meth:`Store.write_rows` (their columns are declared by the modules that own them).
WORKFLOW_PREFIXES = ("kb_", "review_", "coding_", "privacy_")


#: Staged rows per partition handed to :attr:`StreamedFile.combine` (about 100 MB of pandas frame).
STREAM_PARTITION_ROWS = 50_000
#: DuckDB settings while a streamed file is written, restored after. The memory limit makes
#: staged rows beyond it spill to disk (the default is 80 % of the RAM); the flush threshold makes
#: DuckDB's allocator hand freed memory back at once rather than keep up to 128 MB per thread.
#: Together they keep a streamed ingest's memory flat (measured in docs/store.md). The progress
#: bar is off: DuckDB prints it on stdout for statements over 2 s, which would break ``--json``.
STREAM_SETTINGS = {"memory_limit": "128MB", "allocator_flush_threshold": "16MB", "enable_progress_bar": "false"}


@dataclass
class StreamedFile:
    """One file of :meth:`Store.replace_files` that arrives in chunks rather than as whole frames.

    ``info``
        the provenance row without the row counts, which the store counts itself.
    ``chunks``
        yields (rows to stage, quarantine rows) per chunk; staged rows have the observation
        columns (without the file stamp) plus ``staging_columns``, one row per loaded source row.
        It may raise: nothing of the ingest is then kept.
    ``partition_by``, ``combine``
        once every chunk is staged, ``combine`` gets the staged rows partition by partition, in
        file order (``source_row``); rows with equal ``partition_by`` share a partition. It returns
        the partition's observations.
    ``rows_read``
        called after the chunks: data rows the reader read. The store checks rows read = loaded
        (sum of ``source_rows``) + quarantined before it writes the provenance row.
    ``check``
        called with (rows loaded, rows quarantined, the quarantine's reasons with their row
        counts) before the provenance row is written; it may raise to refuse the file.
    """

    info: dict
    chunks: Iterable[tuple[pd.DataFrame, pd.DataFrame]]
    staging_columns: dict[str, str]
    partition_by: str
    combine: Callable[[pd.DataFrame], pd.DataFrame]
    rows_read: Callable[[], int]
    check: Callable[[int, int, pd.Series], None] | None = None


def _insert_into(con, table: str, frame: pd.DataFrame, columns: dict[str, str] | None = None) -> None:
    """Append a frame's rows to a table of the connection ``con``."""
    if frame is None or len(frame) == 0:
        return
    if columns is not None:  # exactly these columns, in order; missing ones as nulls
        frame = frame.reindex(columns=list(columns))
    con.register("_incoming", frame)
    try:
        names = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM _incoming').fetchall()
    finally:
        con.unregister("_incoming")


def _sql_text(value) -> str:
    """A value inside a single-quoted SQL literal."""
    return str(value).replace("'", "''")


def default_path() -> Path:
    """``$TIPLENS_DB``, else ``tiplens.duckdb`` in the user data directory."""
    env = os.environ.get("TIPLENS_DB")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "tiplens" / "tiplens.duckdb"


def _ddl(table: str, columns: dict[str, str]) -> str:
    cols = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})'


class Store:
    """An open tiplens store.

    Use :func:`open_store` rather than constructing this directly: it creates the schema
    and fills a fresh store from the embedded default dataset.
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False,
                 timeout: float = BUSY_TIMEOUT_SECONDS):
        self.path = Path(path)
        self.read_only = read_only
        self._in_transaction = False
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:  # another process holds the lock
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    if "lock" in str(exc).lower():
                        raise StoreBusyError(
                            f"{self.path}: store is busy (another tiplens process is writing to it). "
                            f"Wait for it to finish, or pass a longer --timeout.") from None
                    raise TiplensError(f"{self.path}: cannot open the store ({exc}). "
                                       "Check the path, or remove the file to start afresh.") from None
                time.sleep(0.2)
            except duckdb.Error as exc:
                raise TiplensError(f"{self.path}: not a tiplens store or damaged ({exc}). "
                                   "Pass another --db, or move the file away to start afresh.") from None

    def _run(self, sql: str, params: list | None = None) -> None:
        """Execute a statement whose result is not needed (DuckDB 2 wants every result drained)."""
        self.con.execute(sql, params or []).fetchall()

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def is_initialised(self) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'files'").fetchall()[0]
        return bool(row[0])

    def create_schema(self) -> None:
        self._run(_ddl("files", FILE_COLUMNS))
        self._run(_ddl("observations", OBSERVATION_COLUMNS))
        self._run(_ddl("quarantine", QUARANTINE_COLUMNS))
        self._run(_ddl("countries", COUNTRY_COLUMNS))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all."""
        self._run("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._run("ROLLBACK")
            raise
        else:
            self._run("COMMIT")
        finally:
            self._in_transaction = False

    # -- writing ---------------------------------------------------------------------------
    def _next_file_id(self) -> int:
        return int(self.con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM files").fetchall()[0][0])

    def _record_tables(self) -> list[str]:
        rows = self.con.execute("SELECT table_name FROM information_schema.tables "
                                "WHERE table_name LIKE 'records_%' ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def _delete_files(self, where: str, params: list) -> list[int]:
        ids = [r[0] for r in self.con.execute(f"SELECT file_id FROM files WHERE {where}", params).fetchall()]
        if ids:
            id_list = ", ".join(str(int(i)) for i in ids)
            for table in ["observations", "quarantine", *self._record_tables()]:
                self._run(f'DELETE FROM "{table}" WHERE file_id IN ({id_list})')
            self._run(f"DELETE FROM files WHERE file_id IN ({id_list})")
        return ids

    def _insert(self, table: str, frame: pd.DataFrame, columns: dict[str, str] | None = None) -> None:
        _insert_into(self.con, table, frame, columns)

    def _ensure_record_table(self, table: str, frame: pd.DataFrame) -> None:
        self.con.register("_shape", frame.head(0))
        try:
            self._run(f'CREATE TABLE IF NOT EXISTS "{table}" AS SELECT * FROM _shape')
        finally:
            self.con.unregister("_shape")

    def replace_files(self, batch: list[tuple[dict, pd.DataFrame, pd.DataFrame, dict] | StreamedFile],
                      countries: Callable[[], pd.DataFrame] | None = None) -> list[dict]:
        """Write several files' rows in one transaction.

        ``batch`` holds (provenance info, observations, quarantine, record tables) per file, or a
        :class:`StreamedFile` for a file read in chunks. Each file first deletes earlier rows of
        the same (source, dataset, edition) and, when it is a real file, the embedded default's
        rows of that source. Returns, per file, its new ``file_id``, the provenance rows it
        replaced and its ``rows_read``, ``rows_loaded`` and ``rows_quarantined``. ``countries``,
        if given, is called inside the same transaction (it sees the new rows) to rebuild the
        ``countries`` table. Any failure rolls back everything.
        """
        results = []
        scratches = {i: Path(f"{self.path}.staging{i}.duckdb") for i, item in enumerate(batch)
                     if isinstance(item, StreamedFile)}
        try:
            for i, scratch in scratches.items():  # read before the store is touched, as whole files are
                self._stage(batch[i], scratch)
            with self._settings(STREAM_SETTINGS) if scratches else nullcontext(), self.transaction():
                for i, item in enumerate(batch):
                    if i in scratches:
                        results.append(self._replace_file_streamed(item, scratches[i]))
                    else:
                        results.append(self._replace_file(*item))
                if countries is not None:
                    table = countries()
                    self._run("DELETE FROM countries")
                    self._insert("countries", table, COUNTRY_COLUMNS)
        finally:
            if scratches:
                self._run("DETACH DATABASE IF EXISTS _streamed")
            for scratch in scratches.values():
                for leftover in (scratch, Path(f"{scratch}.wal")):
                    leftover.unlink(missing_ok=True)
        return results

    def _clear_for(self, info: dict) -> tuple[pd.DataFrame, dict]:
        """Delete what a new file of ``info``'s identity replaces; (replaced provenance rows, stamp)."""
        where = ("source = ? AND (dataset = ? AND edition = ? OR (origin = 'default' AND ? <> 'default'))")
        params = [info["source"], info["dataset"], info["edition"], info["origin"]]
        replaced = self.con.execute(
            f"SELECT path, source, dataset, edition, origin, sha256 FROM files WHERE {where}", params).df()
        self._delete_files(where, params)
        stamp = {"file_id": self._next_file_id(), "source": info["source"], "dataset": info["dataset"],
                 "edition": info["edition"]}
        return replaced, stamp

    def _replace_file(self, info, observations, quarantine, records) -> dict:
        replaced, stamp = self._clear_for(info)
        file_id = stamp["file_id"]
        self._insert("observations", observations.assign(**stamp), OBSERVATION_COLUMNS)
        self._insert("quarantine", quarantine.assign(**stamp), QUARANTINE_COLUMNS)
        for name, frame in (records or {}).items():
            table = f"records_{name}"
            frame = frame.assign(file_id=file_id)
            self._ensure_record_table(table, frame)
            self._insert(table, frame)
        row = dict(info, file_id=file_id)
        row.setdefault("loaded_at", datetime.now(timezone.utc).replace(tzinfo=None))
        self._insert("files", pd.DataFrame([row]), FILE_COLUMNS)
        return {"file_id": file_id, "replaced": replaced.to_dict("records"),
                **{k: info.get(k) for k in ("rows_read", "rows_loaded", "rows_quarantined")}}

    def _stage(self, item: StreamedFile, scratch: Path) -> None:
        """Read a streamed file into the scratch database: its quarantine and its combined observations.

        The scratch is a DuckDB file of its own, written statement by statement (each commits at
        once and leaves memory): appends held in an open transaction stay in memory until it ends,
        about as much as the data, so the store's own transaction only copies the finished rows.
        """
        stamp = ("file_id", "source", "dataset", "edition")
        observation_columns = {c: t for c, t in OBSERVATION_COLUMNS.items() if c not in stamp}
        staged_columns = {**observation_columns, **item.staging_columns}
        quarantine_columns = {c: t for c, t in QUARANTINE_COLUMNS.items() if c not in stamp}
        scratch.unlink(missing_ok=True)  # left by an ingest that was killed (the store's lock was ours since)
        con = duckdb.connect(str(scratch))
        try:
            for name, value in STREAM_SETTINGS.items():
                con.execute(f"SET {name} = '{value}'").fetchall()
            for table, columns in (("staged", staged_columns), ("quarantine", quarantine_columns),
                                   ("observations", observation_columns)):
                con.execute(_ddl(table, columns)).fetchall()
            for observations, quarantine in item.chunks:
                _insert_into(con, "staged", observations, staged_columns)
                _insert_into(con, "quarantine", quarantine, quarantine_columns)
            staged = int(con.execute("SELECT count(*) FROM staged").fetchall()[0][0])
            parts = -(-staged // STREAM_PARTITION_ROWS)
            for part in range(parts):
                rows = con.execute(f'SELECT * FROM staged WHERE hash("{item.partition_by}") % ? = ? '
                                   "ORDER BY source_row", [parts, part]).df()
                if len(rows):
                    _insert_into(con, "observations", item.combine(rows), observation_columns)
            con.execute("DROP TABLE staged").fetchall()
        finally:
            con.close()

    def _replace_file_streamed(self, item: StreamedFile, scratch: Path) -> dict:
        replaced, stamp = self._clear_for(item.info)
        file_id = stamp["file_id"]
        self._run(f"ATTACH '{_sql_text(scratch)}' AS _streamed (READ_ONLY)")
        params = [file_id, stamp["source"], stamp["dataset"], stamp["edition"]]
        for table, columns in (("observations", OBSERVATION_COLUMNS), ("quarantine", QUARANTINE_COLUMNS)):
            names = ", ".join(f'"{c}"' for c in columns)
            rest = ", ".join(f'"{c}"' for c in list(columns)[4:])
            self._run(f'INSERT INTO "{table}" ({names}) SELECT ?, ?, ?, ?, {rest} FROM _streamed."{table}"', params)
        self._run("DETACH _streamed")
        loaded, quarantined = (int(v) for v in self.con.execute(
            "SELECT (SELECT coalesce(sum(source_rows), 0) FROM observations WHERE file_id = ?), "
            "(SELECT count(*) FROM quarantine WHERE file_id = ?)", [file_id, file_id]).fetchall()[0])
        rows_read = int(item.rows_read())
        if rows_read != loaded + quarantined:
            raise TiplensError(f"{item.info['path']}: internal accounting error in the streamed ingest of source "
                               f"{item.info['source']}: rows read {rows_read} != loaded {loaded} + quarantined "
                               f"{quarantined}. Please report this.")
        if item.check is not None:
            item.check(loaded, quarantined, self._quarantine_reasons(file_id))
        counts = {"rows_read": rows_read, "rows_loaded": loaded, "rows_quarantined": quarantined}
        row = dict(item.info, file_id=file_id, **counts)
        row.setdefault("loaded_at", datetime.now(timezone.utc).replace(tzinfo=None))
        self._insert("files", pd.DataFrame([row]), FILE_COLUMNS)
        return {"file_id": file_id, "replaced": replaced.to_dict("records"), **counts}

    def _quarantine_reasons(self, file_id: int) -> pd.Series:
        """Each reason of a file's quarantine (rows with several count once for each) and its rows, most first."""
        rows = self.con.execute(
            "SELECT reason, count(*) AS n FROM (SELECT unnest(string_split(reason, '; ')) AS reason "
            "FROM quarantine WHERE file_id = ?) GROUP BY reason ORDER BY n DESC, reason", [file_id]).fetchall()
        return pd.Series({reason: n for reason, n in rows}, dtype="int64")

    @contextmanager
    def _settings(self, settings: dict[str, str]) -> Iterator[None]:
        """DuckDB settings changed inside (around a transaction, never within one), restored after."""
        before = {name: self.con.execute("SELECT current_setting(?)", [name]).fetchall()[0][0] for name in settings}
        try:
            for name, value in settings.items():
                self._run(f"SET {name} = '{value}'")
            yield
        finally:
            for name, value in before.items():
                self._run(f"SET {name} = '{value}'")

    def source_regions(self) -> pd.DataFrame:
        """Each country's region as its newest source edition states it, per source."""
        return self.con.execute("""
            SELECT DISTINCT ON (o.source, o.iso3) o.source, o.iso3, o.source_region, o.source_subregion
            FROM observations o JOIN files f USING (file_id)
            WHERE o.iso3 IS NOT NULL AND o.source_region IS NOT NULL
            ORDER BY o.source, o.iso3, f.edition DESC""").df()

    def load_tables(self, tables: dict[str, pd.DataFrame]) -> None:
        """Bulk-append whole tables (used to fill a fresh store from the embedded default)."""
        with self.transaction():
            for table, frame in tables.items():
                if table.startswith("records_"):
                    self._ensure_record_table(table, frame)
                    self._insert(table, frame)
                else:
                    self._insert(table, frame, _COLUMNS_BY_TABLE[table])

    # -- workflow tables (knowledge base, review, codings) ----------------------------------
    def _check_workflow_table(self, table: str) -> None:
        if not table.startswith(WORKFLOW_PREFIXES) or not table.replace("_", "").isalnum():
            raise TiplensError(f"{table}: not a workflow table; names start with one of "
                               f"{', '.join(WORKFLOW_PREFIXES)} and hold letters, digits and '_'.")

    def write_rows(self, table: str, frame: pd.DataFrame, columns: dict[str, str], *,
                   replace_where: dict[str, object] | None = None, replace_all: bool = False) -> int:
        """Append ``frame`` to a workflow table (created with ``columns`` if absent).

        ``replace_where`` first deletes the rows whose columns equal the given values (for
        example one codebook's codes before writing its new version); ``replace_all`` empties
        the table first. Delete and insert happen in one transaction (or in the caller's, when
        called inside :meth:`transaction`). Returns the number of rows written.
        """
        self._check_workflow_table(table)
        unknown = set(frame.columns) - set(columns)
        if unknown:
            raise TiplensError(f"{table}: columns {sorted(unknown)} are not declared; declared: {list(columns)}")

        def work():
            self._run(_ddl(table, columns))
            if replace_all:
                self._run(f'DELETE FROM "{table}"')
            elif replace_where:
                where = " AND ".join(f'"{k}" = ?' for k in replace_where)
                self._run(f'DELETE FROM "{table}" WHERE {where}', list(replace_where.values()))
            self._insert(table, frame, columns)

        if self._in_transaction:
            work()
        else:
            with self.transaction():
                work()
        return len(frame)

    def read_rows(self, table: str, where: dict[str, object] | None = None,
                  order_by: list[str] | None = None) -> pd.DataFrame:
        """Rows of a workflow table (an empty frame if the table does not exist yet)."""
        self._check_workflow_table(table)
        exists = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                  [table]).fetchall()[0][0]
        if not exists:
            return pd.DataFrame()
        sql = f'SELECT * FROM "{table}"'
        params: list = []
        if where:
            sql += " WHERE " + " AND ".join(f'"{k}" = ?' for k in where)
            params = list(where.values())
        if order_by:
            sql += " ORDER BY " + ", ".join(f'"{c}"' for c in order_by)
        return self.con.execute(sql, params).df()

    # -- reading ---------------------------------------------------------------------------
    def files(self, source: str | None = None) -> pd.DataFrame:
        sql = "SELECT * FROM files" + (" WHERE source = ?" if source else "") + \
              " ORDER BY source, dataset, edition, file_id"
        return self.con.execute(sql, [source] if source else []).df()

    def quarantine(self, source: str | None = None) -> pd.DataFrame:
        sql = ("SELECT q.source, q.dataset, q.edition, f.path, q.row_number, q.column_name, q.reason, q.raw "
               "FROM quarantine q JOIN files f USING (file_id)")
        if source:
            sql += " WHERE q.source = ?"
        sql += " ORDER BY q.source, q.dataset, q.edition, q.row_number"
        return self.con.execute(sql, [source] if source else []).df()

    def countries(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM countries ORDER BY iso3").df()

    def editions(self, source: str | None = None) -> pd.DataFrame:
        """Editions present per source and dataset, newest first."""
        sql = ("SELECT source, dataset, edition, origin, file_id FROM files"
               + (" WHERE source = ?" if source else "") + " ORDER BY source, dataset, edition DESC")
        return self.con.execute(sql, [source] if source else []).df()

    def observations(self, *, source: str | None = None, edition: str | None = None,
                     indicators: list[str] | None = None, measures: list[str] | None = None,
                     dimension: str | None = None, newest: bool = True,
                     year_from: int | None = None, year_to: int | None = None,
                     include_conflicts: bool = False) -> pd.DataFrame:
        """Observations, by default only from the newest edition of each source and dataset.

        ``edition`` pins one edition (and implies ``newest=False``). Conflicting rows
        (``status = 'conflict'``) are left out unless ``include_conflicts``.
        """
        where, params = [], []
        if source:
            where.append("o.source = ?")
            params.append(source)
        if edition:
            where.append("o.edition = ?")
            params.append(edition)
            newest = False
        if indicators:
            where.append(f"o.indicator IN ({', '.join('?' for _ in indicators)})")
            params.extend(indicators)
        if measures:
            where.append(f"o.measure IN ({', '.join('?' for _ in measures)})")
            params.extend(measures)
        if dimension:
            where.append("o.dimension = ?")
            params.append(dimension)
        if year_from is not None:
            where.append("o.year >= ?")
            params.append(int(year_from))
        if year_to is not None:
            where.append("o.year <= ?")
            params.append(int(year_to))
        if not include_conflicts:
            where.append("coalesce(o.status, 'ok') <> 'conflict'")
        if newest:
            where.append("o.file_id IN (SELECT file_id FROM (SELECT file_id, row_number() OVER "
                         "(PARTITION BY source, dataset ORDER BY edition DESC, file_id DESC) AS rn "
                         "FROM files) WHERE rn = 1)")
        sql = "SELECT o.* FROM observations o"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.con.execute(sql, params).df()

    def compare_editions(self, source: str, old: str, new: str) -> pd.DataFrame:
        """Values of one source in two editions side by side, matched on their natural key.

        Columns: iso3, year, indicator, dimension, category, sex, age, then ``value_old``,
        ``lower_old``, ``upper_old``, ``value_new``, ``lower_new``, ``upper_new`` and
        ``change`` (``same``, ``revised``, ``added``, ``dropped``).
        """
        key = ["iso3", "country", "year", "indicator", "dimension", "category", "sex", "age"]
        on = " AND ".join(f"a.{k} IS NOT DISTINCT FROM b.{k}" for k in key)
        sel = ", ".join(f"coalesce(a.{k}, b.{k}) AS {k}" for k in key)
        sql = f"""
            WITH a AS (SELECT * FROM observations WHERE source = ? AND edition = ?
                       AND coalesce(status, 'ok') <> 'conflict'),
                 b AS (SELECT * FROM observations WHERE source = ? AND edition = ?
                       AND coalesce(status, 'ok') <> 'conflict')
            SELECT {sel},
                   a.value AS value_old, a.lower AS lower_old, a.upper AS upper_old,
                   b.value AS value_new, b.lower AS lower_new, b.upper AS upper_new,
                   CASE WHEN a.indicator IS NULL THEN 'added'
                        WHEN b.indicator IS NULL THEN 'dropped'
                        WHEN a.lower IS NOT DISTINCT FROM b.lower AND a.upper IS NOT DISTINCT FROM b.upper
                        THEN 'same' ELSE 'revised' END AS change
            FROM a FULL OUTER JOIN b ON {on}
            ORDER BY iso3, year, indicator, dimension, category, sex, age"""
        return self.con.execute(sql, [source, old, source, new]).df()

    def records(self, name: str) -> pd.DataFrame:
        """A non-sensitive record table (e.g. ``mse_lists``). Sensitive tables are refused here."""
        table = f"records_{name}"
        if table in SENSITIVE_TABLES:
            raise TiplensError(f"{table} holds case-level data about people and is only available "
                               "through declared, disclosure-controlled tables.")
        if table not in self._record_tables():
            return pd.DataFrame()
        return self.con.execute(f'SELECT * FROM "{table}"').df()

    def sensitive_records(self, name: str, columns: list[str], *, dataset: str | None = None) -> pd.DataFrame:
        """Columns of a sensitive record table, newest edition of one dataset, for
        :mod:`tiplens.disclosure` only (every output of these rows must pass through it)."""
        table = f"records_{name}"
        bad = [c for c in columns if not c.replace("_", "").isalnum()]
        if bad:
            raise TiplensError(f"{table}: column names {bad} are not plain identifiers")
        if table not in SENSITIVE_TABLES:
            raise TiplensError(f"{table} is not a sensitive record table; use Store.records")
        if table not in self._record_tables():
            return pd.DataFrame(columns=list(columns))
        present = {r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        files = self.con.execute(
            f'SELECT DISTINCT f.dataset FROM files f JOIN "{table}" r USING (file_id)').fetchall()
        datasets = sorted(r[0] for r in files)
        if dataset is None:
            if len(datasets) > 1:
                raise TiplensError(f"{table} holds several datasets ({', '.join(datasets)}); choose one")
            dataset = datasets[0] if datasets else None
        elif dataset not in datasets:
            raise TiplensError(f"{table} has no dataset {dataset!r}; it has: {', '.join(datasets) or 'none'}")
        select = ", ".join(f'r."{c}"' if c in present else f'NULL AS "{c}"' for c in columns)
        return self.con.execute(
            f'SELECT {select} FROM "{table}" r WHERE r.file_id = (SELECT file_id FROM files WHERE dataset = ? '
            f"ORDER BY edition DESC, file_id DESC LIMIT 1)", [dataset]).df()

    def table_counts(self) -> dict[str, int]:
        names = ["files", "observations", "quarantine", "countries", *self._record_tables()]
        return {n: int(self.con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0]) for n in names}

    def dump_tables(self) -> dict[str, pd.DataFrame]:
        """All rows of every table but ``countries`` (which is rebuilt from them)."""
        return {table: self.con.execute(f'SELECT * FROM "{table}"').df()
                for table in ["files", "observations", "quarantine", *self._record_tables()]}


_COLUMNS_BY_TABLE = {"files": FILE_COLUMNS, "observations": OBSERVATION_COLUMNS,
                     "quarantine": QUARANTINE_COLUMNS, "countries": COUNTRY_COLUMNS}


def open_store(path: str | os.PathLike | None = None, *, read_only: bool = False,
               timeout: float = BUSY_TIMEOUT_SECONDS, with_default: bool = True) -> Store:
    """Open (creating if needed) the store at ``path`` (default: :func:`default_path`).

    A new store is filled from the embedded default dataset unless ``with_default=False``.
    """
    path = Path(path) if path is not None else default_path()
    fresh = not path.exists()
    if fresh:
        if read_only:
            # a reader of a store that does not exist yet gets a filled one
            open_store(path, timeout=timeout, with_default=with_default).close()
            fresh = False
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path, read_only=read_only, timeout=timeout)
    if not read_only and not store.is_initialised():
        try:
            store.create_schema()
            if with_default:
                from ._default import load_default
                load_default(store)
        except BaseException:
            store.close()
            if fresh:
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
            raise
    return store
