"""Coverage-aware GLOTIP series: values with censoring bounds and the countries behind them.

Every function takes observations as returned by :meth:`tiplens.store.Store.observations` (the
GLOTIP rows; other sources' rows are ignored) and, where regions are needed, the countries table of
:meth:`tiplens.store.Store.countries`, and returns a tidy DataFrame. Nothing here reads or writes
files or prints.

Three rules run through the module:

* **Bounds, not guesses.** A ``<5`` cell is the interval 0-4. A sum over cells is the interval
  (sum of lower bounds, sum of upper bounds); its point ``value`` is given only when no cell in the
  sum is censored, else NaN. Nothing is ever computed from an imputed midpoint.
* **Coverage travels with the number.** Every row says how many countries stand behind it
  (``countries``) and, with population data, what share of the world's population they hold.
* **No sampling fiction.** Reporting countries are not a random sample of the world, so a
  resampled world total means nothing and gets no interval. Bootstrap intervals over countries are
  given only for *shares* (a category's share of its group) and for *year-on-year changes within a
  fixed panel*; they measure sensitivity to the country mix, not sampling error (:data:`CAVEAT`).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import TiplensError
from ..sources.glotip import CENSORING_NOTE

#: The GLOTIP indicators, as stored in ``observations.indicator``.
INDICATORS: tuple[str, ...] = ("detected_victims", "suspected", "prosecuted", "convicted", "offences")
#: Breakdowns accepted by :func:`country_totals` and :func:`series` (None = the Total rows).
BREAKDOWNS: tuple[str, ...] = ("sex", "age", "form", "citizenship")
#: Levels accepted by ``series(by=...)``; region and subregion are UN M49.
LEVELS: tuple[str, ...] = ("world", "region", "subregion", "country")

CAVEAT = ("UNODC GLOTIP counts of what national authorities detected and reported, not of how many "
          "people are trafficked. The set of reporting countries changes from year to year, so a total "
          "over all reporters mixes real change with coverage change: compare years on a fixed "
          "(balanced) panel. lower/upper are the bounds that censored cells allow ('<5' = 0 to 4); "
          "value is given only where no cell is censored. Reporting countries are not a random sample "
          "of the world: bootstrap intervals (ci_low/ci_high) show sensitivity to the country mix "
          "for shares and within-panel changes only; a world total has none.")

SERIES_COLUMNS = ["year", "group", "category", "value", "lower", "upper", "countries", "population_share",
                  "rate_per_100k", "rate_lower", "rate_upper", "ci_low", "ci_high"]
_TOTAL_COLUMNS = ["iso3", "year", "category", "value", "lower", "upper", "censored"]
_FOREIGN_CLASSES = ("foreign_unspecified", "region", "bloc")


# -- validation --------------------------------------------------------------------------------
_BASE_COLUMNS = ["iso3", "year", "indicator", "dimension", "category", "sex", "age", "value", "lower",
                 "upper", "censored"]


def _glotip_mask(obs: pd.DataFrame) -> pd.Series:
    """Rows that are GLOTIP indicators and not conflicts (checked without copying the frame)."""
    missing = set(_BASE_COLUMNS) - set(obs.columns)
    if missing:
        raise TiplensError(f"observations frame lacks columns {sorted(missing)}: pass the frame returned "
                           "by Store.observations(source='glotip')")
    keep = obs["indicator"].isin(INDICATORS)
    if "source" in obs.columns:
        keep &= obs["source"].eq("glotip")
    if "status" in obs.columns:  # conflicting duplicates never enter a total (see sources.glotip)
        keep &= obs["status"].fillna("ok").ne("conflict")
    return keep


def _glotip_rows(obs: pd.DataFrame, mask: pd.Series | None = None, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The GLOTIP rows (and ``mask``), only the columns the analyses use: filtering 27 Arrow
    columns costs more than the whole analysis."""
    keep = _glotip_mask(obs)
    if mask is not None:
        keep &= mask
    columns = _BASE_COLUMNS + [c for c in extra if c in obs.columns]
    return obs.loc[keep.to_numpy(), columns]


def check_indicator(indicator: str) -> str:
    """``indicator`` if it is a GLOTIP indicator, else a :class:`TiplensError` listing the valid ones."""
    if indicator not in INDICATORS:
        raise TiplensError(f"unknown indicator {indicator!r}: choose one of {', '.join(INDICATORS)}")
    return indicator


def _check_choice(value, valid: Iterable[str], what: str, allow_none: bool = False):
    valid = tuple(valid)
    if value is None and allow_none:
        return None
    if value not in valid:
        extra = " or None" if allow_none else ""
        raise TiplensError(f"unknown {what} {value!r}: choose one of {', '.join(valid)}{extra}")
    return value


def data_years(obs: pd.DataFrame, indicator: str) -> tuple[int, int]:
    """First and last year with any GLOTIP row of ``indicator``."""
    keep = _glotip_mask(obs) & obs["indicator"].eq(check_indicator(indicator))
    years = obs["year"][keep.to_numpy()]
    if years.empty:
        raise TiplensError(f"no GLOTIP rows for indicator {indicator!r} in the observations: ingest the "
                           "UNODC data_glotip file first")
    return int(years.min()), int(years.max())


def resolve_years(obs: pd.DataFrame, indicator: str, year_from: int | None,
                  year_to: int | None) -> tuple[int, int]:
    """The window (year_from, year_to) with None filled from the data; a year outside it is an error."""
    first, last = data_years(obs, indicator)
    for name, year in (("year_from", year_from), ("year_to", year_to)):
        if year is not None and not first <= int(year) <= last:
            raise TiplensError(f"{name}={year} is outside the data: {indicator} covers {first}-{last}")
    start = first if year_from is None else int(year_from)
    end = last if year_to is None else int(year_to)
    if start > end:
        raise TiplensError(f"year_from={start} is after year_to={end}: choose a window within {first}-{last}")
    return start, end


# -- country level --------------------------------------------------------------------------------
def _sum_intervals(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum value/lower/upper over ``keys``; value is NaN where any summed cell is censored."""
    work = frame[keys + ["value", "lower", "upper", "censored"]].copy()
    work["censored"] = work["censored"].astype(bool)
    out = work.groupby(keys, sort=True, observed=True).agg(
        value=("value", "sum"), lower=("lower", "sum"), upper=("upper", "sum"),
        censored=("censored", "any"), cells=("lower", "size"))
    out["value"] = out["value"].where(~out["censored"])
    return out.reset_index()


def citizenship_class(rows: pd.DataFrame) -> pd.Series:
    """Domestic / foreign / unknown for citizenship rows (the rule used by ``breakdown='citizenship'``).

    ``domestic`` when ``category_class`` is ``domestic`` (e.g. "Own nationals") or ``category_iso3``
    is the reporting country itself; ``foreign`` when ``category_iso3`` is another country or the class
    is ``foreign_unspecified``, ``region`` or ``bloc``; ``unknown`` otherwise (``unknown``, ``other``,
    ``unmapped``). Rows of class ``total`` (a country's own "TOTAL" line) are not a citizenship and
    are dropped by :func:`country_totals` (returned here as ``total``).
    """
    cls = rows["category_class"].astype("str").fillna("")
    cat_iso3 = rows["category_iso3"].astype("str").fillna("")
    own = cls.eq("domestic") | (cat_iso3.ne("") & cat_iso3.eq(rows["iso3"].astype("str")))
    foreign = ~own & ((cat_iso3.ne("") & cls.eq("country")) | cls.isin(_FOREIGN_CLASSES))
    out = np.where(own, "domestic", np.where(foreign, "foreign", "unknown"))
    out = np.where(cls.eq("total"), "total", out)
    return pd.Series(out, index=rows.index, dtype="str")


def country_totals(obs: pd.DataFrame, *, indicator: str, breakdown: str | None = None,
                   year_from: int | None = None, year_to: int | None = None) -> pd.DataFrame:
    """One row per reporting country-year(-category) of a GLOTIP indicator.

    Parameters
    ----------
    obs : DataFrame
        Observations (``Store.observations(source="glotip")``); conflict rows are ignored.
    indicator : str
        One of :data:`INDICATORS`.
    breakdown : {None, "sex", "age", "form", "citizenship"}
        None: the ``dimension='total'`` rows with sex Total and age Total (category ``Total``).
        ``sex``: total-dimension rows with age Total by sex (Female, Male, Other), plus the
        sex-and-age ``Unknown`` row as ``Unknown``. ``age``: total-dimension rows with sex Total by
        age (``0 to 17 years``, ``18 years or over``), plus that ``Unknown`` row. ``form``:
        ``dimension='form'`` rows (sex and age Total) by form of exploitation. ``citizenship``:
        ``dimension='citizenship'`` rows summed per class ``domestic`` / ``foreign`` / ``unknown``
        (rule in :func:`citizenship_class`).
    year_from, year_to : int, optional
        Window; a year outside the data raises :class:`TiplensError`.

    Returns
    -------
    DataFrame with columns
        ``iso3``; ``year``; ``category`` (``Total`` or the breakdown category); ``value`` (NaN if
        censored); ``lower``, ``upper`` (censoring bounds; for citizenship classes, sums of the
        rows' bounds); ``censored`` (any summed cell censored).
    """
    check_indicator(indicator)
    _check_choice(breakdown, BREAKDOWNS, "breakdown", allow_none=True)
    start, end = resolve_years(obs, indicator, year_from, year_to)
    wanted = obs["indicator"].eq(indicator) & obs["year"].between(start, end) & obs["iso3"].notna()
    if breakdown == "citizenship":
        wanted &= obs["dimension"].eq("citizenship")
    elif breakdown == "form":
        wanted &= obs["dimension"].eq("form")
    else:
        wanted &= obs["dimension"].eq("total")
    rows = _glotip_rows(obs, wanted, extra=("category_iso3", "category_class"))
    dim, sex, age = rows["dimension"], rows["sex"], rows["age"]
    unknown_both = sex.eq("Unknown") & age.eq("Unknown")
    if breakdown is None:
        sel = rows[dim.eq("total") & sex.eq("Total") & age.eq("Total")].assign(category="Total")
    elif breakdown == "sex":
        pick = dim.eq("total") & ((sex.ne("Total") & age.eq("Total")) | unknown_both)
        sel = rows[pick].assign(category=rows.loc[pick, "sex"])
    elif breakdown == "age":
        pick = dim.eq("total") & ((sex.eq("Total") & age.ne("Total")) | unknown_both)
        sel = rows[pick].assign(category=rows.loc[pick, "age"])
    elif breakdown == "form":
        sel = rows[dim.eq("form") & sex.eq("Total") & age.eq("Total")]
    else:  # citizenship: several source rows per class, summed as intervals
        cit = rows[dim.eq("citizenship") & sex.eq("Total") & age.eq("Total")]
        cit = cit.assign(category=citizenship_class(cit))
        cit = cit[cit["category"].ne("total")]
        sel = _sum_intervals(cit, ["iso3", "year", "category"])
    out = sel[_TOTAL_COLUMNS].copy()
    out["year"] = out["year"].astype("int64")
    out["censored"] = out["censored"].astype(bool)
    out["category"] = out["category"].astype("str")
    return out.sort_values(["iso3", "year", "category"], ignore_index=True)


def cell_totals(obs: pd.DataFrame, *, indicator: str, dimension: str = "total", sex: str = "Total",
                age: str = "Total", year_from: int | None = None, year_to: int | None = None) -> pd.DataFrame:
    """Like :func:`country_totals`, for one sex-and-age cell of the total or form dimension.

    For example girls (``sex="Female", age="0 to 17 years"``) in total, or boys by form of
    exploitation (``dimension="form", sex="Male", age="0 to 17 years"``). ``category`` is ``Total``
    for the total dimension and the form for ``dimension="form"``. Same columns as
    :func:`country_totals`.
    """
    check_indicator(indicator)
    _check_choice(dimension, ("total", "form"), "dimension")
    start, end = resolve_years(obs, indicator, year_from, year_to)
    wanted = (obs["indicator"].eq(indicator) & obs["year"].between(start, end) & obs["iso3"].notna()
              & obs["dimension"].eq(dimension) & obs["sex"].eq(sex) & obs["age"].eq(age))
    rows = _glotip_rows(obs, wanted)
    if dimension == "total":
        rows = rows.assign(category="Total")
    out = rows[_TOTAL_COLUMNS].copy()
    out["year"] = out["year"].astype("int64")
    out["censored"] = out["censored"].astype(bool)
    out["category"] = out["category"].astype("str")
    return out.sort_values(["iso3", "year", "category"], ignore_index=True)


def balanced_panel(totals: pd.DataFrame, year_from: int, year_to: int) -> list[str]:
    """ISO3 codes of the countries with a row (censored counts as reported) in every year of the window.

    ``totals`` is a :func:`country_totals` frame; with a breakdown, any category counts.
    """
    years = totals.loc[totals["year"].between(year_from, year_to), ["iso3", "year"]].drop_duplicates()
    counts = years.groupby("iso3").size()
    return sorted(counts.index[counts.eq(year_to - year_from + 1)])


# -- population -----------------------------------------------------------------------------------
def population_table(obs: pd.DataFrame, indicator: str = "hdr_pop_total", scale: float = 1e6) -> pd.DataFrame:
    """``iso3, year, population`` (persons) from observations of a population indicator.

    The UNDP HDR file's ``hdr_pop_total`` is in millions, hence ``scale=1e6``.
    """
    rows = obs[obs["indicator"].eq(indicator) & obs["value"].notna()]
    return pd.DataFrame({"iso3": rows["iso3"].astype("str"), "year": rows["year"].astype("int64"),
                         "population": rows["value"].astype(float) * scale}).reset_index(drop=True)


def _population(population: pd.DataFrame | None, countries: pd.DataFrame | None) -> pd.DataFrame | None:
    if population is None or len(population) == 0:
        return None
    missing = {"iso3", "year", "population"} - set(population.columns)
    if missing:
        raise TiplensError(f"population frame lacks columns {sorted(missing)}: it needs iso3, year, population")
    pop = population[["iso3", "year", "population"]].dropna()
    if countries is not None and "iso3" in countries.columns:  # aggregates (World, regions) are not countries
        pop = pop[pop["iso3"].isin(countries["iso3"])]
    pop = pop.assign(year=pop["year"].astype("int64"), iso3=pop["iso3"].astype("str"))
    return pop.drop_duplicates(["iso3", "year"])


# -- panels and groups ----------------------------------------------------------------------------
def resolve_panel(panel, totals: pd.DataFrame, start: int, end: int, indicator: str,
                   countries: pd.DataFrame | None) -> tuple[list[str] | None, str]:
    """(list of iso3 or None for all reporters, label)."""
    if isinstance(panel, str):
        if panel == "all":
            return None, "all"
        if panel == "balanced":
            members = balanced_panel(totals, start, end)
            if not members:
                raise TiplensError(f"empty panel: no country reported {indicator} in every year {start}-{end}; "
                                   "choose a shorter window (year_from/--from), or panel 'all' or a list of ISO3 codes")
            return members, f"balanced {start}-{end}"
        raise TiplensError(f"unknown panel {panel!r}: choose 'all', 'balanced' or a list of ISO3 codes")
    members = sorted({str(code).strip().upper() for code in panel if str(code).strip()})
    if not members:
        raise TiplensError("empty panel: the list of ISO3 codes is empty; use 'all', 'balanced' or name countries")
    if countries is not None and "iso3" in countries.columns:
        unknown = sorted(set(members) - set(countries["iso3"]))
        if unknown:
            raise TiplensError(f"unknown ISO3 codes in the panel: {', '.join(unknown)} "
                               "(use ISO 3166 alpha-3 codes such as FRA, NGA)")
    if not set(members) & set(totals["iso3"]):
        raise TiplensError(f"empty panel: none of {', '.join(members)} reported {indicator} in {start}-{end}")
    return members, f"named ({len(members)} countries)"


def _group_of(iso3: pd.Series, by: str, countries: pd.DataFrame | None) -> pd.Series:
    if by == "world":
        return pd.Series("World", index=iso3.index, dtype="str")
    if by == "country":
        return iso3.astype("str")
    if countries is None:
        raise TiplensError(f"by={by!r} needs the countries table (Store.countries())")
    column = {"region": "m49_region", "subregion": "m49_subregion"}[by]
    lookup = countries.set_index("iso3")[column]
    return iso3.map(lookup).fillna("No M49 " + by).astype("str")


def _grouped_resample_sums(codes: np.ndarray, values: np.ndarray, draws: int,
                           rng: np.random.Generator) -> np.ndarray:
    """Sums of ``values`` over resamples of rows, with replacement, within each group.

    ``codes`` (length N, sorted, 0..G-1 all present) says which group each row of ``values``
    (N x M) belongs to. Replicate b of group g draws n_g rows from g's rows. Returns draws x G x M.
    All groups and replicates are drawn at once: one uniform array, one gather per column.
    """
    sizes = np.bincount(codes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    picks = starts[codes] + np.floor(rng.random((draws, codes.size)) * sizes[codes]).astype(np.int64)
    out = np.empty((draws, sizes.size, values.shape[1]))
    for m in range(values.shape[1]):
        out[:, :, m] = np.add.reduceat(values[picks, m], starts, axis=1)
    return out


def _percentile(a: np.ndarray, q: float) -> np.ndarray:
    """Percentile over axis 0, ignoring replicates where the ratio is undefined."""
    a = np.where(np.isfinite(a), a, np.nan)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
            return np.nanpercentile(a, q, axis=0)


# -- the series -----------------------------------------------------------------------------------
def series(obs: pd.DataFrame, countries: pd.DataFrame | None, *, indicator: str, by: str = "world",
           breakdown: str | None = None, panel="all", year_from: int | None = None,
           year_to: int | None = None, population: pd.DataFrame | None = None, bootstrap: int = 1000,
           seed: int = 0) -> pd.DataFrame:
    """A GLOTIP indicator by year and group, with censoring bounds, coverage and country-mix sensitivity.

    Parameters
    ----------
    obs : DataFrame
        Observations (``Store.observations(source="glotip")``).
    countries : DataFrame or None
        ``Store.countries()``; needed for ``by='region'|'subregion'`` (UN M49 ``m49_region``,
        ``m49_subregion``) and to check named panels.
    indicator : str
        One of :data:`INDICATORS`.
    by : {"world", "region", "subregion", "country"}
    breakdown : {None, "sex", "age", "form", "citizenship"}
        See :func:`country_totals`.
    panel : "all", "balanced" or list of ISO3
        ``all``: every country reporting in a year (the set changes from year to year);
        ``balanced``: countries reporting in every year of the window (:func:`balanced_panel`);
        a list: exactly those countries (in the years they report).
    year_from, year_to : int, optional
        Window (default: all years of the indicator).
    population : DataFrame, optional
        ``iso3, year, population`` in persons (e.g. :func:`population_table`).
    bootstrap : int
        Resamples of countries for the sensitivity intervals (0 = none).
    seed : int
        Seed of the resampling.

    Returns
    -------
    DataFrame, one row per year x group x category, with columns
        ``year``; ``group`` (``World``, an M49 region/subregion, or the ISO3 code);
        ``category`` (``Total`` without breakdown);
        ``value`` (sum of exact counts; NaN where any cell in the sum is censored: the point is
        unknown); ``lower``, ``upper`` (sums of the censoring bounds);
        ``countries`` (countries reporting this group-year-category);
        ``population_share`` (the reporters' share of world population that year; world = every
        country with population data); ``rate_per_100k``, ``rate_lower``, ``rate_upper`` (value and
        bounds per 100,000 population of the reporters that have population data; ``rate_countries``
        says how many); ``share``, ``share_lower``, ``share_upper`` (breakdowns only: the category's
        share of the group's reported categories, with bounds from the censored cells);
        ``share_ci_low``, ``share_ci_high`` (bootstrap over the group's countries);
        ``change``, ``change_lower``, ``change_upper``, ``change_pct``, ``change_pct_lower``,
        ``change_pct_upper`` (fixed panels only: change against the previous year over the panel
        countries that reported in both years, ``change_countries``); ``change_ci_low``,
        ``change_ci_high`` (bootstrap interval of ``change_pct``, in percent);
        ``ci_low``, ``ci_high`` (the row's sensitivity interval: the share's with a breakdown, else
        the percent change's within a fixed panel, else NaN); ``ci_of`` (``share``, ``change_pct``
        or empty); ``indicator``; ``panel`` (``all``, ``balanced Y1-Y2``, ``named (n countries)``).

    Notes
    -----
    The intervals are 2.5th and 97.5th percentiles over ``bootstrap`` resamples of the group's
    reporting countries with replacement; the low end is computed at the lower censoring bounds
    and the high end at the upper bounds, so the interval covers both. They show how much a share
    or a within-panel change depends on which countries report, **not** sampling error: reporting
    countries are not a random sample, so raw totals get no interval (a resampled world total means
    nothing). No interval at ``by='country'`` (one country per group).
    """
    check_indicator(indicator)
    _check_choice(by, LEVELS, "level (by)")
    _check_choice(breakdown, BREAKDOWNS, "breakdown", allow_none=True)
    start, end = resolve_years(obs, indicator, year_from, year_to)
    totals = country_totals(obs, indicator=indicator, breakdown=breakdown, year_from=start, year_to=end)
    members, panel_label = resolve_panel(panel, totals, start, end, indicator, countries)
    fixed = members is not None
    if fixed:
        totals = totals[totals["iso3"].isin(members)]
    totals = totals.assign(group=_group_of(totals["iso3"], by, countries))
    keys = ["group", "category", "year"]
    out = _sum_intervals(totals, keys)
    out["countries"] = totals.groupby(keys, sort=True).size().to_numpy()
    out = out.drop(columns=["censored", "cells"])

    _add_population(out, totals, keys, _population(population, countries))

    rng = np.random.default_rng(seed)
    draws = int(bootstrap) if by != "country" else 0
    if breakdown is not None:
        _add_shares(out, totals, rng, draws)
    else:
        for col in ("share", "share_lower", "share_upper", "share_ci_low", "share_ci_high"):
            out[col] = np.nan
    _add_changes(out, totals, rng, draws if fixed else 0, fixed)

    if breakdown is not None:
        out["ci_low"], out["ci_high"], out["ci_of"] = out["share_ci_low"], out["share_ci_high"], "share"
    elif fixed:
        out["ci_low"], out["ci_high"], out["ci_of"] = out["change_ci_low"], out["change_ci_high"], "change_pct"
        out.loc[out["change_pct"].isna() & out["change_pct_lower"].isna(), "ci_of"] = ""
    else:
        out["ci_low"], out["ci_high"], out["ci_of"] = np.nan, np.nan, ""
    if draws == 0:
        out["ci_of"] = ""
    out["indicator"] = indicator
    out["panel"] = panel_label
    first = SERIES_COLUMNS
    rest = [c for c in out.columns if c not in first]
    out = out[first + rest].sort_values(["group", "category", "year"], ignore_index=True)
    out.attrs["caveat"] = CAVEAT
    out.attrs["censoring"] = CENSORING_NOTE
    return out


def _add_population(out: pd.DataFrame, totals: pd.DataFrame, keys: list[str], pop: pd.DataFrame | None) -> None:
    cols = ["population_share", "rate_per_100k", "rate_lower", "rate_upper", "rate_countries"]
    if pop is None:
        for col in cols:
            out[col] = np.nan
        out["rate_countries"] = 0
        return
    world = pop.groupby("year")["population"].sum()
    with_pop = totals.merge(pop, on=["iso3", "year"], how="inner")
    agg = _sum_intervals(with_pop, keys).set_index(keys)
    agg["population"] = with_pop.groupby(keys)["population"].sum()
    agg = agg.reindex(pd.MultiIndex.from_frame(out[keys]))
    population = agg["population"].to_numpy()
    out["population_share"] = population / out["year"].map(world).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_per_100k"] = agg["value"].to_numpy() / population * 1e5
        out["rate_lower"] = agg["lower"].to_numpy() / population * 1e5
        out["rate_upper"] = agg["upper"].to_numpy() / population * 1e5
    out["rate_countries"] = agg["cells"].fillna(0).astype("int64").to_numpy()


def _add_shares(out: pd.DataFrame, totals: pd.DataFrame, rng: np.random.Generator, draws: int) -> None:
    """Category shares of the group total, bounds from censoring, bootstrap over the group's countries."""
    group_keys = ["group", "year"]
    tot = out.groupby(group_keys)[["lower", "upper", "value"]].transform("sum")
    any_nan = out["value"].isna().groupby([out["group"], out["year"]]).transform("any")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = (out["value"] / tot["value"]).where(~any_nan)
        # a/(a+b) is increasing in a and decreasing in b: the bounds pair opposite ends
        out["share_lower"] = out["lower"] / (out["lower"] + tot["upper"] - out["upper"])
        out["share_upper"] = out["upper"] / (out["upper"] + tot["lower"] - out["lower"])
    out["share_ci_low"] = np.nan
    out["share_ci_high"] = np.nan
    if draws <= 0:
        return
    cats = sorted(out["category"].unique())
    # one row per group-year-country, one column per category (a category not reported counts 0)
    wide = totals.pivot_table(index=group_keys + ["iso3"], columns="category", values=["lower", "upper"],
                              aggfunc="sum", fill_value=0.0, sort=True)
    lower = wide["lower"].reindex(columns=cats, fill_value=0.0).to_numpy(float)
    upper = wide["upper"].reindex(columns=cats, fill_value=0.0).to_numpy(float)
    group_index = wide.index.droplevel("iso3")
    codes, uniques = pd.factorize(group_index, sort=True)
    sums = _grouped_resample_sums(codes, np.hstack([lower, upper]), draws, rng)
    k = len(cats)
    low_sum, up_sum = sums[:, :, :k], sums[:, :, k:]  # draws x groups x categories
    with np.errstate(divide="ignore", invalid="ignore"):
        share_low = low_sum / (low_sum + up_sum.sum(axis=2, keepdims=True) - up_sum)
        share_high = up_sum / (up_sum + low_sum.sum(axis=2, keepdims=True) - low_sum)
    ci_low, ci_high = _percentile(share_low, 2.5), _percentile(share_high, 97.5)  # groups x categories
    n_countries = np.bincount(codes)
    ci_low[n_countries < 2], ci_high[n_countries < 2] = np.nan, np.nan
    frame = pd.DataFrame({"group": [g for g, _ in uniques], "year": [y for _, y in uniques]})
    frame = frame.loc[frame.index.repeat(k)].reset_index(drop=True)
    frame["category"] = cats * len(uniques)
    frame["share_ci_low"], frame["share_ci_high"] = ci_low.ravel(), ci_high.ravel()
    merged = out[["group", "category", "year"]].merge(frame, on=["group", "category", "year"], how="left")
    out["share_ci_low"] = merged["share_ci_low"].to_numpy()
    out["share_ci_high"] = merged["share_ci_high"].to_numpy()


def _add_changes(out: pd.DataFrame, totals: pd.DataFrame, rng: np.random.Generator, draws: int,
                 fixed: bool) -> None:
    """Year-on-year change over the countries reporting both years (fixed panels only)."""
    cols = ["change", "change_lower", "change_upper", "change_pct", "change_pct_lower", "change_pct_upper",
            "change_ci_low", "change_ci_high"]
    for col in cols:
        out[col] = np.nan
    out["change_countries"] = 0
    if not fixed:
        return
    keys = ["iso3", "group", "category"]
    prev = totals[keys + ["year", "value", "lower", "upper"]].assign(year=totals["year"] + 1)
    pairs = totals.merge(prev, on=keys + ["year"], suffixes=("", "_prev"))
    if pairs.empty:
        return
    pairs["censored_any"] = pairs["value"].isna() | pairs["value_prev"].isna()
    idx = ["group", "category", "year"]
    agg = pairs.groupby(idx).agg(now=("value", "sum"), before=("value_prev", "sum"),
                                 now_lo=("lower", "sum"), now_hi=("upper", "sum"),
                                 before_lo=("lower_prev", "sum"), before_hi=("upper_prev", "sum"),
                                 cens=("censored_any", "any"), n=("iso3", "size"))
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["change"] = (agg["now"] - agg["before"]).where(~agg["cens"])
        agg["change_lower"] = agg["now_lo"] - agg["before_hi"]
        agg["change_upper"] = agg["now_hi"] - agg["before_lo"]
        agg["change_pct"] = ((agg["now"] / agg["before"] - 1) * 100).where(~agg["cens"])
        agg["change_pct_lower"] = (agg["now_lo"] / agg["before_hi"] - 1) * 100
        agg["change_pct_upper"] = (agg["now_hi"] / agg["before_lo"] - 1) * 100
    agg["change_ci_low"] = np.nan
    agg["change_ci_high"] = np.nan
    if draws > 0:
        pairs = pairs.sort_values(idx)
        codes, _ = pd.factorize(pd.MultiIndex.from_frame(pairs[idx]), sort=True)
        vectors = pairs[["lower", "upper", "lower_prev", "upper_prev"]].to_numpy(float)
        sums = _grouped_resample_sums(codes, vectors, draws, rng)  # draws x groups x 4
        with np.errstate(divide="ignore", invalid="ignore"):
            low = _percentile((sums[:, :, 0] / sums[:, :, 3] - 1) * 100, 2.5)
            high = _percentile((sums[:, :, 1] / sums[:, :, 2] - 1) * 100, 97.5)
        single = np.bincount(codes) < 2
        low[single], high[single] = np.nan, np.nan
        agg["change_ci_low"], agg["change_ci_high"] = low, high  # agg is sorted by idx like the codes
    agg = agg.reindex(pd.MultiIndex.from_frame(out[idx]))
    for col in cols:
        out[col] = agg[col].to_numpy()
    out["change_countries"] = agg["n"].fillna(0).astype("int64").to_numpy()


# -- influence and flows ----------------------------------------------------------------------------
def leave_one_out(obs: pd.DataFrame, *, indicator: str, year: int, panel="all",
                  countries: pd.DataFrame | None = None, year_from: int | None = None,
                  year_to: int | None = None) -> pd.DataFrame:
    """How much each country moves the world total of one year: drop it and recompute.

    ``panel`` as in :func:`series`; for ``balanced`` the window is ``year_from``-``year_to``
    (default: the whole data range must contain ``year``).

    Returns
    -------
    DataFrame, one row per reporting country, most influential first (by the upper bound of its count),
    with columns
        ``iso3``; ``year``; ``country_value``, ``country_lower``, ``country_upper`` (its own count);
        ``value_without`` (world total without it; NaN where any remaining cell is censored);
        ``lower_without``, ``upper_without`` (bounds of that total); ``change`` (``-country_value``:
        how the world total moves when the country is left out; NaN for a censored cell, whose
        change lies in [``-country_upper``, ``-country_lower``]); ``share_of_total`` (its count
        over the sum of the exactly reported counts, censored cells counted as 0 — at most
        ``4 x censored cells`` off; ``share_lower``/``share_upper`` are the exact bounds);
        ``countries`` (reporters in the total); ``total_lower``, ``total_upper``.
    """
    check_indicator(indicator)
    start, end = resolve_years(obs, indicator, year_from, year_to)
    if not start <= int(year) <= end:
        raise TiplensError(f"year={year} is outside the window {start}-{end} of {indicator}")
    totals = country_totals(obs, indicator=indicator, year_from=start, year_to=end)
    members, _ = resolve_panel(panel, totals, start, end, indicator, countries)
    rows = totals[totals["year"].eq(int(year))]
    if members is not None:
        rows = rows[rows["iso3"].isin(members)]
    if rows.empty:
        raise TiplensError(f"no country reported {indicator} in {year} in this panel")
    total_lo, total_hi = rows["lower"].sum(), rows["upper"].sum()
    censored = rows["censored"].to_numpy()
    n_cens = int(censored.sum())
    total_value = np.nan if n_cens else rows["value"].sum()
    others_cens = n_cens - censored.astype(int)
    exact_sum = rows["value"].fillna(0).sum()
    out = pd.DataFrame({
        "iso3": rows["iso3"].to_numpy(), "year": int(year),
        "country_value": rows["value"].to_numpy(), "country_lower": rows["lower"].to_numpy(),
        "country_upper": rows["upper"].to_numpy()})
    out["value_without"] = np.where(others_cens == 0, exact_sum - out["country_value"].fillna(0), np.nan)
    out["lower_without"] = total_lo - out["country_lower"]
    out["upper_without"] = total_hi - out["country_upper"]
    out["change"] = -out["country_value"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share_of_total"] = out["country_value"] / exact_sum
        out["share_lower"] = out["country_lower"] / (out["country_lower"] + out["upper_without"])
        out["share_upper"] = out["country_upper"] / (out["country_upper"] + out["lower_without"])
    out["countries"] = len(rows)
    out["total_value"] = total_value
    out["total_lower"], out["total_upper"] = total_lo, total_hi
    out = out.sort_values(["country_upper", "iso3"], ascending=[False, True], ignore_index=True)
    out.attrs["caveat"] = CAVEAT
    return out


def flows(obs: pd.DataFrame, *, year_from: int | None = None, year_to: int | None = None,
          indicator: str = "detected_victims", countries: pd.DataFrame | None = None,
          level: str = "country") -> pd.DataFrame:
    """Origin → detection flows from the citizenship rows mapped to a country, summed over the window.

    Only citizenship categories that name a country (``category_iso3``) are used; ``foreign``
    categories without a country ("other nationals", regions) cannot be placed and are left out.
    Domestic victims appear as origin = detection (the rows whose ``category_iso3`` is the reporting
    country; "own nationals" rows of class ``domestic`` are included with origin = detection too).

    Parameters
    ----------
    level : {"country", "region"}
        ``region`` sums the country flows by M49 region of origin and of detection.
    countries : DataFrame, optional
        ``Store.countries()`` for the M49 regions; without it the regions are GLOTIP's own
        (``source_region`` of the reporting country, also used for an origin that reports).

    Returns
    -------
    DataFrame with columns
        ``origin_iso3``, ``origin_region``, ``detection_iso3``, ``detection_region`` (at
        ``level='region'`` the iso3 columns are empty); ``value`` (NaN if any cell is censored),
        ``lower``, ``upper`` (sums over rows and years); ``countries`` (distinct detecting
        countries behind the flow); ``years`` (distinct years); ``domestic`` (origin = detection
        country; always False at ``level='region'``, where a same-region flow may be domestic or not).
    """
    check_indicator(indicator)
    _check_choice(level, ("country", "region"), "flow level")
    start, end = resolve_years(obs, indicator, year_from, year_to)
    wanted = (obs["indicator"].eq(indicator) & obs["dimension"].eq("citizenship")
              & obs["year"].between(start, end) & obs["iso3"].notna())
    rows = _glotip_rows(obs, wanted, extra=("category_iso3", "category_class", "source_region"))
    domestic_class = rows["category_class"].eq("domestic").fillna(False)
    rows = rows[rows["category_iso3"].notna() | domestic_class]
    origin = rows["category_iso3"].where(rows["category_iso3"].notna(), rows["iso3"])
    rows = rows.assign(origin_iso3=origin.astype("str"), detection_iso3=rows["iso3"].astype("str"))
    if countries is not None:
        region = countries.set_index("iso3")["m49_region"]
    else:
        region = rows.drop_duplicates("iso3").set_index("iso3")["source_region"]
    rows = rows.assign(origin_region=rows["origin_iso3"].map(region).fillna("Unknown").astype("str"),
                       detection_region=rows["detection_iso3"].map(region).fillna("Unknown").astype("str"))
    keys = (["origin_iso3", "origin_region", "detection_iso3", "detection_region"] if level == "country"
            else ["origin_region", "detection_region"])
    out = _sum_intervals(rows, keys)
    grouped = rows.groupby(keys, sort=True)
    out["countries"] = grouped["detection_iso3"].nunique().to_numpy()
    out["years"] = grouped["year"].nunique().to_numpy()
    if level == "region":
        out.insert(0, "origin_iso3", "")
        out.insert(2, "detection_iso3", "")
        out["domestic"] = False
    else:
        out["domestic"] = out["origin_iso3"].eq(out["detection_iso3"])
    out = out[["origin_iso3", "origin_region", "detection_iso3", "detection_region", "lower", "upper",
               "value", "countries", "years", "domestic"]]
    out = out.sort_values(["upper", "origin_region", "detection_region"], ascending=[False, True, True],
                          ignore_index=True)
    out.attrs["caveat"] = CAVEAT
    return out
