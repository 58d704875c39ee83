"""The lens and literature sections of the dashboard: what their modules give, read with the data.

The knowledge base Table, the cooperation network, the gaps, the PRISMA counts and the coding
frequencies are read in :func:`read` while the store is open at load (they take no filters). The
hypothesis models take several seconds to fit, so they are computed on the first visit of /models
(:func:`models_view`), reading the store briefly, and kept with the data until the next reload.

These modules are separate parts of tiplens that may be missing or fail on a given store; a
failure becomes the view's ``empty_reason`` (with the module's own message) instead of taking the
dashboard down.
"""

from __future__ import annotations

import importlib
import logging

import pandas as pd

from ..errors import TiplensError
from ..report.views import View

log = logging.getLogger(__name__)

KB_SOURCE = "tiplens cooperation knowledge base (tiplens/lens/data), with each entry's own source"
MEMBERSHIP_SOURCE = "tiplens membership tables and the knowledge base (each tie with its source)"
REVIEW_SOURCE = "the review library and screening log in this store (tiplens review)"
CODING_SOURCE = "the codings in this store (tiplens code, tiplens codings)"


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _missing(view_id: str, title: str, module: str, source: str) -> View:
    return View(id=view_id, title=title, source=source,
                empty_reason=f"not loaded yet: this installation has no {module} module")


def _failed(view_id: str, title: str, source: str, exc: Exception) -> View:
    if not isinstance(exc, TiplensError):  # a bug elsewhere: keep serving, but leave a trace
        log.exception("dashboard view %s failed", view_id)
    return View(id=view_id, title=title, source=source,
                empty_reason=str(exc) if isinstance(exc, TiplensError)
                else f"could not be computed ({type(exc).__name__}: {exc})")


def read(store) -> dict[str, list[View]]:
    """Views of the lens and the review read from an open store: ``{"cooperation": [...], "literature": [...]}``."""
    return {"cooperation": _cooperation(store), "literature": _literature(store)}


def _cooperation(store) -> list[View]:
    views = []
    lens = _module("tiplens._api_lens")
    if lens is None:
        views.append(_missing("lens-table", "The seed paper's Table, regenerated", "tiplens._api_lens", KB_SOURCE))
    else:
        from ..lens import table as _table
        try:
            frame = lens.lens_table(db=store)
            views.append(View(id="lens-table", title="The seed paper's Table, regenerated from the knowledge base",
                              table=frame, source=KB_SOURCE, edition="as shipped with this tiplens version",
                              countries="see the network", caveat=_table.CAVEAT,
                              caption=f"{len(frame)} rows: regional cooperation entities mapped to liberal "
                                      "concepts, as in the paper, with the knowledge-base entries and "
                                      "corrections behind each."))
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            views.append(_failed("lens-table", "The seed paper's Table", KB_SOURCE, exc))
        try:
            views.append(_network_view(lens, store))
        except Exception as exc:  # noqa: BLE001
            views.append(_failed("lens-network", "The cooperation network", MEMBERSHIP_SOURCE, exc))
    analysis = _module("tiplens._api_lens_analysis")
    if analysis is None:
        views.append(_missing("lens-gaps", "Coverage and gaps", "tiplens._api_lens_analysis", MEMBERSHIP_SOURCE))
    else:
        from ..lens import coverage as _coverage
        try:
            gaps = analysis.lens_gaps(db=store)
            flagged = int(gaps[["thin_cooperation", "outside_palermo"]].any(axis=1).sum()) \
                if {"thin_cooperation", "outside_palermo"} <= set(gaps.columns) else len(gaps)
            views.append(View(id="lens-gaps", title="Gaps: high prevalence or vulnerability, thin cooperation",
                              table=gaps, source="Walk Free Global Slavery Index 2023; " + MEMBERSHIP_SOURCE,
                              edition="GSI 2023", countries=len(gaps), caveat=_coverage.GAPS_CAVEAT,
                              caption=f"{len(gaps)} countries with their GSI prevalence and vulnerability, the "
                                      f"cooperation mechanisms they take part in and Palermo status; {flagged} "
                                      "flagged as thin cooperation or outside the Palermo Protocol."))
        except Exception as exc:  # noqa: BLE001
            views.append(_failed("lens-gaps", "Coverage and gaps", MEMBERSHIP_SOURCE, exc))
    return views


def _network_view(lens, store) -> View:
    from ..lens import network as _network
    result = lens.lens_network(db=store, mode="countries")
    nodes, edges = result["nodes"], result["edges"]
    title = "Cooperation network: countries tied by shared frameworks"
    if nodes.empty:
        return View(id="lens-network", title=title, source=MEMBERSHIP_SOURCE, caveat=_network.CAVEAT,
                    empty_reason="no memberships in the store to build a network from")
    # drawn once here: the spring layout and the figure object are too slow for every request
    figure = _network.network_figure(nodes, edges, title=title).to_plotly_json()
    summary = result.get("summary", {})
    said = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items() if isinstance(v, (int, float, str)))
    countries = int(nodes["kind"].eq("country").sum()) if "kind" in nodes.columns else len(nodes)
    return View(id="lens-network", title=title, figure=figure, table=nodes, source=MEMBERSHIP_SOURCE,
                edition="as loaded", countries=countries, caveat=_network.CAVEAT, notes=list(result.get("notes", []))[1:],
                caption=f"{len(nodes)} nodes and {len(edges)} ties. {said}. The download holds every node "
                        "with its metrics (degree, betweenness, eigenvector, community, regions bridged).")


def _literature(store) -> list[View]:
    views = []
    review = _module("tiplens._api_review")
    if review is None:
        views.append(_missing("prisma", "PRISMA flow", "tiplens._api_review", REVIEW_SOURCE))
    else:
        try:
            counts = review.review_prisma(db=store)
            table = pd.DataFrame([{"stage": k.replace("_", " "), "records": v} for k, v in counts.items()
                                  if isinstance(v, (int, float))])
            views.append(View(id="prisma", title="PRISMA 2020 flow: records at each stage", table=table,
                              source=REVIEW_SOURCE, edition="as screened", countries="not applicable",
                              caption="Records identified, removed as duplicates, screened, excluded and included, "
                                      "from the review library and its screening log.",
                              caveat="Counts reflect the decisions recorded so far; `tiplens review prisma --svg` "
                                     "draws the diagram."))
        except Exception as exc:  # noqa: BLE001
            views.append(_failed("prisma", "PRISMA flow", REVIEW_SOURCE, exc))
    coding = _module("tiplens._api_coding")
    if coding is None:
        views.append(_missing("coding-profile", "Coding profile by lens", "tiplens._api_coding", CODING_SOURCE))
    else:
        try:
            frame = coding.codings_frequencies(db=store, by=("document",))
            if frame.empty:
                views.append(View(id="coding-profile", title="Coding profile by lens", source=CODING_SOURCE,
                                  empty_reason="no coded documents in this store yet: run tiplens code DOC..."))
            else:
                views.append(View(id="coding-profile", title="Coding profile by lens (liberalism codebook)",
                                  table=frame, source=CODING_SOURCE, edition="as coded",
                                  countries="not applicable",
                                  caption=f"Segments per code in each of {frame['document'].nunique()} documents, "
                                          "and their share of the document's coded segments.",
                                  caveat="Suggestions of the automatic coder count until a person accepts or "
                                         "rejects them (tiplens codings accept|reject)."))
        except Exception as exc:  # noqa: BLE001
            views.append(_failed("coding-profile", "Coding profile by lens", CODING_SOURCE, exc))
    return views


def models_view(db) -> View:
    """The liberal hypotheses fitted on the panel (``tiplens lens models``), as one view."""
    source = "the country-year panel of this store (GLOTIP, TIP tiers, 3P, Palermo, WGI, GDP, GSI, memberships)"
    analysis = _module("tiplens._api_lens_analysis")
    if analysis is None:
        return _missing("lens-models", "Hypothesis models", "tiplens._api_lens_analysis", source)
    from ..lens import models as _models
    try:
        results = analysis.lens_models(db=db)["models"]
    except Exception as exc:  # noqa: BLE001
        return _failed("lens-models", "Hypothesis models", source, exc)
    rows = []
    for result in results:
        coefficients = result.get("coefficients")
        base = {"hypothesis": result.get("number"), "model": result.get("title"), "status": result.get("status"),
                "message": result.get("message", "")}
        if isinstance(coefficients, pd.DataFrame) and len(coefficients):
            rows += [{**base, **row} for row in coefficients.to_dict("records")]
        else:
            rows.append(base)
    table = pd.DataFrame(rows)
    fitted = [r for r in results if r.get("status") == "fitted"]
    figure = None
    if fitted:
        try:
            figure = _models.coefficient_figure(results).to_plotly_json()
        except TiplensError:
            figure = None
    caveats = sorted({c for r in results for c in r.get("caveats", [])})
    notes = [f"H{r.get('number')}: {r.get('message')}" for r in results if r.get("status") != "fitted" and r.get("message")]
    countries = "" if "n_countries" not in table.columns else f"up to {int(table['n_countries'].max())} per model"
    return View(id="lens-models", title="The liberal hypotheses tested on the panel", figure=figure, table=table,
                source=source, edition="newest edition of each source", countries=countries or "see the table",
                caveat=" ".join(caveats), notes=notes,
                caption=f"{len(fitted)} of {len(results)} models fitted; estimates with 95% intervals. "
                        "The table holds every coefficient with its sample.")
