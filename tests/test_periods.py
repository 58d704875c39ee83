"""tiplens.analysis.periods: named periods, the interrupted time series, change points."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import tiplens
from tiplens.analysis import periods, trends
from tiplens.errors import TiplensError

GLOTIP = "unodc_glotip/data_glotip_2025-04-14.csv"


@pytest.fixture(scope="module")
def loaded(real_data, tmp_path_factory):
    store = tiplens.open_store(tmp_path_factory.mktemp("periods") / "s.duckdb", with_default=False)
    tiplens.ingest([real_data / GLOTIP], db=store, edition="2025-04-14")
    obs, countries = store.observations(source="glotip"), store.countries()
    store.close()
    return obs, countries


@pytest.fixture(scope="module")
def raw_totals(real_data):
    """Detected-victim Total cells from the raw CSV with pandas: (country, year) -> lower, upper.

    '<5' is 0-4; a natural key that repeats is a conflict and left out (PROVENANCE note 4).
    """
    raw = pd.read_csv(real_data / GLOTIP, dtype=str, keep_default_na=False)
    key = ["Iso3_code", "Country", "Indicator", "Dimension", "Category", "Sex", "Age", "Year"]
    repeated = raw.duplicated(key, keep=False) & raw["Category"].ne("Other forms of exploitation")
    cells = raw[~repeated & raw["Indicator"].eq("Detected trafficking victims") & raw["Dimension"].eq("Total")
                & raw["Sex"].eq("Total") & raw["Age"].eq("Total")]
    censored = cells["txtVALUE"].eq("<5")
    number = pd.to_numeric(cells["txtVALUE"].str.replace(",", "").where(~censored), errors="raise")
    return pd.DataFrame({"country": cells["Country"], "year": cells["Year"].astype(int),
                         "lower": number.fillna(0.0), "upper": number.fillna(4.0)})


# -- parsing ----------------------------------------------------------------------------------------
def test_parse_periods():
    assert periods.parse_periods("pre=2017-2019,pandemic=2020-2021,post=2022-2022") == {
        "pre": (2017, 2019), "pandemic": (2020, 2021), "post": (2022, 2022)}
    assert periods.parse_periods(" a = 2010 , b=2011- ") == {"a": (2010, 2010), "b": (2011, None)}
    for bad, message in [("pre=2017-2019;post=2022", "cannot read period"), ("pre=17-19", "cannot read period"),
                         ("pre=2019-2017", "ends .2017. before it starts"), ("", "no periods given"),
                         ("a=2017-2020,b=2020-2021", "overlap"), ("a=2017,a=2018", "named twice"),
                         ("a=2015-,b=2020", "overlap")]:
        with pytest.raises(TiplensError, match=message):
            periods.parse_periods(bad)


# -- the comparison --------------------------------------------------------------------------------
def test_compare_default(loaded, raw_totals):
    obs, countries = loaded
    table = periods.compare(obs, countries)
    assert list(table["panel"]) == ["all"] * 3 + ["balanced 2017-2022"] * 3
    assert list(table["period"]) == ["pre", "pandemic", "post"] * 2
    assert table["last_year"].iloc[2] == 2022  # None resolved to the data's last year
    assert any("end in 2022" in n and "2023" in n for n in table.attrs["notes"])
    # levels recomputed from the raw CSV: mean yearly sum per period, all reporters and balanced panel
    window = raw_totals[raw_totals["year"].between(2017, 2022)]
    per_country = window.groupby("country")["year"].nunique()
    balanced = per_country.index[per_country.eq(6)]
    for label, part in (("all", window), ("balanced 2017-2022", window[window["country"].isin(balanced)])):
        yearly = part.groupby("year")[["lower", "upper"]].sum()
        got = table[table["panel"].eq(label)].set_index("period")
        for name, (first, last) in {"pre": (2017, 2019), "pandemic": (2020, 2021), "post": (2022, 2022)}.items():
            expect = yearly.loc[first:last].mean()
            assert got.loc[name, "lower"] == pytest.approx(expect["lower"])
            assert got.loc[name, "upper"] == pytest.approx(expect["upper"])
        assert got.loc["pandemic", "change_pct_lower"] == pytest.approx(
            (yearly.loc[2020:2021, "lower"].mean() / yearly.loc[2017:2019, "upper"].mean() - 1) * 100)
    got = table.set_index(["panel", "period"])
    assert got.loc[("balanced 2017-2022", "post"), "countries"] == 82 == len(balanced)
    assert got.loc[("all", "post"), "countries"] == 112
    # the coverage effect the comparison exists to show: all reporters up, the fixed panel down
    assert got.loc[("all", "pandemic"), "change_pct_lower"] > 20
    assert got.loc[("balanced 2017-2022", "pandemic"), "change_pct_upper"] < 0


def test_compare_notes_years_beyond_the_data(loaded):
    obs, countries = loaded
    table = periods.compare(obs, countries, periods="pre=2017-2019,pandemic=2020-2021,post=2022-2023",
                            panels=("all",))
    post = table.set_index("period").loc["post"]
    assert post["last_year"] == 2022 and "2023" in post["note"] and "ends in 2022" in post["note"]
    with pytest.raises(TiplensError, match="outside the data.*2003-2022"):
        periods.compare(obs, countries, periods={"future": (2024, 2025)})
    with pytest.raises(TiplensError, match="unknown indicator"):
        periods.compare(obs, countries, indicator="victims")
    with pytest.raises(TiplensError, match="empty panel"):
        periods.compare(obs, countries, periods={"a": (2003, 2010), "b": (2011, 2022)}, panels=("balanced",))


# -- interrupted time series ----------------------------------------------------------------------------
def test_its_recovers_a_known_synthetic_effect():
    """Counts equal to exp(country + 0.1 t - 0.3 pandemic + 0.2 post) exactly: the MLE is the truth."""
    rows = []
    for i, iso3 in enumerate(["AAA", "BBB", "CCC", "DDD", "EEE"]):
        for year in range(2010, 2023):
            t = year - 2010
            mu = math.exp(3 + 0.5 * i + 0.1 * t - 0.3 * (2020 <= year <= 2021) + 0.2 * (year == 2022))
            rows.append({"source": "glotip", "iso3": iso3, "year": year, "indicator": "detected_victims",
                         "dimension": "total", "category": "Total", "sex": "Total", "age": "Total",
                         "value": mu, "lower": mu, "upper": mu, "censored": False, "status": "ok"})
    got = periods.interrupted_time_series(pd.DataFrame(rows)).set_index("term")
    assert got.loc["trend", "estimate"] == pytest.approx(0.1, abs=1e-6)
    assert got.loc["pandemic", "estimate"] == pytest.approx(-0.3, abs=1e-6)
    assert got.loc["post", "estimate"] == pytest.approx(0.2, abs=1e-6)
    assert got["countries"].eq(5).all() and got["observations"].eq(65).all()


def test_its_matches_formula_api(loaded, raw_totals):
    obs, _ = loaded
    import statsmodels.formula.api as smf
    import statsmodels.api as sm

    table = periods.its_both_bounds(obs)
    assert list(table["bound"]) == ["lower"] * 3 + ["upper"] * 3
    assert list(table["term"]) == ["trend", "pandemic", "post"] * 2
    # the balanced 2010-2022 panel counted from the raw CSV: 42 countries (the issue: "about 40")
    window = raw_totals[raw_totals["year"].between(2010, 2022)]
    per_country = window.groupby("country")["year"].nunique()
    assert table["countries"].eq(42).all() and per_country.eq(13).sum() == 42
    # an independent fit with the formula API on the raw-CSV panel
    panel = window[window["country"].isin(per_country.index[per_country.eq(13)])].copy()
    panel["t"] = panel["year"] - 2010
    panel["pandemic"] = panel["year"].between(2020, 2021).astype(float)
    panel["post"] = panel["year"].eq(2022).astype(float)
    codes = pd.factorize(panel["country"])[0]
    for bound in ("lower", "upper"):
        fit = smf.glm(f"{bound} ~ C(country) + t + pandemic + post", data=panel,
                      family=sm.families.Poisson()).fit(cov_type="cluster", cov_kwds={"groups": codes})
        ours = table[table["bound"].eq(bound)].set_index("term")
        assert ours.loc["pandemic", "estimate"] == pytest.approx(fit.params["pandemic"], rel=1e-6)
        assert ours.loc["pandemic", "ci_low"] == pytest.approx(fit.conf_int().loc["pandemic", 0], rel=1e-6)
        assert ours.loc["post", "p_value"] == pytest.approx(fit.pvalues["post"], rel=1e-5)
    assert table.attrs["note"] == periods.ITS_NOTE


def test_its_bad_input(loaded):
    obs, _ = loaded
    with pytest.raises(TiplensError, match="unknown bound"):
        periods.interrupted_time_series(obs, bound="middle")
    with pytest.raises(TiplensError, match="outside the data.*2003-2022"):
        periods.interrupted_time_series(obs, post=(2022, 2023))
    with pytest.raises(TiplensError, match="empty panel"):
        periods.interrupted_time_series(obs, start=2003)


# -- change points ------------------------------------------------------------------------------------------
def test_change_points_synthetic_and_real(loaded):
    step = pd.DataFrame({"year": range(2010, 2020), "group": "World", "category": "Total",
                         "lower": [10.0] * 6 + [30.0] * 4, "upper": [12.0] * 6 + [31.0] * 4})
    got = periods.change_points(step)
    assert list(got["break_year"]) == [2016, 2016] and got["label"].eq("exploratory").all()
    assert got.loc[0, "mean_before"] == 10 and got.loc[0, "mean_after"] == 30
    obs, countries = loaded
    world = trends.series(obs, countries, indicator="detected_victims", panel="balanced", year_from=2010, bootstrap=0)
    real = periods.change_points(world)
    assert len(real) == 2 and real["break_year"].between(2012, 2021).all()
    assert "Exploratory" in real.attrs["note"]
    with pytest.raises(TiplensError, match="too few"):
        periods.change_points(step.head(3))


def _identical_countries(values_by_year: dict[int, float], n: int = 6) -> pd.DataFrame:
    rows = [{"source": "glotip", "iso3": f"C{i:02d}", "year": year, "indicator": "detected_victims",
             "dimension": "total", "category": "Total", "sex": "Total", "age": "Total", "value": v,
             "lower": v, "upper": v, "censored": False, "status": "ok"}
            for i in range(n) for year, v in values_by_year.items()]
    return pd.DataFrame(rows)


def test_compare_bootstrap_collapses_when_countries_are_alike():
    """Six identical countries: every resample gives the same change, so the interval is the point.

    By hand: pre mean 100, pandemic mean (80+60)/2 = 70 -> -30 %; post 120 -> +20 %.
    """
    obs = _identical_countries({2017: 100, 2018: 100, 2019: 100, 2020: 80, 2021: 60, 2022: 120})
    got = periods.compare(obs, None, panels=("all", "balanced")).set_index(["panel", "period"])
    balanced = got.xs("balanced 2017-2022")
    assert balanced.loc["pandemic", "change_pct"] == pytest.approx(-30)
    assert balanced.loc["pandemic", ["ci_low", "ci_high"]].tolist() == pytest.approx([-30, -30])
    assert balanced.loc["post", ["ci_low", "ci_high"]].tolist() == pytest.approx([20, 20])
    assert math.isnan(balanced.loc["pre", "ci_low"])  # the base period has no change
    assert got.xs("all")["ci_low"].isna().all()  # all reporters is not a fixed panel


def test_compare_bootstrap_brackets_the_change_on_real_data(loaded):
    got = periods.compare(*loaded, bootstrap=400).set_index("period")
    balanced = got[got["panel"].str.startswith("balanced")]
    for period in ("pandemic", "post"):
        row = balanced.loc[period]
        assert row["ci_low"] <= row["change_pct_lower"] and row["change_pct_upper"] <= row["ci_high"]
        assert row["ci_high"] - row["ci_low"] > 5  # the country mix matters: tens of points here
