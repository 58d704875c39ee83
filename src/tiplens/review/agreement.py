"""Agreement between raters: Cohen's kappa, PABAK, Fleiss' kappa, Krippendorff's alpha.

Screening decisions and accepted codes are both nominal labels given by several
raters (reviewers, coders, a person and a machine) to the same items. These
functions take the labels and return one number each; `agreement_table` puts them
side by side in one tidy frame with the number of items behind every value.

Why four statistics: Cohen's kappa is the usual pairwise figure, but screening is
dominated by "exclude", and with such skewed prevalence kappa can be low although
the raters almost always agree (the "kappa paradox"). PABAK shows the agreement
with prevalence and bias removed; Fleiss' kappa and Krippendorff's alpha cover
more than two raters, and alpha also accepts items that not every rater saw.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tiplens.errors import TiplensError

AGREEMENT_COLUMNS = ["statistic", "rater_a", "rater_b", "value", "n_items", "note"]


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _complete_pairs(a: Sequence, b: Sequence) -> tuple[list, list]:
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise TiplensError(
            f"agreement: the two label sequences differ in length ({len(a)} vs {len(b)}); "
            "give one label per item from each rater, in the same item order")
    kept = [(x, y) for x, y in zip(a, b) if not (_is_missing(x) or _is_missing(y))]
    return [x for x, _ in kept], [y for _, y in kept]


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa between two raters.

    Parameters
    ----------
    a, b
        Labels from rater A and rater B for the same items, in the same order.
        Pairs where either label is missing (None or NaN) are dropped.

    Returns
    -------
    float
        ``(po - pe) / (1 - pe)``: observed agreement corrected for the agreement
        expected from each rater's own label frequencies. NaN when no complete
        pair is left, or when both raters used one and the same label for every
        item (expected agreement 1: kappa is undefined, not perfect).
    """
    a, b = _complete_pairs(a, b)
    n = len(a)
    if n == 0:
        return math.nan
    categories = sorted(set(a) | set(b), key=str)
    observed = sum(x == y for x, y in zip(a, b)) / n
    count_a = pd.Series(a).value_counts()
    count_b = pd.Series(b).value_counts()
    expected = sum(count_a.get(c, 0) * count_b.get(c, 0) for c in categories) / (n * n)
    if math.isclose(expected, 1.0):
        return math.nan
    return float((observed - expected) / (1 - expected))


def pabak(a: Sequence, b: Sequence, n_categories: int | None = None) -> float:
    """Prevalence-adjusted bias-adjusted kappa (Byrt, Bishop & Carlin 1993).

    Parameters
    ----------
    a, b
        Labels from two raters for the same items; incomplete pairs are dropped.
    n_categories
        Number of possible categories k. Defaults to the number of distinct labels
        seen in either sequence, but never fewer than 2 (include/exclude).

    Returns
    -------
    float
        ``(k * po - 1) / (k - 1)`` where po is the observed proportion of agreement;
        for two categories this is ``2 * po - 1``. NaN when no complete pair is left.
    """
    a, b = _complete_pairs(a, b)
    if not a:
        return math.nan
    k = n_categories if n_categories is not None else max(2, len(set(a) | set(b)))
    if k < 2:
        raise TiplensError(f"pabak: n_categories must be at least 2, got {k}")
    observed = sum(x == y for x, y in zip(a, b)) / len(a)
    return float((k * observed - 1) / (k - 1))


def _check_columns(frame: pd.DataFrame, item: str, rater: str, label: str) -> None:
    missing = [c for c in (item, rater, label) if c not in frame.columns]
    if missing:
        raise TiplensError(
            f"agreement: the ratings table has no column {', '.join(map(repr, missing))}; "
            f"columns present: {', '.join(map(str, frame.columns))}")


def _ratings_matrix(frame: pd.DataFrame, item: str, rater: str, label: str) -> pd.DataFrame:
    """Items x raters, one label per cell (missing where a rater did not rate)."""
    _check_columns(frame, item, rater, label)
    rated = frame.loc[~frame[label].map(_is_missing), [item, rater, label]]
    duplicated = rated.duplicated([item, rater], keep=False)
    if duplicated.any():
        first = rated.loc[duplicated].iloc[0]
        raise TiplensError(
            f"agreement: rater '{first[rater]}' gives more than one label for item {first[item]}; "
            "keep one label per item and rater (for a screening log, the latest decision)")
    return rated.pivot(index=item, columns=rater, values=label)


def fleiss_kappa(frame: pd.DataFrame, item: str = "item", rater: str = "rater",
                 label: str = "label") -> float:
    """Fleiss' kappa for any number of raters.

    Parameters
    ----------
    frame
        Long table, one row per (item, rater) with the label given.
    item, rater, label
        Column names.

    Returns
    -------
    float
        Fleiss' kappa over the items that every rater labelled (the statistic
        assumes the same number of ratings per item; use `krippendorff_alpha` when
        some ratings are missing). NaN when no such item exists or only one
        category is ever used.
    """
    matrix = _ratings_matrix(frame, item, rater, label).dropna()
    if matrix.empty or matrix.shape[1] < 2:
        return math.nan
    counts = matrix.apply(lambda row: row.value_counts(), axis=1).fillna(0).to_numpy(dtype=float)
    return _fleiss_from_counts(counts)


def _fleiss_from_counts(counts: np.ndarray) -> float:
    n_items = counts.shape[0]
    raters_per_item = counts.sum(axis=1)[0]
    category_share = counts.sum(axis=0) / (n_items * raters_per_item)
    per_item = ((counts ** 2).sum(axis=1) - raters_per_item) / (raters_per_item * (raters_per_item - 1))
    observed = per_item.mean()
    expected = float((category_share ** 2).sum())
    if math.isclose(expected, 1.0):
        return math.nan
    return float((observed - expected) / (1 - expected))


def krippendorff_alpha(frame: pd.DataFrame, item: str = "item", rater: str = "rater",
                       label: str = "label", level: str = "nominal") -> float:
    """Krippendorff's alpha; items not rated by every rater are allowed.

    Parameters
    ----------
    frame
        Long table, one row per (item, rater) with the label given; a rater who did
        not rate an item simply has no row (or a missing label).
    item, rater, label
        Column names.
    level
        ``nominal`` (labels are categories; the default), ``ordinal``, ``interval``
        or ``ratio`` (labels must then be numbers).

    Returns
    -------
    float
        Alpha as computed by the ``krippendorff`` package. Items with fewer than two
        ratings carry no information about agreement and are ignored by alpha.
        NaN when no item has two ratings or only one value occurs.
    """
    import krippendorff  # imported here: only this statistic needs the package

    levels = ("nominal", "ordinal", "interval", "ratio")
    if level not in levels:
        raise TiplensError(f"krippendorff_alpha: level {level!r} is not one of {', '.join(levels)}")
    matrix = _ratings_matrix(frame, item, rater, label)
    pairable = matrix.notna().sum(axis=1) >= 2
    matrix = matrix.loc[pairable]
    if matrix.empty:
        return math.nan
    values = pd.unique(matrix.stack().dropna().to_numpy())
    if len(values) < 2:
        return math.nan
    if level == "nominal":
        codes = {v: i for i, v in enumerate(sorted(values, key=str))}
        data = matrix.apply(lambda col: col.map(codes)).to_numpy(dtype=float).T
    else:
        try:
            data = matrix.to_numpy(dtype=float).T
        except (TypeError, ValueError) as exc:
            raise TiplensError(
                f"krippendorff_alpha: level {level!r} needs numeric labels; got {values[:3].tolist()}"
            ) from exc
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


def agreement_table(frame: pd.DataFrame, item: str = "item", rater: str = "rater",
                    label: str = "label") -> pd.DataFrame:
    """All agreement statistics for a long ratings table, tidy.

    Parameters
    ----------
    frame
        One row per (item, rater) with the label given.
    item, rater, label
        Column names.

    Returns
    -------
    pandas.DataFrame
        Columns ``statistic`` (``percent_agreement``, ``cohen_kappa``, ``pabak``,
        ``fleiss_kappa``, ``krippendorff_alpha``), ``rater_a``, ``rater_b`` (set for
        the pairwise statistics, missing for the all-rater ones), ``value``,
        ``n_items`` (items the value rests on) and ``note`` (how missing ratings
        were treated, or why the value is missing).
    """
    matrix = _ratings_matrix(frame, item, rater, label)
    raters = sorted(matrix.columns, key=str)
    n_categories = max(2, int(pd.Series(matrix.stack().dropna().to_numpy()).nunique()))
    rows: list[dict] = []
    for rater_a, rater_b in itertools.combinations(raters, 2):
        both = matrix[[rater_a, rater_b]].dropna()
        a, b = both[rater_a].tolist(), both[rater_b].tolist()
        n = len(both)
        shared = f"items labelled by both raters ({n})"
        percent = float(np.mean([x == y for x, y in zip(a, b)])) if n else math.nan
        kappa = cohen_kappa(a, b)
        kappa_note = shared
        if n and math.isnan(kappa):
            kappa_note += "; undefined: both raters used a single identical label"
        rows += [
            {"statistic": "percent_agreement", "rater_a": rater_a, "rater_b": rater_b, "value": percent,
                 "n_items": n, "note": shared},
            {"statistic": "cohen_kappa", "rater_a": rater_a, "rater_b": rater_b, "value": kappa,
                 "n_items": n, "note": kappa_note},
            {"statistic": "pabak", "rater_a": rater_a, "rater_b": rater_b,
                 "value": pabak(a, b, n_categories=n_categories), "n_items": n,
                 "note": f"{shared}; k = {n_categories} categories"},
        ]
    complete = int(matrix.dropna().shape[0])
    pairable = int((matrix.notna().sum(axis=1) >= 2).sum())
    rows += [
        {"statistic": "fleiss_kappa", "rater_a": None, "rater_b": None,
             "value": fleiss_kappa(frame, item, rater, label) if len(raters) >= 2 else math.nan,
             "n_items": complete, "note": f"items labelled by all {len(raters)} raters"},
        {"statistic": "krippendorff_alpha", "rater_a": None, "rater_b": None,
             "value": krippendorff_alpha(frame, item, rater, label) if len(raters) >= 2 else math.nan,
             "n_items": pairable, "note": "nominal; items with at least two ratings, missing ratings allowed"},
    ]
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
