"""The liberal hypotheses put to the data, and models a user states.

Four hypotheses from the seed paper's liberal lens (section 4), each fitted by one function that
takes the analysis frame (:func:`analysis_frame`: the panel plus the density index, population and
GSI extras) and returns a result dict (:func:`fit_hypotheses` runs them all):

1. :func:`palermo_criminalisation` — ratifying the Palermo Protocol is followed by criminalisation
   (Kelley & Simmons coding 1999-2014). Staggered adoption: Callaway & Sant'Anna group-time
   average effects with not-yet-treated controls (:func:`callaway_santanna`), event-time effects
   for pre-trends, ratification years missing from the data treated as unknown (the country
   leaves the sample) rather than never.
2. :func:`governance_detection` — WGI rule of law and control of corruption go with more victims
   identified per capita and more convictions per identified victim: Poisson PML with a log
   offset, country and year fixed effects, country-clustered errors, at both censoring bounds.
3. :func:`cooperation_policy` — denser cooperation goes with better 3P scores (fixed effects
   OLS) and better TIP tiers (ordered logit; the report edition covers the previous year, so the
   density is lagged one year), at both bounds of the density index.
4. :func:`root_causes_prevalence` — GII, HDI and GDP per capita and the Global Slavery Index's
   estimated prevalence: one cross-section (2021 estimates) with region effects.

:func:`fit_model` fits a model a user states (outcome, predictors, effects, family). Counts are
modelled as counts (``poisson``: pyfixest ``fepois``); ``ols`` uses ``feols``; ``ordered_logit``
statsmodels' ``OrderedModel``.

Every result carries its caveats, the sources it needs, and which countries and years entered.
A hypothesis whose data is not in the store comes back with ``status = "needs_data"`` and a
message naming the file to ingest; nothing raises for that.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import TiplensError
from .coverage import (
    density_index,
    membership_spells,
    palermo_status_now,
    palermo_timing,
)

FAMILIES = ("ols", "poisson", "ordered_logit")

#: Columns of every coefficient table.
COEFFICIENT_COLUMNS = ["model", "spec", "outcome", "bound", "term", "estimate", "std_error", "ci_low", "ci_high",
                       "p_value", "n_obs", "n_countries", "first_year", "last_year", "estimator"]

#: Columns of every spec table (one row per fitted specification).
SPEC_COLUMNS = ["model", "spec", "outcome", "bound", "family", "formula", "effects", "offset", "cluster",
                "n_obs", "n_countries", "first_year", "last_year", "countries", "note"]

#: Outcomes published with censoring bounds: a model of one is fitted at both bounds.
BOUNDED = ("detected_victims", "prosecuted", "convicted")

CAVEATS = {
    "detection": "Detected victims, prosecutions and convictions measure what authorities detect and report, not "
                 "how much trafficking there is: a 'better' coefficient may mean more detection, not more crime.",
    "reverse": "Reverse causation: governments that already fight trafficking may also ratify, cooperate and score "
               "well; fixed effects remove stable differences, not this.",
    "coverage": "Coverage: only country-years with every variable enter (n obs, countries and years are given per "
                "spec); reporters are not a random sample of countries.",
    "bounds": "Censoring: '<5' cells enter at 0 (lower) and 4 (upper); both fits are shown.",
    "density": "Density bounds: density_lower counts only memberships with a published date, density_upper "
               "counts undated ones from the framework's adoption year; membership files are partial.",
    "circular": "Circularity: the Global Slavery Index's prevalence is itself partly extrapolated from "
                "vulnerability covariates close to GII, HDI and GDP, so the association is partly built in.",
    "cross_section": "One cross-section (2021 estimates): an association across countries, not an effect within "
                     "one.",
    "tier_lag": "A TIP Report edition covers roughly April of the previous year to March: tier of edition t is "
                "related to density in year t-1.",
    "tier_order": "Tiers run 1 (best) to 3 (worst), Watch List 2.5: a negative coefficient means better tiers.",
    "staggered": "Staggered adoption: Callaway & Sant'Anna group-time effects with not-yet-treated controls "
                 "(unconditional parallel trends); pre-treatment event times are placebo tests. Countries whose "
                 "ratification year is unknown are left out, not counted as never treated.",
    "criminalisation": "The criminalisation level (0-2) is ordinal; its effect is read as a change in level. Most "
                       "ratifications (2002-2006) follow the 2000 US TVPA and TIP Report pressure (Kelley & Simmons "
                       "2015): ratification and criminalisation may share that cause.",
    "wgi": "WGI ends in 2019 and is biennial before 2002; rule of law and control of corruption move together, so "
           "their separate coefficients are imprecise.",
    "collinear": "GII, HDI and log GDP per capita are strongly correlated: each coefficient holds the others fixed "
                 "and is imprecise; GSI numbers are rounded to thousands.",
    "same_report": "3P and tiers are both read from the US TIP Report: they are not independent measures.",
}

#: The sources each hypothesis needs and how to load them when missing.
INGEST_HINTS = {
    "kelley_simmons": "Kelley & Simmons criminalisation coding (source kelley_simmons): tiplens ingest "
                      "kelley_simmons_panel/criminalization_jk_2015-08-10.csv "
                      "kelley_simmons_panel/palermo_ratification_year_derived.csv --edition 2017-08-14 "
                      "(or tiplens fetch kelley_simmons)",
    "glotip": "UNODC GLOTIP country data (source glotip): download data_glotip.xlsx from "
              "https://dataunodc.un.org/dp-trafficking-persons and run tiplens ingest data_glotip.xlsx",
    "policy_3p": "the 3P Anti-Trafficking Policy Index (source policy_3p): tiplens ingest "
                 "anti_tip_policy_3p/policy_index.csv --edition 2015-12-03 (or tiplens fetch policy_3p)",
    "gsi": "the Walk Free Global Slavery Index 2023 (source gsi): tiplens ingest "
           "walkfree_gsi_2023/2023-Global-Slavery-Index-Data.xlsx",
    "wgi": "World Bank WGI (source wgi): tiplens fetch wgi",
    "hdr": "UNDP HDR composite indices (source hdr): tiplens fetch hdr",
}


# -- the analysis frame ---------------------------------------------------------------------------
def analysis_frame(panel: pd.DataFrame, membership: pd.DataFrame | None = None,
                   frameworks: pd.DataFrame | None = None, population: pd.DataFrame | None = None,
                   gsi: pd.DataFrame | None = None) -> pd.DataFrame:
    """The panel with the columns the models use added.

    Added: ``density_lower``, ``density_upper`` (:mod:`tiplens.lens.coverage`),
    ``population`` (UNDP HDR, persons) and ``log_population``, ``log_gdp_per_capita``,
    ``full_criminalization`` (1 where ``criminalization`` is 2), ``palermo_status_now``, and from
    the GSI observations (``gsi``: long observations) ``gsi_victims_estimated`` and
    ``gsi_population`` on the country's 2021 row.
    """
    frame = panel.copy()
    if len(frame) == 0:
        return frame
    palermo_years, not_before = palermo_timing(frame)
    spells = membership_spells(membership if membership is not None else pd.DataFrame(), frameworks, palermo_years,
                               palermo_not_before=not_before)
    frame = frame.merge(density_index(spells, frame, labels=False), on=["iso3", "year"], how="left")
    if population is not None and len(population):
        frame = frame.merge(population, on=["iso3", "year"], how="left")
    else:
        frame["population"] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["log_population"] = np.log(frame["population"].astype(float))
        frame["log_gdp_per_capita"] = np.log(frame["gdp_per_capita_ppp"].astype(float))
    crim = frame["criminalization"].astype("Float64")
    frame["full_criminalization"] = crim.eq(2).astype("Float64").where(crim.notna())
    frame["palermo_status_now"] = frame["iso3"].map(
        palermo_status_now(membership) if membership is not None else pd.Series(dtype="str"))
    frame["gsi_victims_estimated"] = np.nan
    frame["gsi_population"] = np.nan
    if gsi is not None and len(gsi):
        for indicator in ("gsi_victims_estimated", "gsi_population"):
            values = gsi[gsi["indicator"].eq(indicator) & gsi["value"].notna()].groupby("iso3")["value"].first()
            at_2021 = frame["year"].eq(2021)
            frame.loc[at_2021, indicator] = frame.loc[at_2021, "iso3"].map(values)
    return frame


def _lagged(frame: pd.DataFrame, column: str, lag: int) -> pd.Series:
    """``column`` of the same country ``lag`` years earlier (by calendar year, not row order)."""
    if lag == 0:
        return frame[column]
    earlier = frame[["iso3", "year", column]].assign(year=frame["year"] + lag)
    return frame[["iso3", "year"]].merge(earlier, on=["iso3", "year"], how="left")[column].set_axis(frame.index)


# -- fitting engine ------------------------------------------------------------------------------
def _check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        valid = ", ".join(c for c in frame.columns if c not in ("country", "tip_tier_label"))
        raise TiplensError(f"column {', '.join(repr(c) for c in missing)} does not exist in the analysis frame; "
                           f"valid columns: {valid}")


def _tidy_pyfixest(fit, terms: list[str]) -> pd.DataFrame:
    tidy = fit.tidy()
    tidy = tidy.loc[[t for t in tidy.index if t in terms]]
    return pd.DataFrame({"term": tidy.index, "estimate": tidy["Estimate"].to_numpy(float),
                         "std_error": tidy["Std. Error"].to_numpy(float), "ci_low": tidy["2.5%"].to_numpy(float),
                         "ci_high": tidy["97.5%"].to_numpy(float),
                         "p_value": tidy["Pr(>|t|)"].to_numpy(float)})


def fit_spec(frame: pd.DataFrame, *, outcome: str, predictors: list[str], effects: list[str] | None = None,
             family: str = "ols", offset: str | None = None, cluster: str | None = "iso3",
             model: str = "custom", spec: str = "custom", bound: str = "", min_obs: int = 10,
             raise_too_few: bool = True) -> tuple[pd.DataFrame, dict]:
    """Fit one specification; return (coefficients, spec row).

    ``offset`` is a column already on the log scale (e.g. ``log_population``). Fixed effects
    (``effects``) are absorbed for ``ols``/``poisson`` and entered as dummies for
    ``ordered_logit``. Standard errors are clustered by ``cluster`` (heteroskedasticity-robust
    when None). Raises :class:`TiplensError` when fewer than ``min_obs`` rows (or 5 countries)
    remain, unless ``raise_too_few`` is False, in which case the spec row says so and the
    coefficient table is empty.
    """
    if family not in FAMILIES:
        raise TiplensError(f"family {family!r} is not known; valid: {', '.join(FAMILIES)}")
    effects = list(effects or [])
    needed = [outcome, *predictors, *effects, *([offset] if offset else []), *([cluster] if cluster else [])]
    _check_columns(frame, needed)
    data = frame[list(dict.fromkeys(["iso3", "year", *needed]))].copy()
    for col in [outcome, *predictors, *([offset] if offset else [])]:
        data[col] = pd.to_numeric(data[col], errors="coerce").astype(float)
    data = data.replace([np.inf, -np.inf], np.nan).dropna()
    if family == "poisson":
        data = data[data[outcome] >= 0]
    n, k = len(data), len(predictors)
    row = {"model": model, "spec": spec, "outcome": outcome, "bound": bound, "family": family,
           "formula": f"{outcome} ~ {' + '.join(predictors)}" + (f" | {' + '.join(effects)}" if effects else ""),
           "effects": ", ".join(effects), "offset": offset or "", "cluster": cluster or "robust (HC1)",
           "note": ""}
    enough = n >= max(min_obs, k + 2) and data["iso3"].nunique() >= 5
    if not enough:
        message = (f"too few observations for {row['formula']}: {n} rows with every column present "
                   f"({data['iso3'].nunique()} countries; need at least {max(min_obs, k + 2)} rows and 5 countries). "
                   f"Columns used: {', '.join(needed)}")
        if raise_too_few:
            raise TiplensError(message + "; widen the years or drop a predictor")
        return pd.DataFrame(columns=COEFFICIENT_COLUMNS), {**row, "n_obs": n, "n_countries": data["iso3"].nunique(),
                                                          "first_year": None, "last_year": None, "countries": "",
                                                          "note": message}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "ordered_logit":
            coefs, used = _ordered_logit(data, outcome, predictors, effects, cluster)
            estimator = "ordered logit (statsmodels OrderedModel), effects as dummies"
        else:
            import pyfixest as pf
            formula = f"{outcome} ~ {' + '.join(predictors)}" + (f" | {' + '.join(effects)}" if effects else "")
            vcov = {"CRV1": cluster} if cluster else "hetero"
            try:
                if family == "poisson":
                    fit = pf.fepois(formula, data=data, offset=offset, vcov=vcov)
                    estimator = "Poisson PML (pyfixest fepois)"
                else:
                    if offset:
                        data[outcome] = data[outcome] - data[offset]
                    fit = pf.feols(formula, data=data, vcov=vcov)
                    estimator = "OLS (pyfixest feols)"
            except Exception as exc:  # noqa: BLE001  (pyfixest raises plain errors for degenerate designs)
                raise TiplensError(f"cannot fit {formula}: {exc}") from None
            coefs, used = _tidy_pyfixest(fit, predictors), fit._data
    dropped = [p for p in predictors if p not in set(coefs["term"])]
    if dropped:
        row["note"] = f"dropped (collinear with the effects or constant): {', '.join(dropped)}"
    meta = {"n_obs": len(used), "n_countries": int(used["iso3"].nunique()),
            "first_year": int(used["year"].min()), "last_year": int(used["year"].max()),
            "countries": ";".join(sorted(used["iso3"].unique()))}
    coefs = coefs.assign(model=model, spec=spec, outcome=outcome, bound=bound, estimator=estimator,
                         **{k: v for k, v in meta.items() if k != "countries"})
    return coefs.reindex(columns=COEFFICIENT_COLUMNS), {**row, **meta}


def _ordered_logit_model():
    """statsmodels' OrderedModel (logit) with an analytic score.

    OrderedModel differentiates its likelihood numerically, which makes a fit with year and
    region effects take seconds; the score below is the exact derivative (with respect to the
    coefficients and to statsmodels' threshold parameters: the first cut-off, then the logs of
    the increments), and the Hessian is the numerical derivative of that score. The likelihood,
    optimiser and clustered covariance are statsmodels' own. A test fits the plain OrderedModel too and compares.
    """
    from scipy import special, stats
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    class FastLogistic(stats.rv_continuous):
        def cdf(self, x, *args, **kwargs):
            return special.expit(x)

        def pdf(self, x, *args, **kwargs):
            p = special.expit(x)
            return p * (1.0 - p)

        def ppf(self, q, *args, **kwargs):
            return special.logit(q)

    class OrderedLogit(OrderedModel):
        def __init__(self, endog, exog, **kwargs):
            super().__init__(endog, exog, distr=FastLogistic(name="logistic"), **kwargs)

        def score_obs(self, params):
            low, upp = self._bounds(params)
            prob = self.prob(low, upp) + 1e-20
            f_low, f_upp = self.pdf(low), self.pdf(upp)
            d_beta = (-(f_upp - f_low) / prob)[:, None] * self.exog
            theta = np.asarray(params)[self.k_vars:]
            n_cut = len(theta)
            # d cut-off m / d theta r: 1 for r = 0, exp(theta r) for 1 <= r <= m
            jacobian = np.tril(np.ones((n_cut, n_cut))) * np.r_[1.0, np.exp(theta[1:])][None, :]
            rows, level = np.arange(len(prob)), np.asarray(self.endog, dtype=int)
            d_cut = np.zeros((len(prob), n_cut))
            has_upper, has_lower = level < n_cut, level > 0
            d_cut[rows[has_upper], level[has_upper]] += f_upp[has_upper] / prob[has_upper]
            d_cut[rows[has_lower], level[has_lower] - 1] -= f_low[has_lower] / prob[has_lower]
            return np.column_stack([d_beta, d_cut @ jacobian])

        def score(self, params):
            return self.score_obs(params).sum(axis=0)

        def hessian(self, params):
            # central differences of the analytic score: 2k score calls instead of the ~4k^2
            # likelihood calls of statsmodels' second differences
            from statsmodels.tools.numdiff import approx_fprime
            hess = approx_fprime(np.asarray(params, dtype=float), self.score, centered=True)
            return (hess + hess.T) / 2

    return OrderedLogit


def _ordered_logit(data: pd.DataFrame, outcome: str, predictors: list[str], effects: list[str],
                   cluster: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    from scipy import stats
    exog = data[predictors].astype(float)
    for effect in effects:
        dummies = pd.get_dummies(data[effect].astype("str"), prefix=effect, drop_first=True, dtype=float)
        exog = pd.concat([exog, dummies.loc[:, dummies.std() > 0]], axis=1)
    levels = sorted(data[outcome].unique())
    endog = pd.Series(pd.Categorical(data[outcome], categories=levels, ordered=True), index=data.index)
    model = _ordered_logit_model()(endog, exog)
    fit_kwargs = {"method": "bfgs", "disp": False, "maxiter": 2000}
    if cluster:
        fit_kwargs.update(cov_type="cluster", cov_kwds={"groups": pd.factorize(data[cluster])[0]})
    result = model.fit(**fit_kwargs)
    params, bse = result.params[predictors], result.bse[predictors]
    z = stats.norm.ppf(0.975)
    coefs = pd.DataFrame({"term": predictors, "estimate": params.to_numpy(float), "std_error": bse.to_numpy(float),
                          "ci_low": (params - z * bse).to_numpy(float), "ci_high": (params + z * bse).to_numpy(float),
                          "p_value": 2 * stats.norm.sf(np.abs((params / bse).to_numpy(float)))})
    return coefs, data


# -- Callaway & Sant'Anna ------------------------------------------------------------------------
def callaway_santanna(data: pd.DataFrame, *, outcome: str, cohort: str = "cohort",
                      untreated_until: str = "untreated_until", unit: str = "iso3", time: str = "year",
                      min_group: int = 1) -> dict[str, pd.DataFrame]:
    """Group-time average treatment effects with not-yet-treated controls (Callaway & Sant'Anna
    2021, unconditional parallel trends), and their event-time and overall aggregations.

    Parameters
    ----------
    data
        Long frame, one row per unit and time, with ``outcome``, ``cohort`` (first treated year;
        NA for units never treated in the data) and ``untreated_until`` (last year the unit is
        known to be untreated: cohort - 1 for treated units, the last year of known non-treatment
        otherwise, ``inf`` for units known never treated). A unit whose treatment timing is
        unknown must be left out by the caller.
    min_group
        Fewest treated units a group-time cell needs.

    Returns
    -------
    dict
        ``group_time`` (cohort, time, event_time, att, std_error, n_treated, n_control),
        ``event_time`` (event_time, att, std_error, ci_low, ci_high, p_value, n_cells, n_treated)
        and ``overall`` (one row: the average of post-treatment cells weighted by cohort size).

    Notes
    -----
    Post-treatment cells compare the change from the cohort's last untreated year (cohort - 1);
    pre-treatment cells the change from the year before (CS's "varying" base), so they are
    placebo tests. Controls at time ``t`` are units still known untreated in ``t`` and the base
    year, other cohorts included until they are treated. Standard errors come from the
    influence function of each difference in means, summed over cells per unit (clustered by
    unit), treating the aggregation weights as fixed.
    """
    from scipy import stats

    wide = data.pivot_table(index=unit, columns=time, values=outcome, aggfunc="first")
    units = wide.index
    years = list(wide.columns)
    y = wide.to_numpy(float)
    info = data.drop_duplicates(unit).set_index(unit).reindex(units)
    g = info[cohort].astype(float).to_numpy()
    until = info[untreated_until].astype(float).to_numpy()
    col = {t: i for i, t in enumerate(years)}
    cells, psis = [], []
    for group in sorted(set(g[~np.isnan(g)])):
        if group - 1 not in col:
            continue
        in_group = g == group
        for t in years:
            base = group - 1 if t >= group else t - 1
            if base not in col:
                continue
            change = y[:, col[t]] - y[:, col[base]]
            ok = ~np.isnan(change)
            treated = in_group & ok
            control = ~in_group & ok & (until >= max(t, base))
            n_t, n_c = int(treated.sum()), int(control.sum())
            if n_t < min_group or n_c < 1:
                continue
            mean_t, mean_c = change[treated].mean(), change[control].mean()
            psi = np.zeros(len(units))
            psi[treated] = (change[treated] - mean_t) / n_t
            psi[control] = -(change[control] - mean_c) / n_c
            cells.append({"cohort": int(group), "time": int(t), "event_time": int(t - group), "att": mean_t - mean_c,
                          "std_error": float(np.sqrt((psi ** 2).sum())), "n_treated": n_t, "n_control": n_c})
            psis.append(psi)
    group_time = pd.DataFrame(cells, columns=["cohort", "time", "event_time", "att", "std_error", "n_treated",
                                              "n_control"])
    if not cells:
        empty = pd.DataFrame(columns=["event_time", "att", "std_error", "ci_low", "ci_high", "p_value", "n_cells",
                                      "n_treated"])
        return {"group_time": group_time, "event_time": empty, "overall": empty.drop(columns="event_time")}
    psi_matrix = np.vstack(psis)  # cells × units
    z = stats.norm.ppf(0.975)

    def aggregate(mask: np.ndarray) -> dict:
        weights = group_time["n_treated"].to_numpy(float) * mask
        weights = weights / weights.sum()
        att = float(weights @ group_time["att"].to_numpy(float))
        se = float(np.sqrt(((weights @ psi_matrix) ** 2).sum()))
        return {"att": att, "std_error": se, "ci_low": att - z * se, "ci_high": att + z * se,
                "p_value": float(2 * stats.norm.sf(abs(att / se))) if se > 0 else float("nan"),
                "n_cells": int(mask.sum()), "n_treated": int(group_time.loc[mask, "n_treated"].sum())}

    event = group_time["event_time"].to_numpy()
    rows = [{"event_time": int(e), **aggregate(event == e)} for e in sorted(set(event))]
    event_time = pd.DataFrame(rows)
    overall = pd.DataFrame([aggregate(event >= 0)])
    pre = sorted({e for e in event if e < 0})  # placebo event times (varying base)
    if pre:
        weights = []
        for e in pre:
            w = group_time["n_treated"].to_numpy(float) * (event == e)
            weights.append(w / w.sum())
        weights = np.vstack(weights)
        estimates = weights @ group_time["att"].to_numpy(float)
        influence = weights @ psi_matrix
        covariance = influence @ influence.T
        try:
            chi2 = float(estimates @ np.linalg.solve(covariance, estimates))
            overall["pretrend_chi2"] = chi2
            overall["pretrend_df"] = len(pre)
            overall["pretrend_p_value"] = float(stats.chi2.sf(chi2, len(pre)))
        except np.linalg.LinAlgError:
            overall["pretrend_chi2"] = float("nan")
    return {"group_time": group_time, "event_time": event_time, "overall": overall}


# -- the four hypotheses -------------------------------------------------------------------------
def _result(number: int, key: str, title: str, claim: str, caveats: list[str], needs: list[str]) -> dict:
    return {"number": number, "id": key, "title": title, "claim": claim, "status": "fitted", "message": "",
            "needs": needs, "estimator": "", "caveats": [CAVEATS.get(c, c) for c in caveats],
            "coefficients": pd.DataFrame(columns=COEFFICIENT_COLUMNS), "specs": pd.DataFrame(columns=SPEC_COLUMNS)}


def _needs_data(result: dict, missing: list[str]) -> dict:
    result["status"] = "needs_data"
    result["message"] = ("not fitted: the store lacks " + "; and ".join(INGEST_HINTS.get(m, m) for m in missing)
                         + ".")
    return result


def _has(frame: pd.DataFrame, column: str) -> bool:
    return column in frame.columns and frame[column].notna().any()


def _collect(result: dict, fits: list[tuple[pd.DataFrame, dict]]) -> dict:
    tables = [c for c, _ in fits if len(c)]
    result["coefficients"] = (pd.concat(tables, ignore_index=True) if tables
                              else pd.DataFrame(columns=COEFFICIENT_COLUMNS))
    result["specs"] = pd.DataFrame([s for _, s in fits]).reindex(columns=SPEC_COLUMNS)
    if not tables:
        result["status"] = "too_few"
        result["message"] = "; ".join(s["note"] for _, s in fits if s.get("note"))
    return result


def _span(years: pd.Series) -> str:
    years = years.dropna()
    return f"{int(years.min())}-{int(years.max())}" if len(years) else "none"


def palermo_criminalisation(frame: pd.DataFrame, *, year_from: int = 1999, year_to: int = 2014) -> dict:
    """Hypothesis 1: ratifying the Palermo Protocol is followed by criminalisation.

    Outcomes: the Kelley & Simmons criminalisation level (0 none, 1 partial, 2 full) and full
    criminalisation (0/1), 1999-2014, by :func:`callaway_santanna` with not-yet-treated
    controls. Cohort = year of becoming party (``palermo_ratification_year``). A country without
    a ratification year is kept only while it is known not to be party (Kelley & Simmons: not
    ratified by 2011; membership table: not party in 2022); otherwise its timing is unknown and it
    is left out. A secondary, naive two-way fixed-effects Poisson of convictions on Palermo
    status (population offset, both bounds) is added where GLOTIP is loaded.
    """
    result = _result(1, "palermo_criminalisation", "Palermo ratification -> criminalisation",
                     "Ratifying the Palermo Protocol is followed by the criminalisation of trafficking.",
                     ["reverse", "coverage", "staggered", "criminalisation"],
                     ["kelley_simmons", "membership"])
    result["estimator"] = "Callaway & Sant'Anna (2021), not-yet-treated controls, computed in tiplens (pandas/numpy)"
    if not _has(frame, "criminalization"):
        return _needs_data(result, ["kelley_simmons"])
    data = frame[frame["year"].between(year_from, year_to)].copy()
    cohort = data.groupby("iso3")["palermo_ratification_year"].first().astype(float)
    known_zero = data[data["palermo_party"].astype("Float64").eq(0)].groupby("iso3")["year"].max()
    never = data.groupby("iso3")["palermo_status_now"].first().isin(["not_party", "signatory"])
    until = (cohort - 1).combine_first(known_zero.astype(float).reindex(cohort.index))
    until[never & cohort.isna()] = np.inf
    data["cohort"] = data["iso3"].map(cohort)
    data["untreated_until"] = data["iso3"].map(until)
    unknown = sorted(set(data.loc[data["untreated_until"].isna(), "iso3"]))
    data = data[data["untreated_until"].notna()]
    fits, events = [], []
    for outcome in ("criminalization", "full_criminalization"):
        rows = data[data[outcome].notna()]
        estimate = callaway_santanna(rows, outcome=outcome)
        spec_name = f"CS {outcome}"
        countries = sorted(rows["iso3"].unique())
        meta = {"n_obs": len(rows), "n_countries": len(countries),
                "first_year": int(rows["year"].min()) if len(rows) else None,
                "last_year": int(rows["year"].max()) if len(rows) else None}
        spec_row = {"model": 1, "spec": spec_name, "outcome": outcome, "bound": "", "family": "difference in means",
                    "formula": f"ATT(g,t) of {outcome} on Palermo ratification", "effects": "cohort, year (implicit)",
                    "offset": "", "cluster": "iso3 (influence function)", **meta, "countries": ";".join(countries),
                    "note": f"{len(unknown)} countries left out, ratification year unknown"
                            + (f" ({', '.join(unknown[:12])}{', ...' if len(unknown) > 12 else ''})" if unknown else "")
                            + f"; cohorts {_span(cohort)}; known never treated: {int((never & cohort.isna()).sum())}"}
        if len(estimate["overall"]) and "pretrend_chi2" in estimate["overall"]:
            o = estimate["overall"].iloc[0]
            spec_row["note"] += (f"; pre-trend test chi2({int(o['pretrend_df'])}) = {o['pretrend_chi2']:.2f}, "
                                 f"p = {o['pretrend_p_value']:.3f}")
        coef_rows = []
        for label, table in (("ATT (post, cohort-weighted)", estimate["overall"]),):
            for _, r in table.iterrows():
                coef_rows.append({"term": label, "estimate": r["att"], "std_error": r["std_error"],
                                  "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"]})
        window = estimate["event_time"]
        window = window[window["event_time"].between(-6, 8)]
        for _, r in window.iterrows():
            coef_rows.append({"term": f"event time {int(r['event_time']):+d}", "estimate": r["att"],
                              "std_error": r["std_error"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                              "p_value": r["p_value"]})
        coefs = pd.DataFrame(coef_rows).assign(model=1, spec=spec_name, outcome=outcome, bound="",
                                               estimator=result["estimator"], **meta)
        fits.append((coefs.reindex(columns=COEFFICIENT_COLUMNS), spec_row))
        events.append(estimate["event_time"].assign(outcome=outcome))
    if _has(frame, "convicted_upper") and _has(frame, "log_population"):
        conv = frame[frame["palermo_party"].notna()].assign(palermo_party=lambda f: f["palermo_party"].astype(float))
        for bound in ("lower", "upper"):
            fits.append(fit_spec(conv, outcome=f"convicted_{bound}", predictors=["palermo_party"],
                                 effects=["iso3", "year"], family="poisson", offset="log_population",
                                 model=1, spec="TWFE Poisson convictions (secondary, naive)", bound=bound,
                                 raise_too_few=False))
        result["caveats"].append("Convictions (secondary): a naive two-way fixed-effects Poisson, not robust to "
                                 "staggered, heterogeneous effects; GLOTIP convictions cover 22-30 countries before "
                                 "2007, after most ratifications, so pre-periods are few.")
    result["event_time"] = pd.concat(events, ignore_index=True)
    return _collect(result, fits)


def governance_detection(frame: pd.DataFrame) -> dict:
    """Hypothesis 2: stronger governance (WGI rule of law, control of corruption) goes with more
    victims identified per capita and more convictions per identified victim.

    Poisson PML with country and year fixed effects and country-clustered errors: detected
    victims with a log population offset; convictions with a log detected-victims offset (rows
    with at least one detected victim at that bound). Both censoring bounds.
    """
    result = _result(2, "governance_detection", "Governance -> victims identified and convictions",
                     "Stronger governance goes with more victims identified per capita and more convictions per "
                     "identified victim.", ["detection", "reverse", "coverage", "bounds", "wgi"],
                     ["glotip", "wgi", "hdr"])
    result["estimator"] = "Poisson PML (pyfixest fepois), country + year fixed effects, errors clustered by country"
    missing = [s for s, c in (("glotip", "detected_victims_upper"), ("wgi", "wgi_rule_of_law"),
                              ("hdr", "log_population")) if not _has(frame, c)]
    if missing:
        return _needs_data(result, missing)
    wgi = ["wgi_rule_of_law", "wgi_control_of_corruption"]
    fits = []
    for bound in ("lower", "upper"):
        fits.append(fit_spec(frame, outcome=f"detected_victims_{bound}", predictors=wgi, effects=["iso3", "year"],
                             family="poisson", offset="log_population", model=2, spec="victims per capita",
                             bound=bound, raise_too_few=False))
    for bound in ("lower", "upper"):
        rows = frame[frame[f"detected_victims_{bound}"] > 0].copy()
        rows["log_detected"] = np.log(rows[f"detected_victims_{bound}"].astype(float))
        fits.append(fit_spec(rows, outcome=f"convicted_{bound}", predictors=wgi, effects=["iso3", "year"],
                             family="poisson", offset="log_detected", model=2,
                             spec="convictions per detected victim", bound=bound, raise_too_few=False))
    return _collect(result, fits)


def cooperation_policy(frame: pd.DataFrame) -> dict:
    """Hypothesis 3: denser cooperation goes with better 3P scores and TIP tiers.

    3P total (and its parts) on density: OLS with country and year fixed effects. Tiers: ordered
    logit on the density of the previous year with year and region effects (country fixed
    effects in a logit bring the incidental-parameter bias, so a linear within-country fit is
    shown beside it). Every spec at both density bounds; errors clustered by country.
    """
    result = _result(3, "cooperation_policy", "Cooperation density -> 3P scores and TIP tiers",
                     "Denser international cooperation goes with better anti-trafficking policy (3P) and TIP tiers.",
                     ["reverse", "coverage", "density", "tier_lag", "tier_order", "same_report"],
                     ["policy_3p", "tip_tiers", "membership"])
    result["estimator"] = ("OLS with country + year fixed effects (pyfixest feols) for 3P; ordered logit with year + "
                           "region effects (statsmodels OrderedModel) for tiers; errors clustered by country")
    data = frame.copy()
    for bound in ("lower", "upper"):
        data[f"density_{bound}_lag1"] = _lagged(data, f"density_{bound}", 1)
    fits = []
    if _has(frame, "p3_total"):
        for bound in ("lower", "upper"):
            fits.append(fit_spec(data, outcome="p3_total", predictors=[f"density_{bound}"], effects=["iso3", "year"],
                                 model=3, spec="3P total, FE OLS", bound=bound, raise_too_few=False))
    if _has(frame, "tip_tier"):
        tiers = data[data["year"] <= 2015]  # from 2016 only the Factbook's partial Watch List / Tier 3 rows exist
        for bound in ("lower", "upper"):
            fits.append(fit_spec(tiers, outcome="tip_tier", predictors=[f"density_{bound}_lag1"],
                                 effects=["year", "m49_region"], family="ordered_logit", model=3,
                                 spec="tier, ordered logit", bound=bound, raise_too_few=False))
        for bound in ("lower", "upper"):
            fits.append(fit_spec(tiers, outcome="tip_tier", predictors=[f"density_{bound}_lag1"],
                                 effects=["iso3", "year"], model=3, spec="tier, FE OLS (within-country check)",
                                 bound=bound, raise_too_few=False))
        result["caveats"].append("Tiers after the 2015 edition are left out: only the Factbook's partial Watch List / "
                                 "Tier 3 snapshots exist, so absence does not mean Tier 1 or 2.")
    if not fits:
        return _needs_data(result, ["policy_3p"])
    if not _has(frame, "p3_total"):
        result["message"] = "3P part not fitted: the store lacks " + INGEST_HINTS["policy_3p"] + "."
    return _collect(result, fits)


def root_causes_prevalence(frame: pd.DataFrame) -> dict:
    """Hypothesis 4: root causes (GII, HDI, GDP per capita) and the GSI's estimated prevalence.

    One cross-section: the GSI 2023 estimated number in modern slavery (2021) as a count, Poisson
    PML with the log of the Index's own population as offset (so coefficients are on log
    prevalence), covariates of 2021, M49 region effects, heteroskedasticity-robust errors.
    """
    result = _result(4, "root_causes_prevalence", "Root causes <-> estimated prevalence (GSI)",
                     "Trafficking persists where gender inequality is high and development low.",
                     ["circular", "cross_section", "coverage", "collinear"],
                     ["gsi", "hdr", "gdp"])
    result["estimator"] = "Poisson PML (pyfixest fepois), M49 region effects, robust (HC1) errors"
    if not _has(frame, "gsi_victims_estimated"):
        return _needs_data(result, ["gsi"])
    data = frame[frame["year"].eq(2021)].copy()
    data["log_gsi_population"] = np.log(data["gsi_population"].astype(float))
    fits = [fit_spec(data, outcome="gsi_victims_estimated", predictors=["gii", "hdi", "log_gdp_per_capita"],
                     effects=["m49_region"], family="poisson", offset="log_gsi_population", cluster=None, model=4,
                     spec="GSI 2021 cross-section", raise_too_few=False)]
    return _collect(result, fits)


HYPOTHESES = {1: palermo_criminalisation, 2: governance_detection, 3: cooperation_policy, 4: root_causes_prevalence}
HYPOTHESIS_NAMES = {f.__name__: n for n, f in HYPOTHESES.items()}


def resolve_hypotheses(chosen) -> list[int]:
    """Hypothesis numbers from numbers or names (``1``, ``"governance_detection"``); None = all."""
    if chosen is None:
        return list(HYPOTHESES)
    if isinstance(chosen, (int, str)):
        chosen = [chosen]
    numbers = []
    for item in chosen:
        text = str(item).strip()
        if text.isdigit() and int(text) in HYPOTHESES:
            numbers.append(int(text))
        elif text in HYPOTHESIS_NAMES:
            numbers.append(HYPOTHESIS_NAMES[text])
        else:
            valid = ", ".join(f"{n} ({f.__name__})" for n, f in HYPOTHESES.items())
            raise TiplensError(f"unknown hypothesis {text!r}; valid: {valid}")
    return list(dict.fromkeys(numbers))


def fit_hypotheses(frame: pd.DataFrame, hypotheses=None) -> list[dict]:
    """Fit the chosen hypotheses (default: all four); one result dict each."""
    return [HYPOTHESES[n](frame) for n in resolve_hypotheses(hypotheses)]


def fit_model(frame: pd.DataFrame, *, outcome: str, predictors: list[str], effects: list[str] | None = ("iso3", "year"),
              family: str = "ols", offset: str | None = None, cluster: str | None = "iso3", lag: int = 0,
              year_from: int | None = None, year_to: int | None = None) -> dict:
    """A model the user states, fitted like the hypotheses; returns one result dict.

    Parameters
    ----------
    outcome
        A column of the analysis frame. ``detected_victims``, ``prosecuted`` and ``convicted``
        (without suffix) are fitted at both censoring bounds.
    predictors
        Columns of the analysis frame.
    effects
        Fixed effects (columns such as ``iso3``, ``year``, ``m49_region``).
    family
        ``ols``, ``poisson`` (counts; Poisson PML) or ``ordered_logit``.
    offset
        A column whose log is the offset (``population`` for per-capita rates); Poisson only.
    lag
        Years by which every predictor is lagged (1 for TIP tiers, whose edition covers the
        previous year).
    """
    if not predictors:
        raise TiplensError("no predictors given: name at least one column (e.g. --predictor wgi_rule_of_law)")
    if lag < 0:
        raise TiplensError(f"lag {lag}: give 0 or a positive number of years")
    if offset and family != "poisson":
        raise TiplensError(f"an offset needs family 'poisson' (got {family!r})")
    outcomes = [f"{outcome}_lower", f"{outcome}_upper"] if outcome in BOUNDED else [outcome]
    _check_columns(frame, [*outcomes, *predictors, *(effects or []), *([offset] if offset else []),
                           *([cluster] if cluster else [])])
    data = frame.copy()
    if year_from is not None:
        data = data[data["year"] >= year_from]
    if year_to is not None:
        data = data[data["year"] <= year_to]
    used = list(predictors)
    if lag:
        used = [f"{p}_lag{lag}" for p in predictors]
        for p, name in zip(predictors, used):
            data[name] = _lagged(frame, p, lag).reindex(data.index)
    log_offset = None
    if offset:
        log_offset = f"log_{offset}" if not offset.startswith("log_") else offset
        if log_offset not in data or offset != log_offset:
            with np.errstate(divide="ignore", invalid="ignore"):
                data[log_offset] = np.log(pd.to_numeric(data[offset], errors="coerce").astype(float))
    result = _result(0, "custom", f"Custom model: {outcome} ~ {' + '.join(used)}", "Stated by the user.",
                     ["coverage", "reverse"] + (["bounds", "detection"] if outcome in BOUNDED else []), [])
    fits = []
    for name in outcomes:
        bound = name.rsplit("_", 1)[1] if outcome in BOUNDED else ""
        fits.append(fit_spec(data, outcome=name, predictors=used, effects=list(effects or []), family=family,
                             offset=log_offset, cluster=cluster, model=0, spec="custom", bound=bound))
    result = _collect(result, fits)
    result["estimator"] = result["coefficients"]["estimator"].iloc[0] if len(result["coefficients"]) else ""
    return result


# -- charts --------------------------------------------------------------------------------------
def _coefficient_rows(result: dict) -> pd.DataFrame:
    coefs = result["coefficients"]
    if len(coefs) == 0:
        return coefs
    label = coefs["spec"] + " | " + coefs["term"] + np.where(coefs["bound"].astype(str).ne(""),
                                                             " [" + coefs["bound"].astype(str) + "]", "")
    return coefs.assign(label=label)


def coefficient_figure(results: list[dict]):
    """A plotly coefficient plot, one panel per fitted model (estimates with 95% intervals);
    hypothesis 1's event-time effects are drawn against event time."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    shown = [r for r in results if len(r["coefficients"])]
    if not shown:
        raise TiplensError("no model was fitted, so there is nothing to draw: load the sources the messages name")
    heights = [max(2, len(r["coefficients"]) if r["id"] != "palermo_criminalisation" else 8) for r in shown]
    fig = make_subplots(rows=len(shown), cols=1, row_heights=heights, vertical_spacing=0.22 / len(shown),
                        subplot_titles=[f"H{r['number']}: {r['title']}" if r["number"] else r["title"] for r in shown])
    for i, result in enumerate(shown, start=1):
        coefs = _coefficient_rows(result)
        if result["id"] == "palermo_criminalisation":
            for outcome, colour in (("criminalization", "#1f77b4"), ("full_criminalization", "#ff7f0e")):
                rows = coefs[coefs["outcome"].eq(outcome) & coefs["term"].str.startswith("event time")]
                x = rows["term"].str.replace("event time ", "", regex=False).astype(int)
                fig.add_trace(go.Scatter(x=x, y=rows["estimate"], mode="markers+lines", name=f"H1 {outcome}",
                                         line={"color": colour},
                                         error_y={"type": "data", "symmetric": False,
                                                  "array": rows["ci_high"] - rows["estimate"],
                                                  "arrayminus": rows["estimate"] - rows["ci_low"]}), row=i, col=1)
            fig.add_vline(x=-0.5, line_dash="dot", row=i, col=1)
            fig.update_xaxes(title_text="years since ratification (event time)", row=i, col=1)
            fig.update_yaxes(title_text="effect on level", row=i, col=1)
            continue
        fig.add_trace(go.Scatter(x=coefs["estimate"], y=coefs["label"], mode="markers", name=f"H{result['number']}",
                                 error_x={"type": "data", "symmetric": False,
                                          "array": coefs["ci_high"] - coefs["estimate"],
                                          "arrayminus": coefs["estimate"] - coefs["ci_low"]},
                                 text=[f"n={n}, {c} countries, {a}-{b}" for n, c, a, b in
                                       zip(coefs["n_obs"], coefs["n_countries"], coefs["first_year"],
                                           coefs["last_year"])], hoverinfo="text+x"), row=i, col=1)
        fig.add_vline(x=0, line_dash="dot", row=i, col=1)
    fig.update_layout(title="tiplens lens models: coefficients with 95% intervals", showlegend=True,
                      height=260 * len(shown) + 120, margin={"l": 380})
    return fig


def coefficient_png(results: list[dict], path) -> None:
    """The coefficient plot as a static PNG (matplotlib; no browser needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = [r for r in results if len(r["coefficients"])]
    if not shown:
        raise TiplensError("no model was fitted, so there is nothing to draw: load the sources the messages name")
    heights = [max(2.2, 0.32 * len(r["coefficients"])) for r in shown]
    fig = Figure(figsize=(11, sum(heights) + 1.2 * len(shown)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(shown), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, result in zip(axes, shown):
        coefs = _coefficient_rows(result)
        title = f"H{result['number']}: {result['title']}" if result["number"] else result["title"]
        if result["id"] == "palermo_criminalisation":
            for outcome in ("criminalization", "full_criminalization"):
                rows = coefs[coefs["outcome"].eq(outcome) & coefs["term"].str.startswith("event time")]
                x = rows["term"].str.replace("event time ", "", regex=False).astype(int).to_numpy()
                est = rows["estimate"].to_numpy(float)
                ax.errorbar(x, est, yerr=[est - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - est],
                            marker="o", capsize=3, label=outcome)
            ax.axvline(-0.5, linestyle=":", color="grey")
            ax.axhline(0, color="grey", linewidth=0.8)
            ax.set_xlabel("years since ratification", fontsize=8)
            ax.legend(fontsize=7)
        else:
            y = np.arange(len(coefs))
            est = coefs["estimate"].to_numpy(float)
            ax.errorbar(est, y, xerr=[est - coefs["ci_low"].to_numpy(float), coefs["ci_high"].to_numpy(float) - est],
                        fmt="o", capsize=3)
            ax.set_yticks(y)
            ax.set_yticklabels(coefs["label"], fontsize=7)
            ax.axvline(0, linestyle=":", color="grey")
            ax.invert_yaxis()
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=130)


def tidy_all(results: list[dict]) -> pd.DataFrame:
    """Every coefficient of every result in one table (:data:`COEFFICIENT_COLUMNS`)."""
    tables = [r["coefficients"] for r in results if len(r["coefficients"])]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COEFFICIENT_COLUMNS)
