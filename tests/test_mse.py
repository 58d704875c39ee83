"""Multiple systems estimation (tiplens.analysis.mse) on the SparseMSE list tables.

References used here:

* UK 2013 (6 and 5 lists): the Home Office report by Silverman (2014), "Modern Slavery: an
  application of Multiple Systems Estimation" (gov.uk, published 29 November 2014), states an
  estimate "of between 10 thousand and 13 thousand" potential victims in 2013, known cases
  included. The tables are the ones the R package SparseMSE 2.0.1 ships (UKdat, UKdat_5), whose
  documentation points at that report. The report gives a range, not one figure, so the test pins
  the range.
* Netherlands: no published value for exactly this table and this method was available to check
  against, so only properties are tested.
* The stepwise path and the fits are checked against an independent re-implementation in this file
  (design built with itertools, Poisson fits by statsmodels GLM, p-values by scipy.stats.poisson).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from tiplens.analysis import mse
from tiplens.errors import TiplensError
from tiplens.sources import mse_lists

FOLDER = "mse_modern_slavery_lists"


def _table(real_data, name, study):
    """The capture table as the CLI builds it: source module records → capture_table."""
    records = mse_lists.normalise(mse_lists.read(real_data / FOLDER / name)).records["mse_lists"]
    return mse_lists.capture_table(records, study)


@pytest.fixture(scope="module")
def uk(real_data):
    return _table(real_data, "UKdat.csv", "uk_2013")


@pytest.fixture(scope="module")
def uk5(real_data):
    return _table(real_data, "UKdat_5.csv", "uk_2013_5lists")


@pytest.fixture(scope="module")
def ned(real_data):
    return _table(real_data, "Ned.csv", "netherlands")


@pytest.fixture(scope="module")
def uk_result(uk):
    return mse.estimate(uk)


# -- an independent implementation of the same procedure, for comparison ----------------------------
def _reference_design(lists):
    """All non-empty histories of the lists (any order), main effects and all pair products."""
    rows = [h for h in itertools.product([0, 1], repeat=len(lists)) if any(h)]
    frame = pd.DataFrame(rows, columns=lists)
    design = pd.DataFrame({"(Intercept)": 1.0}, index=frame.index)
    for name in lists:
        design[name] = frame[name].astype(float)
    for a, b in itertools.combinations(lists, 2):
        design[f"{a}:{b}"] = (frame[a] * frame[b]).astype(float)
    return frame, design


def _reference_counts(table, frame):
    lists = [c for c in table.columns if c != "count"]
    merged = frame.merge(table, on=lists, how="left")
    return merged["count"].fillna(0).to_numpy(float)


def _reference_stepwise(table, threshold=0.02):
    """Forward selection with statsmodels GLM and scipy.stats.poisson (no code shared with tiplens).

    Returns (pairs in order of entry, final statsmodels fit, full counts, p-values of the pairs
    without overlap at every step). Existence checks are left out: on these tables no candidate
    with an overlap fails them.
    """
    lists = [c for c in table.columns if c != "count"]
    frame, design = _reference_design(lists)
    y = _reference_counts(table, frame)
    mains = ["(Intercept)", *lists]
    pairs = [f"{a}:{b}" for a, b in itertools.combinations(lists, 2)]
    chosen: list[str] = []
    empty_p = []  # p of the pairs without overlap at every step (SparseMSE may add those)
    while True:
        fit = sm.GLM(y, design[mains + chosen], family=sm.families.Poisson()).fit(tol=1e-13)
        mu = fit.fittedvalues
        best = None
        for pair in pairs:
            overlap = float(design[pair] @ y)
            expected = float(design[pair] @ mu)
            p = min(stats.poisson.cdf(overlap, expected), stats.poisson.sf(overlap - 1, expected))
            if overlap == 0:
                empty_p.append(p)
            if pair in chosen or overlap == 0:
                continue
            if p < threshold and (best is None or p < best[1]):
                best = (pair, p)
        if best is None:
            return chosen, fit, y, empty_p
        chosen.append(best[0])


# -- UK 2013 -------------------------------------------------------------------------------------
def test_uk_six_lists_in_published_range(uk_result):
    # Home Office (Silverman 2014): 10,000 to 13,000 potential victims in 2013, known cases included
    assert 10_000 <= uk_result["estimate"] <= 13_000
    assert uk_result["observed"] == 2744  # case total of UKdat, PROVENANCE.md
    assert uk_result["ci_low"] < uk_result["estimate"] < uk_result["ci_high"]
    assert uk_result["ci_low"] > uk_result["observed"]
    assert set(uk_result) >= {"observed", "estimate", "ci_low", "ci_high", "model", "warnings"}


def test_uk_five_lists_in_published_range(uk5):
    result = mse.estimate(uk5)
    # same reference as above; PF and NCA merged into one list
    assert 10_000 <= result["estimate"] <= 13_000
    assert result["observed"] == 2744


def test_uk_stepwise_matches_independent_implementation(uk, uk_result):
    chosen, fit, y, empty_p = _reference_stepwise(uk)
    # the same pairs in the same order of entry
    assert [step["added"] for step in uk_result["steps"]] == chosen
    assert sorted(uk_result["model"]) == sorted(chosen)
    # dark figure = exp(intercept) of the statsmodels fit of the selected model
    assert uk_result["dark_figure"] == pytest.approx(np.exp(fit.params["(Intercept)"]), rel=1e-8)
    assert uk_result["estimate"] == pytest.approx(y.sum() + np.exp(fit.params["(Intercept)"]), rel=1e-8)
    # Wald interval on the log dark figure from statsmodels' covariance
    se = float(fit.bse["(Intercept)"])
    z = stats.norm.ppf(0.975)
    assert uk_result["ci_low"] == pytest.approx(2744 + np.exp(fit.params["(Intercept)"] - z * se), rel=1e-7)
    assert uk_result["ci_high"] == pytest.approx(2744 + np.exp(fit.params["(Intercept)"] + z * se), rel=1e-7)
    assert uk_result["aic"] == pytest.approx(fit.aic, rel=1e-9)
    # LA:GP and LA:NCA (no overlap) never reach p < 0.02 at any step, so SparseMSE's rule, which may
    # add an empty pair, makes the same choices on this table
    assert min(empty_p) > 0.02
    assert not any("below the threshold" in w for w in uk_result["warnings"])


def test_irls_equals_statsmodels_glm(uk, uk_result):
    """Our Newton/IRLS fit against statsmodels GLM Poisson on the same (independently built) design."""
    lists = [c for c in uk.columns if c != "count"]
    frame, design = _reference_design(lists)
    y = _reference_counts(uk, frame)
    columns = ["(Intercept)", *lists, *uk_result["model"]]
    reference = sm.GLM(y, design[columns], family=sm.families.Poisson()).fit(tol=1e-13).params
    ours = pd.Series(uk_result["coefficients"])[columns]
    np.testing.assert_allclose(ours.to_numpy(), reference.to_numpy(), rtol=0, atol=1e-8)
    # and the bare fitter on a design it starts cold
    beta, mu, info, _ = mse.irls_poisson(design[columns].to_numpy(), y)
    np.testing.assert_allclose(beta, reference.to_numpy(), rtol=0, atol=1e-8)


def test_uk_warns_about_lists_that_do_not_overlap(uk_result):
    # UKdat.csv: no row has LA=1 with GP=1, nor LA=1 with NCA=1 (read from the file)
    text = " ".join(uk_result["warnings"])
    assert "LA and GP do not overlap" in text and "LA and NCA do not overlap" in text
    assert "LA:GP" not in uk_result["model"] and "LA:NCA" not in uk_result["model"]
    assert "122,000" in mse.CAVEAT and uk_result["caveat"] == mse.CAVEAT


def test_source_table_equals_csv(real_data, uk, uk_result):
    frame = pd.read_csv(real_data / FOLDER / "UKdat.csv")
    assert mse.estimate(frame)["estimate"] == pytest.approx(uk_result["estimate"], rel=1e-12)


# -- Netherlands (properties only) ---------------------------------------------------------------
def test_netherlands_properties(ned):
    result = mse.estimate(ned)
    assert result["observed"] == 8234  # PROVENANCE.md
    assert result["ci_low"] < result["estimate"] < result["ci_high"]
    assert result["estimate"] > result["observed"]
    # Ned.csv: no row with K=1 and R=1, none with I=1 and K=1: never in the model, warned about
    assert "K:R" not in result["model"] and "I:K" not in result["model"]
    assert any("K and R do not overlap" in w for w in result["warnings"])
    chosen, _, _, empty_p = _reference_stepwise(ned)
    assert sorted(result["model"]) == sorted(chosen)
    # here an empty pair does fall below 0.02 (K:R): SparseMSE may choose differently, and says so
    assert min(empty_p) < 0.02 and any("below the threshold" in w for w in result["warnings"])


# -- small tables with known answers --------------------------------------------------------------
def test_two_lists_is_lincoln_petersen():
    # by hand: 10 only on A, 20 only on B, 5 on both → dark figure 10 * 20 / 5 = 40, total 75
    table = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [10, 20, 5]})
    result = mse.estimate(table)
    assert result["model"] == []  # the A:B pair is not identifiable with two lists
    assert result["dark_figure"] == pytest.approx(40.0, rel=1e-9)
    assert result["estimate"] == pytest.approx(75.0, rel=1e-9)


def test_threshold_zero_is_main_effects(uk):
    main = mse.estimate(uk, method="main")
    assert mse.estimate(uk, threshold=0)["estimate"] == pytest.approx(main["estimate"], rel=1e-12)
    assert main["model"] == [] and main["steps"] == []


def test_fixed_model_equals_stepwise_choice(uk, uk_result):
    fixed = mse.estimate(uk, method="fixed", pairs=uk_result["model"])
    assert fixed["estimate"] == pytest.approx(uk_result["estimate"], rel=1e-9)


def test_list_without_cases_is_dropped_with_warning():
    table = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "C": [0, 0, 0], "count": [10, 20, 5]})
    result = mse.estimate(table)
    assert result["lists"] == ["A", "B"]
    assert any("C have no cases" in w for w in result["warnings"])
    assert result["estimate"] == pytest.approx(75.0, rel=1e-9)


# -- bad input ---------------------------------------------------------------------------------------
GOOD = {"A": [1, 0, 1], "B": [0, 1, 1], "count": [10, 20, 5]}


@pytest.mark.parametrize("change, message", [
    ({"A": [1, 2, 1]}, "values other than 0/1"),
    ({"A": ["1", "x", "1"]}, "values other than 0/1"),
    ({"count": [10, -1, 5]}, "non-negative whole numbers"),
    ({"count": [10, 2.5, 5]}, "non-negative whole numbers"),
    ({"count": [0, 0, 0]}, "no cases"),
])
def test_bad_values(change, message):
    with pytest.raises(TiplensError, match=message):
        mse.estimate(pd.DataFrame({**GOOD, **change}))


def test_bad_shapes():
    with pytest.raises(TiplensError, match="no 'count' column"):
        mse.estimate(pd.DataFrame({"A": [1, 0], "B": [0, 1], "n": [3, 4]}))
    with pytest.raises(TiplensError, match="at least 2 lists"):
        mse.estimate(pd.DataFrame({"A": [1], "count": [3]}))
    with pytest.raises(TiplensError, match="appears more than once"):
        mse.estimate(pd.DataFrame({"A": [1, 1, 0], "B": [0, 0, 1], "count": [3, 4, 5]}))
    with pytest.raises(TiplensError, match="all-zero history"):
        mse.estimate(pd.DataFrame({"A": [1, 0, 0], "B": [0, 1, 0], "count": [3, 4, 5]}))


def test_bad_options(uk):
    with pytest.raises(TiplensError, match="unknown MSE method 'bayes'; valid: stepwise, main, fixed"):
        mse.estimate(uk, method="bayes")
    with pytest.raises(TiplensError, match="threshold"):
        mse.estimate(uk, threshold=2)
    with pytest.raises(TiplensError, match="unknown pair"):
        mse.estimate(uk, method="fixed", pairs=["LA:XX"])
    with pytest.raises(TiplensError, match="no finite estimate"):
        mse.estimate(uk, method="fixed", pairs=["LA:GP"])  # LA and GP share no case
    with pytest.raises(TiplensError, match="replicates"):
        mse.bootstrap(uk, replicates=0)


# -- bootstrap and model table ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def uk_boot(uk):
    return mse.bootstrap(uk, replicates=200, seed=7)


def test_bootstrap_interval_contains_estimate(uk_boot, uk_result):
    assert uk_boot["estimate"] == pytest.approx(uk_result["estimate"], rel=1e-12)
    assert uk_boot["ci_low"] <= uk_boot["estimate"] <= uk_boot["ci_high"]
    assert uk_boot["succeeded"] + uk_boot["failed"] == 200
    estimates = uk_boot["estimates"][~np.isnan(uk_boot["estimates"])]
    assert uk_boot["ci_low"] == pytest.approx(np.quantile(estimates, 0.025))
    assert (estimates > 2744).all()


def test_bootstrap_redoes_selection(uk_boot):
    models = uk_boot["models"]
    assert models["replicates"].sum() == uk_boot["succeeded"]
    assert models["share"].sum() == pytest.approx(1.0)
    # selection is redone: the replicates do not all end with the model chosen on the data
    assert len(models) > 1
    counted = pd.Series([m for m in uk_boot["replicate_models"] if m is not None]).value_counts()
    assert dict(zip(models["model"], models["replicates"])) == counted.to_dict()


def test_bootstrap_is_reproducible(uk):
    first = mse.bootstrap(uk, replicates=20, seed=3)
    again = mse.bootstrap(uk, replicates=20, seed=3)
    np.testing.assert_array_equal(first["estimates"], again["estimates"])


def test_model_table(uk, uk_result):
    table = mse.model_table(uk, top=5)
    assert list(table.columns) == ["rank", "model", "pairs", "aic", "delta_aic", "dark_figure", "estimate",
                                   "ci_low", "ci_high", "selected", "path_step", "search"]
    assert table["selected"].sum() == 1
    assert table["aic"].is_monotonic_increasing and table["delta_aic"].iloc[0] == 0
    row = table[table["selected"]].iloc[0]
    assert row["estimate"] == pytest.approx(uk_result["estimate"], rel=1e-9)
    # each row's estimate is that model fitted on its own
    other = table.iloc[1]
    fixed = mse.estimate(uk, method="fixed", pairs=other["model"].split(" + "))
    assert other["estimate"] == pytest.approx(fixed["estimate"], rel=1e-9)
    assert other["aic"] == pytest.approx(fixed["aic"], rel=1e-9)


def test_model_table_all_models_for_few_lists():
    # 3 lists: 3 pairs, 8 models; with every history observed all of them have estimates
    table = pd.DataFrame(
        [(1, 0, 0, 40), (0, 1, 0, 30), (0, 0, 1, 25), (1, 1, 0, 8), (1, 0, 1, 6), (0, 1, 1, 5), (1, 1, 1, 2)],
        columns=["A", "B", "C", "count"])
    models = mse.model_table(table, top=10)
    assert len(models) == 8 and set(models["search"]) == {"all models"}
