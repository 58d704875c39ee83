"""The pandemic comparison: named periods on several country panels, an interrupted time series,
and change points (exploratory).

The question behind it (the seed paper's section 3): did detected trafficking fall during the
COVID-19 pandemic and recover after? Raw world totals cannot say, because the countries reporting
change every year (143 in 2020, 112 in 2022 for detected victims). So every comparison here is
shown on all reporters *and* on a fixed (balanced) panel side by side, with censoring bounds.

Functions take observations (``Store.observations(source="glotip")``) and the countries table and
return DataFrames; no I/O.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..errors import TiplensError
from .trends import CAVEAT, balanced_panel, check_indicator, country_totals, data_years, resolve_panel

#: Pre-pandemic, pandemic, post-pandemic; None = the latest year in the data.
DEFAULT_PERIODS: dict[str, tuple[int, int | None]] = {"pre": (2017, 2019), "pandemic": (2020, 2021),
                                                      "post": (2022, None)}

ITS_NOTE = ("Poisson GLM of country-year counts on country fixed effects, a linear year trend and "
            "level-shift dummies; standard errors clustered by country. Estimates are log rate ratios "
            "(rate_ratio = exp(estimate)) against the pre-period trend, on a balanced panel; run at the "
            "lower and the upper censoring bound ('<5' = 0 or 4).")
CHANGE_POINT_NOTE = ("Exploratory: a change point on a dozen yearly points has little power and no "
                     "inference; read it only as a cross-check of the interrupted time series.")

_ITEM = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=\s*(\d{4})\s*(?:-\s*(\d{4})?\s*)?$")


def parse_periods(text: str) -> dict[str, tuple[int, int | None]]:
    """Periods from ``"pre=2017-2019,pandemic=2020-2021,post=2022-2022"``.

    ``name=Y`` is the single year Y; ``name=Y-`` runs to the latest year in the data. Names must be
    unique and periods must not overlap. Raises :class:`TiplensError` on bad syntax.
    """
    example = "pre=2017-2019,pandemic=2020-2021,post=2022-2022"
    if not isinstance(text, str) or not text.strip():
        raise TiplensError(f"no periods given: write them as {example}")
    periods: dict[str, tuple[int, int | None]] = {}
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise TiplensError(f"cannot read period {item.strip()!r}: write NAME=FIRST-LAST "
                               f"(e.g. {example}; NAME=YEAR for one year, NAME=FIRST- for an open end)")
        name, first, last = match.group(1), int(match.group(2)), match.group(3)
        has_dash = "-" in item.split("=", 1)[1]
        last_year = int(last) if last else (None if has_dash else first)
        if name in periods:
            raise TiplensError(f"period {name!r} is named twice: give each period its own name")
        if last_year is not None and last_year < first:
            raise TiplensError(f"period {name!r} ends ({last_year}) before it starts ({first})")
        periods[name] = (first, last_year)
    _check_overlap(periods)
    return periods


def _check_overlap(periods: dict[str, tuple[int, int | None]]) -> None:
    spans = sorted((first, 9999 if last is None else last, name) for name, (first, last) in periods.items())
    for (f1, l1, n1), (f2, _, n2) in zip(spans, spans[1:]):
        if f2 <= l1:
            raise TiplensError(f"periods {n1!r} and {n2!r} overlap: each year may belong to one period only")


def _resolve_periods(periods, first_data: int, last_data: int, indicator: str):
    """{name: (first, last)} within the data, and notes on what was cut."""
    if isinstance(periods, str):
        periods = parse_periods(periods)
    if not periods:
        raise TiplensError("no periods given: pass e.g. DEFAULT_PERIODS or 'pre=2017-2019,post=2022-2022'")
    _check_overlap(dict(periods))
    resolved, notes = {}, []
    for name, (first, last) in periods.items():
        want_last = last_data if last is None else int(last)
        first = int(first)
        if first > last_data or want_last < first_data:
            raise TiplensError(f"period {name!r} ({first}-{want_last}) is outside the data: {indicator} covers "
                               f"{first_data}-{last_data}")
        lo, hi = max(first, first_data), min(want_last, last_data)
        if hi < want_last:
            notes.append(f"period {name!r}: {hi + 1}-{want_last} is not in the data (the file ends in {last_data}); "
                         f"the period covers {lo}-{hi} only, so a published figure for those years "
                         "cannot be checked against it")
        if lo > first:
            notes.append(f"period {name!r}: {first}-{lo - 1} is not in the data (it starts in {first_data})")
        resolved[name] = (lo, hi)
    return resolved, notes


def compare(obs: pd.DataFrame, countries: pd.DataFrame | None, *, indicator: str = "detected_victims",
            periods=DEFAULT_PERIODS, panels=("all", "balanced"), bootstrap: int = 1000,
            seed: int = 0) -> pd.DataFrame:
    """Level and change of each named period, on each panel side by side.

    Parameters
    ----------
    periods : dict name -> (first, last or None) or str
        Default :data:`DEFAULT_PERIODS`; a string is read by :func:`parse_periods`. A period that
        reaches beyond the data is cut to it with a note (the GLOTIP 2025 file ends in 2022, so the
        seed paper's 2023 cannot be checked).
    panels : iterable of "all", "balanced" or list of ISO3
        ``balanced``: countries reporting in every year from the first period's start to the last
        period's end.

    Returns
    -------
    DataFrame, one row per panel x period (in the order given), with columns
        ``panel`` (``all``, ``balanced Y1-Y2``, ``named (n countries)``); ``period``; ``first_year``,
        ``last_year`` (within the data); ``countries`` (distinct countries reporting in the period);
        ``countries_min``, ``countries_max`` (reporters per year); ``mean_per_year`` (mean yearly
        total; NaN where a censored cell makes it unknown); ``lower``, ``upper`` (its censoring
        bounds); ``change_abs``, ``change_pct`` (against the first period; NaN where unknown) with
        ``change_abs_lower``/``_upper`` and ``change_pct_lower``/``_upper`` (bounds: this period's
        lower against the first's upper and vice versa); ``ci_low``, ``ci_high`` (bootstrap
        interval of ``change_pct`` over the panel's countries, ``bootstrap`` replicates, from the
        lower and the upper censoring bound: sensitivity to the country mix, for a fixed panel
        whose countries all report in every year of the span; NaN otherwise); ``indicator``; ``note``.
        ``attrs["notes"]`` repeats the notes; ``attrs["caveat"]`` is :data:`trends.CAVEAT`.
    """
    check_indicator(indicator)
    first_data, last_data = data_years(obs, indicator)
    resolved, notes = _resolve_periods(periods, first_data, last_data, indicator)
    span_start = min(f for f, _ in resolved.values())
    span_end = max(l for _, l in resolved.values())
    totals = country_totals(obs, indicator=indicator, year_from=span_start, year_to=span_end)
    if isinstance(panels, str) or (len(panels) and not isinstance(panels[0], (str, list, tuple))):
        panels = (panels,)
    rows = []
    rng = np.random.default_rng(seed)
    for panel in panels:
        members, label = resolve_panel(panel, totals, span_start, span_end, indicator, countries)
        part = totals if members is None else totals[totals["iso3"].isin(members)]
        intervals = (_change_intervals(part, resolved, span_start, span_end, bootstrap, rng)
                     if members is not None else {})
        yearly = part.groupby("year").agg(value=("value", "sum"), lower=("lower", "sum"),
                                          upper=("upper", "sum"), censored=("censored", "any"),
                                          countries=("iso3", "size"))
        yearly["value"] = yearly["value"].where(~yearly["censored"])
        base = None
        for name, (first, last) in resolved.items():
            years = yearly.loc[first:last]
            in_period = part[part["year"].between(first, last)]
            have_all = len(years) == last - first + 1
            row = {"panel": label, "period": name, "first_year": first, "last_year": last,
                   "countries": in_period["iso3"].nunique(),
                   "countries_min": int(years["countries"].min()) if len(years) else 0,
                   "countries_max": int(years["countries"].max()) if len(years) else 0,
                   "mean_per_year": years["value"].mean(skipna=False) if have_all else np.nan,
                   "lower": years["lower"].mean() if len(years) else np.nan,
                   "upper": years["upper"].mean() if len(years) else np.nan}
            if base is None:
                base = row
            with np.errstate(divide="ignore", invalid="ignore"):
                row["change_abs"] = row["mean_per_year"] - base["mean_per_year"]
                row["change_pct"] = (row["mean_per_year"] / base["mean_per_year"] - 1) * 100
                row["change_abs_lower"] = row["lower"] - base["upper"]
                row["change_abs_upper"] = row["upper"] - base["lower"]
                row["change_pct_lower"] = (row["lower"] / base["upper"] - 1) * 100
                row["change_pct_upper"] = (row["upper"] / base["lower"] - 1) * 100
            row["ci_low"], row["ci_high"] = intervals.get(name, (np.nan, np.nan))
            row["indicator"] = indicator
            row["note"] = "; ".join(n for n in notes if f"period {name!r}" in n)
            rows.append(row)
    out = pd.DataFrame(rows)
    notes.append(f"The {indicator} data end in {last_data}: later years (such as the seed paper's 2023) "
                 "cannot be checked against this file.")
    out.attrs["notes"] = notes
    out.attrs["caveat"] = CAVEAT
    return out


def _change_intervals(part: pd.DataFrame, resolved: dict, span_start: int, span_end: int, draws: int,
                      rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    """Bootstrap over countries of each period's percent change against the first period.

    Only meaningful when the same countries stand behind every year (a fixed panel): then a
    period's mean yearly total is the sum of the countries' period means, and resampling countries
    shows how much the change depends on which countries happen to report. The low end comes from
    the lower censoring bounds against the base's upper, the high end the other way round.
    """
    n_years = span_end - span_start + 1
    reports = part.groupby("iso3")["year"].nunique()
    if draws <= 0 or len(reports) < 2 or not reports.eq(n_years).all():
        return {}
    names = list(resolved)
    per_country = []
    for name in names:
        first, last = resolved[name]
        inside = part[part["year"].between(first, last)]
        per_country.append(inside.groupby("iso3")[["lower", "upper"]].mean())
    iso3 = per_country[0].index
    lower = np.column_stack([m.reindex(iso3)["lower"].to_numpy(float) for m in per_country])
    upper = np.column_stack([m.reindex(iso3)["upper"].to_numpy(float) for m in per_country])
    picks = rng.integers(0, len(iso3), size=(draws, len(iso3)))
    lower_sums = lower[picks].sum(axis=1)  # draws x periods
    upper_sums = upper[picks].sum(axis=1)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, name in enumerate(names[1:], start=1):
            low = (lower_sums[:, j] / upper_sums[:, 0] - 1) * 100
            high = (upper_sums[:, j] / lower_sums[:, 0] - 1) * 100
            out[name] = (float(np.nanpercentile(np.where(np.isfinite(low), low, np.nan), 2.5)),
                         float(np.nanpercentile(np.where(np.isfinite(high), high, np.nan), 97.5)))
    return out


# -- interrupted time series ---------------------------------------------------------------------------
def _its_design(panel_rows: pd.DataFrame, start: int, pandemic: tuple[int, int], post: tuple[int, int]):
    """Design matrix: intercept, country dummies (first country dropped), trend, pandemic, post."""
    iso3 = pd.Categorical(panel_rows["iso3"])
    dummies = pd.get_dummies(iso3, prefix="country", drop_first=True, dtype=float)
    year = panel_rows["year"].to_numpy()
    design = pd.DataFrame({"const": 1.0, "trend": (year - start).astype(float),
                           "pandemic": ((year >= pandemic[0]) & (year <= pandemic[1])).astype(float),
                           "post": ((year >= post[0]) & (year <= post[1])).astype(float)})
    design = pd.concat([design, dummies.set_axis(design.index)], axis=1)
    return design, iso3.codes


def interrupted_time_series(obs: pd.DataFrame, *, indicator: str = "detected_victims", start: int = 2010,
                            pandemic: tuple[int, int] = (2020, 2021), post: tuple[int, int] = (2022, 2022),
                            bound: str = "lower") -> pd.DataFrame:
    """Level shifts during and after the pandemic against the pre-pandemic trend.

    Poisson GLM (statsmodels) of country-year counts on country fixed effects, a linear year trend
    and dummies for the pandemic and the post years, on the balanced panel of countries reporting
    in every year from ``start`` to the end of ``post`` (about 40 countries from 2010 for detected
    victims), with standard errors clustered by country. A censored cell enters at its ``bound``
    (``lower`` = 0, ``upper`` = 4).

    Returns
    -------
    DataFrame, one row per term (``trend``, ``pandemic``, ``post``), with columns
        ``term``; ``estimate`` (log rate ratio; for ``trend`` per year); ``ci_low``, ``ci_high``
        (95 %, cluster-robust); ``p_value``; ``rate_ratio``, ``rr_ci_low``, ``rr_ci_high``
        (exponentiated); ``bound``; ``countries``; ``years`` (``"2010-2022"``); ``observations``;
        ``censored_cells`` (cells entering at the bound). ``attrs["note"]`` is :data:`ITS_NOTE`.
    """
    # the narrow imports: statsmodels.api costs most of a second at start-up
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    check_indicator(indicator)
    if bound not in ("lower", "upper"):
        raise TiplensError(f"unknown bound {bound!r}: choose 'lower' or 'upper'")
    first_data, last_data = data_years(obs, indicator)
    pandemic, post = (int(pandemic[0]), int(pandemic[1])), (int(post[0]), int(post[1]))
    end = post[1]
    for name, year in (("start", start), ("pandemic end", pandemic[1]), ("post end", end)):
        if not first_data <= year <= last_data:
            raise TiplensError(f"{name} {year} is outside the data: {indicator} covers {first_data}-{last_data}")
    if not start < pandemic[0] <= pandemic[1] < post[0] <= post[1]:
        raise TiplensError(f"periods out of order: need start ({start}) < pandemic {pandemic} < post {post}")
    totals = country_totals(obs, indicator=indicator, year_from=start, year_to=end)
    members = balanced_panel(totals, start, end)
    if len(members) < 2:
        raise TiplensError(f"empty panel: {len(members)} countries reported {indicator} in every year "
                           f"{start}-{end}; choose a later start")
    rows = totals[totals["iso3"].isin(members)].sort_values(["iso3", "year"], ignore_index=True)
    design, groups = _its_design(rows, start, pandemic, post)
    counts = rows[bound].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own convergence chatter; checked below
        fit = GLM(counts, design, family=families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": groups})
    if not fit.converged:
        raise TiplensError("the Poisson model did not converge on this panel; choose another start year")
    ci = fit.conf_int()
    out = pd.DataFrame({"term": ["trend", "pandemic", "post"]})
    out["estimate"] = fit.params[out["term"]].to_numpy()
    out["ci_low"] = ci.loc[out["term"], 0].to_numpy()
    out["ci_high"] = ci.loc[out["term"], 1].to_numpy()
    out["p_value"] = fit.pvalues[out["term"]].to_numpy()
    out["rate_ratio"] = np.exp(out["estimate"])
    out["rr_ci_low"], out["rr_ci_high"] = np.exp(out["ci_low"]), np.exp(out["ci_high"])
    out["bound"] = bound
    out["countries"] = len(members)
    out["years"] = f"{start}-{end}"
    out["observations"] = len(rows)
    out["censored_cells"] = int(rows["censored"].sum())
    out.attrs["note"] = ITS_NOTE
    out.attrs["panel"] = members
    return out


def its_both_bounds(obs: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """:func:`interrupted_time_series` at the lower and the upper censoring bound, stacked."""
    kwargs.pop("bound", None)
    parts = [interrupted_time_series(obs, bound=b, **kwargs) for b in ("lower", "upper")]
    out = pd.concat(parts, ignore_index=True)
    out.attrs["note"] = ITS_NOTE
    out.attrs["panel"] = parts[0].attrs["panel"]
    return out


# -- change points -------------------------------------------------------------------------------------
def change_points(series_frame: pd.DataFrame, *, breaks: int = 1, min_size: int = 2) -> pd.DataFrame:
    """Exploratory change points (ruptures, exact dynamic programming, L2 cost) in a yearly series.

    ``series_frame`` is a :func:`tiplens.analysis.trends.series` frame, meant to be the world series
    of a balanced panel; its ``World``/``Total`` rows are used (or the only group/category). The
    search runs on the lower and on the upper bound.

    Returns
    -------
    DataFrame, one row per bound x break, with columns
        ``bound``; ``break_year`` (first year of the new segment); ``mean_before``, ``mean_after``
        (segment means); ``change_pct``; ``years`` (span searched); ``method``; ``label``
        (``exploratory``). ``attrs["note"]`` is :data:`CHANGE_POINT_NOTE`.
    """
    import ruptures as rpt

    frame = series_frame
    if frame["group"].nunique() > 1:
        frame = frame[frame["group"].eq("World")]
    if frame["category"].nunique() > 1:
        frame = frame[frame["category"].eq("Total")]
    if frame.empty or frame["year"].duplicated().any():
        raise TiplensError("change_points needs one yearly series: pass series(..., by='world') without breakdown")
    frame = frame.sort_values("year")
    years = frame["year"].to_numpy()
    if len(years) < (breaks + 1) * min_size:
        raise TiplensError(f"{len(years)} yearly points are too few for {breaks} change point(s) with segments "
                           f"of at least {min_size} years: widen the window")
    rows = []
    for bound in ("lower", "upper"):
        signal = frame[bound].to_numpy(float)
        ends = rpt.Dynp(model="l2", min_size=min_size, jump=1).fit(signal).predict(n_bkps=breaks)
        edges = [0] + ends
        for i, cut in enumerate(ends[:-1]):
            before, after = signal[edges[i]:cut], signal[cut:edges[i + 2]]
            rows.append({"bound": bound, "break_year": int(years[cut]), "mean_before": before.mean(),
                         "mean_after": after.mean(), "change_pct": (after.mean() / before.mean() - 1) * 100,
                         "years": f"{years[0]}-{years[-1]}",
                         "method": f"ruptures Dynp, l2 cost, {breaks} break(s), min segment {min_size}",
                         "label": "exploratory"})
    out = pd.DataFrame(rows)
    out.attrs["note"] = CHANGE_POINT_NOTE
    return out
