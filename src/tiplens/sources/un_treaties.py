"""Ratification status of the 18 core UN human-rights instruments, one file per instrument.

Files: ``hr_status_<instrument>.csv`` of world-politics-datalab/humanrights-treaties-ratification-status
(extracted from the UN Treaty Collection, snapshot 2022). Columns ``iso2, member, state party,
year ratification or accession, signatory, no action, status, note`` (no ``note`` in the OP-CRC
communications-procedure file); one row per UN member state (193).

Datasets (``Raw.dataset``): ``hr_status_<code>``, one per instrument (:data:`INSTRUMENTS`), so the 18
files of one edition do not replace each other in the store (a file's identity there is
(source, dataset, edition)).

Indicator emitted: ``treaty_<code>`` (``treaty_cedaw``, ``treaty_crc_opsc`` ...), measure
``treaty_event``, ``value`` 1, ``category`` the status as published in snake_case (``state_party``,
``signatory_state``, ``no_action``), ``year`` the year of ratification or accession (also in
``date`` as ``YYYY``). The files give no year for signatures, and "no action" is not an event:
those rows are observations *without a year* (status as of the 2022 snapshot), so they never
reach a country-year panel but do say who had not ratified.

Which instrument a file holds: the content does not name it (all 18 files share one header).
It is recognised from the data instead: :data:`INSTRUMENTS` lists, per instrument, four
(iso2, year) ratifications taken from the 2022 files that occur in that instrument's file only;
a file is that instrument when at least three of them are among its state parties, and exactly
one instrument matches. Ratification years do not change, so later snapshots keep matching.
Only if no instrument (or more than one) matches does :func:`read` fall back on the file name
``hr_status_<name>.csv``, and says so in ``Raw.meta['instrument_from']`` and in the notes; a file
that neither content nor name identifies raises :class:`InputFileError`.

Traps handled:

* Namibia's ``iso2`` is the string ``NA``: read as text (``read_csv_text``), never as missing.
* ``TP`` (East Timor) is a retired ISO code (override table); ``S`` (South Sudan in the OP-CRC-IC
  file) is no code at all: where ``iso2`` is not a code the country is resolved from ``member``,
  with a flag. Where both resolve but disagree, ``iso2`` wins and the row is flagged.
* The 0/1 columns ``state party``, ``signatory``, ``no action`` sometimes disagree with ``status``
  (e.g. a state party with ``no action`` 1, or all three 0): ``status`` is used, the row is
  flagged. A state party without a year is loaded without a year and flagged.
* The ``note`` column (e.g. "Denounced the OP 1997" for Jamaica and ICCPR-OP1) is kept in ``flag``.
* Only UN member states, status as of mid-2022, year only. The Palermo Protocol is not among these
  instruments.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..harmonise.codes import resolve_rows
from ._base import Normalised, Raw, check_file, collect_quarantine, csv_header, read_csv_text, require_rows, row_numbers

NAME = "un_treaties"
TITLE = "Ratification status of the core UN human-rights instruments (UN Treaty Collection, 2022 snapshot)"
PUBLISHER = "United Nations Treaty Collection; compiled by world-politics-datalab"
CITATION = ("United Nations Treaty Collection, Chapter IV (Human Rights), status of treaties; as compiled in "
            "world-politics-datalab/humanrights-treaties-ratification-status (2022)")
TERMS = "Facts from the UN Treaty Collection (treaties.un.org); the compilation states no licence."
REDISTRIBUTABLE = False

REQUIRED = ["iso2", "member", "state party", "year ratification or accession", "signatory", "no action",
            "status"]
MEASURE = "treaty_event"
EXPECTED_FLAGS = {"state party": ("1", "0", "0"), "signatory state": ("0", "1", "0"), "no action": ("0", "0", "1")}

#: instrument code -> (file name stem as published, title, year adopted, fingerprint of 4 (iso2, year)
#: ratifications found in that instrument's 2022 file and in no other of the 18)
INSTRUMENTS: dict[str, tuple[str, str, int, list[tuple[str, int]]]] = {
    "icerd": ("icerd", "International Convention on the Elimination of All Forms of Racial Discrimination", 1965,
              [("BG", 1966), ("BR", 1966), ("EC", 1966), ("GB", 1966)]),
    "icescr": ("icescr", "International Covenant on Economic, Social and Cultural Rights", 1966,
               [("PH", 1974), ("HN", 1981), ("KP", 1981), ("GR", 1985)]),
    "icescr_op": ("icescr_op", "Optional Protocol to the International Covenant on Economic, Social and "
                  "Cultural Rights", 2008, [("ES", 2010), ("MN", 2010), ("AR", 2011), ("SV", 2011)]),
    "iccpr": ("iccpr", "International Covenant on Civil and Political Rights", 1966,
              [("GM", 1979), ("GQ", 1979), ("AU", 1980), ("HT", 1991)]),
    "iccpr_op1": ("iccpr_op1", "Optional Protocol to the International Covenant on Civil and Political Rights",
                  1966, [("PE", 1980), ("PT", 1983), ("FR", 1984), ("ES", 1985)]),
    "iccpr_op2": ("iccpr_op2", "Second Optional Protocol to the International Covenant on Civil and Political "
                  "Rights, aiming at the abolition of the death penalty", 1989,
                  [("NZ", 1990), ("ES", 1991), ("IS", 1991), ("RO", 1991)]),
    "cedaw": ("cedaw", "Convention on the Elimination of All Forms of Discrimination against Women", 1979,
              [("BB", 1980), ("CN", 1980), ("CU", 1980), ("DM", 1980)]),
    "cedaw_op": ("op_cedaw", "Optional Protocol to the Convention on the Elimination of All Forms of "
                 "Discrimination against Women", 1999, [("AT", 2000), ("DK", 2000), ("FI", 2000), ("FR", 2000)]),
    "cat": ("cat", "Convention against Torture and Other Cruel, Inhuman or Degrading Treatment or Punishment",
            1984, [("BG", 1986), ("BZ", 1986), ("CH", 1986), ("CM", 1986)]),
    "cat_op": ("opcat", "Optional Protocol to the Convention against Torture", 2002,
               [("MT", 2003), ("AR", 2004), ("DK", 2004), ("CR", 2005)]),
    "crc": ("crc", "Convention on the Rights of the Child", 1989,
            [("AO", 1990), ("AR", 1990), ("BB", 1990), ("BD", 1990)]),
    "crc_opac": ("op_crc_ac", "Optional Protocol to the Convention on the Rights of the Child on the involvement "
                 "of children in armed conflict", 2000, [("CA", 2000), ("LK", 2000), ("MC", 2001), ("AR", 2002)]),
    "crc_opsc": ("op_crc_sc", "Optional Protocol to the Convention on the Rights of the Child on the sale of "
                 "children, child prostitution and child pornography", 2000,
                 [("CD", 2001), ("CU", 2001), ("MA", 2001), ("NO", 2001)]),
    "crc_opic": ("op_crc_ic", "Optional Protocol to the Convention on the Rights of the Child on a communications "
                 "procedure", 2011, [("TH", 2012), ("DE", 2013), ("ES", 2013), ("SK", 2013)]),
    "icmw": ("icmw", "International Convention on the Protection of the Rights of All Migrant Workers and "
             "Members of Their Families", 1990, [("EG", 1993), ("CO", 1995), ("PH", 1995), ("BA", 1996)]),
    "cped": ("cped", "International Convention for the Protection of All Persons from Enforced Disappearance",
             2006, [("BO", 2008), ("MX", 2008), ("SN", 2008), ("CL", 2009)]),
    "crpd": ("crpd", "Convention on the Rights of Persons with Disabilities", 2006,
             [("BD", 2007), ("IN", 2007), ("JM", 2007), ("NI", 2007)]),
    "crpd_op": ("op_crpd", "Optional Protocol to the Convention on the Rights of Persons with Disabilities", 2006,
                [("BD", 2008), ("RO", 2008), ("AU", 2009), ("SB", 2009)]),
}
MIN_FINGERPRINT_HITS = 3
_FILE_STEM = re.compile(r"^hr_status_(.+)$")
_FIX = ("Use an hr_status_<instrument>.csv file of world-politics-datalab/humanrights-treaties-ratification-status "
        "(columns " + ", ".join(REQUIRED) + ", note)")


def detect(path: Path) -> bool:
    """True for the treaty-status header (iso2, member, state party, ..., status)."""
    try:
        header = {c.strip() for c in csv_header(Path(path))}
        return set(REQUIRED) <= header
    except Exception:  # detection never raises
        return False


def identify_instrument(frame: pd.DataFrame) -> list[str]:
    """Instrument codes whose fingerprint matches the file's state parties (ideally exactly one)."""
    party = frame["status"].astype("str").str.strip().str.lower().eq("state party")
    pairs = set(zip(frame.loc[party, "iso2"].astype("str").str.strip(),
                    frame.loc[party, "year ratification or accession"].astype("str").str.strip()))
    return [code for code, (*_, fingerprint) in INSTRUMENTS.items()
            if sum((iso2, str(year)) in pairs for iso2, year in fingerprint) >= MIN_FINGERPRINT_HITS]


def _instrument_from_file_name(path: Path) -> str | None:
    match = _FILE_STEM.match(path.stem.lower())
    if not match:
        return None
    return next((code for code, (stem, *_) in INSTRUMENTS.items() if stem == match.group(1) or code == match.group(1)),
                None)


def read(path: Path) -> Raw:
    """One instrument's status table, every cell text; the instrument recognised from the content."""
    path = check_file(Path(path))
    frame = read_csv_text(path, required=set(REQUIRED), fix=_FIX)
    frame.columns = [str(c).strip() for c in frame.columns]
    require_rows(path, frame, _FIX)
    if "note" not in frame.columns:
        frame["note"] = ""  # the OP-CRC-IC file has no note column; an empty one keeps the layout uniform
    matches = identify_instrument(frame)
    if len(matches) == 1:
        code, origin = matches[0], "content"
    else:
        code, origin = _instrument_from_file_name(path), "file name"
        if code is None:
            found = f"matches {', '.join(matches)}" if matches else "matches none of the 18 instruments"
            raise InputFileError(path, f"does not show which instrument it covers (its ratification list {found}, "
                                 "and the file name is not hr_status_<instrument>.csv)",
                                 "Name the file hr_status_<instrument>.csv as published (e.g. hr_status_cedaw.csv)")
    return Raw(path=path, dataset=f"hr_status_{code}", frame=frame, first_row=2, edition=None,
               meta={"instrument": code, "instrument_title": INSTRUMENTS[code][1], "instrument_from": origin})


def _snake(text: pd.Series) -> pd.Series:
    return text.str.strip().str.lower().str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_")


def normalise(raw: Raw) -> Normalised:
    """One treaty-status observation per member state; unknown countries quarantined."""
    frame = raw.frame
    n = len(frame)
    code = raw.meta.get("instrument") or raw.dataset.removeprefix("hr_status_")
    row_number = row_numbers(raw)
    text = {c: frame[c].astype("str").str.strip() for c in [*REQUIRED, "note"]}
    iso2, member, status_text = text["iso2"], text["member"], text["status"]

    code_iso3, code_status, code_note = resolve_rows(iso2, "iso2")
    name_iso3, name_status, name_note = resolve_rows(member, "name")
    from_name = code_status.eq("unmatched") & name_status.isin(["matched", "override"])
    iso3 = code_iso3.where(~from_name, name_iso3)
    country_status = code_status.where(~from_name, name_status)
    country_note = code_note.where(~from_name, name_note)
    disagree = ~from_name & code_iso3.notna() & name_iso3.notna() & code_iso3.ne(name_iso3)

    problems = [
        (country_status.eq("non_country"), "iso2", "not a country: " + iso2 + " / " + member
         + " (" + country_note + ")"),
        (country_status.eq("unmatched"), "iso2", "country not matched: " + iso2 + " / " + member),
        (status_text.eq(""), "status", pd.Series("no status", index=frame.index)),
    ]
    quarantine, rejected = collect_quarantine(frame, row_number, problems)
    keep = ~rejected

    year_text = text["year ratification or accession"]
    year = pd.to_numeric(year_text, errors="coerce")
    valid_year = year.notna() & (year % 1 == 0) & year.between(1945, 2100)
    is_party = status_text.str.lower().eq("state party")
    expected = status_text.str.lower().map(EXPECTED_FLAGS)
    published = pd.Series(list(zip(text["state party"], text["signatory"], text["no action"])), index=frame.index)
    flags_disagree = expected.notna() & (expected != published)

    flag_parts = [
        (from_name, "iso2 " + iso2.map(repr) + " is not a country code: country from the member name"),
        (disagree, "iso2 " + iso2 + " and member name " + member + " point to different countries (iso2 used)"),
        (flags_disagree, "columns state party/signatory/no action = " + published.map("/".join)
         + " disagree with status (status used)"),
        (is_party & year_text.eq(""), pd.Series("state party without a year of ratification or accession",
                                                index=frame.index)),
        (year_text.ne("") & ~valid_year, "year is not a year: " + year_text),
        (~is_party & valid_year, "year given for a non-party (" + year_text + "): not used"),
        (text["note"].ne(""), "note: " + text["note"]),
    ]
    flag = pd.Series("", index=frame.index)
    for mask, message in flag_parts:
        flag = flag.where(~mask, flag + np.where(flag.eq(""), "", "; ") + message)
    event_year = year.where(valid_year & is_party).astype("Int64")
    obs = pd.DataFrame({
        "iso3": iso3[keep].to_numpy(),
        "country": member[keep].to_numpy(),
        "year": event_year[keep].array,
        "date": event_year[keep].astype("str").where(event_year[keep].notna(), None).to_numpy(),
        "indicator": f"treaty_{code}",
        "measure": MEASURE,
        "category": _snake(status_text[keep]).to_numpy(),
        "value": 1.0, "lower": 1.0, "upper": 1.0,
        "censored": False,
        "unit": "event (1 = the status holds)",
        "status": "ok",
        "flag": flag[keep].where(flag[keep].ne(""), None).to_numpy(),
        "source_row": row_number[keep].to_numpy(),
        "source_rows": 1,
    })
    duplicated = obs["iso3"].duplicated(keep=False).to_numpy()
    notes = [f"instrument {code} ({INSTRUMENTS[code][1]}) recognised from the "
             + ("ratification list (content)" if raw.meta.get("instrument_from") != "file name"
                else "FILE NAME: the content's ratification list did not identify it")]
    if duplicated.any():
        obs.loc[duplicated, "status"] = "conflict"
        obs.loc[duplicated, "flag"] = "conflict: country given on several rows"
        notes.append(f"{int(duplicated.sum())} rows name a country that another row names too: kept, "
                     "flagged status='conflict'")
    return Normalised(observations=obs, quarantine=quarantine, rows_read=n, rows_loaded=int(keep.sum()),
                      notes=notes)
