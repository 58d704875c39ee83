"""US federal human-trafficking prosecutions, as coded by the Human Trafficking Data project.

Three linked CSV tables scraped from humantraffickingdata.org in August 2018 (repository
``cassiecorey/HumanTraffickingData``), one dataset each:

``htdp_cases``
    ``case_data.csv``, one row per federal case → record table ``prosecution_cases``.
``htdp_defendants``
    ``defendant_data.csv``, one row per defendant, ``case_id`` → ``prosecution_defendants``.
``htdp_judges``
    ``judge_data.csv``, one row per judge of a case → ``prosecution_judges``.

No observations: these are case-level records (``prosecution_cases`` and
``prosecution_defendants`` are sensitive tables; counts leave the store only through disclosure
control). Every record has ``iso3 = 'USA'``.

Privacy: names of people are dropped when the file is read and reach nothing — not the record
tables, not the quarantine ``raw`` JSON. Dropped columns (:data:`DROPPED_COLUMNS`): the defendant's
and the judge's ``name``; the case ``name`` (``USA v. <surname>``), the free-text ``summary`` (it
names defendants and their businesses) and the docket ``number`` (it finds the case, and so the
names, in PACER, and ends with the judge's initials); the judge's ``tenure`` (year of appointment:
with the state it singles out the judge). What is kept of a judge is gender, race and the party of
the appointing president, linked by ``case_id``.

Traps handled:

* Two ``arrest_date`` values (2020-01-17, 2020-09-27) are later than the August 2018 scrape: any
  date after :data:`SCRAPE_DATE` is set to None and named in the row's ``flag``.
* ``statute_*`` cells hold one value per statute the source listed for the defendant, as a Python
  list (``['1591', '2421_to_2424']``, ``[None, None]``, or NumPy style ``['0' '0']`` in
  ``statute_fines``) or a single value. They are stored ``; ``-joined (``statutes``,
  ``statute_counts`` ...), with the first statute's values as numbers (``first_statute``,
  ``statute_counts_first`` ...). Charges beyond the listed statutes are only counted in
  ``n_charges``; lists of unequal length are flagged.
* ``999`` is a code, not a number, in ``n_sentences`` (199 defendants with no sentencing data)
  and in the months sentenced: stored as None and flagged.
* ``federal_district`` holds the federal *circuit* number (1-11): stored as ``federal_circuit``;
  ``Multiple`` becomes None and is flagged. ``state`` ``Guam`` is written ``GU``.
* The case list is what the project had coded by 2018, not all federal cases (2014-2016 are
  clearly incomplete): see :data:`COVERAGE_NOTE`.
* Rows whose id is not a whole number, or repeats an earlier id, are quarantined (they cannot
  be linked).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ._base import (Normalised, Raw, check_file, concat_quarantine, csv_header, parse_number, quarantine_frame,
                    read_csv_text, require_rows, row_numbers)

NAME = "us_prosecutions"
TITLE = "US federal human-trafficking prosecutions (Human Trafficking Data project)"
PUBLISHER = "Human Trafficking Data project (humantraffickingdata.org), from US federal court records"
CITATION = ("Human Trafficking Data, humantraffickingdata.org, scraped August 2018 "
            "(github.com/cassiecorey/HumanTraffickingData)")
TERMS = ("No licence stated; derived from public federal court records. Treat redistribution as unclear; "
         "names of people are never stored.")
REDISTRIBUTABLE = False

DATASET_CASES = "htdp_cases"
DATASET_DEFENDANTS = "htdp_defendants"
DATASET_JUDGES = "htdp_judges"

CASE_COLUMNS = ["id", "summary", "name", "number", "n_defendants", "state", "federal_district", "year",
                "n_victims", "n_minors", "n_foreigners", "n_females", "n_males"]
STATUTE_VALUE_COLUMNS = ["statute_counts", "statute_counts_np", "statute_plea_dismissed", "statute_plea_guilty",
                         "statute_trial_guilty", "statute_trial_ng", "statute_fines", "statute_months_sentenced",
                         "statute_months_probation"]
DEFENDANT_COLUMNS = ["id", "case_id", "name", "gender", "arrest_age", "race", "arrest_date", "charge_date",
                     "bail_type", "bail_amount", "statute_sentence", *STATUTE_VALUE_COLUMNS, "n_charges",
                     "n_sentences", "year_terminated", "total_months_sentenced", "total_months_probation",
                     "restitution", "forfeiture_charge", "forfeiture_sentence"]
JUDGE_COLUMNS = ["id", "name", "race", "gender", "tenure", "appointed_by", "case_id"]

#: Columns removed when the file is read, per dataset: they name or single out people.
DROPPED_COLUMNS = {DATASET_CASES: ("name", "summary", "number"),
                   DATASET_DEFENDANTS: ("name",),
                   DATASET_JUDGES: ("name", "tenure")}
_LAYOUTS = {DATASET_CASES: CASE_COLUMNS, DATASET_DEFENDANTS: DEFENDANT_COLUMNS, DATASET_JUDGES: JUDGE_COLUMNS}
_KEYS = {DATASET_CASES: {"id", "summary", "number", "n_defendants", "federal_district", "n_victims"},
         DATASET_DEFENDANTS: {"id", "case_id", "arrest_date", "charge_date", "statute_sentence", "n_charges"},
         DATASET_JUDGES: {"id", "case_id", "tenure", "appointed_by", "race"}}
_RECORD_NAMES = {DATASET_CASES: "prosecution_cases", DATASET_DEFENDANTS: "prosecution_defendants",
                 DATASET_JUDGES: "prosecution_judges"}

#: The data were scraped in August 2018 (repository commit 2018-08-21); no event can be later.
SCRAPE_DATE = "2018-08-21"
#: Not a count: the source's code for "no data" (or, for months, possibly a life sentence).
SENTINEL = 999
COVERAGE_NOTE = ("humantraffickingdata.org coded a subset of US federal trafficking cases by 2018 (2014-2016 "
                 "clearly incomplete: 48, 37, 8 cases); counts are not totals of federal prosecutions.")
_FIX = "Download the file again from github.com/cassiecorey/HumanTraffickingData (data/)"
_LIST_ITEM = re.compile(r"'([^']*)'|None")


# -- detection and reading --------------------------------------------------------------------
def _dataset_of(header: list[str]) -> str | None:
    names = {h.strip() for h in header}
    for dataset, key in _KEYS.items():
        if key <= names:
            return dataset
    return None


def detect(path: Path) -> bool:
    """True for one of the three HTDP tables (by their header columns)."""
    try:
        return _dataset_of(csv_header(Path(path))) is not None
    except Exception:  # detection never raises
        return False


def read(path: Path) -> Raw:
    """The file with every cell as text, minus the columns that name people (:data:`DROPPED_COLUMNS`).

    Names are removed here, at the first step, so that no later step can store them.
    """
    path = check_file(Path(path))
    dataset = _dataset_of(csv_header(path))
    if dataset is None:
        raise InputFileError(path, "has no header of the HTDP case, defendant or judge table", _FIX, row=1)
    frame = read_csv_text(path, required=set(_LAYOUTS[dataset]), fix=_FIX)
    require_rows(path, frame, _FIX)
    dropped = [c for c in DROPPED_COLUMNS[dataset] if c in frame.columns]
    frame = frame.drop(columns=dropped)
    return Raw(path=path, dataset=dataset, frame=frame, first_row=2, edition=None,
               meta={"dropped_columns": dropped})


# -- helpers ----------------------------------------------------------------------------------
def _blank(text: pd.Series) -> pd.Series:
    return text.isin(("", "None", "nan", "NaN"))


def _whole(text: pd.Series, column: str, flags: list[pd.Series], *, sentinel: bool = False,
           low: float = -np.inf, high: float = np.inf) -> pd.Series:
    """Whole numbers as Int64; blanks are missing, anything else (and the 999 code) None and flagged."""
    blank = _blank(text)
    number = parse_number(text.where(~blank, ""))
    code = number.eq(SENTINEL) if sentinel else pd.Series(False, index=text.index)
    bad = ~blank & ~code & (number.isna() | (number % 1 != 0) | ~number.between(low, high))
    flags.append((column + " is not a plausible whole number: '" + text + "'").where(bad, ""))
    message = f"{column} 999 is a code (no data, or life), not a number"
    flags.append(pd.Series(message, index=text.index).where(code, ""))
    return number.where(~bad & ~code).astype("Int64")


def _identifier(text: pd.Series) -> pd.Series:
    """Row ids as Int64 (rows whose id is not a whole number are quarantined by :func:`_id_problems`)."""
    return pd.to_numeric(text.where(text.str.fullmatch(r"\d+")), errors="coerce").astype("Int64")


def _amount(text: pd.Series, column: str, flags: list[pd.Series]) -> pd.Series:
    number = parse_number(text.where(~_blank(text), ""))
    bad = ~_blank(text) & (number.isna() | (number < 0))
    flags.append(("" + column + " is not an amount: '" + text + "'").where(bad, ""))
    return number.where(~bad).astype("float64")


def _date(text: pd.Series, column: str, flags: list[pd.Series]) -> pd.Series:
    parsed = pd.to_datetime(text.where(~_blank(text)), format="%Y-%m-%d", errors="coerce")
    bad = ~_blank(text) & parsed.isna()
    late = parsed.notna() & (parsed > pd.Timestamp(SCRAPE_DATE))
    flags.append(("" + column + " is not a date: '" + text + "'").where(bad, ""))
    flags.append(("" + column + " " + text + " is after the August 2018 scrape: impossible").where(late, ""))
    return text.where(parsed.notna() & ~late, None)


def _list_items(cell: str) -> list[str | None]:
    """Items of a statute cell: ``['a', 'b']``, ``['a' 'b']``, ``[None, None]`` or a single value."""
    cell = cell.strip()
    if cell in ("", "None"):
        return []
    if cell.startswith("["):
        return [m.group(1) if m.group(0) != "None" else None for m in _LIST_ITEM.finditer(cell)]
    return [cell]


def _join(items: list[str | None]) -> str | None:
    if not items or all(i is None for i in items):
        return None
    return "; ".join("NA" if i is None else i for i in items)


def _combine_flags(flags: list[pd.Series], index) -> pd.Series:
    flag = pd.Series("", index=index)
    for part in flags:
        flag = flag.str.cat(part.fillna(""), sep="; ").str.strip("; ")
    return flag.where(flag != "", None)


def _id_problems(frame: pd.DataFrame, column: str, row_number: pd.Series, raw_columns: list[str],
                 unique: bool) -> pd.DataFrame:
    """Quarantine rows whose id is not a whole number or (for a table's own id) repeats an earlier one."""
    text = frame[column].str.strip()
    bad = ~text.str.fullmatch(r"\d+")
    duplicate = ~bad & text.duplicated(keep="first") & unique
    parts = []
    if bad.any():
        parts.append(quarantine_frame(frame[bad], row_number=row_number[bad], column=column,
                                      reason=f"{column} is not a whole number", raw_columns=raw_columns))
    if duplicate.any():
        parts.append(quarantine_frame(frame[duplicate], row_number=row_number[duplicate], column=column,
                                      reason=f"duplicate {column}: " + text[duplicate], raw_columns=raw_columns))
    return concat_quarantine(*parts)


# -- normalisation ----------------------------------------------------------------------------
def normalise(raw: Raw) -> Normalised:
    """Record table of the file's dataset; names never reach it (they were dropped by :func:`read`)."""
    frame = raw.frame
    # belt and braces: a Raw built elsewhere must not carry names into the store either
    frame = frame.drop(columns=[c for c in DROPPED_COLUMNS[raw.dataset] if c in frame.columns])
    raw_columns = list(frame.columns)
    n = len(frame)
    row_number = row_numbers(raw)
    text = frame.astype("str").apply(lambda s: s.str.strip())
    flags: list[pd.Series] = []
    if raw.dataset == DATASET_CASES:
        records = _cases(text, flags)
        id_columns = {"id": True}
    elif raw.dataset == DATASET_DEFENDANTS:
        records = _defendants(text, flags)
        id_columns = {"id": True, "case_id": False}
    else:
        records = _judges(text, flags)
        id_columns = {"case_id": False}
    quarantine = concat_quarantine(*[_id_problems(frame, c, row_number, raw_columns, unique)
                                    for c, unique in id_columns.items()])
    records["iso3"] = "USA"
    records["source_row"] = row_number.astype("int64")
    records["flag"] = _combine_flags(flags, frame.index)
    loaded = ~row_number.isin(quarantine["row_number"])
    records = records[loaded].reset_index(drop=True)
    dropped = raw.meta.get("dropped_columns", DROPPED_COLUMNS[raw.dataset])
    notes = [f"dropped at read (never stored): {', '.join(dropped)}", COVERAGE_NOTE]
    return Normalised(observations=pd.DataFrame(columns=["iso3"]), quarantine=quarantine, rows_read=n,
                      rows_loaded=int(loaded.sum()), records={_RECORD_NAMES[raw.dataset]: records}, notes=notes)


def _cases(text: pd.DataFrame, flags: list[pd.Series]) -> pd.DataFrame:
    circuit_text = text["federal_district"]
    several = circuit_text.str.casefold().eq("multiple")
    flags.append(pd.Series("federal_district 'Multiple': several circuits", index=text.index).where(several, ""))
    state = text["state"].replace({"Guam": "GU"})
    odd_state = ~state.str.fullmatch(r"[A-Z]{2}") & ~_blank(state)
    flags.append(("state is not a two-letter code: '" + state + "'").where(odd_state, ""))
    out = pd.DataFrame({
        "case_id": _identifier(text["id"]),
        "year": _whole(text["year"], "year", flags, low=1990, high=2018),
        "state": state.where(~_blank(state) & ~odd_state, None),
        "federal_circuit": _whole(circuit_text.where(~several, ""), "federal_district", flags, low=1, high=11),
    }, index=text.index)
    for column in ("n_defendants", "n_victims", "n_minors", "n_foreigners", "n_females", "n_males"):
        out[column] = _whole(text[column], column, flags, low=0)
    return out


def _defendants(text: pd.DataFrame, flags: list[pd.Series]) -> pd.DataFrame:
    gender = text["gender"].where(text["gender"].isin(("Male", "Female")), None)
    odd_gender = ~text["gender"].isin(("Male", "Female", "Unknown", ""))
    flags.append(("gender not Male/Female/Unknown: '" + text["gender"] + "'").where(odd_gender, ""))
    out = pd.DataFrame({
        "defendant_id": _identifier(text["id"]),
        "case_id": _identifier(text["case_id"]),
        "gender": gender,
        "arrest_age": _whole(text["arrest_age"], "arrest_age", flags, low=10, high=100),
        "race": text["race"].where(~_blank(text["race"]), None),
        "arrest_date": _date(text["arrest_date"], "arrest_date", flags),
        "charge_date": _date(text["charge_date"], "charge_date", flags),
        "bail_type": text["bail_type"].where(~_blank(text["bail_type"]), None),
        "bail_amount": _amount(text["bail_amount"], "bail_amount", flags),
    }, index=text.index)

    statutes = text["statute_sentence"].map(_list_items)
    out["statutes"] = statutes.map(_join).astype("str")
    out["first_statute"] = statutes.map(lambda items: items[0] if items else None).astype("str")
    out["n_statutes_listed"] = statutes.map(len).astype("Int64")
    unequal = pd.Series(False, index=text.index)
    for column in STATUTE_VALUE_COLUMNS:
        items = text[column].map(_list_items)
        out[column] = items.map(_join).astype("str")
        first = items.map(lambda values: values[0] if values else None)
        first_text = first.fillna("").astype("str")
        number = parse_number(first_text.where(first_text != "", "x"))
        is_code = column == "statute_months_sentenced"
        code = number.eq(SENTINEL) if is_code else pd.Series(False, index=text.index)
        bad = (first_text != "") & number.isna()
        flags.append((column + " first value is not a number: '" + first_text + "'").where(bad, ""))
        if is_code:
            flags.append(pd.Series(f"{column} 999 is a code (life or unknown), not months",
                                   index=text.index).where(code, ""))
        out[f"{column}_first"] = number.where(~bad & ~code).astype("float64")
        lengths = items.map(len)
        unequal |= (lengths > 0) & (statutes.map(len) > 0) & (lengths != statutes.map(len))
    flags.append(pd.Series("statute lists of unequal length", index=text.index).where(unequal, ""))

    out["n_charges"] = _whole(text["n_charges"], "n_charges", flags, low=0)
    out["n_sentences"] = _whole(text["n_sentences"], "n_sentences", flags, sentinel=True, low=0)
    out["year_terminated"] = _whole(text["year_terminated"], "year_terminated", flags, low=1990, high=2018)
    out["total_months_sentenced"] = _whole(text["total_months_sentenced"], "total_months_sentenced", flags,
                                           sentinel=True, low=0)
    out["total_months_probation"] = _whole(text["total_months_probation"], "total_months_probation", flags, low=0)
    out["restitution"] = _amount(text["restitution"], "restitution", flags)
    out["forfeiture_charge"] = text["forfeiture_charge"].where(~_blank(text["forfeiture_charge"]), None)
    out["forfeiture_sentence"] = text["forfeiture_sentence"].where(~_blank(text["forfeiture_sentence"]), None)
    return out


def _judges(text: pd.DataFrame, flags: list[pd.Series]) -> pd.DataFrame:
    party = text["appointed_by"]
    odd_party = ~party.isin(("Republican", "Democrat", ""))
    flags.append(("appointed_by is not Republican/Democrat: '" + party + "'").where(odd_party, ""))
    return pd.DataFrame({
        "case_id": _identifier(text["case_id"]),
        "judge_gender": text["gender"].where(text["gender"].isin(("Male", "Female")), None),
        "judge_race": text["race"].where(~_blank(text["race"]), None),
        "appointed_by": party.where(party.isin(("Republican", "Democrat")), None),
    }, index=text.index)
