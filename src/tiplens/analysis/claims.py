"""Quantitative claims checked against the data.

A claims file (YAML) lists statements, each with its source, the number it asserts and how to
compute that number from the store::

    claims:
      - id: seed_2021_victims
        statement: "By 2021, the figure had dropped to 42,000"
        source: "seed paper, section 3"
        published: 42000
        tolerance: 0.05               # relative; default 0.05
        quantity: {kind: world_total, indicator: detected_victims, year: 2021}

Quantity kinds (:data:`KINDS`):

``world_total``  (indicator, year)
    the sum over all reporting countries, as an interval from the censoring bounds.
``change_pct``  (indicator, from_year, to_year; optional sex, age, breakdown + categories)
    percentage change on the countries that report in both years (a fixed panel); ``sex``/``age``
    pick one cell (girls: ``sex: Female, age: 0 to 17 years``), ``breakdown: form`` with
    ``categories`` one form of exploitation.
``share``  (indicator, breakdown, categories, year; optional sex, age)
    share of ``categories`` (e.g. Female) in the known breakdown total, on countries that report it;
    with ``sex``/``age`` and ``breakdown: form``, the forms of one group (e.g. girls).
``framework_year``  (framework, field)
    a year from the cooperation-framework table (e.g. when Directive 2011/36/EU was adopted).
``reference``  (value, cite)
    a published figure from another source that the data here cannot produce.
``not_in_data``  (reason)
    a claim about something the country data do not cover (e.g. a year after the last one).

Verdicts: ``consistent`` when the published number lies inside the measured interval widened by
the tolerance, ``inconsistent`` otherwise, ``not checkable`` (with the reason) when the data
cannot produce the quantity.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import TiplensError
from .trends import cell_totals, country_totals

KINDS = ("world_total", "change_pct", "share", "framework_year", "reference", "not_in_data")
REQUIRED = {"world_total": ("indicator", "year"), "change_pct": ("indicator", "from_year", "to_year"),
            "share": ("indicator", "breakdown", "categories", "year"), "framework_year": ("framework", "field"),
            "reference": ("value", "cite"), "not_in_data": ("reason",)}
SHIPPED = ("seed_paper", "glotip_2024")
COLUMNS = ["id", "statement", "source", "published", "measured", "lower", "upper", "countries",
           "difference", "verdict", "explanation"]


def shipped_claims(name: str) -> list[dict]:
    """One of the claim sets that ship with tiplens (:data:`SHIPPED`)."""
    if name not in SHIPPED:
        raise TiplensError(f"unknown claim set {name!r}; shipped sets: {', '.join(SHIPPED)}")
    text = resources.files("tiplens.analysis").joinpath(f"claimsets/{name}.yaml").read_text(encoding="utf-8")
    return parse_claims(text, origin=f"claim set {name}")


def load_claims(path: str | Path) -> list[dict]:
    """Read and validate a claims file; errors name the file, the line and what is valid."""
    path = Path(path)
    if not path.is_file():
        raise TiplensError(f"{path}: claims file not found. Pass a YAML file, or none for the shipped sets")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TiplensError(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded). Save the claims file "
                           "as UTF-8 YAML") from None
    return parse_claims(text, origin=str(path))


def parse_claims(text: str, *, origin: str) -> list[dict]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise TiplensError(f"{origin}{where}: not valid YAML ({getattr(exc, 'problem', exc)}). "
                           "Check the indentation and quotes there") from None
    claims = document.get("claims") if isinstance(document, dict) else None
    if not isinstance(claims, list) or not claims:
        raise TiplensError(f"{origin}: expected a top-level 'claims:' list with at least one claim")
    seen = set()
    for number, claim in enumerate(claims, start=1):
        label = f"{origin}, claim {number}"
        if not isinstance(claim, dict):
            raise TiplensError(f"{label}: each claim must be a mapping with id, statement, source, quantity")
        for key in ("id", "statement", "source", "quantity"):
            if key not in claim:
                raise TiplensError(f"{label}: missing '{key}' (a claim needs id, statement, source, quantity)")
        if claim["id"] in seen:
            raise TiplensError(f"{label}: id {claim['id']!r} is used twice")
        seen.add(claim["id"])
        quantity = claim["quantity"]
        kind = quantity.get("kind") if isinstance(quantity, dict) else None
        if kind not in KINDS:
            raise TiplensError(f"{label} ({claim['id']}): unknown quantity kind {kind!r}; valid kinds: "
                               f"{', '.join(KINDS)}")
        missing = [k for k in REQUIRED[kind] if k not in quantity]
        if missing:
            raise TiplensError(f"{label} ({claim['id']}): quantity {kind} needs {', '.join(missing)}")
        if kind not in ("not_in_data",) and not isinstance(claim.get("published"), (int, float)):
            raise TiplensError(f"{label} ({claim['id']}): 'published' must be the number the statement asserts")
    return claims


def check(claims: list[dict], obs: pd.DataFrame, *, frameworks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compute every claim's quantity from GLOTIP observations and give a verdict.

    Parameters
    ----------
    claims : list of dict
        As returned by :func:`load_claims` or :func:`shipped_claims`.
    obs : DataFrame
        GLOTIP observations (``Store.observations(source="glotip")``); may be empty.
    frameworks : DataFrame, optional
        The cooperation-framework table (``records_frameworks``) for ``framework_year`` claims.

    Returns
    -------
    DataFrame
        One row per claim: ``id``, ``statement``, ``source``, ``published``, ``measured`` (point
        value where the data give one), ``lower``/``upper`` (the interval censored cells allow),
        ``countries`` (how many stand behind it), ``difference`` (published minus measured, or
        minus the nearest bound), ``verdict`` and ``explanation``.
    """
    rows = []
    for claim in claims:
        quantity = claim["quantity"]
        result = _compute(quantity, obs, frameworks)
        published = claim.get("published")
        tolerance = float(claim.get("tolerance", 0.05))
        verdict, explanation = _verdict(published, result, tolerance)
        rows.append({"id": claim["id"], "statement": claim["statement"], "source": claim["source"],
                     "published": published, **{k: result.get(k) for k in ("measured", "lower", "upper", "countries")},
                     "difference": _difference(published, result), "verdict": verdict,
                     "explanation": " ".join(filter(None, [result.get("why"), explanation, claim.get("note")]))})
    return pd.DataFrame(rows, columns=COLUMNS)


def _compute(quantity: dict, obs: pd.DataFrame, frameworks: pd.DataFrame | None) -> dict:
    kind = quantity["kind"]
    if kind == "not_in_data":
        return {"checkable": False, "why": quantity["reason"]}
    if kind == "reference":
        value = float(quantity["value"])
        return {"checkable": True, "measured": value, "lower": value, "upper": value,
                "why": f"Reference figure: {quantity['cite']}."}
    if kind == "framework_year":
        return _framework_year(quantity, frameworks)
    if obs is None or len(obs) == 0:
        return {"checkable": False, "why": "No GLOTIP data in the store: ingest the UNODC file (tiplens ingest)."}
    years = set(obs["year"].dropna().astype(int))
    wanted = [quantity[k] for k in ("year", "from_year", "to_year") if k in quantity]
    late = [y for y in wanted if int(y) not in years]
    if late:
        return {"checkable": False,
                "why": f"The country data cover {min(years)}-{max(years)}; year {', '.join(map(str, late))} "
                       "is not in them."}
    if kind == "world_total":
        totals = country_totals(obs, indicator=quantity["indicator"], year_from=quantity["year"],
                                year_to=quantity["year"])
        return _sum_result(totals, f"Sum over the {totals['iso3'].nunique()} countries that report "
                                   f"{quantity['indicator']} for {quantity['year']}; which countries report "
                                   "changes every year.")
    if kind == "change_pct":
        return _change(quantity, obs)
    return _share(quantity, obs)


def _sum_result(totals: pd.DataFrame, why: str) -> dict:
    exact = not totals["censored"].any()
    return {"checkable": True, "measured": float(totals["value"].sum()) if exact else math.nan,
            "lower": float(totals["lower"].sum()), "upper": float(totals["upper"].sum()),
            "countries": int(totals["iso3"].nunique()), "why": why}


def _selection(quantity: dict) -> str:
    """How a quantity picks its cells, in words (for the explanation)."""
    parts = [f"{k} {quantity[k]}" for k in ("sex", "age") if k in quantity]
    if quantity.get("categories") and quantity.get("kind") == "change_pct":
        parts.append(", ".join(quantity["categories"]))
    return f" ({'; '.join(parts)})" if parts else ""


def _totals(quantity: dict, obs: pd.DataFrame, year_from: int, year_to: int) -> pd.DataFrame:
    """Country-year(-category) totals for a quantity: a breakdown, or one sex-and-age cell."""
    if "sex" in quantity or "age" in quantity:
        dimension = "form" if quantity.get("breakdown") == "form" else "total"
        return cell_totals(obs, indicator=quantity["indicator"], dimension=dimension,
                           sex=quantity.get("sex", "Total"), age=quantity.get("age", "Total"),
                           year_from=year_from, year_to=year_to)
    return country_totals(obs, indicator=quantity["indicator"], breakdown=quantity.get("breakdown"),
                          year_from=year_from, year_to=year_to)


def _change(quantity: dict, obs: pd.DataFrame) -> dict:
    a, b = int(quantity["from_year"]), int(quantity["to_year"])
    totals = _totals(quantity, obs, min(a, b), max(a, b))
    totals = totals[totals["year"].isin([a, b])]
    if quantity.get("categories"):  # e.g. one form of exploitation, summed per country-year
        totals = totals[totals["category"].isin(quantity["categories"])]
        totals = (totals.groupby(["iso3", "year"], as_index=False)
                  .agg(value=("value", "sum"), lower=("lower", "sum"), upper=("upper", "sum"),
                       censored=("censored", "any")))
    both = totals.groupby("iso3")["year"].nunique()
    panel = both[both == 2].index
    fixed = totals[totals["iso3"].isin(panel)]
    first, last = fixed[fixed["year"] == a], fixed[fixed["year"] == b]
    what = f"{quantity['indicator']}{_selection(quantity)}"
    if first["lower"].sum() <= 0 and first["upper"].sum() <= 0:
        return {"checkable": False, "why": f"No country reports {what} in both {a} and {b}."}
    exact = not fixed["censored"].any()
    point = 100 * (last["value"].sum() / first["value"].sum() - 1) if exact else math.nan
    low = 100 * (last["lower"].sum() / first["upper"].sum() - 1)
    high = 100 * (last["upper"].sum() / first["lower"].sum() - 1) if first["lower"].sum() > 0 else math.inf
    return {"checkable": True, "measured": point, "lower": low, "upper": high, "countries": len(panel),
            "why": f"Percentage change {a}-{b} on the {len(panel)} countries that report {what} in both "
                   "years (a fixed panel)."}


def _share(quantity: dict, obs: pd.DataFrame) -> dict:
    year = int(quantity["year"])
    totals = _totals(quantity, obs, year, year)
    excluded = set(quantity.get("exclude", ["Unknown", "unknown"]))
    totals = totals[~totals["category"].isin(excluded)]
    wanted = totals["category"].isin(quantity["categories"])
    part, rest = totals[wanted], totals[~wanted]
    among = f"{quantity['breakdown']} categories{_selection(quantity)}"
    if len(part) == 0:
        return {"checkable": False, "why": f"No country reports {among}: {', '.join(quantity['categories'])} "
                                           f"for {year}."}
    exact = not totals["censored"].any()
    point = 100 * part["value"].sum() / totals["value"].sum() if exact else math.nan
    low = 100 * part["lower"].sum() / (part["lower"].sum() + rest["upper"].sum())
    high = 100 * part["upper"].sum() / (part["upper"].sum() + rest["lower"].sum())
    countries = int(totals["iso3"].nunique())
    return {"checkable": True, "measured": point, "lower": low, "upper": high, "countries": countries,
            "why": f"Share (%) of {', '.join(quantity['categories'])} among {among} known in {year}, on "
                   f"the {countries} countries that report them (excluding {', '.join(sorted(excluded))})."}


def _framework_year(quantity: dict, frameworks: pd.DataFrame | None) -> dict:
    if frameworks is None or len(frameworks) == 0:
        return {"checkable": False, "why": "The cooperation-framework table is not in the store."}
    table = frameworks.set_index("framework")
    name = quantity["framework"]
    if name not in table.index:
        return {"checkable": False, "why": f"Framework {name!r} is not in the framework table."}
    value = pd.to_numeric(pd.Series([table.loc[name, quantity["field"]]]), errors="coerce").iloc[0]
    if pd.isna(value):
        return {"checkable": False, "why": f"The framework table gives no {quantity['field']} for {name}."}
    return {"checkable": True, "measured": float(value), "lower": float(value), "upper": float(value),
            "why": f"{table.loc[name, 'name']}: {quantity['field']} {int(value)} (framework table, sourced)."}


def _verdict(published, result: dict, tolerance: float) -> tuple[str, str]:
    if not result.get("checkable"):
        return "not checkable", ""
    low, high = result["lower"], result["upper"]
    if published is None or low is None or high is None or (isinstance(low, float) and math.isnan(low)):
        return "not checkable", "The data give no interval for this quantity."
    span_low = low - abs(low) * tolerance
    span_high = high + abs(high) * tolerance
    if span_low <= published <= span_high:
        return "consistent", f"The published figure lies within the measured range (±{tolerance:.0%})."
    return "inconsistent", f"The published figure lies outside the measured range (±{tolerance:.0%})."


def _difference(published, result: dict):
    if published is None or not result.get("checkable"):
        return None
    low, high = result.get("lower"), result.get("upper")
    if low is None or high is None or np.isnan(low):
        return None
    if low <= published <= high:
        return 0.0
    return float(published - (high if published > high else low))
