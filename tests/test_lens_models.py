"""`tiplens lens models`: the four liberal hypotheses, custom models, estimators pinned to other fits."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
import test_lens_coverage as _coverage_tests  # the shared real-data store
from statsmodels.miscmodels.ordinal_model import OrderedModel
from typer.testing import CliRunner

import tiplens as tl
from tiplens._api_lens_analysis import lens_model_frame, lens_models, write_lens_chart
from tiplens._cli_common import to_jsonable
from tiplens.cli import app
from tiplens.errors import TiplensError
from tiplens.lens import models


@pytest.fixture(scope="module")
def full_db(tmp_path_factory, real_data):
    return _coverage_tests.full_store_path(tmp_path_factory, real_data)


@pytest.fixture(scope="module")
def default_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("lens_models") / "default.duckdb"
    tl.open_store(path, with_default=True).close()
    return path


@pytest.fixture(scope="module")
def full_frame(full_db):
    return lens_model_frame(db=full_db)


@pytest.fixture(scope="module")
def full_results(full_frame):
    return {r["number"]: r for r in models.fit_hypotheses(full_frame)}


def _coef(result, spec, term, bound=""):
    table = result["coefficients"]
    row = table[table["spec"].eq(spec) & table["term"].eq(term) & table["bound"].eq(bound)]
    assert len(row) == 1, (spec, term, bound)
    return row.iloc[0]


def _drop_like_fepois(data: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """What pyfixest's fepois leaves out: fixed-effect groups whose outcome is all zero
    (their effect runs to minus infinity) and singleton groups, until nothing changes. Neither
    changes the other coefficients' maximum-likelihood estimates; statsmodels just cannot fit
    the infinite effects."""
    while True:
        before = len(data)
        for group in ("iso3", "year"):
            data = data[data.groupby(group)[outcome].transform("sum") > 0]
            data = data[data.groupby(group)[outcome].transform("size") > 1]
        if len(data) == before:
            return data


def test_h2_poisson_matches_statsmodels_glm_with_dummies(full_results, full_frame):
    # The same model fitted a second way: statsmodels GLM Poisson with country and year dummies
    # and the log-population offset, instead of pyfixest's fepois that absorbs the effects.
    outcome = "detected_victims_lower"
    data = full_frame[["iso3", "year", outcome, "wgi_rule_of_law", "wgi_control_of_corruption",
                       "log_population"]].replace([np.inf, -np.inf], np.nan).dropna()
    data = _drop_like_fepois(data, outcome)
    fit = smf.glm(f"{outcome} ~ wgi_rule_of_law + wgi_control_of_corruption + C(iso3) + C(year)", data=data,
                  family=sm.families.Poisson(), offset=data["log_population"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["iso3"])[0], "use_correction": False})
    result = full_results[2]
    for term in ("wgi_rule_of_law", "wgi_control_of_corruption"):
        ours = _coef(result, "victims per capita", term, "lower")
        assert ours["estimate"] == pytest.approx(fit.params[term], rel=1e-5, abs=1e-7)
        assert ours["n_obs"] == len(data)
        # cluster-robust SEs: statsmodels' sandwich times the small-sample factor G/(G-1)
        groups = data["iso3"].nunique()
        assert ours["std_error"] == pytest.approx(fit.bse[term] * np.sqrt(groups / (groups - 1)), rel=0.02)


def test_h4_cross_section_matches_statsmodels(full_results, full_frame):
    # Poisson PML with region dummies and the GSI population offset, fitted by statsmodels GLM
    data = full_frame[full_frame["year"].eq(2021)][["iso3", "gsi_victims_estimated", "gii", "hdi",
                                                      "log_gdp_per_capita", "gsi_population", "m49_region"]]
    data = data.replace([np.inf, -np.inf], np.nan).dropna()
    fit = smf.glm("gsi_victims_estimated ~ gii + hdi + log_gdp_per_capita + C(m49_region)", data=data,
                  family=sm.families.Poisson(), offset=np.log(data["gsi_population"])).fit(cov_type="HC1")
    result = full_results[4]
    assert result["status"] == "fitted"
    for term in ("gii", "hdi", "log_gdp_per_capita"):
        assert _coef(result, "GSI 2021 cross-section", term)["estimate"] == pytest.approx(fit.params[term], rel=1e-5)
    assert result["specs"].iloc[0]["n_obs"] == len(data)


def test_ordered_logit_with_analytic_score_matches_plain_orderedmodel(full_frame):
    # tiplens gives statsmodels' OrderedModel an analytic score (speed); the plain OrderedModel
    # (numerical derivatives, scipy's logistic) must find the same maximum.
    data = full_frame[full_frame["year"].between(2005, 2015)].copy()
    data["density_lag"] = models._lagged(data, "density_upper", 1)
    data = data[["iso3", "year", "tip_tier", "density_lag", "m49_region"]].dropna()
    coefs, _ = models._ordered_logit(data, "tip_tier", ["density_lag"], ["m49_region"], "iso3")
    exog = pd.concat([data[["density_lag"]], pd.get_dummies(data["m49_region"], prefix="r", drop_first=True,
                                                              dtype=float)], axis=1)
    endog = pd.Series(pd.Categorical(data["tip_tier"], ordered=True), index=data.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = OrderedModel(endog, exog, distr="logit").fit(
            method="bfgs", disp=False, maxiter=2000, cov_type="cluster",
            cov_kwds={"groups": pd.factorize(data["iso3"])[0]})
    assert coefs.iloc[0]["estimate"] == pytest.approx(plain.params["density_lag"], abs=1e-4)
    assert coefs.iloc[0]["std_error"] == pytest.approx(plain.bse["density_lag"], rel=1e-3)


def test_callaway_santanna_by_hand():
    # Three countries, 2000-2003. A ratifies 2002, B 2003, C never (known). By hand:
    # ATT(2002, 2002) = (A02 - A01) - mean over not-yet-treated {B, C} of (Y02 - Y01)
    #                 = (5 - 2) - ((3 - 2) + (4 - 3)) / 2 = 2
    # ATT(2002, 2003) = (A03 - A01) - (C03 - C01) = (6 - 2) - (5 - 3) = 2    (B is treated in 2003)
    # ATT(2003, 2003) = (B03 - B02) - (C03 - C02) = (7 - 3) - (5 - 4) = 3    (A already treated)
    # pre-period (varying base) ATT(2003, 2002) = (B02 - B01) - (C02 - C01) = 1 - 1 = 0
    y = {"A": [1, 2, 5, 6], "B": [1, 2, 3, 7], "C": [2, 3, 4, 5]}
    rows = [{"iso3": u, "year": 2000 + i, "y": v, "cohort": {"A": 2002, "B": 2003, "C": np.nan}[u],
             "untreated_until": {"A": 2001, "B": 2002, "C": np.inf}[u]} for u, vs in y.items() for i, v in enumerate(vs)]
    result = models.callaway_santanna(pd.DataFrame(rows), outcome="y")
    cells = result["group_time"].set_index(["cohort", "time"])["att"]
    assert cells[(2002, 2002)] == pytest.approx(2)
    assert cells[(2002, 2003)] == pytest.approx(2)
    assert cells[(2003, 2003)] == pytest.approx(3)
    assert cells[(2003, 2002)] == pytest.approx(0)
    controls = result["group_time"].set_index(["cohort", "time"])["n_control"]
    assert controls[(2002, 2002)] == 2 and controls[(2002, 2003)] == 1
    # event time 0 averages ATT(2002,2002) and ATT(2003,2003) by cohort size (1 each): 2.5
    event = result["event_time"].set_index("event_time")["att"]
    assert event[0] == pytest.approx(2.5)


def test_callaway_santanna_recovers_a_known_effect_and_flat_pretrends():
    # Y = country effect + year effect + 0.5 after treatment, no noise: every post cell is 0.5
    # and every placebo cell 0, whatever the staggering.
    rng = np.random.default_rng(1)
    units = [f"U{i:02d}" for i in range(30)]
    cohorts = dict(zip(units, rng.choice([2003, 2005, 2008, np.nan], size=30)))
    rows = []
    for u in units:
        alpha = rng.normal()
        for t in range(2000, 2012):
            treated = not np.isnan(cohorts[u]) and t >= cohorts[u]
            rows.append({"iso3": u, "year": t, "y": alpha + 0.1 * (t - 2000) ** 1.5 + 0.5 * treated,
                         "cohort": cohorts[u],
                         "untreated_until": np.inf if np.isnan(cohorts[u]) else cohorts[u] - 1})
    result = models.callaway_santanna(pd.DataFrame(rows), outcome="y")
    assert result["overall"].iloc[0]["att"] == pytest.approx(0.5)
    event = result["event_time"].set_index("event_time")["att"]
    assert np.allclose(event[event.index < 0], 0) and np.allclose(event[event.index >= 0], 0.5)


def test_difference_in_means_standard_error():
    # the influence-function SE of one cell is sqrt(var_T/n_T + var_C/n_C) with population variances
    rows = []
    treated_changes, control_changes = [1.0, 3.0, 4.0], [0.0, 2.0, 1.0, 5.0]
    for i, d in enumerate(treated_changes):
        rows += [{"iso3": f"T{i}", "year": 2001, "y": 0.0, "cohort": 2002, "untreated_until": 2001},
                 {"iso3": f"T{i}", "year": 2002, "y": d, "cohort": 2002, "untreated_until": 2001}]
    for i, d in enumerate(control_changes):
        rows += [{"iso3": f"C{i}", "year": 2001, "y": 0.0, "cohort": np.nan, "untreated_until": np.inf},
                 {"iso3": f"C{i}", "year": 2002, "y": d, "cohort": np.nan, "untreated_until": np.inf}]
    cell = models.callaway_santanna(pd.DataFrame(rows), outcome="y")["group_time"].iloc[0]
    expected = np.sqrt(np.var(treated_changes) / 3 + np.var(control_changes) / 4)
    assert cell["att"] == pytest.approx(np.mean(treated_changes) - np.mean(control_changes))
    assert cell["std_error"] == pytest.approx(expected)


def test_full_data_runs_all_four(full_results):
    for number in (1, 2, 3, 4):
        assert full_results[number]["status"] == "fitted", full_results[number]["message"]
    h1 = full_results[1]
    spec = h1["specs"].set_index("spec").loc["CS criminalization"]
    assert (spec["first_year"], spec["last_year"]) == (1999, 2014)
    countries = set(spec["countries"].split(";"))
    # Aruba: no Palermo year in any source, so its timing is unknown: left out, not never-treated
    assert "ABW" not in countries and "ratification year unknown" in spec["note"]
    # Iran: not a party in 2022 (membership table): a never-treated control
    assert "IRN" in countries
    assert "pre-trend test" in spec["note"]
    assert any(t.startswith("event time -") for t in h1["coefficients"]["term"])
    h2 = full_results[2]
    assert set(h2["coefficients"]["bound"]) == {"lower", "upper"}
    h3 = full_results[3]
    assert {"3P total, FE OLS", "tier, ordered logit"} <= set(h3["specs"]["spec"])
    assert set(h3["coefficients"]["term"]) >= {"density_lower", "density_upper_lag1"}
    for result in full_results.values():
        assert result["caveats"] and result["specs"]["n_countries"].gt(0).all()


def test_default_store_says_which_source_to_ingest(default_db):
    results = {r["number"]: r for r in lens_models(db=default_db)["models"]}
    assert results[1]["status"] == "needs_data" and "criminalization_jk_2015-08-10.csv" in results[1]["message"]
    assert results[2]["status"] == "needs_data" and "data_glotip" in results[2]["message"]
    assert results[4]["status"] == "needs_data" and "2023-Global-Slavery-Index-Data.xlsx" in results[4]["message"]
    # tiers ship with tiplens: the tier half of hypothesis 3 runs, the 3P half names its file
    assert results[3]["status"] == "fitted" and "policy_index.csv" in results[3]["message"]
    assert len(results[3]["coefficients"]) == 4


def test_custom_model_at_both_bounds(full_frame):
    result = models.fit_model(full_frame, outcome="detected_victims", predictors=["gii"], family="poisson",
                              offset="population", year_from=2010)
    assert result["specs"]["bound"].tolist() == ["lower", "upper"]
    assert result["specs"]["first_year"].min() >= 2010
    assert result["coefficients"]["term"].eq("gii").all()


def test_custom_model_bad_input(full_frame):
    with pytest.raises(TiplensError, match=r"'rule_of_law' does not exist.*valid columns: .*wgi_rule_of_law"):
        models.fit_model(full_frame, outcome="p3_total", predictors=["rule_of_law"])
    with pytest.raises(TiplensError, match="too few observations.*p3_total"):
        models.fit_model(full_frame, outcome="p3_total", predictors=["density_lower"], year_from=2014)
    with pytest.raises(TiplensError, match="family 'logit' is not known; valid: ols, poisson, ordered_logit"):
        models.fit_model(full_frame, outcome="p3_total", predictors=["density_lower"], family="logit")
    with pytest.raises(TiplensError, match="unknown hypothesis '7'"):
        models.resolve_hypotheses(["7"])


def test_cli_json_equals_twin_and_custom_model(full_db, default_db, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["lens", "models", "--db", str(full_db), "-H", "4", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == to_jsonable(lens_models(db=full_db, hypotheses=["4"]))
    custom = runner.invoke(app, ["lens", "models", "--db", str(default_db), "--outcome", "tip_tier", "--predictor",
                                 "density_upper", "--lag", "1", "--to", "2015", "--json"])
    assert custom.exit_code == 0, custom.output
    payload = json.loads(custom.stdout)
    assert payload == to_jsonable(lens_models(db=default_db, outcome="tip_tier", predictors=["density_upper"],
                                              lag=1, year_to=2015))
    assert payload["models"][0]["coefficients"][0]["term"] == "density_upper_lag1"
    bad = runner.invoke(app, ["lens", "models", "--db", str(default_db), "--outcome", "nope", "--predictor", "gii"])
    assert bad.exit_code == 1 and "'nope' does not exist" in bad.output
    chart = runner.invoke(app, ["lens", "models", "--db", str(full_db), "-H", "1", "-H", "2",
                                "--chart", str(tmp_path / "m.html")])
    assert chart.exit_code == 0, chart.output
    assert "Caveat: Detected victims" in chart.output and (tmp_path / "m.html").stat().st_size > 10_000


def test_png_coefficient_plot(full_results, tmp_path):
    path = write_lens_chart("models", {"models": list(full_results.values())}, tmp_path / "m.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
