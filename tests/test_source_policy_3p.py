"""policy_3p source on the real files; expected values read by hand from the CSVs (file, line noted)."""

from __future__ import annotations

import pandas as pd
import pytest

import tiplens as tl
from tiplens.errors import InputFileError
from tiplens.sources import policy_3p

POLICY = "anti_tip_policy_3p/policy_index.csv"
CHO = "anti_tip_policy_3p/criminalization-cho-tiers_jk_2015-08-10.csv"
OWN = {POLICY, CHO}


def _load(real_data, name):
    raw = policy_3p.read(real_data / name)
    return raw, policy_3p.normalise(raw)


@pytest.fixture(scope="module")
def policy(real_data):
    return _load(real_data, POLICY)[1]


@pytest.fixture(scope="module")
def cho(real_data):
    return _load(real_data, CHO)[1]


def _value(obs, **key):
    mask = pd.Series(True, index=obs.index)
    for col, val in key.items():
        mask &= obs[col].eq(val)
    rows = obs[mask]
    assert len(rows) == 1, rows
    return rows.iloc[0].value


@pytest.mark.parametrize("name, dataset", [(POLICY, "policy_index"), (CHO, "cho_tiers")])
def test_row_accounting(real_data, name, dataset):
    raw, norm = _load(real_data, name)
    assert raw.dataset == dataset and raw.edition is None
    # 3,021 rows; 867 carry no 3P score at all (all of 1999, unscored country-years)
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (3021, 2154, 867)
    assert norm.quarantine["reason"].str.startswith("no 3P score").all()
    # PROVENANCE: 2,125 non-missing p, 2,136-2,144 per component
    assert norm.observations.groupby("indicator").size().to_dict() == {
        "p3_prevention": 2136, "p3_prosecution": 2144, "p3_protection": 2140, "p3_total": 2125}


def test_scores_read_by_hand(policy, cho):
    obs = policy.observations
    # policy_index.csv line 3: "Canada",2000,20,NA,p=10,prosecution=3,prevention=4,protection=3
    assert _value(obs, iso3="CAN", year=2000, indicator="p3_total") == 10
    assert _value(obs, iso3="CAN", year=2000, indicator="p3_prosecution") == 3
    assert _value(obs, iso3="CAN", year=2000, indicator="p3_prevention") == 4
    assert _value(obs, iso3="CAN", year=2000, indicator="p3_protection") == 3
    assert set(obs["measure"]) == {"rated"}


def test_code_mac_is_two_countries_join_on_cow(cho):
    obs = cho.observations
    # criminalization-cho-tiers line 861: Macedonia,2010,343,...,MAC,5,3,5,13 and line 3002: Macau,2010,1002,
    # ...,MAC,4,3,3,10: the same 'code' MAC, two countries; COW 343 = MKD, the files' own 1002 = MAC
    assert _value(obs, iso3="MKD", year=2010, indicator="p3_total") == 13
    assert _value(obs, iso3="MAC", year=2010, indicator="p3_total") == 10
    assert _value(obs, iso3="MAC", year=2010, indicator="p3_prosecution") == 4


def test_sentinel_tiers_never_become_values(cho):
    # line 1689: Somalia,2006,520,666.0 (Special Case), 3P 1/1/1/3: scores load, 666 is no tier and no score
    obs = cho.observations
    assert _value(obs, iso3="SOM", year=2006, indicator="p3_total") == 3
    assert not obs["value"].isin([555, 666]).any()
    assert "tip_tier" not in set(obs["indicator"])


def test_both_files_carry_the_same_scores(policy, cho):
    key = ["iso3", "year", "indicator"]
    left = policy.observations.set_index(key)["value"].sort_index()
    right = cho.observations.set_index(key)["value"].sort_index()
    pd.testing.assert_series_equal(left, right)


def test_detect_own_files_and_no_other(real_data):
    for name in OWN:
        assert policy_3p.detect(real_data / name), name
    others = [p for p in real_data.rglob("*") if p.is_file() and str(p.relative_to(real_data)) not in OWN]
    assert others and [p for p in others if policy_3p.detect(p)] == []


def test_missing_column_is_an_error(real_data, tmp_path):
    frame = pd.read_csv(real_data / POLICY, dtype=str, keep_default_na=False).drop(columns=["prosecution"])
    bad = tmp_path / "policy.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(InputFileError, match="prosecution") as info:
        policy_3p.read(bad)
    assert str(bad) in str(info.value)


def test_truncated_file_is_an_error(real_data, tmp_path):
    data = (real_data / CHO).read_bytes()
    bad = tmp_path / "cho.csv"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputFileError) as info:
        policy_3p.read(bad)
    assert str(bad) in str(info.value)


def test_latin1_file_is_an_error(real_data, tmp_path):
    # the file is UTF-8 ("Cote D’Ivoire"); a cp1252/Latin-1 copy must be refused, not misread
    text = (real_data / CHO).read_text(encoding="utf-8").replace("’", "'").replace("Canada", "Canadá")
    bad = tmp_path / "cho.csv"
    bad.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputFileError, match="not valid utf-8") as info:
        policy_3p.read(bad)
    assert str(bad) in str(info.value)


def test_ingest(real_data, empty_store):
    result = tl.ingest([real_data / POLICY], db=empty_store, edition="2015-12-03")
    assert result[0]["rows_loaded"] == 2154 and result[0]["rows_quarantined"] == 867
    assert empty_store.table_counts()["observations"] == 2136 + 2144 + 2140 + 2125
