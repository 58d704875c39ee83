"""Benchmark: multiple systems estimation on the UK 2013 six-list table (not a test).

Times ``tiplens.analysis.mse.estimate`` and ``bootstrap(replicates=1000)`` (every replicate redoes
the stepwise selection) after the imports (process start-up excluded), and runs the same bootstrap
procedure, with the same resamples, with each Poisson fit done by statsmodels GLM instead of the
lean numpy Newton/IRLS, on fewer replicates; it prints the time per replicate of each and the ratio.
Target (issue 3): 1,000 replicates under 30 s on 2 cores.

    python benchmarks/mse.py [--data ../shared/data] [--replicates 1000] [--glm-replicates 20] [--quick]

``--quick`` keeps the 1,000 replicates the target is about and cuts the statsmodels comparison to 5.
Last line: ``RESULT {json}`` for ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import time

import numpy as np
import statsmodels.api as sm
from _common import arguments
from run_all import figure, result_line

from tiplens.analysis import mse
from tiplens.sources import mse_lists

TARGET_SECONDS = 30.0


def statsmodels_fitter(x, y, beta=None):
    """The same contract as ``mse.irls_poisson``, fitted by statsmodels GLM (warm-started too)."""
    result = sm.GLM(y, x, family=sm.families.Poisson()).fit(start_params=beta, tol=1e-11)
    mu = result.fittedvalues
    return result.params, mu, (x.T * mu) @ x, int(result.fit_history["iteration"])


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--glm-replicates", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="Fewer statsmodels replicates (same target).")
    args = parser.parse_args()
    if args.quick:
        args.glm_replicates = 5

    path = args.data / "mse_modern_slavery_lists" / "UKdat.csv"
    records = mse_lists.normalise(mse_lists.read(path)).records["mse_lists"]
    table = mse_lists.capture_table(records, "uk_2013")

    started = time.perf_counter()
    point = mse.estimate(table)
    estimate_seconds = time.perf_counter() - started
    print(f"UK 2013, 6 lists, {point['observed']:,} cases")
    print(f"estimate: {point['estimate']:,.0f} (Wald 95%: {point['ci_low']:,.0f} to {point['ci_high']:,.0f}); "
          f"model: {' + '.join(point['model'])}")
    print(f"  estimate(): {estimate_seconds:.3f} s")

    started = time.perf_counter()
    boot = mse.bootstrap(table, replicates=args.replicates, seed=0)
    boot_seconds = time.perf_counter() - started
    print(f"bootstrap({args.replicates}): {boot_seconds:.2f} s "
          f"({'within' if boot_seconds < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS:.0f} s target); "
          f"percentile 95%: {boot['ci_low']:,.0f} to {boot['ci_high']:,.0f}; "
          f"{len(boot['models'])} distinct models selected, {boot['failed']} replicates failed")

    # the same procedure and resamples, fits by numpy IRLS and by statsmodels GLM
    problem, _, _, _, histories, counts = mse._prepare(table)
    timings = {}
    results = {}
    for name, fitter in [("numpy IRLS", mse.irls_poisson), ("statsmodels GLM", statsmodels_fitter)]:
        fresh = mse._Problem(problem.lists)  # no existence checks cached from the runs above
        started = time.perf_counter()
        results[name] = mse._replicates(fresh, histories, counts, args.glm_replicates, 0, 0.02, fitter=fitter)
        timings[name] = (time.perf_counter() - started) / args.glm_replicates
    same = np.allclose(results["numpy IRLS"][0], results["statsmodels GLM"][0], rtol=1e-6, equal_nan=True)
    print(f"{args.glm_replicates} replicates, per replicate: numpy IRLS {timings['numpy IRLS'] * 1000:.1f} ms, "
          f"statsmodels GLM {timings['statsmodels GLM'] * 1000:.1f} ms; "
          f"ratio statsmodels/numpy {timings['statsmodels GLM'] / timings['numpy IRLS']:.1f}x; "
          f"same estimates: {same} (both include the same existence checks)")

    # the fits alone: the selected model, cold start, repeated
    _, y, *_ = mse._prepare(table)
    model = tuple(problem.pair_names.index(pair) for pair in point["model"])
    x = problem.design[:, problem.columns(tuple(sorted(model)))]
    fit_seconds = {}
    for name, fitter in [("numpy IRLS", mse.irls_poisson), ("statsmodels GLM", statsmodels_fitter)]:
        started = time.perf_counter()
        for _ in range(200):
            fitter(x, y)
        fit_seconds[name] = (time.perf_counter() - started) / 200
    print(f"one fit of the selected model ({x.shape[0]} x {x.shape[1]}): numpy IRLS "
          f"{fit_seconds['numpy IRLS'] * 1e3:.2f} ms, statsmodels GLM {fit_seconds['statsmodels GLM'] * 1e3:.2f} ms; "
          f"ratio {fit_seconds['statsmodels GLM'] / fit_seconds['numpy IRLS']:.1f}x")
    print(result_line([
        figure(f"mse bootstrap, {args.replicates:,} replicates (UK 2013, 6 lists)", boot_seconds, "s",
               target=f"< {TARGET_SECONDS:.0f} s"),
        figure("mse bootstrap, one replicate (vs statsmodels GLM fits)", timings["numpy IRLS"] * 1000, "ms",
               baseline=timings["statsmodels GLM"] * 1000),
        figure("mse one Poisson fit of the selected model (vs statsmodels GLM)", fit_seconds["numpy IRLS"] * 1000,
               "ms", baseline=fit_seconds["statsmodels GLM"] * 1000),
    ]))


if __name__ == "__main__":
    main()
