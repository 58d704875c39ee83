"""The report's sections on the liberal lens and on the literature.

They read what :mod:`tiplens.lens` and :mod:`tiplens.review` compute (the knowledge base, the
cooperation network, coverage and the hypothesis models; the review library, its screening log
and the documents coded with the three theory codebooks) through loaders that run while the report's store is open, and
turn it into views. Importing this module registers both sections (after "hidden").
"""

from __future__ import annotations

import io

import pandas as pd

from ..errors import TiplensError
from .build import ReportData, ReportOptions, Section, register_loader, register_section
from .views import View

KB_SOURCE = "tiplens cooperation knowledge base (package YAML; every entry cites its document)"


# -- loaders (the store is open while they run) ----------------------------------------------------------
def _each(computations: dict) -> dict:
    """Run each computation; a user-fixable failure becomes that view's explanation, not the report's end."""
    out: dict = {}
    for key, compute in computations.items():
        try:
            out[key] = compute()
        except TiplensError as exc:
            out[key] = exc
    return out


def _load_lens(store) -> dict:
    from .._api_lens import lens_network, lens_table
    return _each({"table": lambda: lens_table(db=store),
                  "network": lambda: lens_network(db=store, mode="countries")})


def _load_review(store) -> dict | None:
    from .._api_review import _status_summary
    from ..review import agreement, prisma, references, screening
    records = references.library(store, include_duplicates=True)
    if records.empty:
        return None
    _, log, status = _status_summary(store)
    counts = prisma.prisma_counts(records, status, log)
    agreements = []
    for stage in ("title_abstract", "full_text"):
        ratings = screening.stage_ratings(log, stage)
        if ratings["rater"].nunique() >= 2:
            agreements.append(agreement.agreement_table(ratings).assign(stage=stage))
    return {"counts": counts, "agreement": pd.concat(agreements, ignore_index=True) if agreements else None}


def _load_lens_analysis(store) -> dict:
    from .._api_lens_analysis import lens_coverage, lens_gaps, lens_models
    return _each({"coverage": lambda: lens_coverage(db=store), "gaps": lambda: lens_gaps(db=store),
                  "models": lambda: lens_models(db=store)["models"]})


def _load_coding(store):
    from .._api_coding import lens_compare
    try:
        return lens_compare(db=store)
    except TiplensError:
        return None  # nothing coded with the three lenses in this store


register_loader("lens", _load_lens, section="lens")
register_loader("coding", _load_coding, section="literature")
register_loader("lens_analysis", _load_lens_analysis, background=True, section="lens")
register_loader("review", _load_review, section="literature")


# -- the liberal lens ----------------------------------------------------------------------------------
def _table_view(table) -> View:
    title = "The seed paper's Table, regenerated from the knowledge base, with corrections"
    if isinstance(table, Exception):
        return View(id="lens-table", title=title, empty_reason=str(table))
    shown = table[["row", "region", "cooperating_entities", "concept", "concepts", "corrections",
                   "correction_sources"]]
    corrected = int(shown["corrections"].fillna("").ne("").sum())
    return View(id="lens-table", title=title, table=shown, source=KB_SOURCE + "; the seed paper's Table",
                edition="knowledge base of this tiplens version", countries="—",
                caption=(f"All {len(shown)} rows of the paper's Table, each mapped to the liberal concepts of the "
                         f"knowledge base; {corrected} rows carry corrections, each with its source."),
                caveat=table.attrs.get("caveat", ""))


def _network_views(result) -> list[View]:
    title = "Countries and the cooperation frameworks they are bound by"
    if isinstance(result, Exception):
        return [View(id="lens-network", title=title, empty_reason=str(result))]
    from ..lens.network import CAVEAT, network_figure
    nodes, edges, summary = result["nodes"], result["edges"], result["summary"]
    if edges.empty:
        return [View(id="lens-network", title=title, empty_reason="no membership ties in this store: load the "
                     "cooperation membership tables (they are in the embedded default)")]
    figure = network_figure(nodes, edges, title=title)
    data_used = summary.get("data") or []
    edition = "; ".join(map(str, data_used)) if isinstance(data_used, (list, tuple)) else str(data_used)
    caption = (f"{summary['countries']} countries, {summary['frameworks']} frameworks, {summary['edges']} ties "
               f"(party, member or equivalent binding status); {summary['communities']} communities (Louvain, "
               f"seed {summary['seed']}). Node size follows degree.")
    network = View(id="lens-network", title=title, figure=figure, table=edges, caption=caption,
                   source=KB_SOURCE + "; membership tables in the store", edition=edition,
                   countries=summary["countries"], caveat=CAVEAT,
                   notes=[n for n in result.get("notes", []) if n != CAVEAT])
    frameworks = nodes[nodes["kind"].eq("framework")]
    columns = [c for c in ("id", "name", "degree", "betweenness", "eigenvector", "regions_bridged",
                           "region_diversity", "community") if c in frameworks.columns]
    brokers = View(id="lens-frameworks", title="Frameworks by reach: parties, centrality and regions bridged",
                   table=frameworks[columns].reset_index(drop=True), source=network.source, edition=edition,
                   countries=summary["countries"], caveat=CAVEAT,
                   caption="Degree = countries bound; regions_bridged = UN regions among them; betweenness and "
                           "eigenvector centrality on the two-mode graph.")
    return [network, brokers]


def lens_section(data: ReportData, options: ReportOptions) -> Section:
    loaded = data.loaded("lens") or {}
    views = [_table_view(loaded.get("table", TiplensError("the knowledge base was not read")))]
    views += _network_views(loaded.get("network", TiplensError("the network was not built")))
    views += [view for extra in EXTRA_LENS_VIEWS for view in extra(data, options)]
    return Section("lens", "The liberal lens",
                   intro=("The seed paper argues that trafficking is fought through international institutions, "
                          "multilateral law, non-state actors and human-rights norms. Here the paper's Table is "
                          "regenerated from a sourced knowledge base, and the cooperation regime is drawn as a "
                          "network of the countries bound by each framework."),
                   views=views)


def _coverage_views(data: ReportData, options: ReportOptions) -> list[View]:
    from ..lens.coverage import COVERAGE_CAVEAT, GAPS_CAVEAT, coverage_figure
    loaded = data.loaded("lens_analysis") or {}
    coverage, gaps = loaded.get("coverage"), loaded.get("gaps")
    title = "Cooperation coverage: institutional density and Palermo parties by year"
    if isinstance(coverage, Exception) or coverage is None or len(coverage) == 0:
        return [View(id="lens-coverage", title=title,
                     empty_reason=str(coverage) if coverage is not None else "the coverage was not computed")]
    gap_table = gaps if isinstance(gaps, pd.DataFrame) else None
    years = f"{int(coverage['year'].min())}-{int(coverage['year'].max())}"
    views = [View(id="lens-coverage", title=title, figure=coverage_figure(coverage, gap_table), table=coverage,
                  source="membership tables, TIP Report tiers, 3P index, Palermo status, GLOTIP (as loaded)",
                  edition=years, countries=int(coverage["iso3"].nunique()), caveat=COVERAGE_CAVEAT,
                  caption=("The institutional density index counts the cooperation mechanisms a country is party "
                           "to or a member of in a year; the band runs from dated memberships only (lower) to "
                           "undated ones counted from the framework's adoption (upper)."))]
    if gap_table is not None and len(gap_table):
        flagged = gap_table[gap_table["gap"]] if "gap" in gap_table else gap_table
        views.append(View(id="lens-gaps", title="Gaps: high estimated prevalence or vulnerability, thin cooperation",
                          table=flagged.reset_index(drop=True), source="Global Slavery Index 2023; membership tables",
                          edition="GSI 2023 (2021 estimates)", countries=len(flagged), caveat=GAPS_CAVEAT))
    return views


def _model_views(data: ReportData, options: ReportOptions) -> list[View]:
    from ..lens.models import coefficient_figure
    models = (data.loaded("lens_analysis") or {}).get("models")
    title = "The liberal hypotheses tested: coefficients with 95% intervals"
    if isinstance(models, Exception) or not models:
        return [View(id="lens-models", title=title, empty_reason=str(models) if models else "no model was fitted")]
    fitted = [m for m in models if len(m["coefficients"])]
    waiting = [f"H{m['number']}: {m['message']}" for m in models if m["status"] != "fitted"]
    if not fitted:
        return [View(id="lens-models", title=title, empty_reason=" ".join(waiting))]
    # The iterative fixed-effects solver's results differ between runs in the eighth decimal (p-values
    # too): rounded well below any reported precision, the same inputs give the same document.
    fitted = [dict(m, coefficients=m["coefficients"].round(
        {"estimate": 6, "std_error": 6, "ci_low": 6, "ci_high": 6, "p_value": 4})) for m in fitted]
    table = pd.concat([m["coefficients"].assign(hypothesis=m["number"], model=m["title"]) for m in fitted],
                      ignore_index=True)
    caveats = sorted({c for m in fitted for c in m["caveats"]})
    countries = int(table["n_countries"].max()) if "n_countries" in table else "—"
    return [View(id="lens-models", title=title, figure=coefficient_figure(fitted), table=table,
                 source="the country-year panel of this store (tiplens lens models)",
                 edition=f"country-years {int(table['first_year'].min())}-{int(table['last_year'].max())}",
                 countries=countries,
                 caveat=" ".join(caveats), notes=waiting,
                 caption=("Each panel is one hypothesis of the seed paper put to the data; the table holds every "
                          "coefficient with its observations, countries and years."))]


#: Functions ``(data, options) -> list[View]`` appended to the lens section.
EXTRA_LENS_VIEWS: list = [_coverage_views, _model_views]


# -- the literature ------------------------------------------------------------------------------------
def _prisma_svg(counts: dict) -> str:
    import matplotlib.pyplot as plt
    from ..review.prisma import prisma_figure
    fig = prisma_figure(counts)
    buffer = io.StringIO()
    try:
        with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tiplens"}):
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def literature_section(data: ReportData, options: ReportOptions) -> Section:
    review = data.loaded("review")
    views: list[View] = []
    if review is None:
        views.append(View(id="literature-prisma", title="PRISMA 2020 flow diagram",
                          empty_reason="no review library in this store: import references with `tiplens review "
                                       "import FILE`, or load the seed paper's references with a SYNTHETIC "
                                       "screening log with `tiplens review example`"))
    else:
        counts = review["counts"]
        synthetic = " (SYNTHETIC example screening log)" if counts.get("synthetic") else ""
        table = pd.DataFrame([{"box": k, "records": v} for k, v in counts.items() if isinstance(v, int)])
        views.append(View(id="literature-prisma", title="PRISMA 2020 flow diagram" + synthetic,
                          svg=_prisma_svg(counts), table=table, source="the review library and its screening log",
                          edition="this store", countries="—",
                          caption=(f"{counts['identified']} records identified, {counts['duplicates_removed']} "
                                   f"duplicates removed, {counts['screened']} screened, {counts['included']} "
                                   "included; every number is derived from the screening log."),
                          caveat=counts.get("note", "")))
        if review["agreement"] is not None:
            views.append(View(id="literature-agreement", title="Agreement between reviewers" + synthetic,
                              table=review["agreement"], source="the screening log", edition="this store",
                              countries="—", caveat="PABAK corrects kappa for the skew of screening decisions "
                                                    "(mostly excludes)."))
    views += [view for extra in EXTRA_LITERATURE_VIEWS for view in extra(data, options)]
    return Section("literature", "The literature",
                   intro=("The seed paper is a systematic review read through a theory. This section shows the "
                          "review's flow (PRISMA 2020) and agreement between reviewers from the store's screening "
                          "log, and the coding of the seed paper with the three theory codebooks."),
                   views=views)


def _coding_views(data: ReportData, options: ReportOptions) -> list[View]:
    from ..review.codings import LENS_CAVEAT
    profile = data.loaded("coding")
    title = "Which theory's vocabulary dominates: coding profile by lens"
    if profile is None or len(profile) == 0:
        return [View(id="literature-coding", title=title,
                     empty_reason="no documents coded with the three lenses in this store: run `tiplens codings "
                                  "compare FILE...` (for example on the seed paper's text)")]
    import plotly.graph_objects as go
    lenses = [c.removesuffix("_share") for c in profile.columns if c.endswith("_share")]
    documents = profile["document"].nunique()
    labels = profile["section"].str.slice(0, 48)
    if documents > 1:
        labels = profile["document"] + ": " + labels
    figure = go.Figure()
    for lens in lenses:
        figure.add_trace(go.Bar(name=lens, y=labels.tolist(), x=(100 * profile[f"{lens}_share"]).round(1).tolist(),
                                orientation="h"))
    figure.update_layout(barmode="group", template="plotly_white", height=160 + 42 * len(profile),
                         title="Share of sentences carrying each lens's codes (dictionary coder), per section",
                         xaxis_title="% of sentences", yaxis_autorange="reversed", margin={"l": 320})
    return [View(id="literature-coding", title=title, figure=figure, table=profile.drop(columns=["caveat"]),
                 source="the codings in this store (tiplens codings compare), shipped codebooks liberalism, "
                        "realism and constructivism", edition="codebooks of this tiplens version",
                 countries="—", caveat=LENS_CAVEAT,
                 caption=f"{documents} document(s); for each section, the share of its sentences that carry at "
                         "least one code of each theory's codebook, and the dominant lens.")]


#: Functions ``(data, options) -> list[View]`` appended to the literature section.
EXTRA_LITERATURE_VIEWS: list = [_coding_views]

register_section("lens", "The liberal lens", lens_section, after="hidden")
register_section("literature", "The literature", literature_section, after="lens")
