"""Multiple systems estimation (MSE): the hidden number of victims behind overlapping lists.

Several agencies each keep a list of the victims they identified; the overlaps between the lists
say how many victims no list found (the *dark figure*). The default method is the stepwise
Poisson log-linear procedure of Chan, Silverman and Vincent (2019), as in the R package
SparseMSE 2.0.1 (``stepwisefit`` / ``estimatepopulation.0``):

1. The model is log-linear over every observable capture history (all ``2**k - 1`` non-empty
   combinations of the ``k`` lists; a combination the table does not list has count 0).
2. Start from the main-effects model (lists independent given the model).
3. At each step, for every pair of lists not yet in the model, compare the observed overlap
   ``n`` (cases on both lists, whatever other lists they are on) with its expected value
   ``lam`` under the current fit: ``p = min(P(X <= n), P(X >= n))``, ``X ~ Poisson(lam)``.
   Add the pair with the smallest ``p`` while ``p < threshold`` (default 0.02), skipping any pair
   whose maximum likelihood estimate would not exist or not be identifiable (checked with the
   linear-programming test of Fienberg and Rinaldo 2012 and the rank of the design).
4. The dark figure is ``exp(intercept)``; the population estimate is observed + dark figure.

Interval (``estimate``): a Wald interval for the log of the dark figure from the fitted model's
covariance (``intercept +/- z * se``), exponentiated and added to the observed count; this is
what ``estimatepopulation.0`` reports. It is conditional on the selected model and ignores the
selection: :func:`bootstrap` redoes the selection in every replicate (cases resampled
multinomially over the observed capture histories, as SparseMSE's ``estimatepopulation``) and
gives a percentile interval; :func:`model_table` shows how the estimate moves between models.

One deliberate difference from SparseMSE: a pair of lists with no case in common (an *empty
overlap*) is never added. SparseMSE may add it as an extended-MLE parameter equal to minus
infinity (dropping the histories that contain both lists); here such a pair stays out and is
named in ``warnings`` with its p-value under the final model, so a user can see whether the two
rules would differ.

The Poisson fits are a small Newton/IRLS in numpy on the full design (at most ``2**k - 1`` rows),
warm-started from the previous step; the bootstrap reuses the design and caches the existence
checks (which depend only on which histories have cases).

Input everywhere: a *capture table*, one 0/1 column per list and a ``count`` column (as
:func:`tiplens.sources.mse_lists.capture_table` returns). Histories that are not listed count 0.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.special import gammaln, ndtri, pdtr, pdtrc, xlogy

from ..errors import TiplensError

__all__ = ["CAVEAT", "INTERVAL_NOTE", "METHODS", "bootstrap", "estimate", "model_table"]

CAVEAT = (
    "Multiple systems estimation counts the victims that *these lists* could have found: it assumes "
    "a closed population over the period, that every victim has the same chance of being on a list "
    "within the strata used (homogeneity), and that dependence between lists is captured by the "
    "pairwise terms chosen; list errors (false positives, duplicates across lists not linked) bias it. "
    "Estimates are sensitive to the model (see the model table) and to how lists are merged (the UK "
    "2013 data give different figures with 5 and 6 lists). Other measures of the same country differ "
    "by an order of magnitude: the Global Slavery Index 2023 puts the UK near 122,000 people in modern "
    "slavery (2021), a broader concept estimated by a different method; the Home Office MSE for 2013 "
    "gave 10,000 to 13,000 potential victims. Compare like with like."
)
INTERVAL_NOTE = (
    "Wald interval on the log dark figure: exp(intercept +/- z*se(intercept)) from the fitted Poisson "
    "model's covariance, plus the observed count; conditional on the selected model (ignores model "
    "selection; see bootstrap)."
)
BOOTSTRAP_NOTE = (
    "Percentile interval of the bootstrap estimates: cases resampled multinomially over the observed "
    "capture histories; every replicate redoes the stepwise model selection."
)
METHODS = ("stepwise", "main", "fixed")
MAX_LISTS = 12
COUNT_COLUMN = "count"


# -- input ------------------------------------------------------------------------------------
def _validate(table: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(list names, histories as an int 0/1 matrix, counts as int) or TiplensError naming the problem."""
    if not isinstance(table, pd.DataFrame):
        raise TiplensError(f"a capture table must be a DataFrame, got {type(table).__name__}")
    columns = [str(c) for c in table.columns]
    if COUNT_COLUMN not in columns:
        raise TiplensError(f"capture table has no '{COUNT_COLUMN}' column (columns: {', '.join(columns)}); "
                           "expected one 0/1 column per list and a 'count' column")
    lists = [c for c in columns if c != COUNT_COLUMN]
    if len(lists) < 2:
        raise TiplensError(f"capture table has {len(lists)} list column(s) ({', '.join(lists) or 'none'}); "
                           "multiple systems estimation needs at least 2 lists")
    if len(lists) > MAX_LISTS:
        raise TiplensError(f"capture table has {len(lists)} lists; at most {MAX_LISTS} are supported "
                           "(merge lists of the same kind)")
    if len(set(lists)) != len(lists):
        raise TiplensError(f"capture table repeats a list name: {', '.join(lists)}")
    if table.empty:
        raise TiplensError("capture table has no rows")
    frame = table.copy()
    frame.columns = columns
    for name in lists:
        values = pd.to_numeric(frame[name], errors="coerce") if frame[name].dtype != bool else frame[name]
        bad = values.isna() | ~values.isin([0, 1])
        if bad.any():
            shown = ", ".join(sorted({repr(v) for v in frame.loc[bad, name].tolist()})[:5])
            raise TiplensError(f"list column {name!r} has values other than 0/1 ({shown}); "
                               "each list column must be 1 (on the list) or 0 (not on it)")
    counts = pd.to_numeric(frame[COUNT_COLUMN], errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts % 1 != 0)
    if bad.any():
        shown = ", ".join(sorted({repr(v) for v in frame.loc[bad, COUNT_COLUMN].tolist()})[:5])
        raise TiplensError(f"column 'count' must hold non-negative whole numbers of cases; found {shown}")
    histories = frame[lists].astype("int64").to_numpy()
    counts = counts.astype("int64").to_numpy()
    keys = ["".join(map(str, row)) for row in histories]
    seen = pd.Series(keys)
    if seen.duplicated().any():
        repeated = sorted(set(seen[seen.duplicated()]))
        raise TiplensError(f"capture history {', '.join(repeated[:5])} (one digit per list: {', '.join(lists)}) "
                           "appears more than once; give each history once with its total count")
    empty = histories.sum(axis=1) == 0
    if empty.any():
        raise TiplensError("capture table has an all-zero history (cases on no list); those cases cannot "
                           "have been observed: drop that row, its size is what MSE estimates")
    if counts.sum() == 0:
        raise TiplensError("capture table has no cases (all counts are 0)")
    return lists, histories, counts


# -- the log-linear problem on the full table ---------------------------------------------------
@dataclass
class _Problem:
    """Design of the full table for ``k`` lists: every non-empty history, mains and all pairs."""

    lists: list[str]
    k: int = field(init=False)
    design: np.ndarray = field(init=False)     # (2**k - 1) x (1 + k + npairs)
    pairs: list[tuple[int, int]] = field(init=False)
    pair_names: list[str] = field(init=False)
    _rank_ok: dict = field(default_factory=dict, init=False)
    _exists: dict = field(default_factory=dict, init=False)

    def __post_init__(self):
        k = self.k = len(self.lists)
        codes = np.arange(1, 2 ** k)
        histories = (codes[:, None] >> np.arange(k)) & 1
        self.pairs = list(itertools.combinations(range(k), 2))
        self.pair_names = [f"{self.lists[i]}:{self.lists[j]}" for i, j in self.pairs]
        pair_cols = np.column_stack([histories[:, i] * histories[:, j] for i, j in self.pairs])
        self.design = np.column_stack([np.ones(len(codes)), histories, pair_cols]).astype(float)
        self.pair_design = self.design[:, 1 + k:]

    def full_counts(self, histories: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Counts over all ``2**k - 1`` histories (row ``code - 1``, code = sum h_i 2**i)."""
        y = np.zeros(2 ** self.k - 1)
        codes = histories @ (1 << np.arange(self.k))
        np.add.at(y, codes - 1, counts)
        return y

    def columns(self, model: tuple[int, ...]) -> np.ndarray:
        return np.concatenate([np.arange(1 + self.k), 1 + self.k + np.asarray(model, dtype=int)])

    def identifiable(self, model: tuple[int, ...]) -> bool:
        ok = self._rank_ok.get(model)
        if ok is None:
            x = self.design[:, self.columns(model)]
            ok = self._rank_ok[model] = bool(np.linalg.matrix_rank(x) == x.shape[1])
        return ok

    def mle_exists(self, model: tuple[int, ...], y: np.ndarray) -> bool:
        """Fienberg-Rinaldo LP: is there a strictly positive table with the same sufficient statistics?

        The answer depends only on which histories have cases, hence the cache key. If the model
        with every overlapping pair has an estimate, so has each of its submodels (Chan, Silverman &
        Vincent 2019), which settles most questions with one LP per pattern of empty histories.
        """
        support = (y > 0).tobytes()
        top = tuple(int(j) for j in np.flatnonzero(self.pair_design.T @ y > 0))
        if model != top and set(model) <= set(top) and self.mle_exists(top, y):
            return True
        key = (model, support)
        found = self._exists.get(key)
        if found is None:
            x = self.design[:, self.columns(model)]
            n_cells = x.shape[0]
            # variables: a table t (n_cells) and a floor s; maximise s s.t. X't = X'y, t_h >= s >= 0
            objective = np.zeros(n_cells + 1)
            objective[-1] = -1.0
            a_eq = np.hstack([x.T, np.zeros((x.shape[1], 1))])
            a_ub = np.hstack([-np.eye(n_cells), np.ones((n_cells, 1))])
            result = linprog(objective, A_ub=a_ub, b_ub=np.zeros(n_cells), A_eq=a_eq, b_eq=x.T @ y,
                             bounds=(0, None), method="highs")
            found = bool(result.status == 0 and -result.fun > 1e-9 * max(1.0, y.sum()))
            self._exists[key] = found
        return found


@dataclass
class _Fit:
    model: tuple[int, ...]
    beta: np.ndarray
    mu: np.ndarray
    info: np.ndarray
    iterations: int

    @property
    def dark(self) -> float:
        return float(math.exp(self.beta[0]))


def irls_poisson(x: np.ndarray, y: np.ndarray, beta: np.ndarray | None = None, *, tol: float = 1e-11,
                 max_iter: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Poisson log-link maximum likelihood by Newton's method (= IRLS for the canonical link).

    Returns ``(beta, mu, information matrix X'WX at beta, iterations)``. ``beta`` warm-starts the
    fit (e.g. the previous model's coefficients with 0 for a new term). Step-halving keeps the
    log-likelihood increasing. Raises ``FloatingPointError`` if it does not converge.
    """
    if beta is None:
        # start from a weighted least-squares fit to log(y + 0.5), like glm's mu = y + small
        mu = y + 0.5
        weights = np.sqrt(mu)
        beta = np.linalg.lstsq(x * weights[:, None], np.log(mu) * weights, rcond=None)[0]
    eta = np.minimum(x @ beta, 700.0)
    mu = np.exp(eta)
    loglik = float(y @ eta - mu.sum())
    for iteration in range(1, max_iter + 1):
        info = (x.T * mu) @ x
        step = np.linalg.solve(info, x.T @ (y - mu))
        size = 1.0
        while True:
            trial = beta + size * step
            eta = np.minimum(x @ trial, 700.0)
            mu_trial = np.exp(eta)
            trial_loglik = float(y @ eta - mu_trial.sum())
            if trial_loglik >= loglik - 1e-9 * abs(loglik) or size < 1e-6:
                break
            size /= 2
        beta, mu, loglik = trial, mu_trial, trial_loglik
        if np.max(np.abs(size * step)) < tol * (1.0 + np.max(np.abs(beta))):
            return beta, mu, (x.T * mu) @ x, iteration
    raise FloatingPointError(f"Poisson fit did not converge in {max_iter} iterations")


def _fit(problem: _Problem, model: tuple[int, ...], y: np.ndarray, start: _Fit | None = None,
         fitter=irls_poisson) -> _Fit:
    x = problem.design[:, problem.columns(model)]
    beta0 = None
    if start is not None:
        # warm start: the previous coefficients, 0 for the new pair terms (same fitted values)
        previous = dict(zip(start.model, start.beta[1 + problem.k:]))
        beta0 = np.concatenate([start.beta[:1 + problem.k], [previous.get(p, 0.0) for p in model]])
    beta, mu, info, iterations = fitter(x, y, beta0)
    return _Fit(model, beta, mu, info, iterations)


def _pair_pvalues(problem: _Problem, fit: _Fit, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observed overlap, expected overlap, two-sided-minimum Poisson p) for every pair."""
    observed = problem.pair_design.T @ y
    expected = problem.pair_design.T @ fit.mu
    lower = pdtr(observed, expected)
    upper = np.where(observed > 0, pdtrc(np.maximum(observed - 1, 0), expected), 1.0)
    return observed, expected, np.minimum(lower, upper)


def _stepwise(problem: _Problem, y: np.ndarray, threshold: float, fitter=irls_poisson
              ) -> tuple[_Fit, list[dict]]:
    """The forward selection of Chan, Silverman & Vincent (2019); returns (final fit, steps)."""
    if not problem.mle_exists((), y):
        raise _NoEstimate("the main-effects model has no finite estimate for this table")
    fit = _fit(problem, (), y, fitter=fitter)
    steps: list[dict] = []
    while True:
        observed, expected, pvalues = _pair_pvalues(problem, fit, y)
        chosen = None
        # candidates in order of p (ties: list order, as SparseMSE takes the first minimum)
        for j in np.lexsort((np.arange(len(pvalues)), pvalues)):
            if pvalues[j] >= threshold:
                break
            if j in fit.model or observed[j] == 0:
                continue
            model = tuple(sorted(fit.model + (int(j),)))
            if problem.identifiable(model) and problem.mle_exists(model, y):
                chosen = int(j)
                break
        if chosen is None:
            return fit, steps
        fit = _fit(problem, tuple(sorted(fit.model + (chosen,))), y, start=fit, fitter=fitter)
        steps.append({"step": len(steps) + 1, "added": problem.pair_names[chosen],
                      "overlap": int(observed[chosen]), "expected": float(expected[chosen]),
                      "p_value": float(pvalues[chosen]), "dark_figure": fit.dark})


class _NoEstimate(Exception):
    """The model has no finite, identifiable estimate for these counts."""


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise TiplensError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    return float(ndtri(0.5 + level / 2))


def _check_threshold(threshold: float) -> None:
    if not 0 <= threshold <= 1:
        raise TiplensError(f"threshold must be a p-value between 0 and 1 (default 0.02), got {threshold}")


def _prepare(table: pd.DataFrame) -> tuple[_Problem, np.ndarray, list[str], list[str], np.ndarray, np.ndarray]:
    """Validate, drop lists without cases (with a warning), build the problem and full counts."""
    lists, histories, counts = _validate(table)
    warnings = []
    on_list = (histories * counts[:, None]).sum(axis=0)
    empty = [name for name, n in zip(lists, on_list) if n == 0]
    if empty:
        keep = on_list > 0
        if keep.sum() < 2:
            raise TiplensError(f"lists {', '.join(empty)} have no cases; fewer than 2 lists with cases remain")
        warnings.append(f"list(s) {', '.join(empty)} have no cases and carry no information: left out")
        lists = [name for name, k in zip(lists, keep) if k]
        histories = histories[:, keep]
        rows = histories.sum(axis=1) > 0
        histories, counts = histories[rows], counts[rows]
    problem = _Problem(lists)
    return problem, problem.full_counts(histories, counts), lists, warnings, histories, counts


def _overlap_warnings(problem: _Problem, y: np.ndarray, fit: _Fit, threshold: float) -> list[str]:
    observed, expected, pvalues = _pair_pvalues(problem, fit, y)
    warnings = []
    for name, n, lam, p in zip(problem.pair_names, observed, expected, pvalues):
        if n == 0:
            note = (f"lists {name.replace(':', ' and ')} do not overlap (no case on both); the pair is never "
                    f"added to the model (expected overlap under the final model {lam:.2f}, p = {p:.3g})")
            if p < threshold:
                note += (": below the threshold, so SparseMSE's stepwise could have added it as a parameter "
                         "at minus infinity and given a different estimate")
            warnings.append(note)
    linked = {i: 0 for i in range(problem.k)}
    for (i, j), n in zip(problem.pairs, observed):
        if n > 0:
            linked[i] += 1
            linked[j] += 1
    for i, count in linked.items():
        if count == 0:
            warnings.append(f"list {problem.lists[i]} overlaps no other list: its contribution to the estimate "
                            "rests entirely on the model's assumptions")
    return warnings


def _summary(problem: _Problem, y: np.ndarray, fit: _Fit, z: float) -> dict:
    observed = int(round(y.sum()))
    cov = np.linalg.inv(fit.info)
    se = float(math.sqrt(cov[0, 0]))
    dark = fit.dark
    loglik = float(xlogy(y, fit.mu).sum() - fit.mu.sum() - gammaln(y + 1).sum())
    n_params = len(fit.beta)
    names = ["(Intercept)", *problem.lists, *[problem.pair_names[p] for p in fit.model]]
    return {
        "observed": observed,
        "estimate": observed + dark,
        "ci_low": observed + math.exp(fit.beta[0] - z * se),
        "ci_high": observed + math.exp(fit.beta[0] + z * se),
        "dark_figure": dark,
        "log_dark_se": se,
        "model": [problem.pair_names[p] for p in fit.model],
        "aic": -2 * loglik + 2 * n_params,
        "deviance": float(2 * (xlogy(y, y / np.where(fit.mu > 0, fit.mu, 1)).sum() - (y - fit.mu).sum())),
        "coefficients": dict(zip(names, map(float, fit.beta))),
    }


# -- public API --------------------------------------------------------------------------------
def estimate(table: pd.DataFrame, *, threshold: float = 0.02, method: str = "stepwise",
             pairs: list[str] | None = None, level: float = 0.95) -> dict:
    """Estimate the total population (observed + dark figure) from a capture table.

    Parameters
    ----------
    table : DataFrame
        One 0/1 column per list and a ``count`` column (cases with exactly that history).
        Histories not listed have count 0; an all-zero history is an error.
    threshold : float
        p-value below which the stepwise method adds a pair of lists (SparseMSE ``pthresh``).
    method : {"stepwise", "main", "fixed"}
        ``stepwise`` (default, Chan, Silverman & Vincent 2019); ``main`` main effects only;
        ``fixed`` the pairs given in ``pairs``.
    pairs : list of str, optional
        For ``method="fixed"``: pairs as ``"A:B"`` with the table's list names.
    level : float
        Confidence level of the Wald interval (default 0.95).

    Returns
    -------
    dict
        ``observed`` (cases on at least one list), ``estimate`` (observed + dark figure),
        ``ci_low``/``ci_high`` (Wald interval on the log dark figure, see :data:`INTERVAL_NOTE`),
        ``level``, ``dark_figure``, ``log_dark_se``, ``model`` (pairwise terms ``"A:B"``; the
        intercept and every list's main effect are always in), ``steps`` (selection path: ``step,
        added, overlap, expected, p_value, dark_figure``), ``aic``, ``deviance``, ``coefficients``,
        ``lists``, ``method``, ``threshold``, ``interval`` (how the interval is made),
        ``warnings`` (lists without cases, pairs of lists that do not overlap, lists overlapping
        none), ``caveat`` (:data:`CAVEAT`).
    """
    if method not in METHODS:
        raise TiplensError(f"unknown MSE method {method!r}; valid: {', '.join(METHODS)}")
    _check_threshold(threshold)
    z = _z(level)
    problem, y, lists, warnings, _, _ = _prepare(table)
    steps: list[dict] = []
    try:
        if method == "stepwise":
            fit, steps = _stepwise(problem, y, threshold)
        else:
            model = () if method == "main" else _parse_pairs(problem, pairs)
            if not problem.identifiable(model):
                raise TiplensError(f"model {' + '.join(problem.pair_names[p] for p in model)} is not "
                                   "identifiable from these lists")
            if not problem.mle_exists(model, y):
                raise _NoEstimate("this model has no finite estimate for this table (a parameter would be "
                                  "infinite; e.g. a pair of lists with no overlap)")
            fit = _fit(problem, model, y)
    except _NoEstimate as problem_text:
        raise TiplensError(f"no estimate: {problem_text}") from None
    result = _summary(problem, y, fit, z)
    result.update({"level": level, "steps": steps, "lists": lists, "method": method,
                   "threshold": threshold if method == "stepwise" else None, "interval": INTERVAL_NOTE,
                   "warnings": warnings + _overlap_warnings(problem, y, fit, threshold), "caveat": CAVEAT})
    return result


def _parse_pairs(problem: _Problem, pairs: list[str] | None) -> tuple[int, ...]:
    if not pairs:
        return ()
    index = {}
    for j, (a, b) in enumerate(problem.pairs):
        index[f"{problem.lists[a]}:{problem.lists[b]}"] = j
        index[f"{problem.lists[b]}:{problem.lists[a]}"] = j
    unknown = [p for p in pairs if p not in index]
    if unknown:
        raise TiplensError(f"unknown pair(s) {', '.join(unknown)}; valid: {', '.join(problem.pair_names)}")
    return tuple(sorted({index[p] for p in pairs}))


def bootstrap(table: pd.DataFrame, *, replicates: int = 1000, seed: int = 0, threshold: float = 0.02,
              level: float = 0.95) -> dict:
    """Bootstrap interval for the stepwise estimate, redoing the model selection in every replicate.

    Each replicate draws the observed number of cases multinomially over the observed capture
    histories (probabilities = observed shares, as SparseMSE's ``estimatepopulation``), drops a list
    left without cases, and reruns the stepwise selection and fit.

    Parameters
    ----------
    table : DataFrame
        Capture table as for :func:`estimate`.
    replicates : int
        Number of bootstrap replicates (default 1000).
    seed : int
        Seed of numpy's ``default_rng``: the same seed gives the same replicates.
    threshold, level : float
        As for :func:`estimate`; ``level`` sets the percentile interval.

    Returns
    -------
    dict
        ``observed``, ``estimate`` (point estimate from the data), ``ci_low``/``ci_high``
        (percentile interval of the replicate estimates), ``level``, ``model`` (selected on the
        data), ``replicates``, ``succeeded``, ``failed`` (replicates without a finite estimate,
        left out of the interval), ``seed``, ``threshold``, ``estimates`` (numpy array, NaN where a
        replicate failed), ``replicate_models`` (list: the pairs selected in each replicate, " + "
        joined, "main effects" for none, None if failed), ``models`` (DataFrame, one row per
        model selected in some replicate: ``model``, ``replicates``, ``share``,
        ``median_estimate``; most frequent first), ``interval`` (:data:`BOOTSTRAP_NOTE`),
        ``warnings``, ``caveat``.
    """
    if not isinstance(replicates, (int, np.integer)) or replicates < 1:
        raise TiplensError(f"replicates must be a positive whole number, got {replicates!r}")
    _check_threshold(threshold)
    _z(level)
    point = estimate(table, threshold=threshold, level=level)
    problem, _, _, _, histories, counts = _prepare(table)
    estimates, models = _replicates(problem, histories, counts, replicates, seed, threshold)
    warnings = list(point["warnings"])
    ok = ~np.isnan(estimates)
    alpha = (1 - level) / 2
    low, high = (np.quantile(estimates[ok], [alpha, 1 - alpha]) if ok.any() else (np.nan, np.nan))
    frame = pd.DataFrame({"model": [m for m in models if m is not None], "estimate": estimates[ok]})
    table_models = (frame.groupby("model", sort=False)["estimate"].agg(["size", "median"])
                    .rename(columns={"size": "replicates", "median": "median_estimate"})
                    .reset_index().sort_values(["replicates", "model"], ascending=[False, True],
                                               kind="stable").reset_index(drop=True))
    table_models.insert(2, "share", table_models["replicates"] / max(int(ok.sum()), 1))
    if (~ok).any():
        warnings.append(f"{int((~ok).sum())} of {replicates} replicates had no finite estimate "
                        "and are left out of the interval")
    return {"observed": point["observed"], "estimate": point["estimate"], "ci_low": float(low),
            "ci_high": float(high), "level": level, "model": point["model"], "replicates": replicates,
            "succeeded": int(ok.sum()), "failed": int((~ok).sum()), "seed": seed, "threshold": threshold,
            "estimates": estimates, "replicate_models": models, "models": table_models,
            "interval": BOOTSTRAP_NOTE, "warnings": warnings, "caveat": CAVEAT}


def _replicates(problem: _Problem, histories: np.ndarray, counts: np.ndarray, replicates: int, seed: int,
                threshold: float, fitter=irls_poisson) -> tuple[np.ndarray, list[str | None]]:
    """Bootstrap estimates and selected models (NaN / None where a replicate has no estimate)."""
    seen = counts > 0
    histories, counts = histories[seen], counts[seen]
    total = int(counts.sum())
    draws = np.random.default_rng(seed).multinomial(total, counts / total, size=replicates)
    problems = {tuple([True] * problem.k): problem}
    estimates = np.full(replicates, np.nan)
    models: list[str | None] = [None] * replicates
    for r in range(replicates):
        sample = draws[r]
        # a list left without cases is dropped: the same as its main effect at -infinity
        keep = (histories * sample[:, None]).sum(axis=0) > 0
        key = tuple(bool(v) for v in keep)
        if key not in problems and keep.sum() >= 2:
            problems[key] = _Problem([name for name, k in zip(problem.lists, keep) if k])
        sub = problems.get(key)
        if sub is None:
            continue
        rows = histories[:, keep].sum(axis=1) > 0
        y_r = sub.full_counts(histories[rows][:, keep], sample[rows])
        try:
            fit, _ = _stepwise(sub, y_r, threshold, fitter=fitter)
        except (_NoEstimate, FloatingPointError, np.linalg.LinAlgError):
            continue
        estimates[r] = total + fit.dark
        models[r] = " + ".join(sub.pair_names[p] for p in fit.model) or "main effects"
    return estimates, models


def model_table(table: pd.DataFrame, *, top: int = 10, threshold: float = 0.02, level: float = 0.95
                ) -> pd.DataFrame:
    """The best models by AIC with their estimates, to show how much the estimate depends on the model.

    With up to 4 lists (at most 6 pairs) every model is fitted. With more lists the candidates are
    the models on the stepwise selection path and every model one pair away from them (one pair
    added or removed); the table says which.

    Parameters
    ----------
    table : DataFrame
        Capture table as for :func:`estimate`.
    top : int
        How many models to return (lowest AIC first).
    threshold, level : float
        Stepwise threshold (to mark the selected model and the path) and Wald interval level.

    Returns
    -------
    DataFrame
        ``rank`` (1 = lowest AIC), ``model`` (pairs ``"A:B"`` joined by ``" + "``, or
        ``"main effects"``), ``pairs`` (number of pairwise terms), ``aic``, ``delta_aic``
        (against the lowest AIC found), ``dark_figure``, ``estimate`` (observed + dark figure),
        ``ci_low``, ``ci_high`` (Wald, as :func:`estimate`), ``selected`` (the stepwise choice),
        ``path_step`` (step of the selection path at which this model was reached, else NA),
        ``search`` (``"all models"`` or ``"path and neighbours"``). Models whose estimate would
        be infinite or not identifiable are left out. The selected model is always included (one
        row more than ``top`` when its rank is lower).
    """
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise TiplensError(f"top must be a positive whole number, got {top!r}")
    _check_threshold(threshold)
    z = _z(level)
    problem, y, _, _, _, _ = _prepare(table)
    try:
        selected, steps = _stepwise(problem, y, threshold)
    except _NoEstimate as text:
        raise TiplensError(f"no estimate: {text}") from None
    path = [()]
    for step in steps:
        path.append(tuple(sorted(path[-1] + (problem.pair_names.index(step["added"]),))))
    n_pairs = len(problem.pairs)
    if n_pairs <= 6:
        search = "all models"
        candidates = [tuple(c) for size in range(n_pairs + 1) for c in itertools.combinations(range(n_pairs), size)]
    else:
        search = "path and neighbours"
        found = dict.fromkeys(path)
        for model in path:
            for j in range(n_pairs):
                found[tuple(sorted(set(model) ^ {j}))] = None
        candidates = list(found)
    observed_overlap = problem.pair_design.T @ y
    rows = []
    for model in candidates:
        if any(observed_overlap[j] == 0 for j in model):
            continue
        if not (problem.identifiable(model) and problem.mle_exists(model, y)):
            continue
        try:
            fit = _fit(problem, model, y)
        except (FloatingPointError, np.linalg.LinAlgError):
            continue
        summary = _summary(problem, y, fit, z)
        rows.append({"model": " + ".join(summary["model"]) or "main effects", "pairs": len(model),
                     "aic": summary["aic"], "dark_figure": summary["dark_figure"],
                     "estimate": summary["estimate"], "ci_low": summary["ci_low"], "ci_high": summary["ci_high"],
                     "selected": model == selected.model,
                     "path_step": path.index(model) if model in path else pd.NA, "search": search})
    ranked = pd.DataFrame(rows).sort_values(["aic", "pairs"], kind="stable").reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    ranked.insert(4, "delta_aic", ranked["aic"] - ranked["aic"].min())
    # the stepwise choice is always shown, even when its AIC is not among the best
    out = ranked[(ranked["rank"] <= top) | ranked["selected"]].reset_index(drop=True)
    out["path_step"] = out["path_step"].astype("Int64")
    return out
