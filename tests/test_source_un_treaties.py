"""Ratification status of the 18 UN human-rights instruments (one file per instrument)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import tiplens
from tiplens.errors import InputFileError
from tiplens.sources import un_treaties

FOLDER = "un_hr_treaty_status"
#: file as published -> dataset (the instrument code of INSTRUMENTS)
FILES = {
    "hr_status_cat.csv": "cat", "hr_status_cedaw.csv": "cedaw", "hr_status_cped.csv": "cped",
    "hr_status_crc.csv": "crc", "hr_status_crpd.csv": "crpd", "hr_status_iccpr.csv": "iccpr",
    "hr_status_iccpr_op1.csv": "iccpr_op1", "hr_status_iccpr_op2.csv": "iccpr_op2",
    "hr_status_icerd.csv": "icerd", "hr_status_icescr.csv": "icescr", "hr_status_icescr_op.csv": "icescr_op",
    "hr_status_icmw.csv": "icmw", "hr_status_op_cedaw.csv": "cedaw_op", "hr_status_op_crc_ac.csv": "crc_opac",
    "hr_status_op_crc_ic.csv": "crc_opic", "hr_status_op_crc_sc.csv": "crc_opsc",
    "hr_status_op_crpd.csv": "crpd_op", "hr_status_opcat.csv": "cat_op",
}


def _load(path):
    raw = un_treaties.read(path)
    return raw, un_treaties.normalise(raw)


def _row(obs, iso3):
    row = obs[obs["iso3"] == iso3]
    assert len(row) == 1, (iso3, len(row))
    return row.iloc[0]


def test_detect_own_files_and_no_other(real_data):
    own = {real_data / FOLDER / name for name in FILES}
    assert all(un_treaties.detect(path) for path in own)
    others = [p for p in real_data.rglob("*") if p.is_file() and p not in own]
    assert [p for p in others if un_treaties.detect(p)] == []


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_file_instrument_and_accounting(real_data, name):
    raw, norm = _load(real_data / FOLDER / name)
    code = FILES[name]
    assert raw.dataset == f"hr_status_{code}"
    assert raw.meta["instrument_from"] == "content"
    # every file: 193 UN member states, all loaded
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (193, 193, 0)
    obs = norm.observations
    assert set(obs["indicator"]) == {f"treaty_{code}"}
    assert set(obs["measure"]) == {"treaty_event"}
    assert (obs["value"] == 1).all()
    assert obs["iso3"].nunique() == 193
    # a year exactly for the state parties that publish one
    parties = obs["category"] == "state_party"
    assert obs.loc[~parties, "year"].isna().all()


def test_op_crc_sc_counts(real_data):
    obs = _load(real_data / FOLDER / "hr_status_op_crc_sc.csv")[1].observations
    # PROVENANCE.md: OP-CRC-SC 176 state parties, 7 signatories, 10 no action; years 2000-2022
    assert obs["category"].value_counts().to_dict() == {"state_party": 176, "no_action": 10, "signatory_state": 7}
    years = obs["year"].dropna()
    assert (years.min(), years.max()) == (2000, 2022)


def test_pinned_rows(real_data):
    obs = _load(real_data / FOLDER / "hr_status_cedaw.csv")[1].observations
    # hr_status_cedaw.csv row 2: AF,Afghanistan,1,2003,0,0,state party,
    afghanistan = _row(obs, "AFG")
    assert (afghanistan["year"], afghanistan["date"], afghanistan["category"], afghanistan["source_row"]) \
        == (2003, "2003", "state_party", 2)
    # row 120: NA,Namibia,1,1992,... (ISO2 'NA' must stay Namibia)
    namibia = _row(obs, "NAM")
    assert (namibia["year"], namibia["source_row"]) == (1992, 120)
    # row 186: US,United States,0,,1,0,signatory state,
    usa = _row(obs, "USA")
    assert usa["category"] == "signatory_state" and pd.isna(usa["year"])

    obs = _load(real_data / FOLDER / "hr_status_op_crc_sc.csv")[1].observations
    # hr_status_op_crc_sc.csv row 186: US,United States,1,2002,0,0,state party,
    assert (_row(obs, "USA")["year"], _row(obs, "USA")["indicator"]) == (2002, "treaty_crc_opsc")


def test_flags(real_data):
    obs = _load(real_data / FOLDER / "hr_status_iccpr_op1.csv")[1].observations
    # row 85: JM,Jamaica,1,1975,0,1,state party,Denounced the OP 1997
    jamaica = _row(obs, "JAM")
    assert jamaica["year"] == 1975
    assert "disagree with status" in jamaica["flag"] and "Denounced the OP 1997" in jamaica["flag"]
    obs = _load(real_data / FOLDER / "hr_status_op_crc_ic.csv")[1].observations
    # row 163: S,South Sudan,0,,0,1,no action  ('S' is no code: resolved from the member name)
    south_sudan = _row(obs, "SSD")
    assert south_sudan["source_row"] == 163 and "not a country code" in south_sudan["flag"]
    # row 120: NA,Namibia,0,,0,1,no action (this file has no note column)
    assert _row(obs, "NAM")["category"] == "no_action"
    # East Timor's retired code TP -> TLS (override table)
    assert _row(obs, "TLS")["country"] == "East Timor"


def test_instrument_recognised_without_file_name(real_data, tmp_path):
    path = tmp_path / "download (3).csv"
    shutil.copy(real_data / FOLDER / "hr_status_op_crc_sc.csv", path)
    raw = un_treaties.read(path)
    assert (raw.dataset, raw.meta["instrument_from"]) == ("hr_status_crc_opsc", "content")


def _unrecognisable(real_data) -> str:
    lines = (real_data / FOLDER / "hr_status_cedaw.csv").read_text(encoding="utf-8").splitlines()
    return "\n".join(lines[:1] + ["AF,Afghanistan,1,2003,0,0,state party,", "NA,Namibia,0,,0,1,no action,"]) + "\n"


def test_file_name_fallback_and_error(real_data, tmp_path):
    named = tmp_path / "hr_status_cedaw.csv"
    named.write_text(_unrecognisable(real_data), encoding="utf-8")
    raw, norm = _load(named)
    assert (raw.dataset, raw.meta["instrument_from"]) == ("hr_status_cedaw", "file name")
    assert any("FILE NAME" in note for note in norm.notes)
    anonymous = tmp_path / "status.csv"
    anonymous.write_text(_unrecognisable(real_data), encoding="utf-8")
    with pytest.raises(InputFileError, match="which instrument") as err:
        un_treaties.read(anonymous)
    assert str(anonymous) in str(err.value)


def test_unknown_country_quarantined(real_data, tmp_path):
    text = (real_data / FOLDER / "hr_status_cedaw.csv").read_text(encoding="utf-8").replace(
        "AF,Afghanistan,", "QQ,Atlantis,", 1)
    path = tmp_path / "hr_status_cedaw.csv"
    path.write_text(text, encoding="utf-8")
    norm = un_treaties.normalise(un_treaties.read(path))
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (193, 192, 1)
    assert norm.quarantine.iloc[0]["reason"] == "country not matched: QQ / Atlantis"


def test_missing_column_raises(real_data, tmp_path):
    frame = pd.read_csv(real_data / FOLDER / "hr_status_crc.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "no_status.csv"
    frame.drop(columns=["status"]).to_csv(path, index=False)
    with pytest.raises(InputFileError, match="status") as err:
        un_treaties.read(path)
    assert str(path) in str(err.value)


def test_truncated_raises(real_data, tmp_path):
    text = (real_data / FOLDER / "hr_status_crc.csv").read_text(encoding="utf-8")
    path = tmp_path / "hr_status_crc.csv"
    path.write_text(text[: text.rstrip().rindex("\n") + 8], encoding="utf-8")
    with pytest.raises(InputFileError, match="truncated") as err:
        un_treaties.read(path)
    assert str(path) in str(err.value)


def test_latin1_raises(real_data, tmp_path):
    # hr_status_cedaw.csv has a note "As Côte d'Ivoire": in Latin-1 the ô is not UTF-8
    path = tmp_path / "hr_status_cedaw.csv"
    path.write_bytes((real_data / FOLDER / "hr_status_cedaw.csv").read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(InputFileError, match="not valid utf-8") as err:
        un_treaties.read(path)
    assert str(path) in str(err.value)


def test_ingest_two_instruments_side_by_side(real_data, empty_store):
    paths = [real_data / FOLDER / "hr_status_cedaw.csv", real_data / FOLDER / "hr_status_op_crc_sc.csv"]
    result = tiplens.ingest(paths, db=empty_store, edition="2022-08-25")
    assert [(r["dataset"], r["rows_loaded"], r["replaced"]) for r in result] == \
        [("hr_status_cedaw", 193, []), ("hr_status_crc_opsc", 193, [])]
    counts = dict(empty_store.con.execute(
        "SELECT indicator, count(*) FROM observations WHERE source = 'un_treaties' GROUP BY 1").fetchall())
    assert counts == {"treaty_cedaw": 193, "treaty_crc_opsc": 193}
