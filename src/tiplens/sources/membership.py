"""Membership of anti-trafficking cooperation frameworks (the project's sourced compilation).

Datasets (one per file; the store keeps files apart by (source, dataset, edition), so the
Palermo file and the UNTOC file of one edition never replace each other):

* one dataset per framework or body, from files with the columns
  ``iso3, country, status, signed, ratified_or_joined, source, note``. The dataset is the
  framework id of ``frameworks.csv`` where one exists (``palermo_protocol``, ``untoc``,
  ``coe_cets197``, ``asean_actip``, ``saarc_convention_2002``, ``eu_directive_2011_36``,
  ``eu_directive_2024_1712``, ``ilo_p029``, ``bali_process``, ``blue_heart_campaign``) and the
  body's name for plain membership of an organisation (``asean``, ``ecowas``; ECOWAS membership
  is *not* turned into commitment to the ECOWAS plan of action ``ecowas_tip_plan``). The
  columns are identical in every file, so the framework is recognised from the content: the
  addresses and wording of the ``source`` and ``note`` cells (:data:`FRAMEWORK_SIGNATURES`).
  A file in this layout that matches no signature (a user's own compilation) takes its id
  from the file name, and the result's notes say so.
* ``<framework>_organisations``: member organisations (``org_code, organisation, status,
  source, note``; the Bali Process's IOM, UNHCR, UNODC, ILO).
* ``frameworks``: one row per framework (``id, name, type, adopted, in_force,
  depositary_or_secretariat, monitoring_body, scope, source``) → ``records_frameworks``.

Indicators emitted: ``membership_<framework>`` (e.g. ``membership_palermo_protocol``), measure
``treaty_event``, ``value`` 1 (``lower = upper = 1``), unit ``event``, one observation per
country row. ``category`` is the published status normalised to ``party``, ``signatory``,
``member``, ``not_bound``, ``not_party`` or ``unknown`` (:data:`STATUSES`); the published text
is kept in ``records_membership_sources`` and, where the normalised word does not say it all
(``former member``, ``observer``, ``signatory (ratification not confirmed)`` ...), in ``flag``.
``date`` is the published date of the event the status names (ISO, ``YYYY`` or
``YYYY-MM-DD``): the ratification/accession/joining date for parties and members, the
signature date for signatories; ``year`` is its year, ``None`` when no date was published.

Traps handled:

* An empty status is UNKNOWN, never "not a party" (Palermo: Saint Kitts and Nevis, Monaco,
  Marshall Islands, San Marino; UNTOC: 37 states whose 2009 coding said "not yet"). An empty
  date is an unknown date: ``year`` stays ``None``; nothing is imputed.
* ``CONFLICT`` in ``note`` (sources disagree): the row loads with ``status='ok'`` and
  ``flag='conflict: <the note's words>'``, which name both sources. A note segment saying
  ``unverified`` (Denmark's EU-directive opt-out, written from memory) becomes
  ``flag='unverified: ...'``.
* ``former member`` / ``formerly bound``: the date column holds the *joining* date, which is
  not the date of the status, so ``date``/``year`` are left empty (the joining date stays in
  the record table).
* Membership of one body never implies another: nothing is derived across files.
* The European Union (``EUU``) and member organisations are not countries: they go to
  ``records_membership_organisations`` (counted as loaded), never to observations.
* Country codes are checked against ISO 3166 (``iso3``; the name where the code is blank);
  a code whose name resolves to another country is quarantined, as are unknown codes,
  unrecognised statuses and dates that are not ``YYYY``/``YYYY-MM-DD``.
* Two rows for one country in one file: both load with ``status='conflict'``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.countries import resolve
from ._base import (Normalised, Raw, check_file, collect_quarantine, concat_quarantine, csv_header, quarantine_frame,
                    read_csv_text, require_rows, row_numbers)

NAME = "membership"
TITLE = "Membership and ratification of anti-trafficking cooperation frameworks (sourced compilation)"
PUBLISHER = ("tiplens project compilation from public sources (UN Treaty Collection, Council of Europe, "
             "ASEAN, EUR-Lex, Walk Free, US DOL ILAB, Kelley & Simmons and others named row by row)")
CITATION = ("tiplens cooperation membership tables (compiled 2025-11); each row cites its own sources in "
            "its 'source' column (records_membership_sources)")
TERMS = ("Facts compiled from public web pages and public repositories; cite the sources named in each "
         "row's 'source' cell.")
REDISTRIBUTABLE = True

MEMBERSHIP_COLUMNS = ["iso3", "country", "status", "signed", "ratified_or_joined", "source", "note"]
ORGANISATION_COLUMNS = ["org_code", "organisation", "status", "source", "note"]
FRAMEWORK_COLUMNS = ["id", "name", "type", "adopted", "in_force", "depositary_or_secretariat",
                     "monitoring_body", "scope", "source"]
LAYOUTS = {"membership": MEMBERSHIP_COLUMNS, "organisations": ORGANISATION_COLUMNS,
           "frameworks": FRAMEWORK_COLUMNS}

MEASURE = "treaty_event"
UNIT = "event"
STATUSES = ("party", "signatory", "member", "not_bound", "not_party", "unknown")

#: Published status (lower case, without a trailing parenthesis) → (category, whether the
#: normalised word loses meaning so the published text goes to ``flag``, date column).
#: A date column of ``None`` means the published dates are not the date of this status.
STATUS_MAP: dict[str, tuple[str, bool, str | None]] = {
    "party": ("party", False, "ratified_or_joined"),
    "state party": ("party", False, "ratified_or_joined"),
    "ratified": ("party", False, "ratified_or_joined"),
    "bound": ("party", False, "ratified_or_joined"),
    "not party": ("not_party", False, "ratified_or_joined"),
    "not a party": ("not_party", False, "ratified_or_joined"),
    "signatory only": ("signatory", False, "signed"),
    "signatory": ("signatory", False, "signed"),
    "member": ("member", False, "ratified_or_joined"),
    "member organisation": ("member", False, "ratified_or_joined"),
    "participating": ("member", False, "ratified_or_joined"),
    "former member": ("not_party", True, None),
    "associate member": ("not_party", True, "ratified_or_joined"),
    "observer": ("not_party", True, "ratified_or_joined"),
    "participant": ("unknown", True, "ratified_or_joined"),
    "not bound": ("not_bound", False, "ratified_or_joined"),
    "formerly bound": ("not_bound", True, None),
    "": ("unknown", False, "ratified_or_joined"),
}

#: Parties that are organisations, not countries (the files give the EU the code ``EUU``).
ORGANISATION_CODES = {"EUU": "European Union"}
#: The same organisations by name, for rows whose code cell is blank.
ORGANISATION_NAMES = {"european union": "EUU", "eu": "EUU"}

#: Words in the ``source``/``note`` cells that identify each framework's file. The framework
#: whose words occur in the most rows (and in at least half of them) names the file.
FRAMEWORK_SIGNATURES: dict[str, tuple[str, ...]] = {
    "palermo_protocol": ("xviii-12-a", "palermo_ratified", "m2121", "009349", "ratifications/317",
                         "status_pages/2000-20"),
    "untoc": ("unctocdate", "uniscp510", "convention_against_transnational_organized_crime",
              "palermo_convention"),
    "coe_cets197": ("anti-human-trafficking/anti-trafficking-convention", "ratifications/1516", "011298",
                    "cets 197"),
    "asean": ("member-of-asean", "asean member"),
    "asean_actip": ("asean-convention-against-trafficking", "actip"),
    "eu_directive_2011_36": ("eli/dir/2011/36", "directive 2011/36"),
    "eu_directive_2024_1712": ("32024l1712", "2024/1712"),
    "saarc_convention_2002": ("saarc",),
    "ilo_p029": ("forced-labour-protocol", "forced labour protocol", "p029", "forced-labour-convention"),
    "bali_process": ("baliprocess", "bali-process", "bali process"),
    "ecowas": ("economic_community_of_west_african_states", "ecowas"),
    "blue_heart_campaign": ("corazon-azul", "blue heart"),
}

_ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_CONFLICT_LEAD = re.compile(r"^.*?CONFLICT\s*:?\s*")
_FIX = "Check that the file has the cooperation-membership layout described in its PROVENANCE.md"


# -- detection and reading --------------------------------------------------------------------
def _layout(header: list[str]) -> str | None:
    names = {h.strip() for h in header}
    for layout, columns in LAYOUTS.items():
        if set(columns) <= names:
            return layout
    return None


def detect(path: Path) -> bool:
    """True for a membership, member-organisation or frameworks table (by its header)."""
    try:
        return _layout(csv_header(Path(path))) is not None
    except Exception:  # detection never raises: an unreadable file is simply not this source
        return False


def identify_framework(frame: pd.DataFrame) -> tuple[str | None, dict[str, int]]:
    """The framework a membership file is about, from the words of its source/note cells.

    Returns the framework id (``None`` when no signature covers at least half the rows, or two
    tie) and the number of rows matching each framework.
    """
    text = (frame.get("source", pd.Series("", index=frame.index)).astype("str") + " "
            + frame.get("note", pd.Series("", index=frame.index)).astype("str")).str.lower()
    hits = {fid: int(text.str.contains("|".join(re.escape(w) for w in words), regex=True).sum())
            for fid, words in FRAMEWORK_SIGNATURES.items()}
    ranked = sorted(hits.items(), key=lambda kv: kv[1], reverse=True)
    best, score = ranked[0]
    if score == 0 or score * 2 < len(frame) or (len(ranked) > 1 and ranked[1][1] == score):
        return None, hits
    return best, hits


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "membership"


def read(path: Path) -> Raw:
    """The table as published (UTF-8), all cells text; the framework recognised from content."""
    path = check_file(Path(path))
    layout = _layout(csv_header(path))
    if layout is None:
        # name the columns missing from the layout the header comes closest to
        header = set(csv_header(path))
        closest = max(LAYOUTS.values(), key=lambda cols: len(header & set(cols)))
        read_csv_text(path, required=set(closest), fix=_FIX)  # raises for encoding, shape, columns
        raise InputFileError(path, "is not a membership table", _FIX, row=1)
    frame = read_csv_text(path, required=set(LAYOUTS[layout]), fix=_FIX, every_row=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    require_rows(path, frame, _FIX)
    meta = {"layout": layout}
    if layout == "frameworks":
        dataset = "frameworks"
    else:
        framework, hits = identify_framework(frame)
        meta["signature_hits"] = hits
        meta["framework_from"] = "content" if framework else "file name"
        framework = framework or _slug(path.stem)
        meta["framework"] = framework
        dataset = framework if layout == "membership" else f"{framework}_organisations"
    return Raw(path=path, dataset=dataset, frame=frame[LAYOUTS[layout]], first_row=2, meta=meta)


# -- normalisation ----------------------------------------------------------------------------
def normalise(raw: Raw) -> Normalised:
    """Observations (countries), organisation records and the row → source link table."""
    layout = raw.meta.get("layout") or _layout(list(raw.frame.columns))
    if layout == "frameworks":
        return _normalise_frameworks(raw)
    return _normalise_membership(raw, layout)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[column].astype("str").str.strip()


def _status_parts(published: pd.Series) -> pd.DataFrame:
    """Split each published status into its base word and whether it carried a qualifier."""
    lowered = published.str.lower().str.replace(r"\s+", " ", regex=True)
    base = lowered.str.replace(r"\s*\(.*\)\s*$", "", regex=True).str.strip()
    mapped = base.map(STATUS_MAP)
    return pd.DataFrame({
        "known": mapped.notna(),
        "category": mapped.str[0],
        "flag_text": mapped.str[1].astype("boolean").fillna(False) | (base != lowered),
        "date_column": mapped.str[2],
    }, index=published.index)


def _date_problem(values: pd.Series) -> pd.Series:
    """True where a non-empty date cell is not a real YYYY or YYYY-MM-DD date."""
    filled = values.ne("")
    shaped = values.str.fullmatch(_ISO_DATE.pattern)
    full = values.str.len().eq(10)
    month = values.str.len().eq(7)
    parsed = pd.Series(True, index=values.index)
    parsed[full] = pd.to_datetime(values[full], format="%Y-%m-%d", errors="coerce").notna()
    parsed[month] = pd.to_datetime(values[month], format="%Y-%m", errors="coerce").notna()
    year = pd.to_numeric(values.str[:4], errors="coerce")
    return filled & ~(shaped & parsed & year.between(1900, 2100))


def _note_flags(note: pd.Series) -> pd.Series:
    """Row caveats from the note: 'conflict: <words>' for the segments marked CONFLICT (the
    sources disagree) and 'unverified: <segment>' for facts the compiler could not source."""
    def one(text: str) -> str | None:
        segments = [p.strip() for p in text.split(" | ")]
        flags = [f"conflict: {_CONFLICT_LEAD.sub('', p) or p}" for p in segments if "CONFLICT" in p]
        flags += [f"unverified: {p}" for p in segments if "unverified" in p.lower()]
        return "; ".join(flags) or None
    return note.map(one)


def _normalise_membership(raw: Raw, layout: str) -> Normalised:
    frame = raw.frame
    framework = raw.meta.get("framework") or raw.dataset.removesuffix("_organisations")
    n = len(frame)
    row_number = row_numbers(raw)
    text = {c: _text(frame, c) for c in LAYOUTS[layout]}
    status = _status_parts(text["status"])
    signed = text.get("signed", pd.Series("", index=frame.index, dtype="str"))
    joined = text.get("ratified_or_joined", pd.Series("", index=frame.index, dtype="str"))

    # who: a country (ISO3 code, or the name where the code is blank) or an organisation
    if layout == "organisations":
        is_org = pd.Series(True, index=frame.index)
        iso3 = pd.Series(None, index=frame.index, dtype="str")
        country_status = pd.Series("organisation", index=frame.index)
        org_code, org_name = text["org_code"], text["organisation"]
        label = org_code
        country_note = pd.Series("", index=frame.index)
    else:
        code = text["iso3"].str.upper()
        code = code.where(code.ne(""), text["country"].str.lower().map(ORGANISATION_NAMES).fillna(""))
        is_org = code.isin(ORGANISATION_CODES)
        by_code = resolve(code[~is_org & code.ne("")].unique(), "iso3").set_index("value")
        by_name = resolve(text["country"][~is_org].unique(), "name").set_index("value")
        name_iso3 = text["country"].map(by_name["iso3"])
        iso3 = code.map(by_code["iso3"]).where(code.ne(""), name_iso3)
        country_status = code.map(by_code["status"]).where(code.ne(""), text["country"].map(by_name["status"]))
        country_status = country_status.where(~is_org, "organisation")
        country_note = code.map(by_code["note"]).where(code.ne(""), text["country"].map(by_name["note"]))
        org_code = code.where(is_org, "")
        org_name = org_code.map(ORGANISATION_CODES).fillna("")
        label = code.where(code.ne(""), text["country"])
        disagree = code.ne("") & ~is_org & name_iso3.notna() & iso3.notna() & name_iso3.ne(iso3)

    problems = [
        (~status["known"], "status",
         "status not recognised: '" + text["status"] + "' (expected one of: "
         + ", ".join(k for k in STATUS_MAP if k) + ", or empty for unknown)"),
        (country_status.eq("non_country"), "iso3",
         "not a country: " + label + " (" + country_note.astype("str").fillna("") + ")"),
        (country_status.isna() | country_status.eq("unmatched"), "iso3" if layout == "membership" else "org_code",
         "country not matched: " + label),
        (is_org & label.eq(""), "org_code", "organisation code missing"),
    ]
    if layout == "membership":
        problems.append((disagree, "country", "iso3 " + code + " disagrees with the country name '"
                         + text["country"] + "' (" + name_iso3.fillna("") + ")"))
    for column, values in (("signed", signed), ("ratified_or_joined", joined)):
        problems.append((_date_problem(values), column,
                         "date is not YYYY or YYYY-MM-DD: '" + values + "'"))
    quarantine, bad = collect_quarantine(frame, row_number, problems)
    keep = ~bad

    # the event the status names, and its date
    date = pd.Series(None, index=frame.index, dtype="str")
    date = date.where(~status["date_column"].eq("ratified_or_joined"), joined)
    date = date.where(~status["date_column"].eq("signed"), signed)
    date = date.where(date.ne(""), None)
    year = pd.to_numeric(date.str[:4], errors="coerce").astype("Int64")
    flag_status = ("published status: " + text["status"]).where(status["flag_text"], None)
    flag = _join_flags(flag_status, _note_flags(text["note"]))

    sources = pd.DataFrame({
        "framework": framework,
        "source_row": row_number,
        "member_kind": np.where(is_org, "organisation", "country"),
        "iso3": iso3.where(~is_org, None),
        "org_code": org_code.where(is_org, None),
        "name": (text["country"] if layout == "membership" else org_name).where(lambda s: s.ne(""), org_name),
        "status_published": text["status"],
        "category": status["category"],
        "signed": signed.where(signed.ne(""), None),
        "ratified_or_joined": joined.where(joined.ne(""), None),
        "source": text["source"].where(text["source"].ne(""), None),
        "note": text["note"].where(text["note"].ne(""), None),
    })[keep].astype({c: "str" for c in ["framework", "member_kind", "iso3", "org_code", "name",
                                         "status_published", "category", "signed", "ratified_or_joined",
                                         "source", "note"]})
    sources["source_row"] = sources["source_row"].astype("int64")

    orgs_mask = keep & is_org
    organisations = pd.DataFrame({
        "framework": framework,
        "source_row": row_number[orgs_mask].astype("int64"),
        "org_code": org_code[orgs_mask],
        "organisation": org_name[orgs_mask],
        "status_published": text["status"][orgs_mask],
        "category": status["category"][orgs_mask],
        "date": date[orgs_mask],
        "year": year[orgs_mask],
        "flag": flag[orgs_mask],
    }).astype({c: "str" for c in ["framework", "org_code", "organisation", "status_published", "category",
                                   "date", "flag"]})

    countries = keep & ~is_org
    obs = pd.DataFrame({
        "iso3": iso3[countries],
        "country": text["country"][countries] if layout == "membership" else None,
        "year": year[countries],
        "date": date[countries],
        "indicator": f"membership_{framework}",
        "measure": MEASURE,
        "category": status["category"][countries],
        "value": 1.0,
        "lower": 1.0,
        "upper": 1.0,
        "censored": False,
        "unit": UNIT,
        "status": "ok",
        "flag": flag[countries],
        "source_row": row_number[countries].astype("int64"),
        "source_rows": 1,
    })
    obs, notes = _duplicates(obs)
    notes = _framework_notes(raw, framework) + notes
    unknown = int(obs["category"].eq("unknown").sum())
    if unknown:
        notes.append(f"{unknown} row(s) have no confirmed status: category 'unknown' (not 'not_party').")
    undated = int(obs["year"].isna().sum())
    if undated:
        notes.append(f"{undated} row(s) have no published date for their status: year left empty.")
    if orgs_mask.any():
        notes.append(f"{int(orgs_mask.sum())} organisation row(s) ({', '.join(org_code[orgs_mask])}) kept in "
                     "records_membership_organisations, not as country observations.")
    records = {"membership_sources": sources.reset_index(drop=True)}
    if len(organisations):
        records["membership_organisations"] = organisations.reset_index(drop=True)
    return Normalised(observations=obs.reset_index(drop=True), quarantine=quarantine, rows_read=n,
                      rows_loaded=int(keep.sum()), records=records, notes=notes)


def _join_flags(*flags: pd.Series) -> pd.Series:
    joined = pd.concat(flags, axis=1).apply(
        lambda row: "; ".join(str(v) for v in row if v is not None and v == v) or None, axis=1)
    return joined.astype("object").where(joined.notna(), None)


def _duplicates(obs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Two rows for one country in one file: keep both, marked as a conflict."""
    dup = obs["iso3"].duplicated(keep=False)
    if not dup.any():
        return obs, []
    rows = obs[dup].groupby("iso3")["source_row"].agg(lambda s: ", ".join(str(r) for r in s))
    obs = obs.copy()
    obs.loc[dup, "status"] = "conflict"
    dup_flag = "duplicate: country appears in rows " + obs.loc[dup, "iso3"].map(rows)
    obs.loc[dup, "flag"] = _join_flags(obs.loc[dup, "flag"], dup_flag)
    return obs, [f"{int(dup.sum())} rows share a country with another row ({', '.join(rows.index)}): "
                 "all kept with status 'conflict'."]


def _framework_notes(raw: Raw, framework: str) -> list[str]:
    if raw.meta.get("framework_from") == "file name":
        return [f"framework not recognised from the content (source/note cells match no known framework): "
                f"id '{framework}' taken from the file name."]
    return []


def _normalise_frameworks(raw: Raw) -> Normalised:
    frame = raw.frame
    n = len(frame)
    row_number = row_numbers(raw)
    text = {c: _text(frame, c) for c in FRAMEWORK_COLUMNS}
    ids = text["id"]
    duplicated = ids.ne("") & ids.duplicated(keep=False)
    parts = []
    for mask, reason in ((ids.eq(""), "framework id missing"),
                         (duplicated, "framework id '" + ids + "' appears more than once")):
        if mask.any():
            reason_s = reason[mask] if isinstance(reason, pd.Series) else reason
            parts.append(quarantine_frame(frame[mask], row_number=row_number[mask], column="id", reason=reason_s))
    quarantine = concat_quarantine(*parts)
    keep = ids.ne("") & ~duplicated
    table = pd.DataFrame({"framework": ids, **{c: text[c] for c in FRAMEWORK_COLUMNS if c != "id"}})
    table = table.where(table.ne(""), None).astype("str")
    for column in ("adopted", "in_force"):
        table[f"{column}_year"] = pd.to_numeric(text[column].str[:4].where(
            text[column].str.fullmatch(_ISO_DATE.pattern)), errors="coerce").astype("Int64")
    table["source_row"] = row_number.astype("int64")
    table = table[keep].reset_index(drop=True)
    empty_obs = pd.DataFrame({"iso3": pd.Series(dtype="str"), "indicator": pd.Series(dtype="str")})
    return Normalised(observations=empty_obs, quarantine=quarantine, rows_read=n, rows_loaded=int(keep.sum()),
                      records={"frameworks": table})
