"""kelley_simmons source on the real files; expected values read by hand from the CSVs (file, line noted)."""

from __future__ import annotations

import pandas as pd
import pytest

import tiplens as tl
from tiplens.errors import InputFileError
from tiplens.sources import kelley_simmons
from table_helpers import one_row

PANEL = "kelley_simmons_panel/kelley_simmons_ajps_2014_replication.csv"
CRIM = "kelley_simmons_panel/criminalization_jk_2015-08-10.csv"
PALERMO = "kelley_simmons_panel/palermo_ratification_year_derived.csv"
COUNTS = "kelley_simmons_panel/palermo_ratifications_count.csv"
OWN = {PANEL, CRIM, PALERMO, COUNTS}


def _load(real_data, name):
    raw = kelley_simmons.read(real_data / name)
    return raw, kelley_simmons.normalise(raw)


@pytest.fixture(scope="module")
def panel(real_data):
    return _load(real_data, PANEL)[1]


@pytest.fixture(scope="module")
def palermo(real_data):
    return _load(real_data, PALERMO)[1]


@pytest.mark.parametrize("name, dataset, read, loaded, quarantined", [
    (PANEL, "ajps_panel", 8100, 2340, 5760),         # 180 countries x 32 padding years 1967-1998
    (CRIM, "criminalization", 8265, 7388, 877),      # 877 rows with neither crimlevel nor adjcrimlevel
    (PALERMO, "palermo_year", 180, 180, 0),
    (COUNTS, "ratification_counts", 15, 15, 0),
])
def test_row_accounting(real_data, name, dataset, read, loaded, quarantined):
    raw, norm = _load(real_data, name)
    assert raw.dataset == dataset and raw.edition is None
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (read, loaded, quarantined)


def test_padding_rows_quarantined_with_reason(panel):
    reasons = panel.quarantine["reason"]
    assert reasons.eq("padding row outside the substantive years 1999-2011").all()
    assert panel.observations["year"].between(1999, 2011).all()
    # line 6153: Albania 1998 (padding) holds rule_of_law -0.8104624, yet nothing of it is loaded
    assert 6153 in set(panel.quarantine["row_number"])
    assert not panel.observations["source_row"].eq(6153).any()


def test_panel_values_read_by_hand(panel):
    obs = panel.observations
    # line 6160: Albania, 2005, cowcode 339: ratproto2000 1, rule_of_law -0.8104624, fh_pr 3.0, women_par 7.1
    assert one_row(obs, iso3="ALB", year=2005, indicator="palermo_ratified").value == 1
    row = one_row(obs, iso3="ALB", year=2005, indicator="rule_of_law")
    assert row.value == pytest.approx(-0.8104624) and "per-country constant" in row.flag
    assert one_row(obs, iso3="ALB", year=2005, indicator="fh_political_rights").value == 3
    assert one_row(obs, iso3="ALB", year=2005, indicator="women_in_parliament_pct").value == pytest.approx(7.1)
    # line 6165: Albania 2010: rule_of_law NA (the constant stops in 2009)
    assert obs.query("iso3 == 'ALB' and year == 2010 and indicator == 'rule_of_law'").empty
    # line 4897: Somalia 2002 women_par -1.0 is a missing code, not a share
    assert obs.query("iso3 == 'SOM' and year == 2002 and indicator == 'women_in_parliament_pct'").empty
    assert not obs.query("indicator == 'women_in_parliament_pct'")["value"].lt(0).any()
    # no tier/3P duplicates, and never a 555/666 sentinel
    assert not obs["value"].isin([555, 666]).any()


def test_criminalization_as_coded(real_data):
    obs = _load(real_data, CRIM)[1].observations
    # line 133: Bahamas,6,2008,31,crimlevel 2.0,adjcrimlevel 0.0,month 12.0,crim 1.0
    row = one_row(obs, iso3="BHS", year=2008, indicator="criminalization")
    assert (row.value, row.category, row.measure) == (2.0, "full", "rated")
    assert row.flag == "criminalization changed this year (month 12)"
    assert one_row(obs, iso3="BHS", year=2008, indicator="criminalization_adjusted").value == 0.0
    # line 134: Bahamas 2009: 2.0 / 2.0
    assert one_row(obs, iso3="BHS", year=2009, indicator="criminalization_adjusted").value == 2.0


def test_palermo_year_and_censoring(palermo):
    obs = palermo.observations
    # line 3: Albania,339,2004,2002,1,2004
    row = one_row(obs, iso3="ALB")
    assert (row.value, row.lower, row.upper, row.year, bool(row.censored)) == (2004, 2004, 2004, 2004, False)
    assert row.measure == "treaty_event"
    # line 2: Afghanistan,700,2012,2003,0,(blank): not ratified by 2011 -> censored, not "never"
    row = one_row(obs, iso3="AFG")
    assert bool(row.censored) and pd.isna(row.value) and row.lower == 2012 and pd.isna(row.upper)
    assert row.year == 2011 and row.category == "not ratified by 2011" and "not 'never'" in row.flag
    # line 36: China,710,2012,2003,1,2010: protocoldate 2012 is the placeholder, the year is 2010
    row = one_row(obs, iso3="CHN")
    assert row.value == 2010 and "placeholder" in row.flag
    # PROVENANCE: 139 countries ratify by 2011, 41 censored
    assert (~obs["censored"]).sum() == 139 and obs["censored"].sum() == 41


def test_counts_are_records_not_observations(real_data):
    norm = _load(real_data, COUNTS)[1]
    assert len(norm.observations) == 0
    counts = norm.records["palermo_ratification_counts"]
    # line 2: 2001,4,4
    first = counts.iloc[0]
    assert (first.year, first.new_ratifications, first.cumulative_ratifications) == (2001, 4, 4)


def test_detect_own_files_and_no_other(real_data):
    for name in OWN:
        assert kelley_simmons.detect(real_data / name), name
    others = [p for p in real_data.rglob("*") if p.is_file() and str(p.relative_to(real_data)) not in OWN]
    assert others and [p for p in others if kelley_simmons.detect(p)] == []


def test_missing_column_is_an_error(real_data, tmp_path):
    frame = pd.read_csv(real_data / CRIM, dtype=str, keep_default_na=False).drop(columns=["crimlevel"])
    bad = tmp_path / "crim.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(InputFileError, match="crimlevel") as info:
        kelley_simmons.read(bad)
    assert str(bad) in str(info.value)


def test_truncated_file_is_an_error(real_data, tmp_path):
    data = (real_data / PALERMO).read_bytes()
    bad = tmp_path / "palermo.csv"
    bad.write_bytes(data[: len(data) // 2 + 3])
    with pytest.raises(InputFileError) as info:
        kelley_simmons.read(bad)
    assert str(bad) in str(info.value)


def test_latin1_file_is_an_error(real_data, tmp_path):
    text = (real_data / PALERMO).read_text(encoding="utf-8").replace("Albania", "Albània")
    bad = tmp_path / "palermo.csv"
    bad.write_bytes(text.encode("latin-1", errors="replace"))
    with pytest.raises(InputFileError, match="not valid utf-8") as info:
        kelley_simmons.read(bad)
    assert str(bad) in str(info.value)


def test_ingest(real_data, empty_store):
    result = tl.ingest([real_data / PALERMO, real_data / COUNTS], db=empty_store, edition="2017-08-14")
    assert [r["rows_loaded"] for r in result] == [180, 15]
    counts = empty_store.table_counts()
    assert counts["observations"] == 180 and counts["records_palermo_ratification_counts"] == 15
