"""Every public file loads, accounted for, with its countries harmonised."""

from __future__ import annotations

import pytest

import tiplens as tl
from tiplens._default import catalogue
from tiplens.sources import SOURCES


@pytest.fixture(scope="module")
def everything(real_data, tmp_path_factory):
    store = tl.open_store(tmp_path_factory.mktemp("all") / "all.duckdb", with_default=False)
    results = []
    for source, entry in catalogue().items():
        for item in entry.get("files") or []:
            if item.get("duplicate_of"):
                continue
            results += tl.ingest([real_data / item["mirror_path"]], db=store, source=source,
                                 edition=item.get("edition"))
    yield store, results
    store.close()


def test_every_source_loads(everything):
    store, results = everything
    loaded = {r["source"] for r in results}
    # CTDC's real files are not public here (its loader is tested on generated files)
    assert loaded == set(SOURCES) - {"ctdc"}
    for r in results:
        assert r["rows_read"] == r["rows_loaded"] + r["rows_quarantined"], r
    files = store.files()
    assert (files["rows_read"] == files["rows_loaded"] + files["rows_quarantined"]).all()


def test_unmatched_country_names_are_explained(everything):
    store, _ = everything
    unmatched = tl.quarantine(db=store, reason="not matched")
    # The one name left: tip_tiers_kelley/us_tip_funding_clean.csv gives Belarus the COW code 2007
    # (a year typed into the code column); the name and the code disagree, so the row is not guessed.
    assert [(r.source, r.dataset, r.row_number) for r in unmatched.itertuples()] == [("tip_tiers", "funding", 321)]
    assert "Belarus" in unmatched["reason"].iloc[0]


def test_every_observation_has_a_known_country(everything):
    store, _ = everything
    obs = store.observations(newest=False, include_conflicts=True)
    countries = set(store.countries()["iso3"])
    with_country = obs[obs["iso3"].notna()]
    assert set(with_country["iso3"]) <= countries
    # rows without a country are only the US-state hotline figures and world counts kept as such
    assert set(obs.loc[obs["iso3"].isna(), "source"]) <= {"case_law"}


def test_regions_from_m49_and_from_the_sources(everything):
    store, _ = everything
    countries = store.countries().set_index("iso3")
    # UN M49: Bolivia is in the Americas, Latin America and the Caribbean, South America
    assert tuple(countries.loc["BOL", ["m49_region", "m49_subregion", "m49_intermediate"]]) == (
        "Americas", "Latin America and the Caribbean", "South America")
    # GLOTIP 2025 CSV line 2: ABW ... Americas, Latin America and the Caribbean
    assert countries.loc["ABW", "unodc_region"] == "Americas"
    assert countries.loc["XSQ", "name"] == "Sark"
    assert isinstance(countries.loc["NOR", "walkfree_region"], str)
