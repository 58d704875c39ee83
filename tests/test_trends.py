"""tiplens.analysis.trends and .plots: coverage-aware series on the real GLOTIP 2025 release."""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest

import tiplens
from tiplens.analysis import plots, trends
from tiplens.errors import TiplensError

GLOTIP = "unodc_glotip/data_glotip_2025-04-14.csv"
HDR = "undp_hdr_2023_24/HDR23-24_Composite_indices_complete_time_series.csv"


@pytest.fixture(scope="module")
def loaded(real_data, tmp_path_factory):
    store = tiplens.open_store(tmp_path_factory.mktemp("trends") / "s.duckdb", with_default=False)
    tiplens.ingest([real_data / GLOTIP], db=store, edition="2025-04-14")
    tiplens.ingest([real_data / HDR], db=store, edition="2024")
    obs, countries = store.observations(source="glotip"), store.countries()
    population = trends.population_table(store.observations(source="hdr", indicators=["hdr_pop_total"]))
    store.close()
    return obs, countries, population


def raw_world_totals(path, indicator="Detected trafficking victims"):
    """Country-year Total cells of one indicator straight from the CSV, with the csv module.

    Mirrors the documented rules only: '<5' is the interval 0-4, commas are thousands separators,
    and a natural key that repeats (other than 'Other forms of exploitation') is a conflict and
    is left out entirely. Countries are keyed by their published name (Sark has no ISO3 code).
    """
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    key_cols = ["Iso3_code", "Country", "Indicator", "Dimension", "Category", "Sex", "Age", "Year"]
    counts = Counter(tuple(r[c] for c in key_cols) for r in rows)
    cells = {}
    for r in rows:
        key = tuple(r[c] for c in key_cols)
        if counts[key] > 1 and r["Category"] != "Other forms of exploitation":
            continue
        if (r["Indicator"], r["Dimension"], r["Sex"], r["Age"]) != (indicator, "Total", "Total", "Total"):
            continue
        text = r["txtVALUE"].strip()
        if text == "<5":
            cell = (math.nan, 0.0, 4.0)
        else:
            number = float(text.replace(",", ""))
            cell = (number, number, number)
        cells[(r["Country"], int(r["Year"]))] = cell
    return cells


# -- the independent recomputation -----------------------------------------------------------------
def test_balanced_series_matches_raw_csv(loaded, real_data):
    obs, countries, _ = loaded
    cells = raw_world_totals(real_data / GLOTIP)
    years = range(2017, 2023)
    by_country = defaultdict(set)
    for country, year in cells:
        if year in years:
            by_country[country].add(year)
    panel = {c for c, ys in by_country.items() if len(ys) == len(years)}
    got = trends.series(obs, countries, indicator="detected_victims", panel="balanced",
                        year_from=2017, year_to=2022, bootstrap=0).set_index("year")
    assert list(got.index) == list(years)
    for year in years:
        values = [cells[(c, year)] for c in panel]
        exact = [v for v, _, _ in values]
        expected_value = math.nan if any(math.isnan(v) for v in exact) else sum(exact)
        row = got.loc[year]
        assert row["countries"] == len(panel)
        assert row["lower"] == sum(lo for _, lo, _ in values)
        assert row["upper"] == sum(hi for _, _, hi in values)
        if math.isnan(expected_value):
            assert math.isnan(row["value"])
        else:
            assert row["value"] == expected_value
    # 82 countries reported detected victims in each year 2017-2022 (counted above from the raw CSV)
    assert len(panel) == 82
    assert got["value"].isna().any()  # the censored branch was exercised


def test_world_reporting_countries_pinned(loaded, real_data):
    obs, countries, _ = loaded
    world = trends.series(obs, countries, indicator="detected_victims", bootstrap=0).set_index("year")
    cells = raw_world_totals(real_data / GLOTIP)
    raw_counts = Counter(year for _, year in cells)
    # the issue text says 143 countries in 2020 and 112 in 2022; the raw CSV gives the same
    assert world.loc[2020, "countries"] == 143 == raw_counts[2020]
    assert world.loc[2022, "countries"] == 112 == raw_counts[2022]
    # 2020 world bounds: sum over the raw Total cells (68,426 exact + 26 censored cells x 0..4)
    lower_2020 = sum(lo for (c, y), (_, lo, _) in cells.items() if y == 2020)
    upper_2020 = sum(hi for (c, y), (_, _, hi) in cells.items() if y == 2020)
    assert (world.loc[2020, "lower"], world.loc[2020, "upper"]) == (lower_2020, upper_2020) == (68426, 68530)
    assert math.isnan(world.loc[2020, "value"])  # censored cells: the point is unknown
    assert world["ci_low"].isna().all() and world["ci_high"].isna().all()  # no interval for raw totals


def test_leave_one_out_pakistan_2019(loaded):
    obs, countries, _ = loaded
    table = trends.leave_one_out(obs, indicator="detected_victims", year=2019)
    top = table.iloc[0]
    # PROVENANCE.md note 2: the largest real count is 32,022 (Pakistan, detected victims, 2019)
    assert top["iso3"] == "PAK" and top["country_value"] == 32022 and top["change"] == -32022
    assert top["lower_without"] == top["total_lower"] - 32022
    assert 0.38 < top["share_of_total"] < 0.40
    assert top["share_lower"] <= top["share_of_total"] <= top["share_upper"] + 1e-12
    assert list(table.columns[:1]) == ["iso3"] and {"value_without", "change", "share_of_total"} <= set(table)


def test_regions_add_up_to_world(loaded):
    obs, countries, _ = loaded
    world = trends.series(obs, countries, indicator="convicted", year_from=2015, bootstrap=0)
    regions = trends.series(obs, countries, indicator="convicted", by="region", year_from=2015, bootstrap=0)
    summed = regions.groupby("year")[["lower", "upper", "countries"]].sum()
    pd.testing.assert_frame_equal(summed, world.set_index("year")[["lower", "upper", "countries"]],
                                  check_dtype=False, check_names=False)
    assert set(regions["group"]) <= {"Africa", "Americas", "Asia", "Europe", "Oceania", "No M49 region"}


def test_population_share_and_rates(loaded):
    obs, countries, population = loaded
    world = trends.series(obs, countries, indicator="detected_victims", year_from=2020, year_to=2022,
                          population=population, bootstrap=0).set_index("year")
    assert ((world["population_share"] > 0.3) & (world["population_share"] < 1)).all()
    # recompute 2022's rate and share by hand from the HDR population (persons = millions x 1e6)
    totals = trends.country_totals(obs, indicator="detected_victims", year_from=2022, year_to=2022)
    pop22 = population[population["year"].eq(2022) & population["iso3"].isin(countries["iso3"])]
    with_pop = totals.merge(pop22, on=["iso3", "year"])
    assert world.loc[2022, "rate_lower"] == pytest.approx(with_pop["lower"].sum() / with_pop["population"].sum() * 1e5)
    assert world.loc[2022, "population_share"] == pytest.approx(with_pop["population"].sum() / pop22["population"].sum())
    assert world.loc[2022, "rate_countries"] == len(with_pop)


def test_breakdowns_on_real_data(loaded):
    obs, countries, _ = loaded
    sex = trends.series(obs, countries, indicator="detected_victims", breakdown="sex", year_from=2022)
    assert set(sex["category"]) == {"Female", "Male", "Other", "Unknown"}
    assert (sex["share_lower"] <= sex["share_upper"]).all()
    assert sex["ci_of"].eq("share").all() and sex["ci_low"].notna().all()
    assert (sex["ci_low"] <= sex["share_lower"] + 1e-9).all() and (sex["ci_high"] >= sex["share_upper"] - 1e-9).all()
    cit = trends.country_totals(obs, indicator="detected_victims", breakdown="citizenship", year_from=2022)
    assert set(cit["category"]) <= {"domestic", "foreign", "unknown"}
    form = trends.series(obs, countries, indicator="detected_victims", breakdown="form", by="region",
                         panel="balanced", year_from=2019, year_to=2022, bootstrap=200)
    assert {"Sexual exploitation", "Forced labour"} <= set(form["category"])
    again = trends.series(obs, countries, indicator="detected_victims", breakdown="form", by="region",
                          panel="balanced", year_from=2019, year_to=2022, bootstrap=200)
    pd.testing.assert_frame_equal(form, again)  # same seed, same intervals


def test_fixed_panel_changes(loaded):
    obs, countries, _ = loaded
    bal = trends.series(obs, countries, indicator="detected_victims", panel="balanced", year_from=2017,
                        year_to=2022, bootstrap=300).set_index("year")
    assert math.isnan(bal.loc[2017, "change_lower"])
    assert bal.loc[2022, "change_lower"] == bal.loc[2022, "lower"] - bal.loc[2021, "upper"]
    assert bal.loc[2022, "ci_of"] == "change_pct"
    assert bal.loc[2022, "ci_low"] <= bal.loc[2022, "change_pct_lower"] <= bal.loc[2022, "change_pct_upper"] <= bal.loc[2022, "ci_high"]
    named = trends.series(obs, countries, indicator="detected_victims", panel=["PAK", "GBR", "usa"],
                          year_from=2019, year_to=2022, bootstrap=0).set_index("year")
    assert named.loc[2019, "lower"] == 32022 + 10627 + 8375  # the three 2019 counts from leave_one_out
    assert named["panel"].iloc[0] == "named (3 countries)"


def test_flows(loaded, real_data):
    obs, countries, _ = loaded
    table = trends.flows(obs, year_from=2022, year_to=2022, countries=countries)
    assert {"origin_iso3", "origin_region", "detection_iso3", "detection_region", "lower", "upper", "value",
            "countries"} <= set(table.columns)
    domestic = table[table["domestic"]]
    assert (domestic["origin_iso3"] == domestic["detection_iso3"]).all() and len(domestic) > 10
    regions = trends.flows(obs, year_from=2022, year_to=2022, countries=countries, level="region")
    assert regions["lower"].sum() == table["lower"].sum()
    assert regions["countries"].max() > 1


# -- synthetic checks of the rules ------------------------------------------------------------------
def _obs(rows):
    base = {"source": "glotip", "indicator": "detected_victims", "dimension": "total", "category": "Total",
            "sex": "Total", "age": "Total", "status": "ok", "category_iso3": None, "category_class": None}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["censored"] = frame["value"].isna()
    frame["lower"] = frame["value"].fillna(0.0)
    frame["upper"] = frame["value"].fillna(4.0)
    return frame


def test_identical_composition_gives_degenerate_share_interval():
    rows = []
    for i, iso3 in enumerate(["AAA", "BBB", "CCC", "DDD"]):
        for year in (2020, 2021):
            rows += [{"iso3": iso3, "year": year, "sex": "Female", "value": 30.0 * (i + 1)},
                     {"iso3": iso3, "year": year, "sex": "Male", "value": 10.0 * (i + 1)}]
    out = trends.series(_obs(rows), None, indicator="detected_victims", breakdown="sex", bootstrap=500)
    female = out[out["category"].eq("Female")]
    # every country is 75 % female, so every resample is too
    assert np.allclose(female[["share", "share_lower", "share_upper", "ci_low", "ci_high"]], 0.75)


def test_citizenship_rule():
    rows = [{"iso3": "AAA", "year": 2020, "dimension": "citizenship", "category": c, "category_iso3": i,
             "category_class": k, "value": v}
            for c, i, k, v in [("Own", None, "domestic", 5.0), ("Aland", "AAA", "country", 7.0),
                               ("Bland", "BBB", "country", 11.0), ("Abroad", None, "foreign_unspecified", None),
                               ("Europe", None, "region", 13.0), ("?", None, "unmapped", 17.0),
                               ("TOTAL", None, "total", 53.0)]]
    got = trends.country_totals(_obs(rows), indicator="detected_victims", breakdown="citizenship")
    got = got.set_index("category")
    assert got.loc["domestic", "value"] == 12 and got.loc["unknown", "value"] == 17
    assert math.isnan(got.loc["foreign", "value"]) and (got.loc["foreign", "lower"], got.loc["foreign", "upper"]) == (24, 28)
    assert "total" not in got.index


def test_conflict_rows_are_ignored():
    rows = [{"iso3": "AAA", "year": 2020, "value": 5.0}, {"iso3": "BBB", "year": 2020, "value": 9.0, "status": "conflict"}]
    out = trends.series(_obs(rows), None, indicator="detected_victims")
    assert out["lower"].tolist() == [5.0] and out["countries"].tolist() == [1]


# -- bad input ----------------------------------------------------------------------------------------
def test_bad_input(loaded):
    obs, countries, _ = loaded
    with pytest.raises(TiplensError, match="unknown indicator 'victims'.*detected_victims.*offences"):
        trends.series(obs, countries, indicator="victims")
    with pytest.raises(TiplensError, match="year_to=2023 is outside the data.*2003-2022"):
        trends.series(obs, countries, indicator="detected_victims", year_to=2023)
    with pytest.raises(TiplensError, match="empty panel.*2003-2022"):
        trends.series(obs, countries, indicator="detected_victims", panel="balanced")
    with pytest.raises(TiplensError, match="empty panel"):
        trends.series(obs, countries, indicator="detected_victims", panel=[])
    with pytest.raises(TiplensError, match="unknown ISO3 codes in the panel: XYZ"):
        trends.series(obs, countries, indicator="detected_victims", panel=["FRA", "XYZ"])
    with pytest.raises(TiplensError, match="unknown level.*world, region, subregion, country"):
        trends.series(obs, countries, indicator="detected_victims", by="continent")
    with pytest.raises(TiplensError, match="unknown breakdown.*sex, age, form, citizenship"):
        trends.series(obs, countries, indicator="detected_victims", breakdown="gender")
    with pytest.raises(TiplensError, match="unknown panel 'some'"):
        trends.series(obs, countries, indicator="detected_victims", panel="some")


# -- figures --------------------------------------------------------------------------------------------
def test_series_figure_and_png(loaded, tmp_path):
    obs, countries, _ = loaded
    frame = trends.series(obs, countries, indicator="detected_victims", panel="balanced", year_from=2017, bootstrap=0)
    fig = plots.series_figure(frame, title="Detected victims, balanced panel")
    names = [t.name for t in fig.data]
    assert names[:2] == ["World upper", "World lower–upper"] and "World countries" in names
    assert fig.data[1].fill == "tonexty" and fig.data[names.index("World countries")].yaxis == "y2"
    assert list(fig.data[names.index("World countries")].y) == [82] * 6
    caveat = [a for a in fig.layout.annotations if a.name == "caveat"]
    assert len(caveat) == 1 and "not a random sample" in caveat[0].text.replace("<br>", " ")
    assert "UNODC" in caveat[0].text
    path = plots.to_png(fig, tmp_path / "series.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = plots.to_png(frame, tmp_path / "from_frame.png")
    assert other.read_bytes()[:4] == b"\x89PNG"


def test_seed_figure(loaded, tmp_path):
    obs, countries, _ = loaded
    data = plots.seed_figure_data(obs, countries).set_index("year")
    assert data.loc[2023, "in_data"] == False and math.isnan(data.loc[2023, "lower"])  # noqa: E712
    assert data.loc[2020, "countries"] == 143 and data.loc[2020, "paper"] == 49000
    fig = plots.seed_figure(obs, countries)
    paper = [t for t in fig.data if t.name == plots.PAPER_LABEL][0]
    assert list(paper.x) == [2020, 2021, 2023] and list(paper.y) == [49000, 42000, 41000]
    bars = [t for t in fig.data if t.type == "bar" and t.yaxis == "y"]
    assert list(bars[0].y) == [68426, 75754, 75128]  # world lower bounds (2020 pinned above)
    assert any("not in the data" in a.text for a in fig.layout.annotations)
    assert plots.to_png(fig, tmp_path / "seed.png").read_bytes()[:4] == b"\x89PNG"
