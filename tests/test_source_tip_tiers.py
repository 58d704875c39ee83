"""tip_tiers source on the real files; expected values read by hand from the CSVs (file, line noted)."""

from __future__ import annotations

import pandas as pd
import pytest

import tiplens as tl
from tiplens.errors import InputFileError
from tiplens.sources import tip_tiers
from table_helpers import one_row

ORIG = "tip_tiers_kelley/tip_tiers_orig.csv"
MAP = "tip_tiers_kelley/map_tiers.csv"
JOINED = "tip_tiers_kelley/year_joined.csv"
FUNDING = "tip_tiers_kelley/us_tip_funding_clean.csv"
FACTBOOK = "tip_tiers_factbook/factbook_tier_rating_snapshots.csv"
OWN = {ORIG, MAP, JOINED, FUNDING, FACTBOOK}


def _load(real_data, name):
    raw = tip_tiers.read(real_data / name)
    return raw, tip_tiers.normalise(raw)


@pytest.fixture(scope="module")
def orig(real_data):
    return _load(real_data, ORIG)[1]


@pytest.fixture(scope="module")
def funding(real_data):
    return _load(real_data, FUNDING)[1]


@pytest.fixture(scope="module")
def factbook(real_data):
    return _load(real_data, FACTBOOK)[1]


@pytest.mark.parametrize("name, dataset, read, loaded, quarantined", [
    # 1999-2000 rows predate the first report: 375 padding rows (measured)
    (ORIG, "kelley_tiers", 3208, 2833, 375),
    (MAP, "map_tiers", 3208, 2833, 375),
    (JOINED, "year_joined", 177, 177, 0),
    # 8 regional padding rows without a grant + 1 row with cowcode 2007 (a typo for Belarus)
    (FUNDING, "funding", 4284, 4275, 9),
    # 5 'update pending' placeholders + 3 texts without a year
    (FACTBOOK, "factbook_snapshots", 507, 499, 8),
])
def test_row_accounting(real_data, name, dataset, read, loaded, quarantined):
    raw, norm = _load(real_data, name)
    assert raw.dataset == dataset and raw.edition is None
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (read, loaded, quarantined)
    assert norm.quarantine["row_number"].is_unique


def test_tier_text_with_trailing_spaces(orig):
    # tip_tiers_orig.csv line 2770: "Sweden","SWE",2001,380,"Tier 2    "
    row = one_row(orig.observations, iso3="SWE", year=2001)
    assert (row.value, row.category, row.indicator, row.measure) == (2.0, "Tier 2", "tip_tier", "rated")
    # line 1212: "Haiti","HTI",2005,41,"Watchlist    " -> 2.5
    row = one_row(orig.observations, iso3="HTI", year=2005)
    assert (row.value, row.category) == (2.5, "Tier 2 Watch List")


def test_not_ranked_is_a_status_not_missing(orig):
    # line 1211: "Haiti","HTI",2004,41,NA (Special Case year) -> kept, value None
    row = one_row(orig.observations, iso3="HTI", year=2004)
    assert row.category == "Not ranked" and pd.isna(row.value) and "Special Case" in row.flag
    # line 2768: Sweden 1999 -> no report that year: quarantined as padding
    assert orig.observations.query("iso3 == 'SWE' and year < 2001").empty
    reason = orig.quarantine.set_index("row_number").loc[2768, "reason"]
    assert "first report is 2001" in reason


def test_map_tiers_codes_equal_text_panel(real_data, orig):
    # map_tiers.csv line 1212: Haiti,HTI,2005,41,3 -> code 3 is the Watch List, not Tier 3
    mapped = _load(real_data, MAP)[1].observations
    assert one_row(mapped, iso3="HTI", year=2005).value == 2.5
    key = ["iso3", "year"]
    left = orig.observations.set_index(key)[["value", "category"]].sort_index()
    right = mapped.set_index(key)[["value", "category"]].sort_index()
    pd.testing.assert_frame_equal(left, right)


def test_kosovo_code_is_xkx(orig):
    assert "XKX" in set(orig.observations["iso3"]) and "KOS" not in set(orig.observations["iso3"])


def test_funding_sums_grants_and_zero_padding(funding):
    obs = funding.observations
    # us_tip_funding_clean.csv lines 4-6: Afghanistan 2004: 101852 + 3e5 + 3e5
    row = one_row(obs, iso3="AFG", year=2004, indicator="us_tip_grants_usd")
    assert (row.value, row.lower, row.upper, bool(row.censored), row.source_rows) == (701852.0, 701852.0,
                                                                                     701852.0, False, 3)
    assert one_row(obs, iso3="AFG", year=2004, indicator="us_tip_grants_count").value == 3
    # line 2: Afghanistan 2002, one grant with amount NA ("Not Listed") -> lower bound only
    row = one_row(obs, iso3="AFG", year=2002, indicator="us_tip_grants_usd")
    assert bool(row.censored) and pd.isna(row.value) and row.lower == 0 and pd.isna(row.upper)
    # id 309, Belarus 2001, grant 0.0, amount 0.0: a padding row, not a grant. Spreadsheet row 310
    # (file line 311: the recipient cell of id 68 spans two lines)
    assert one_row(obs, iso3="BLR", year=2001, indicator="us_tip_grants_count").value == 0
    assert one_row(obs, iso3="BLR", year=2001, indicator="us_tip_grants_usd").value == 0
    grants = funding.records["us_tip_grants"]
    assert 310 not in set(grants["source_row"])
    # id 320 (row 321, file line 322): Belarus 2007 has cowcode 2007 (a year): quarantined, not guessed
    reason = funding.quarantine.set_index("row_number").loc[321, "reason"]
    assert reason.startswith("country not matched: Belarus")
    # regional grants are records without a country
    assert grants["iso3"].isna().sum() == 329
    assert "subgrantee" not in grants.columns


def test_factbook_gec_codes_and_partial_coverage(factbook):
    obs = factbook.observations
    # factbook_tier_rating_snapshots.csv line 2: africa/ag.json (GEC ag = Algeria), Tier 3, (2014)
    row = one_row(obs, iso3="DZA", year=2014)
    assert (row.value, row.category, row.status) == (3.0, "Tier 3", "ok")
    assert "lag" in row.flag
    # only Watch List / Tier 3 / Special Case can appear: absence is never imputed
    assert set(obs["category"]) <= {"Tier 2 Watch List", "Tier 3", "Special Case"}
    assert "DEU" not in set(obs["iso3"])
    special = obs[obs["category"].eq("Special Case")]
    assert len(special) > 0 and special["value"].isna().all()
    # Malaysia 2022: Tier 3 (line 358) and Tier 2 Watch List (line 359) under one label -> conflict
    mys = obs.query("iso3 == 'MYS' and year == 2022")
    assert sorted(mys["value"]) == [2.5, 3.0] and set(mys["status"]) == {"conflict"}


def test_gec_table_covers_every_code(real_data):
    frame = tip_tiers.read(real_data / FACTBOOK).frame
    codes = set(frame["factbook_file"].str.extract(r"/([a-z]{2})\.json$", expand=False))
    table = tip_tiers.gec_codes()
    assert codes <= set(table["gec"]) and table["iso3"].str.fullmatch(r"[A-Z]{3}").all()


def test_detect_own_files_and_no_other(real_data):
    for name in OWN:
        assert tip_tiers.detect(real_data / name), name
    others = [p for p in real_data.rglob("*") if p.is_file() and str(p.relative_to(real_data)) not in OWN]
    assert others
    assert [p for p in others if tip_tiers.detect(p)] == []


def test_missing_column_is_an_error(real_data, tmp_path):
    frame = pd.read_csv(real_data / FUNDING, dtype=str, keep_default_na=False).drop(columns=["amount"])
    bad = tmp_path / "funding.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(InputFileError, match="amount") as info:
        tip_tiers.read(bad)
    assert str(bad) in str(info.value)


def test_truncated_file_is_an_error(real_data, tmp_path):
    data = (real_data / ORIG).read_bytes()
    bad = tmp_path / "tiers.csv"
    bad.write_bytes(data[: len(data) // 2 + 7])
    with pytest.raises(InputFileError) as info:
        tip_tiers.read(bad)
    assert str(bad) in str(info.value)


def test_latin1_file_is_an_error(real_data, tmp_path):
    text = (real_data / JOINED).read_text(encoding="utf-8").replace("Cote d'Ivoire", "Côte d'Ivoire")
    bad = tmp_path / "year_joined.csv"
    bad.write_bytes(text.encode("latin-1"))
    assert "Côte".encode("latin-1") in bad.read_bytes()
    with pytest.raises(InputFileError, match="not valid utf-8") as info:
        tip_tiers.read(bad)
    assert str(bad) in str(info.value)


def test_ingest(real_data, empty_store):
    result = tl.ingest([real_data / ORIG, real_data / FUNDING], db=empty_store, edition="2017-08-14")
    assert [r["rows_loaded"] for r in result] == [2833, 4275]
    counts = empty_store.table_counts()
    assert counts["records_us_tip_grants"] == 2423
    assert counts["quarantine"] == 375 + 9
