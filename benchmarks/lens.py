"""Benchmark: the `lens` suite (network, coverage, gaps, the four hypothesis models) on the full data,
against a plain statsmodels run of the same models in the same run.

Each tiplens row times the command's library twin (it opens the store, builds what it needs and
computes, as the command does). The baseline fits the same four hypotheses the way a user
would with statsmodels alone, on the analysis frame already in memory (so it pays no store
read): GLM Poisson with country and year dummies and the offset for the counts, OLS with dummies
for 3P and tiers, statsmodels' OrderedModel (numerical derivatives) for the ordered logits, and for
hypothesis 1 a two-way fixed-effects event-study OLS with dummies (the naive estimator tiplens
replaces with Callaway & Sant'Anna). Start-up (imports, numba compilation in pyfixest) is
excluded by a warm-up run. Target on 2 cores: the whole lens suite under 3 s.

On a machine whose cores are busy with other processes, OpenBLAS's worker threads wait for each
other (a 2,252 x 23 SVD took 0.37 s with the default threads and 0.001 s with one under load 7 on
2 cores): compare with ``OPENBLAS_NUM_THREADS=1``, which the output reports.

    [OPENBLAS_NUM_THREADS=1] python benchmarks/lens.py [--data ../shared/data] [--repeat 3] [--quick]

Last line: ``RESULT {json}`` for ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import arguments, timed
from run_all import figure, result_line

import tiplens as tl


def build_store(data: Path, db: Path) -> None:
    store = tl.open_store(db, with_default=True)
    tl.ingest([data / "unodc_glotip/data_glotip_2025-04-14.xlsx",
               data / "walkfree_gsi_2023/2023-Global-Slavery-Index-Data.xlsx"], db=store)
    tl.ingest(sorted((data / "kelley_simmons_panel").glob("*.csv")), db=store, edition="2017-08-14")
    tl.ingest([data / "anti_tip_policy_3p/policy_index.csv"], db=store, edition="2015-12-03")
    store.close()


def statsmodels_baseline(frame: pd.DataFrame) -> None:
    """The four hypotheses with statsmodels only (dummies for every fixed effect)."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    poisson = sm.families.Poisson()
    # H1: naive TWFE event study of criminalisation on years since ratification (binned -5..+8)
    h1 = frame[frame["year"].between(1999, 2014) & frame["criminalization"].notna()].copy()
    event = (h1["year"] - h1["palermo_ratification_year"].astype(float)).clip(-5, 8)
    h1["event"] = event.fillna(-99).astype(int).astype(str)
    smf.ols("criminalization ~ C(event, Treatment('-1')) + C(iso3) + C(year)", data=h1).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(h1["iso3"])[0]})
    # H2: Poisson GLM with dummies and offsets, both bounds, victims and convictions
    for bound in ("lower", "upper"):
        y = f"detected_victims_{bound}"
        d = frame[["iso3", "year", y, "wgi_rule_of_law", "wgi_control_of_corruption", "log_population"]].replace(
            [np.inf, -np.inf], np.nan).dropna()
        smf.glm(f"{y} ~ wgi_rule_of_law + wgi_control_of_corruption + C(iso3) + C(year)", data=d, family=poisson,
                offset=d["log_population"]).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d["iso3"])[0]})
        c = f"convicted_{bound}"
        d = frame[frame[y] > 0][["iso3", "year", y, c, "wgi_rule_of_law", "wgi_control_of_corruption"]].dropna()
        smf.glm(f"{c} ~ wgi_rule_of_law + wgi_control_of_corruption + C(iso3) + C(year)", data=d, family=poisson,
                offset=np.log(d[y])).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d["iso3"])[0]})
    # H3: 3P with dummies; tiers by OrderedModel (year + region dummies) and OLS with dummies
    data = frame.copy()
    for bound in ("lower", "upper"):
        lagged = data[["iso3", "year", f"density_{bound}"]].assign(year=data["year"] + 1)
        data = data.merge(lagged.rename(columns={f"density_{bound}": f"lag_{bound}"}), on=["iso3", "year"], how="left")
    for bound in ("lower", "upper"):
        d = data[["iso3", "year", "p3_total", f"density_{bound}"]].dropna()
        smf.ols(f"p3_total ~ density_{bound} + C(iso3) + C(year)", data=d).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(d["iso3"])[0]})
        d = data[data["year"] <= 2015][["iso3", "year", "m49_region", "tip_tier", f"lag_{bound}"]].dropna()
        exog = pd.concat([d[[f"lag_{bound}"]], pd.get_dummies(d[["year", "m49_region"]].astype(str), drop_first=True,
                                                              dtype=float)], axis=1)
        endog = pd.Series(pd.Categorical(d["tip_tier"], ordered=True), index=d.index)
        OrderedModel(endog, exog, distr="logit").fit(method="bfgs", disp=False, maxiter=2000, cov_type="cluster",
                                                      cov_kwds={"groups": pd.factorize(d["iso3"])[0]})
        smf.ols(f"tip_tier ~ lag_{bound} + C(iso3) + C(year)", data=d).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(d["iso3"])[0]})
    # H4: cross-section Poisson GLM with region dummies
    d = frame[frame["year"].eq(2021)][["gsi_victims_estimated", "gii", "hdi", "log_gdp_per_capita", "gsi_population",
                                       "m49_region"]].replace([np.inf, -np.inf], np.nan).dropna()
    smf.glm("gsi_victims_estimated ~ gii + hdi + log_gdp_per_capita + C(m49_region)", data=d, family=poisson,
            offset=np.log(d["gsi_population"])).fit(cov_type="HC1")


def main() -> None:
    args = arguments(__doc__, repeat=3, quick="One run of each after the warm-up (same target).").parse_args()
    if args.quick:
        args.repeat = 1
    warnings.simplefilter("ignore")
    from tiplens import _api_lens_analysis as lens
    from tiplens.lens.models import fit_hypotheses
    try:
        from tiplens._api_lens import lens_network
    except ImportError as exc:  # the network part is built by another module
        lens_network = None
        network_missing = f"skipped: tiplens._api_lens.lens_network not importable ({exc})"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        build_store(args.data, db)
        frame = lens.lens_model_frame(db=db)
        # warm-up: imports and pyfixest's numba compilation are start-up, not the command's work
        lens.lens_models(db=db)
        statsmodels_baseline(frame)
        if lens_network is not None:
            lens_network(db=db)
        def cold(function):
            def run():
                lens.clear_cache()  # each command on its own, as in a fresh process
                function()
            return run

        def suite():
            lens.clear_cache()  # one process running every lens command once: the panel is read once
            if lens_network is not None:
                lens_network(db=db)
            lens.lens_coverage(db=db)
            lens.lens_gaps(db=db)
            lens.lens_models(db=db)

        rows = {}
        if lens_network is not None:
            rows["lens network (countries)"] = timed(lambda: lens_network(db=db), args.repeat)
        rows["lens coverage (all country-years)"] = timed(cold(lambda: lens.lens_coverage(db=db)), args.repeat)
        rows["lens coverage --gaps"] = timed(cold(lambda: lens.lens_gaps(db=db)), args.repeat)
        rows["lens models (four hypotheses)"] = timed(cold(lambda: lens.lens_models(db=db)), args.repeat)
        fit_only = timed(lambda: fit_hypotheses(frame), args.repeat)
        suite_seconds = timed(suite, args.repeat)
        baseline = timed(lambda: statsmodels_baseline(frame), args.repeat)
    print(f"{'step':44} {'seconds':>8} {'x statsmodels':>14}")
    for name, seconds in rows.items():
        ratio = f"{seconds / baseline:13.2f}x" if name.startswith("lens models") else ""
        print(f"{name:44} {seconds:8.3f} {ratio:>14}")
    if lens_network is None:
        print(f"{'lens network':44} {network_missing}")
    print(f"{'  models, fitting only (frame in memory)':44} {fit_only:8.3f} {fit_only / baseline:13.2f}x")
    print(f"{'plain statsmodels, same four hypotheses':44} {baseline:8.3f} {1.0:13.2f}x")
    print(f"{'each command cold, summed':44} {sum(rows.values()):8.3f}")
    verdict = "ok" if suite_seconds < 3.0 else "MISSED"
    print(f"{'whole lens suite in one process':44} {suite_seconds:8.3f} {'target < 3 s':>14} {verdict}")
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end.")
    print(f"Median of {args.repeat} runs after a warm-up; each cold row includes opening the store and building "
          f"the panel; the suite reads the panel once; the statsmodels baseline starts from the frame in memory.")
    figures = [figure("lens suite in one process (network, coverage, gaps, models)", suite_seconds, "s",
                      target="< 3 s")]
    for name, seconds in rows.items():
        figures.append(figure(name + ", cold", seconds, "s",
                              baseline=baseline if name.startswith("lens models") else None))
    figures.append(figure("lens models, fitting only (vs plain statsmodels)", fit_only, "s", baseline=baseline))
    print(result_line(figures))


if __name__ == "__main__":
    main()
