"""`tiplens lens coverage` and `tiplens lens models` (added to the lens sub-app by _cli_lens)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from ._cli_common import (
    DbOption,
    DebugOption,
    JsonOption,
    _errors,
    _print_frame,
    _print_json,
    out,
)

FromOption = Annotated[Optional[int], typer.Option("--from", help="First year.")]
ToOption = Annotated[Optional[int], typer.Option("--to", help="Last year.")]
FrameworkOption = Annotated[Optional[list[str]], typer.Option(
    "--framework", help="Count only these mechanisms in the density index (repeat; ids such as palermo_protocol, "
                        "coe_cets197; default all).")]


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def coverage(
    year_from: FromOption = None,
    year_to: ToOption = None,
    country: Annotated[Optional[list[str]], typer.Option("--country", help="ISO3 code (repeat).")] = None,
    framework: FrameworkOption = None,
    show_gaps: Annotated[bool, typer.Option(
        "--gaps", help="Instead: countries with high GSI prevalence or vulnerability and thin cooperation, "
                       "or outside the Palermo Protocol.")] = False,
    quantile: Annotated[float, typer.Option(
        "--quantile", help="With --gaps: prevalence/vulnerability at or above this quantile is high.")] = 0.75,
    thin: Annotated[Optional[int], typer.Option(
        "--thin", help="With --gaps: at most this many mechanisms is thin (default: the lower quartile).")] = None,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the rows (.csv/.parquet/.xlsx).")] = None,
    chart: Annotated[Optional[Path], typer.Option(
        "--chart", help="Draw density and Palermo parties by year (and prevalence vs cooperation when the GSI is "
                        "loaded): .html or .png.")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """Cooperation coverage per country-year: institutional density, Palermo, tier, 3P, detection.

    The density index counts the cooperation mechanisms a country belongs to in a year, between two
    bounds: density_lower counts memberships with a published date, density_upper also counts undated
    ones from the framework's adoption year (docs/lens_models.md).
    """
    from . import api
    from ._api_lens_analysis import lens_coverage, lens_gaps, write_lens_chart
    from .lens.coverage import COVERAGE_CAVEAT, GAPS_CAVEAT, coverage_summary
    with _errors(debug):
        if show_gaps:
            frame = lens_gaps(db=db, quantile=quantile, thin=thin, frameworks=framework)
        else:
            frame = lens_coverage(db=db, year_from=year_from, year_to=year_to, countries=country,
                                  frameworks=framework)
        if out_file is not None:
            api.write_table(frame, out_file)
        if chart is not None:
            if show_gaps:
                write_lens_chart("coverage", lens_coverage(db=db, frameworks=framework), chart, gaps=frame)
            else:
                write_lens_chart("coverage", frame, chart, gaps=lens_gaps(db=db, frameworks=framework))
    if as_json:
        _print_json({"rows": frame})
        return
    if show_gaps:
        flagged = frame[frame["gap"]]
        _print_frame(f"Gaps: {len(flagged)} of {len(frame)} countries judged", flagged.head(60),
                     ["iso3", "gsi_prevalence_per_1000", "gsi_vulnerability", "mechanisms_now", "palermo_status_now",
                      "reason"], {"gsi_prevalence_per_1000": 1, "gsi_vulnerability": 0})
        if frame["gsi_prevalence_per_1000"].isna().all():
            _say("No Global Slavery Index in the store: only the Palermo test ran. Load it with: tiplens ingest "
                 "2023-Global-Slavery-Index-Data.xlsx")
        _say(f"Caveat: {GAPS_CAVEAT}")
        return
    if country:
        _print_frame("Coverage", frame, ["iso3", "year", "density_lower", "density_upper", "palermo_party", "tip_tier",
                                         "p3_total", "detected_victims_lower", "detected_victims_upper",
                                         "convicted_lower", "convicted_upper", "glotip_indicators"],
                     {"palermo_party": 0, "tip_tier": 1, "p3_total": 0})
    else:
        summary = coverage_summary(frame)
        _print_frame(f"Coverage by year ({frame['iso3'].nunique()} countries; one row per country-year with "
                     "--country, --out or --json)", summary,
                     list(summary.columns), {"density_lower_mean": 2, "density_upper_mean": 2})
    _say(f"Caveat: {COVERAGE_CAVEAT}")


def models(
    hypothesis: Annotated[Optional[list[str]], typer.Option(
        "--hypothesis", "-H", help="1 palermo_criminalisation, 2 governance_detection, 3 cooperation_policy, "
                                   "4 root_causes_prevalence (repeat; default all four).")] = None,
    outcome: Annotated[Optional[str], typer.Option(
        "--outcome", help="Your own model: the outcome column (detected_victims, prosecuted and convicted are fitted "
                          "at both censoring bounds).")] = None,
    predictor: Annotated[Optional[list[str]], typer.Option("--predictor", help="Predictor column (repeat).")] = None,
    effect: Annotated[Optional[list[str]], typer.Option(
        "--effect", help="Fixed effect column (repeat; default iso3 and year; 'none' for none).")] = None,
    family: Annotated[str, typer.Option("--family", help="ols, poisson (counts) or ordered_logit.")] = "ols",
    offset: Annotated[Optional[str], typer.Option(
        "--offset", help="Poisson: column whose log is the offset, e.g. population.")] = None,
    lag: Annotated[int, typer.Option("--lag", help="Lag every predictor by this many years.")] = 0,
    cluster: Annotated[str, typer.Option(
        "--cluster", help="Cluster standard errors by this column ('none': robust).")] = "iso3",
    year_from: FromOption = None,
    year_to: ToOption = None,
    columns: Annotated[bool, typer.Option("--columns", help="List the columns a model may use, and stop.")] = False,
    out_file: Annotated[Optional[Path], typer.Option(
        "--out", help="Write every coefficient (.csv/.parquet/.xlsx).")] = None,
    chart: Annotated[Optional[Path], typer.Option(
        "--chart", help="Coefficient plot, one panel per model: .html or .png.")] = None,
    db: DbOption = None, as_json: JsonOption = False, debug: DebugOption = False,
):
    """The liberal hypotheses tested on the data (or your own model): tidy coefficients with caveats.

    Counts are Poisson PML with a log offset at both censoring bounds; panel models have country and
    year fixed effects and errors clustered by country; hypothesis 1 uses Callaway & Sant'Anna with
    not-yet-treated controls. A hypothesis whose data is not loaded says which file to ingest.
    """
    from . import api
    from ._api_lens_analysis import lens_model_frame, lens_models, write_lens_chart
    from .lens.models import tidy_all
    if columns:
        with _errors(debug):
            frame = lens_model_frame(db=db)
        names = [c for c in frame.columns if c not in ("country", "tip_tier_label")]
        if as_json:
            _print_json({"columns": names})
            return
        _say("Columns a model may use: " + ", ".join(names))
        return
    effects = None if effect and [e.lower() for e in effect] == ["none"] else (effect or ["iso3", "year"])
    with _errors(debug):
        result = lens_models(db=db, hypotheses=hypothesis or None, outcome=outcome, predictors=predictor,
                             effects=effects, family=family, offset=offset,
                             cluster=None if cluster.lower() == "none" else cluster, lag=lag,
                             year_from=year_from, year_to=year_to)
        if out_file is not None:
            api.write_table(tidy_all(result["models"]), out_file)
        if chart is not None and any(len(m["coefficients"]) for m in result["models"]):
            write_lens_chart("models", result, chart)
    if as_json:
        _print_json(result)
        return
    for model in result["models"]:
        head = f"H{model['number']}: {model['title']}" if model["number"] else model["title"]
        _say("")
        _say(f"== {head} [{model['status']}]")
        _say(f"Claim: {model['claim']}  Estimator: {model['estimator']}")
        if model["message"]:
            _say(model["message"])
        specs = model["specs"]
        if len(specs):
            shown = specs.assign(years=[f"{a}-{b}" if pd.notna(a) else "" for a, b in
                                        zip(specs["first_year"], specs["last_year"])])
            _print_frame("Which countries and years entered", shown,
                         ["spec", "outcome", "bound", "n_obs", "n_countries", "years"])
            for spec, note in zip(specs["spec"], specs["note"]):
                if note:
                    _say(f"Note ({spec}): {note}")
        if len(model["coefficients"]):
            _print_frame("Coefficients (95% intervals)", model["coefficients"],
                         ["spec", "bound", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value"],
                         {"estimate": 3, "std_error": 3, "ci_low": 3, "ci_high": 3, "p_value": 3})
        for caveat in model["caveats"]:
            _say(f"Caveat: {caveat}")
    if chart is not None and not any(len(m["coefficients"]) for m in result["models"]):
        _say(f"No chart written to {chart}: no model was fitted.")


def add_commands(lens_app: typer.Typer) -> None:
    """Add the coverage and models commands to the ``lens`` sub-app."""
    lens_app.command("coverage")(coverage)
    lens_app.command("models")(models)
