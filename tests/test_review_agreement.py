"""Agreement statistics pinned to published worked examples and to statsmodels."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats import inter_rater

from tiplens.errors import TiplensError
from tiplens.review.agreement import (
    agreement_table,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    pabak,
)


def _long(rows_by_rater: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame(
        [(i, r, v) for r, values in rows_by_rater.items() for i, v in enumerate(values, 1) if v is not None],
        columns=["item", "rater", "label"])


# Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", section C: nominal data,
# four observers, twelve units, missing values; the note reports alpha = 0.743.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}

# Cohen's kappa example (Wikipedia "Cohen's kappa", 50 proposals): both yes 20, A yes/B no 5,
# A no/B yes 10, both no 15 -> po = 0.70, pe = 0.50, kappa = 0.40 (worked by hand in the article).
COHEN_A = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
COHEN_B = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15

# Fleiss' kappa example (Fleiss 1971 style table on Wikipedia "Fleiss' kappa"): 10 subjects,
# 14 raters, 5 categories; the article works out kappa = 0.210.
FLEISS_COUNTS = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def _fleiss_long(counts: np.ndarray) -> pd.DataFrame:
    rows = []
    for item, row in enumerate(counts):
        labels = [cat for cat, n in enumerate(row) for _ in range(n)]
        rows += [(item, f"r{k}", lab) for k, lab in enumerate(labels)]
    return pd.DataFrame(rows, columns=["item", "rater", "label"])


def test_krippendorff_alpha_matches_the_2011_worked_example():
    assert krippendorff_alpha(_long(KRIPPENDORFF_2011)) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_accepts_string_labels():
    # same data, labels renamed: nominal alpha must not depend on the label spelling
    renamed = {r: [None if v is None else f"code{v}" for v in vs] for r, vs in KRIPPENDORFF_2011.items()}
    assert krippendorff_alpha(_long(renamed)) == pytest.approx(0.743, abs=5e-4)


def test_cohen_kappa_matches_worked_example_and_statsmodels():
    assert cohen_kappa(COHEN_A, COHEN_B) == pytest.approx(0.40)
    table = pd.crosstab(pd.Series(COHEN_A), pd.Series(COHEN_B)).to_numpy()
    assert cohen_kappa(COHEN_A, COHEN_B) == pytest.approx(inter_rater.cohens_kappa(table).kappa)


def test_cohen_kappa_three_categories_matches_statsmodels():
    rng = np.random.default_rng(5)
    a = rng.choice(["inc", "exc", "maybe"], 200, p=[0.2, 0.7, 0.1])
    b = np.where(rng.random(200) < 0.8, a, rng.choice(["inc", "exc", "maybe"], 200))
    table = pd.crosstab(pd.Series(a), pd.Series(b)).to_numpy()
    assert cohen_kappa(a, b) == pytest.approx(inter_rater.cohens_kappa(table).kappa)


def test_cohen_kappa_drops_missing_pairs():
    assert cohen_kappa(COHEN_A + [None, "yes"], COHEN_B + ["no", float("nan")]) == pytest.approx(0.40)


def test_cohen_kappa_undefined_when_one_label_only():
    assert math.isnan(cohen_kappa(["exc"] * 5, ["exc"] * 5))


def test_pabak_two_and_three_categories():
    # two categories: 2 * po - 1 = 2 * 0.7 - 1 (Byrt, Bishop & Carlin 1993)
    assert pabak(COHEN_A, COHEN_B) == pytest.approx(0.40)
    # kappa paradox: 18 of 20 agree on 'exc', 2 disagree -> po = 0.9, PABAK = 0.8 while kappa < 0
    a = ["exc"] * 18 + ["inc", "exc"]
    b = ["exc"] * 18 + ["exc", "inc"]
    assert pabak(a, b) == pytest.approx(0.8)
    assert cohen_kappa(a, b) < 0
    # k = 3, po = 0.5 -> (3 * 0.5 - 1) / 2 = 0.25
    assert pabak(["a", "b", "c", "a"], ["a", "b", "a", "c"], n_categories=3) == pytest.approx(0.25)


def test_pabak_rejects_unequal_lengths():
    with pytest.raises(TiplensError, match="differ in length"):
        pabak(["a"], ["a", "b"])


def test_fleiss_kappa_matches_worked_example_and_statsmodels():
    frame = _fleiss_long(FLEISS_COUNTS)
    assert fleiss_kappa(frame) == pytest.approx(0.210, abs=5e-4)
    assert fleiss_kappa(frame) == pytest.approx(inter_rater.fleiss_kappa(FLEISS_COUNTS, method="fleiss"))


def test_fleiss_two_raters_matches_statsmodels_on_complete_items():
    frame = _long(KRIPPENDORFF_2011)
    complete = frame.pivot(index="item", columns="rater", values="label").dropna()
    table, _ = inter_rater.aggregate_raters(complete.to_numpy())
    assert fleiss_kappa(frame) == pytest.approx(inter_rater.fleiss_kappa(table, method="fleiss"))


def test_duplicate_rating_is_an_error_naming_rater_and_item():
    frame = pd.DataFrame({"item": [1, 1], "rater": ["ann", "ann"], "label": ["inc", "exc"]})
    with pytest.raises(TiplensError, match="'ann'.*item 1"):
        fleiss_kappa(frame)


def test_agreement_table_is_tidy_and_consistent():
    frame = _long({"ann": COHEN_A, "bo": COHEN_B})
    table = agreement_table(frame)
    assert list(table.columns) == ["statistic", "rater_a", "rater_b", "value", "n_items", "note"]
    by_stat = table.set_index("statistic")
    assert by_stat.loc["cohen_kappa", "value"] == pytest.approx(0.40)
    assert by_stat.loc["percent_agreement", "value"] == pytest.approx(0.70)
    assert by_stat.loc["pabak", "n_items"] == 50
    # with two raters Fleiss' kappa is Scott's pi: (po - pe') / (1 - pe') with pooled shares
    # pooled yes = (25 + 30) / 100 = 0.55 -> pe' = 0.55^2 + 0.45^2 = 0.505 -> (0.7-0.505)/0.495
    assert by_stat.loc["fleiss_kappa", "value"] == pytest.approx((0.7 - 0.505) / 0.495)


def test_agreement_table_three_raters_has_one_row_per_pair():
    table = agreement_table(_long(KRIPPENDORFF_2011))
    pairs = table.loc[table["statistic"] == "cohen_kappa", ["rater_a", "rater_b"]]
    assert len(pairs) == 6
    alpha = table.loc[table["statistic"] == "krippendorff_alpha"].iloc[0]
    assert alpha["value"] == pytest.approx(0.743, abs=5e-4)
    assert alpha["n_items"] == 11  # units 1-11; unit 12 has a single rating and cannot pair


_pairs = st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=2, max_size=60)


# statsmodels warns while computing its standard errors for degenerate tables; kappa itself is fine
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=80, deadline=None)
@given(_pairs)
def test_cohen_kappa_agrees_with_statsmodels_and_is_symmetric(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    kappa = cohen_kappa(a, b)
    labels = sorted(set(a) | set(b))
    table = pd.crosstab(pd.Categorical(a, labels), pd.Categorical(b, labels), dropna=False).to_numpy()
    if math.isnan(kappa):
        assert len(set(a)) == len(set(b)) == 1 and set(a) == set(b)
        return
    assert kappa == pytest.approx(inter_rater.cohens_kappa(table).kappa, abs=1e-9)
    assert kappa == pytest.approx(cohen_kappa(b, a))
    assert -1 - 1e-9 <= pabak(a, b) <= 1 + 1e-9


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("xyz"), min_size=3, max_size=3), min_size=2, max_size=30))
def test_fleiss_kappa_agrees_with_statsmodels(rows):
    frame = pd.DataFrame([(i, f"r{j}", lab) for i, row in enumerate(rows) for j, lab in enumerate(row)],
                         columns=["item", "rater", "label"])
    table, _ = inter_rater.aggregate_raters(np.array(rows))
    ours = fleiss_kappa(frame)
    theirs = inter_rater.fleiss_kappa(table, method="fleiss")
    if math.isnan(ours):
        assert len({lab for row in rows for lab in row}) == 1
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)
