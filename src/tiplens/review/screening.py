"""The screening log: reviewers' decisions, appended and never changed.

A decision says that a reviewer included or excluded a record at one stage (title and
abstract, or full text), why, and when. Changing one's mind is a new, later decision; the
newest decision of each reviewer counts. Where reviewers disagree the record is in
conflict until someone records a *final* decision for that stage (a consensus or a third
reviewer), which then stands for the stage. The status of every record, the list of
conflicts, the agreement between reviewers and the PRISMA counts are all derived from
this log; nothing is counted by hand.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from tiplens.errors import InputFileError, TiplensError

#: Columns of ``review_decisions`` (append-only).
DECISION_COLUMNS = {
    "decision_id": "INTEGER",
    "record_id": "VARCHAR",
    "reviewer": "VARCHAR",
    "stage": "VARCHAR",        # title_abstract | full_text
    "decision": "VARCHAR",     # include | exclude
    "reason": "VARCHAR",
    "decided_at": "TIMESTAMP",
    "final": "BOOLEAN",        # a resolving decision (consensus or third reviewer) for the stage
    "synthetic": "BOOLEAN",    # an invented example decision, never a real review
    "origin": "VARCHAR",       # "command line" or "FILE, line N"
    "entered_at": "TIMESTAMP",
}

STAGES = ("title_abstract", "full_text")
DECISIONS = ("include", "exclude")
#: A full-text exclusion with this reason counts as PRISMA "reports not retrieved".
NOT_RETRIEVED = "not retrieved"

_STAGE_ALIASES = {"title_abstract": "title_abstract", "title/abstract": "title_abstract", "ta": "title_abstract",
                  "title and abstract": "title_abstract", "screening": "title_abstract",
                  "full_text": "full_text", "full text": "full_text", "fulltext": "full_text", "ft": "full_text",
                  "eligibility": "full_text"}
_DECISION_ALIASES = {"include": "include", "included": "include", "yes": "include", "1": "include",
                     "exclude": "exclude", "excluded": "exclude", "no": "exclude", "0": "exclude"}
_TRUE = {"true", "yes", "1", "y", "x"}

STATUSES = ("awaiting_title_abstract", "conflict_title_abstract", "excluded_title_abstract",
            "awaiting_full_text", "conflict_full_text", "not_retrieved", "excluded_full_text", "included")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_stage(value: str) -> str | None:
    return _STAGE_ALIASES.get(str(value).strip().lower())


def normalise_decision(value: str) -> str | None:
    return _DECISION_ALIASES.get(str(value).strip().lower())


def _parse_time(value) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def resolve_records(library: pd.DataFrame, references: list[str]) -> tuple[list[str | None], list[str]]:
    """Map record ids or citation keys to the record that screening applies to.

    A reference to a duplicate resolves to the record it repeats (decisions are about the
    study, not about one of its copies). Returns the resolved ids (None where nothing
    matched) and notes about references that were redirected.
    """
    by_id = dict(zip(library["record_id"], library["duplicate_of"]))
    by_key: dict[str, str] = {}
    for row in library.sort_values("record_id").itertuples():
        if row.key is not None and not pd.isna(row.key):
            by_key.setdefault(str(row.key), row.duplicate_of if isinstance(row.duplicate_of, str) else row.record_id)
    resolved, notes = [], []
    for ref in references:
        ref = str(ref).strip()
        if ref in by_id:
            kept = by_id[ref]
            if isinstance(kept, str):
                notes.append(f"{ref} is a duplicate of {kept}: the decision is recorded for {kept}")
                resolved.append(kept)
            else:
                resolved.append(ref)
        else:
            resolved.append(by_key.get(ref))
    return resolved, notes


def decisions_from_csv(path: str | Path) -> pd.DataFrame:
    """Read a screening CSV a reviewer filled in; each row keeps its file line number.

    Columns (case-insensitive): ``record`` (or ``record_id`` / ``key``), ``reviewer``,
    ``stage``, ``decision``, optional ``reason``, ``time``, ``final``, ``synthetic``.
    Lines starting with ``#`` are comments.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file", "Check the path")
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    kept = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    if len(kept) < 2:
        raise InputFileError(path, "no decisions in the file", "Give a header line and one decision per line")
    frame = pd.read_csv(io.StringIO("\n".join(line for _, line in kept)), dtype=str, keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    frame["line"] = [n for n, _ in kept[1:]][:len(frame)]
    record_col = next((c for c in ("record", "record_id", "key") if c in frame.columns), None)
    missing = [c for c in ("reviewer", "stage", "decision") if c not in frame.columns]
    if record_col is None or missing:
        need = (["record"] if record_col is None else []) + missing
        raise InputFileError(path, f"missing column(s) {', '.join(need)} (columns: {', '.join(frame.columns[:-1])})",
                             "Columns: record, reviewer, stage, decision, reason, time (final, synthetic optional)")
    frame = frame.rename(columns={record_col: "record"})
    for optional in ("reason", "time", "final", "synthetic"):
        if optional not in frame.columns:
            frame[optional] = ""
    frame["origin"] = [f"{path.name}, line {n}" for n in frame["line"]]
    return frame


def validate_decisions(frame: pd.DataFrame, library: pd.DataFrame, *, path: str | Path | None = None) -> pd.DataFrame:
    """Check decisions against the library; return rows ready for ``review_decisions``.

    Any problem raises one error naming the line (CSV) or the record (command line), so
    that nothing of a bad batch is stored.
    """
    def fail(row, problem, fix):
        if path is not None:
            raise InputFileError(path, problem, fix, row=int(row["line"]))
        raise TiplensError(f"record {row['record']}: {problem}. {fix}")

    if library.empty:
        raise TiplensError("the review library is empty: import references first (tiplens review import FILE)")
    resolved, _ = resolve_records(library, frame["record"].tolist())
    rows = []
    for (_, row), record_id in zip(frame.iterrows(), resolved):
        if record_id is None:
            fail(row, f"record {str(row['record']).strip()!r} is not in the review library",
                 "Use a record id (R0001) or citation key shown by 'tiplens review screen --status'")
        reviewer = str(row["reviewer"]).strip()
        if not reviewer:
            fail(row, "no reviewer named", "Give the reviewer's name or initials")
        stage = normalise_stage(row["stage"])
        if stage is None:
            fail(row, f"stage {row['stage']!r} is not valid", f"Use one of {', '.join(STAGES)}")
        decision = normalise_decision(row["decision"])
        if decision is None:
            fail(row, f"decision {row['decision']!r} is not valid", f"Use one of {', '.join(DECISIONS)}")
        reason = str(row.get("reason") or "").strip() or None
        if stage == "full_text" and decision == "exclude" and not reason:
            fail(row, "a full-text exclusion needs a reason",
                 f"PRISMA 2020 reports full-text exclusions with reasons (use '{NOT_RETRIEVED}' for reports "
                 "that could not be obtained)")
        try:
            decided_at = _parse_time(row.get("time"))
        except (ValueError, TypeError):
            fail(row, f"time {row.get('time')!r} is not a date-time", "Write it as 2025-02-14T10:30 (ISO 8601)")
        rows.append({"record_id": record_id, "reviewer": reviewer, "stage": stage, "decision": decision,
                     "reason": reason, "decided_at": decided_at,
                     "final": str(row.get("final") or "").strip().lower() in _TRUE,
                     "synthetic": str(row.get("synthetic") or "").strip().lower() in _TRUE,
                     "origin": row.get("origin") or "command line"})
    return pd.DataFrame(rows)


def append_decisions(store, decisions: pd.DataFrame, *, now: datetime | None = None) -> pd.DataFrame:
    """Append validated decisions to ``review_decisions``; returns the rows written."""
    now = now or _now()
    log = store.read_rows("review_decisions")
    start = int(log["decision_id"].max()) + 1 if len(log) else 1
    rows = decisions.copy()
    rows.insert(0, "decision_id", range(start, start + len(rows)))
    rows["decided_at"] = rows["decided_at"].where(rows["decided_at"].notna(), now)
    rows["decided_at"] = pd.to_datetime(rows["decided_at"])
    rows["entered_at"] = now
    store.write_rows("review_decisions", rows[list(DECISION_COLUMNS)], DECISION_COLUMNS)
    return rows[list(DECISION_COLUMNS)]


def screening_log(store) -> pd.DataFrame:
    """The whole log, oldest first."""
    log = store.read_rows("review_decisions", order_by=["decision_id"])
    return log if len(log) else pd.DataFrame(columns=list(DECISION_COLUMNS))


def latest_decisions(log: pd.DataFrame, stage: str, *, final: bool = False) -> pd.DataFrame:
    """The newest decision of each reviewer on each record at ``stage`` (finals or not)."""
    part = log.loc[(log["stage"] == stage) & (log["final"].astype(bool) == final)]
    part = part.sort_values(["decided_at", "decision_id"])
    return part.drop_duplicates(["record_id", "reviewer"], keep="last")


def stage_outcomes(log: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Per record decided at ``stage``: outcome (include | exclude | conflict), reason, how resolved."""
    columns = ["record_id", "outcome", "reason", "resolved_by", "decisions"]
    if log.empty:
        return pd.DataFrame(columns=columns)
    reviewers = latest_decisions(log, stage).sort_values(["record_id", "reviewer"])
    finals = latest_decisions(log, stage, final=True).sort_values(["decided_at", "decision_id"]) \
        .drop_duplicates("record_id", keep="last")
    final_by_record = {r["record_id"]: r for r in finals.to_dict("records")}
    by_record: dict[str, list[dict]] = {}
    for row in reviewers.to_dict("records"):
        by_record.setdefault(row["record_id"], []).append(row)
    rows = []
    for record_id in sorted(set(by_record) | set(final_by_record)):
        mine = by_record.get(record_id, [])
        summary = "; ".join(f"{r['reviewer']}: {r['decision']}"
                            + (f" ({r['reason']})" if isinstance(r["reason"], str) else "") for r in mine)
        final = final_by_record.get(record_id)
        if final is not None:
            rows.append([record_id, final["decision"], final["reason"], f"final ({final['reviewer']})", summary])
            continue
        labels = {r["decision"] for r in mine}
        if len(labels) > 1:
            rows.append([record_id, "conflict", None, None, summary])
            continue
        reasons = sorted({r["reason"] for r in mine if isinstance(r["reason"], str) and r["reason"]})
        rows.append([record_id, labels.pop(), "; ".join(reasons) or None,
                     "unanimous" if len(mine) > 1 else "single reviewer", summary])
    return pd.DataFrame(rows, columns=columns)


def record_status(records: pd.DataFrame, log: pd.DataFrame) -> pd.DataFrame:
    """The current status of every unique record, derived from the log.

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``key``, ``title``, ``year``, ``title_abstract`` and ``full_text``
        (include, exclude, conflict, or missing when not yet decided), ``status`` (one of
        :data:`STATUSES`), ``reason`` (for exclusions) and ``decisions`` (who decided what
        at the record's current stage).
    """
    ta = {r["record_id"]: r for r in stage_outcomes(log, "title_abstract").to_dict("records")}
    ft = {r["record_id"]: r for r in stage_outcomes(log, "full_text").to_dict("records")}
    rows = []
    for record in records.itertuples():
        rid = record.record_id
        ta_row, ft_row = ta.get(rid), ft.get(rid)
        ta_outcome = None if ta_row is None else ta_row["outcome"]
        ft_outcome = None if ft_row is None else ft_row["outcome"]
        reason, shown = None, ta_row
        if ta_outcome is None:
            status = "awaiting_title_abstract"
        elif ta_outcome == "conflict":
            status = "conflict_title_abstract"
        elif ta_outcome == "exclude":
            status, reason = "excluded_title_abstract", ta_row["reason"]
        else:
            shown = ft_row if ft_row is not None else ta_row
            if ft_outcome is None:
                status = "awaiting_full_text"
            elif ft_outcome == "conflict":
                status = "conflict_full_text"
            elif ft_outcome == "exclude":
                reason = ft_row["reason"]
                status = "not_retrieved" if str(reason).strip().lower() == NOT_RETRIEVED else "excluded_full_text"
            else:
                status = "included"
        rows.append({"record_id": rid, "key": record.key, "title": record.title, "year": record.year,
                     "title_abstract": ta_outcome, "full_text": ft_outcome, "status": status, "reason": reason,
                     "decisions": None if shown is None else shown["decisions"]})
    return pd.DataFrame(rows, columns=["record_id", "key", "title", "year", "title_abstract", "full_text",
                                       "status", "reason", "decisions"])


def conflicts(records: pd.DataFrame, log: pd.DataFrame) -> pd.DataFrame:
    """Records on which reviewers disagree and no final decision has been recorded yet.

    Returns ``record_id``, ``stage``, ``title`` and ``decisions`` (each reviewer's newest).
    """
    titles = dict(zip(records["record_id"], records["title"]))
    status = record_status(records, log)
    open_ = status.loc[status["status"].isin(["conflict_title_abstract", "conflict_full_text"])]
    return pd.DataFrame({
        "record_id": open_["record_id"],
        "stage": open_["status"].str.removeprefix("conflict_"),
        "title": open_["record_id"].map(titles),
        "decisions": open_["decisions"],
    }).reset_index(drop=True)


def stage_ratings(log: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Long table item/rater/label of each reviewer's newest non-final decision at ``stage``.

    At full text only records that some reviewer assessed count; final (resolving)
    decisions are left out because they are not independent ratings.
    """
    if stage not in STAGES:
        raise TiplensError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    if log.empty:
        return pd.DataFrame(columns=["item", "rater", "label"])
    latest = latest_decisions(log, stage)
    return latest.rename(columns={"record_id": "item", "reviewer": "rater", "decision": "label"})[
        ["item", "rater", "label"]].reset_index(drop=True)
