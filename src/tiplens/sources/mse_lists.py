"""List-overlap tables for multiple systems estimation (capture-recapture) of hidden victims.

Layout: one column per list (``1`` = the cases appear on that list, ``0`` = they do not) and a
last column with the number of cases seen on exactly that combination of lists (named
``count``, ``frequency``, ``freq`` or ``n``). These are the tables of the R package SparseMSE
(``UKdat``, ``UKdat_5``, ``Ned``, ``Ned_5``, ``NewOrl``, ``NewOrl_5``, ``Western``).

Datasets: one per study, recognised from the content (:data:`STUDIES`), so files never replace
or pool with each other: ``uk_2013``, ``uk_2013_5lists``, ``netherlands``,
``netherlands_5lists``, ``new_orleans``, ``new_orleans_5lists``, ``western_us``. The UK and
Dutch tables (and the 5-list New Orleans table, with its merged list ``BEFG``) are named by
their list names alone. The 8-list New Orleans and the Western tables have anonymised list names
(``A``, ``B`` ...) that any study could use, so they are recognised only when the set of capture
histories is also the published one. A table that is none of these is stored as dataset
``capture_histories`` with the study label taken from the file name (the content names no
study); two such files given the same edition replace each other, so give each its own
``--edition``.

Nothing goes to ``observations``: the rows are list data, stored in ``records_mse_lists``, one
row per capture history: ``study``, ``lists`` (the list names in file order joined by ``|``),
``history`` (``"100110"``: one digit per list, in that order), ``captured_on`` (the names of
the lists the cases are on), ``n_lists_captured``, ``count`` and ``source_row``.
:func:`capture_table` turns one study back into one column per list.

Traps handled:

* Zero-count combinations are omitted by the source, and the all-zero history is unobservable;
  neither is invented here (an estimator adds the zero cells it needs). A zero count that *is*
  published is kept.
* Never pooled: each study is its own dataset and every row carries its study.
* A malformed row is quarantined with a reason: a list cell other than 0/1, a count that is not
  a non-negative integer, an all-zero history, or a history that appears twice (not summed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ._base import (Normalised, Raw, check_file, collect_quarantine, csv_header, parse_number, read_csv_text,
                    require_rows, row_numbers, sniff_text)

NAME = "mse_lists"
TITLE = "List-overlap (capture-recapture) tables of identified victims for multiple systems estimation"
PUBLISHER = "R package SparseMSE (Chan, Silverman & Vincent), CRAN; tables from the studies it cites"
CITATION = ("Chan L, Silverman BW, Vincent K. SparseMSE: Multiple Systems Estimation for Sparse Capture Data, "
            "R package 2.0.1 (CRAN); and the study of each table (see STUDIES)")
TERMS = "GPL (>= 2) package; aggregate counts, no individual records. Cite the package and the studies."
REDISTRIBUTABLE = False

COUNT_NAMES = ("count", "frequency", "freq", "n")
UNKNOWN_DATASET = "capture_histories"
_LIST_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,19}")
_FIX = ("Check the file: one 0/1 column per list and a last column with the number of cases "
        "(count, frequency or n)")


@dataclass(frozen=True)
class Study:
    """A published list table: its list names, count column and what it is."""

    lists: tuple[str, ...]
    count: str
    title: str
    histories: frozenset[str] | None = None  # required match when the list names are anonymised


STUDIES: dict[str, Study] = {
    "uk_2013": Study(("LA", "NG", "PF", "GO", "GP", "NCA"), "count",
                     "UK Home Office 2013 strategic assessment, 6 lists (Bales, Hesketh & Silverman 2015)"),
    "uk_2013_5lists": Study(("LA", "NG", "PFNCA", "GO", "GP"), "count",
                            "UK 2013, police forces and National Crime Agency merged (PFNCA), 5 lists"),
    "netherlands": Study(("I", "K", "O", "P", "R", "Z"), "frequency",
                         "Netherlands victims of trafficking, 6 lists (Silverman 2020, JRSS A, Table 2)"),
    "netherlands_5lists": Study(("IO", "K", "P", "R", "Z"), "frequency",
                                "Netherlands, lists I and O merged (IO), 5 lists"),
    "new_orleans": Study(tuple("ABCDEFGH"), "n",
                         "Greater New Orleans, 8 anonymised lists (Bales, Murphy & Silverman 2020)",
                         frozenset({"10000000", "10100000", "10010000", "10001000", "10100010", "10011000",
                                    "01000000", "01000100", "00100000", "00110000", "00101000", "00100010",
                                    "00010000", "00011000", "00001000", "00001001", "00000100", "00000010",
                                    "00000001"})),
    "new_orleans_5lists": Study(("A", "BEFG", "C", "D", "H"), "n",
                                "Greater New Orleans, lists B, E, F, G merged (BEFG), 5 lists"),
    "western_us": Study(tuple("ABCDE"), "n",
                        "US 'Western site', sex trafficking, 5 anonymised lists (Farrell et al. 2019, NIJ 252520)",
                        frozenset({"10000", "01000", "00100", "00010", "00001", "10100", "10010", "10001",
                                   "01100", "01010", "00011", "10101", "01110"})),
}


# -- detection and reading --------------------------------------------------------------------
def _split_header(header: list[str]) -> tuple[list[str], str] | None:
    """(list columns, count column) when the header has the list-table shape, else None."""
    names = [h.strip() for h in header]
    if len(names) < 3 or names[-1].lower() not in COUNT_NAMES:
        return None
    lists = names[:-1]
    if not all(_LIST_NAME.fullmatch(name) for name in lists) or len(set(lists)) != len(lists):
        return None
    return lists, names[-1]


def detect(path: Path) -> bool:
    """True for a CSV of 0/1 list columns and a final count column."""
    try:
        split = _split_header(csv_header(Path(path)))
        if split is None:
            return False
        width = len(split[0]) + 1
        lines = sniff_text(Path(path)).splitlines()[1:11]
        # at least one complete data row that is a 0/1 history with a whole-number count
        for line in lines:
            cells = [c.strip() for c in line.split(",")]
            if len(cells) == width and all(c in ("0", "1") for c in cells[:-1]) and cells[-1].isdigit():
                return True
        return False
    except Exception:  # detection never raises: an unreadable file is simply not this source
        return False


def identify_study(lists: list[str], count: str, histories: pd.Series) -> str | None:
    """The study of :data:`STUDIES` whose list names (and, if anonymised, histories) match."""
    for study_id, study in STUDIES.items():
        if tuple(lists) != study.lists or count.lower() != study.count:
            continue
        if study.histories is None or set(histories) == study.histories:
            return study_id
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "lists"


def read(path: Path) -> Raw:
    """The table as published, all cells text; the study recognised from its content."""
    path = check_file(Path(path))
    header = csv_header(path)
    split = _split_header(header)
    if split is None:
        read_csv_text(path, fix=_FIX)  # raises for encoding or shape problems first
        raise InputFileError(path, "is not a list-overlap table: the last column must be the case count "
                             f"({', '.join(COUNT_NAMES)}) after at least two list columns", _FIX, row=1)
    lists, count = split
    frame = read_csv_text(path, fix=_FIX, every_row=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    require_rows(path, frame, _FIX)
    histories = frame[lists].apply(lambda col: col.str.strip()).agg("".join, axis=1)
    study_id = identify_study(lists, count, histories)
    meta = {"lists": lists, "count": count, "study": study_id or _slug(path.stem),
            "study_from": "content" if study_id else "file name"}
    return Raw(path=path, dataset=study_id or UNKNOWN_DATASET, frame=frame, first_row=2, meta=meta)


# -- normalisation ----------------------------------------------------------------------------
def normalise(raw: Raw) -> Normalised:
    """One record per capture history; malformed rows quarantined with their reason."""
    frame = raw.frame
    lists = list(raw.meta.get("lists") or frame.columns[:-1])
    count_col = raw.meta.get("count") or frame.columns[-1]
    study = raw.meta.get("study") or raw.dataset
    n = len(frame)
    row_number = row_numbers(raw)
    cells = frame[lists].apply(lambda col: col.astype("str").str.strip())
    count_text = frame[count_col].astype("str").str.strip()

    bad_cells = ~cells.isin(["0", "1"])
    # per row, the offending cells named (a loop over the few list columns, not over rows)
    cell_reason = pd.Series("", index=frame.index)
    for name in lists:
        cell_reason = cell_reason.where(~bad_cells[name],
                                        cell_reason + np.where(cell_reason.eq(""), "", ", ")
                                        + name + "='" + cells[name] + "'")
    count = parse_number(count_text)
    bad_count = count.isna() | (count < 0) | (count % 1 != 0) | ~count_text.str.fullmatch(r"[0-9][0-9,]*")
    history = cells.agg("".join, axis=1)
    well_formed = ~bad_cells.any(axis=1) & ~bad_count
    all_zero = well_formed & ~cells.eq("1").any(axis=1)
    repeated = well_formed & ~all_zero & history.duplicated(keep=False)
    repeat_rows = pd.Series("", index=frame.index, dtype="str")
    if repeated.any():
        listed = row_number[repeated].groupby(history[repeated]).agg(lambda s: ", ".join(str(r) for r in s))
        repeat_rows = history.map(listed).fillna("")

    problems = [
        (bad_cells.any(axis=1), ", ".join(lists), "capture history is not 0/1: " + cell_reason),
        (bad_count, count_col, "count is not a non-negative whole number: '" + count_text + "'"),
        (all_zero, ", ".join(lists), "all-zero capture history: cases on no list cannot have been counted"),
        (repeated, ", ".join(lists), "capture history " + history + " appears more than once (rows "
         + repeat_rows + "): not summed"),
    ]
    quarantine, bad = collect_quarantine(frame, row_number, problems)
    keep = ~bad

    on_list = cells[keep].eq("1")
    captured_on = on_list.apply(lambda row: "|".join(name for name, hit in zip(lists, row) if hit), axis=1) \
        if keep.any() else pd.Series(dtype="str")
    records = pd.DataFrame({
        "study": study,
        "lists": "|".join(lists),
        "history": history[keep],
        "captured_on": captured_on,
        "n_lists_captured": on_list.sum(axis=1).astype("int64"),
        "count": count[keep].astype("int64"),
        "source_row": row_number[keep].astype("int64"),
    }).astype({"study": "str", "lists": "str", "history": "str", "captured_on": "str"}).reset_index(drop=True)

    notes = []
    if raw.meta.get("study_from") == "file name":
        notes.append(f"study not recognised from the content (list names {', '.join(lists)}): label "
                     f"'{study}' taken from the file name, dataset '{UNKNOWN_DATASET}'. Another unrecognised "
                     "table ingested with the same edition would replace this one.")
    notes.append(f"{study}: {len(records)} capture histories over {len(lists)} lists, "
                 f"{int(records['count'].sum()):,} cases; zero-count histories are not in the table "
                 "(add them for a log-linear model).")
    empty_obs = pd.DataFrame({"iso3": pd.Series(dtype="str"), "indicator": pd.Series(dtype="str")})
    return Normalised(observations=empty_obs, quarantine=quarantine, rows_read=n, rows_loaded=int(keep.sum()),
                      records={"mse_lists": records}, notes=notes)


def capture_table(records: pd.DataFrame, study: str) -> pd.DataFrame:
    """One study's histories with one 0/1 column per list (file order) and ``count``.

    Parameters
    ----------
    records : DataFrame
        ``records_mse_lists`` (or the ``mse_lists`` record frame of :func:`normalise`).
    study : str
        The study label, e.g. ``"uk_2013"``.

    Returns
    -------
    DataFrame
        Columns: the lists, then ``count``; only the published (non-zero) histories.
    """
    rows = records[records["study"] == study]
    if rows.empty:
        raise ValueError(f"no capture histories for study {study!r}")
    if rows["lists"].nunique() != 1 or ("file_id" in rows and rows["file_id"].nunique() != 1):
        raise ValueError(f"study {study!r} holds tables with different lists; choose one file (file_id)")
    lists = rows["lists"].iloc[0].split("|")
    digits = rows["history"].str.split("", expand=True).iloc[:, 1:len(lists) + 1]
    table = pd.DataFrame(digits.astype("int64").to_numpy(), columns=lists)
    table["count"] = rows["count"].astype("int64").to_numpy()
    return table
