"""Charts of the series: plotly figures that show coverage beside the values and carry their caveat.

Every figure has two panels: the values (the band between the lower and upper censoring bounds,
markers where the value is exact) and, below, the number of countries reporting. The caveat and
the source are an annotation of the figure itself, so they travel with any export. The data behind
a chart is the frame it was drawn from (:func:`seed_figure_data` for the seed paper's figure).

:func:`to_png` draws the same traces with matplotlib (no browser needed, unlike kaleido).
"""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..errors import TiplensError
from .trends import CAVEAT, series

SOURCE_NOTE = "Source: UNODC, Global Report on Trafficking in Persons, country data (data_glotip); tiplens."
#: The seed paper's figure (Fitria 2025, section 1): approximate world counts it reports.
PAPER_VALUES = {2020: 49_000, 2021: 42_000, 2023: 41_000}
PAPER_LABEL = "paper (Fitria 2025, figure in section 1)"
_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf", "#393b79", "#637939"]


def _wrap(text: str, width: int = 140) -> str:
    return "<br>".join(textwrap.wrap(text, width))


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _footer(fig: go.Figure, caveat: str, source_note: str) -> None:
    fig.add_annotation(text=_wrap(caveat) + "<br>" + _wrap(source_note), xref="paper", yref="paper",
                       x=0, y=-0.14, xanchor="left", yanchor="top", showarrow=False, align="left",
                       font={"size": 10, "color": "#555"}, name="caveat")
    fig.update_layout(margin={"b": 190, "t": 70}, meta={"caveat": caveat, "source": source_note})


def series_figure(series_frame: pd.DataFrame, *, title: str | None = None, caveat: str = CAVEAT,
                  source_note: str = SOURCE_NOTE, max_lines: int = 12) -> go.Figure:
    """The series with its lower-upper band, and the countries reporting in a second panel.

    ``series_frame`` is a :func:`tiplens.analysis.trends.series` frame (columns ``year, group,
    category, value, lower, upper, countries``). With more than ``max_lines`` group-category lines,
    the largest (by their highest upper bound) are drawn and the title says how many were left out.
    Traces per line: ``<label> upper``, ``<label> lower–upper`` (filled to the upper trace),
    ``<label> exact`` where exact values exist, and ``<label> countries`` in the lower panel.
    """
    needed = {"year", "group", "category", "lower", "upper", "countries", "value"}
    if not needed <= set(series_frame.columns):
        raise TiplensError(f"series_figure needs a series() frame with columns {sorted(needed)}")
    if series_frame.empty:
        raise TiplensError("nothing to draw: the series frame is empty")
    lines = (series_frame.groupby(["group", "category"], sort=False)["upper"].max()
             .sort_values(ascending=False))
    shown = list(lines.index[:max_lines])
    indicator = series_frame["indicator"].iloc[0] if "indicator" in series_frame.columns else "value"
    panel = series_frame["panel"].iloc[0] if "panel" in series_frame.columns else ""
    if title is None:
        title = f"{indicator.replace('_', ' ')} ({panel} reporting countries)" if panel else indicator
    if len(lines) > len(shown):
        title += f" — {len(shown)} of {len(lines)} lines shown"
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.07)
    for i, (group, category) in enumerate(shown):
        part = series_frame[series_frame["group"].eq(group) & series_frame["category"].eq(category)]
        part = part.sort_values("year")
        colour = _COLOURS[i % len(_COLOURS)]
        label = group if category == "Total" else (category if group == "World" else f"{group}: {category}")
        years = part["year"].tolist()
        fig.add_trace(go.Scatter(x=years, y=part["upper"].tolist(), mode="lines", name=f"{label} upper",
                                 line={"color": colour, "width": 1}, legendgroup=label, showlegend=False,
                                 hovertemplate="%{x}: upper %{y:,.0f}<extra>" + html.escape(label) + "</extra>"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=years, y=part["lower"].tolist(), mode="lines+markers",
                                 name=f"{label} lower–upper", fill="tonexty", fillcolor=_rgba(colour, 0.25),
                                 line={"color": colour, "width": 2}, marker={"size": 5}, legendgroup=label,
                                 hovertemplate="%{x}: lower %{y:,.0f}<extra>" + html.escape(label) + "</extra>"),
                      row=1, col=1)
        exact = part[part["value"].notna()]
        if len(exact):
            fig.add_trace(go.Scatter(x=exact["year"].tolist(), y=exact["value"].tolist(), mode="markers",
                                     name=f"{label} exact", marker={"color": colour, "symbol": "diamond", "size": 8},
                                     legendgroup=label, showlegend=False), row=1, col=1)
        fig.add_trace(go.Scatter(x=years, y=part["countries"].tolist(), mode="lines+markers",
                                 name=f"{label} countries", line={"color": colour, "dash": "dot"},
                                 legendgroup=label, showlegend=False), row=2, col=1)
    fig.update_yaxes(title_text=f"{indicator.replace('_', ' ')} (lower–upper)", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="countries reporting", row=2, col=1, rangemode="tozero")
    fig.update_xaxes(title_text="year", row=2, col=1, dtick=1 if series_frame["year"].nunique() <= 12 else 2)
    fig.update_layout(title=title, template="plotly_white", height=640, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    _footer(fig, caveat, source_note)
    return fig


# -- flows -----------------------------------------------------------------------------------------------
FLOWS_NOTE = ("Only citizenship categories that name one country can be placed; 'other nationals' and regional "
              "categories are left out, so flows undercount foreign victims. Band widths use the upper bound.")


def flows_figure(flows_frame: pd.DataFrame, *, title: str | None = None, caveat: str = CAVEAT,
                 source_note: str = SOURCE_NOTE, max_links: int = 40) -> go.Figure:
    """Origin → detection Sankey of a :func:`tiplens.analysis.trends.flows` frame.

    Origins on the left and detection places on the right are separate nodes (a region that both
    sends and detects appears twice). The ``max_links`` largest flows by upper bound are drawn; the
    title says how many were left out and how many detecting countries stand behind the drawn ones.
    """
    needed = {"origin_region", "detection_region", "origin_iso3", "detection_iso3", "lower", "upper", "countries"}
    if not needed <= set(flows_frame.columns):
        raise TiplensError(f"flows_figure needs a flows() frame with columns {sorted(needed)}")
    if flows_frame.empty:
        raise TiplensError("nothing to draw: no citizenship rows name a country in this window")
    by_region = flows_frame["origin_iso3"].eq("").all()
    drawn = flows_frame.nlargest(max_links, "upper")
    origin = drawn["origin_region"] if by_region else drawn["origin_iso3"]
    detection = drawn["detection_region"] if by_region else drawn["detection_iso3"]
    left = list(dict.fromkeys(origin))
    right = list(dict.fromkeys(detection))
    labels = [f"from {x}" for x in left] + [f"in {x}" for x in right]
    hover = [f"{o} → {d}: {lo:,.0f}–{hi:,.0f} ({n} reporting countries)"
             for o, d, lo, hi, n in zip(origin, detection, drawn["lower"], drawn["upper"], drawn["countries"])]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "pad": 12, "thickness": 14,
              "color": [_COLOURS[i % len(_COLOURS)] for i in range(len(left))] + ["#888888"] * len(right)},
        link={"source": [left.index(x) for x in origin], "target": [len(left) + right.index(x) for x in detection],
              "color": [_rgba(_COLOURS[left.index(x) % len(_COLOURS)], 0.35) for x in origin],
              "value": drawn["upper"].tolist(), "customdata": hover, "hovertemplate": "%{customdata}<extra></extra>"}))
    if title is None:
        title = "Origin → detection of detected victims"
    if len(flows_frame) > len(drawn):
        title += f" — {len(drawn)} largest of {len(flows_frame)} flows"
    fig.update_layout(title=title, template="plotly_white", height=640)
    _footer(fig, caveat + " " + FLOWS_NOTE, source_note)
    return fig


# -- the seed paper's figure ----------------------------------------------------------------------------
def seed_figure_data(obs: pd.DataFrame, countries: pd.DataFrame | None) -> pd.DataFrame:
    """The numbers behind :func:`seed_figure`: detected victims, world, 2020-2023.

    Returns
    -------
    DataFrame, one row per year 2020-2023, with columns
        ``year``; ``lower``, ``upper``, ``countries`` (all reporting countries); ``balanced_lower``,
        ``balanced_upper``, ``balanced_countries`` (the countries reporting in each of the years of
        the data window 2020-2022); ``paper`` (the seed paper's approximate figure, NaN where it gives
        none); ``in_data`` (False for 2023: the GLOTIP 2025 file ends in 2022).
    """
    last = int(obs.loc[obs["indicator"].eq("detected_victims"), "year"].max())
    end = min(last, 2023)
    everyone = series(obs, countries, indicator="detected_victims", year_from=2020, year_to=end, bootstrap=0)
    balanced = series(obs, countries, indicator="detected_victims", panel="balanced", year_from=2020,
                      year_to=end, bootstrap=0)
    out = pd.DataFrame({"year": [2020, 2021, 2022, 2023]})
    out = out.merge(everyone[["year", "lower", "upper", "countries"]], on="year", how="left")
    out = out.merge(balanced[["year", "lower", "upper", "countries"]].rename(
        columns=lambda c: c if c == "year" else f"balanced_{c}"), on="year", how="left")
    out["paper"] = out["year"].map(PAPER_VALUES).astype(float)
    out["in_data"] = out["year"] <= last
    for col in ("countries", "balanced_countries"):
        out[col] = out[col].fillna(0).astype("int64")
    return out


def seed_figure(obs: pd.DataFrame, countries: pd.DataFrame | None, *, caveat: str = CAVEAT,
                source_note: str = SOURCE_NOTE) -> go.Figure:
    """The seed paper's figure (detected victims, world, 2020-2023) regenerated from the data.

    Bars: all reporting countries and the balanced panel, drawn to the lower bound with a whisker to
    the upper bound, labelled with the number of countries; the paper's numbers as a separate
    ``paper`` trace; 2023 marked "not in the data". Lower panel: countries reporting.
    """
    data = seed_figure_data(obs, countries)
    in_data = data[data["in_data"]]
    n_bal = int(in_data["balanced_countries"].max()) if len(in_data) else 0
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.07)
    for prefix, name, colour in (("", "GLOTIP, all reporting countries", "#1f77b4"),
                                 ("balanced_", f"GLOTIP, balanced panel ({n_bal} countries)", "#2ca02c")):
        lower, upper, n = in_data[f"{prefix}lower"], in_data[f"{prefix}upper"], in_data[f"{prefix}countries"]
        fig.add_trace(go.Bar(x=in_data["year"].tolist(), y=lower.tolist(), name=name, marker_color=colour,
                             error_y={"type": "data", "symmetric": False, "array": (upper - lower).tolist(),
                                      "arrayminus": [0] * len(lower)},
                             text=[f"{v:,.0f}–{u:,.0f}<br>{c} countries" for v, u, c in zip(lower, upper, n)],
                             textposition="outside"), row=1, col=1)
        fig.add_trace(go.Bar(x=in_data["year"].tolist(), y=n.tolist(), name=f"{name}: countries",
                             marker_color=colour, showlegend=False), row=2, col=1)
    paper = data[data["paper"].notna()]
    # markers only: the paper gives no 2022 number, a line would invent one
    fig.add_trace(go.Scatter(x=paper["year"].tolist(), y=paper["paper"].tolist(), mode="markers+text",
                             name=PAPER_LABEL, marker={"symbol": "x", "size": 12, "color": "#d62728"},
                             text=[f"paper: {v:,.0f}" for v in paper["paper"]], textposition="middle right"),
                  row=1, col=1)
    for year in data.loc[~data["in_data"], "year"]:
        fig.add_annotation(x=int(year), y=float(PAPER_VALUES.get(int(year), 0)), xref="x", yref="y",
                           text="not in the data<br>(file ends in %d)" % int(in_data["year"].max()),
                           showarrow=True, arrowhead=2, ay=-60, name="not in the data")
    fig.update_yaxes(title_text="detected victims (bar = lower bound, whisker = upper)", row=1, col=1)
    fig.update_yaxes(title_text="countries reporting", row=2, col=1)
    fig.update_xaxes(tickvals=[2020, 2021, 2022, 2023], range=[2019.4, 2023.6], row=2, col=1)
    fig.update_xaxes(range=[2019.4, 2023.6], row=1, col=1)
    fig.update_layout(title="Detected victims of trafficking, world, 2020-2023: the seed paper's figure "
                            "against the GLOTIP country data", barmode="group", template="plotly_white",
                      height=660, legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    _footer(fig, caveat + " The paper cites a UNODC report that does not exist under that title; its "
                          "numbers are shown as printed.", source_note)
    return fig


# -- static export ---------------------------------------------------------------------------------------
def _plain(text) -> str:
    text = re.sub(r"<br\s*/?>", "\n", str(text or ""))
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _colour(value, default="#333333"):
    """A matplotlib colour from a plotly one (hex or rgba(...) text)."""
    if not value:
        return default
    match = re.fullmatch(r"rgba?\(([^)]*)\)", str(value).replace(" ", ""))
    if match:
        parts = [float(p) for p in match.group(1).split(",")]
        rgb = [p / 255 for p in parts[:3]]
        return tuple(rgb + ([parts[3]] if len(parts) == 4 else []))
    return value


def to_png(fig_or_frame, path, *, dpi: int = 150, **figure_options) -> Path:
    """Write a static PNG of a figure (or of a ``series()`` frame, drawn by :func:`series_figure`).

    The plotly traces are redrawn with matplotlib (scatter lines/markers/fills, bars with error bars
    and labels, paper and data annotations, titles), so no browser is needed. Returns the path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = series_figure(fig_or_frame, **figure_options) if isinstance(fig_or_frame, pd.DataFrame) else fig_or_frame
    if not isinstance(fig, go.Figure):
        raise TiplensError("to_png needs a plotly Figure or a series() DataFrame")
    layout = fig.layout
    two_rows = any((t.yaxis or "y") == "y2" for t in fig.data)
    out = Figure(figsize=(11, 7.5 if two_rows else 6), dpi=dpi)
    legend_entries = sum(1 for t in fig.data if t.showlegend is not False and t.name)
    top = 0.86 - 0.025 * max(0, (legend_entries + 2) // 3 - 1)  # room for the legend above the plot
    FigureCanvasAgg(out)
    if two_rows:
        grid = out.add_gridspec(2, 1, height_ratios=[0.72, 0.28], hspace=0.18, bottom=0.24, top=top)
        top = out.add_subplot(grid[0])
        axes = {"y": top, "y2": out.add_subplot(grid[1], sharex=top)}
    else:
        axes = {"y": out.add_subplot(1, 1, 1)}
        out.subplots_adjust(bottom=0.28, top=top)
    previous: dict[str, tuple] = {}
    bar_traces = {name: [t for t in fig.data if t.type == "bar" and (t.yaxis or "y") == name] for name in axes}
    for trace in fig.data:
        ax = axes.get(trace.yaxis or "y", axes["y"])
        x = np.asarray(trace.x, dtype=float) if trace.x is not None else np.array([])
        y = np.asarray(trace.y, dtype=float) if trace.y is not None else np.array([])
        legend = trace.name if trace.showlegend is not False else None
        if trace.type == "bar":
            peers = bar_traces[trace.yaxis or "y"]
            width = 0.8 / max(len(peers), 1)
            offset = (peers.index(trace) - (len(peers) - 1) / 2) * width if layout.barmode == "group" else 0
            colour = _colour(trace.marker.color, None)
            error = trace.error_y.array if trace.error_y and trace.error_y.array is not None else None
            ax.bar(x + offset, y, width=width, color=colour, label=legend,
                   yerr=None if error is None else [np.zeros(len(y)), np.asarray(error, float)], capsize=3)
            if trace.text is not None and not isinstance(trace.text, str):
                top_of = y + (np.asarray(error, float) if error is not None else 0)
                for xi, yi, label in zip(x + offset, top_of, trace.text):
                    ax.annotate(_plain(label), (xi, yi), textcoords="offset points", xytext=(0, 3),
                                ha="center", va="bottom", fontsize=7)
            continue
        mode = trace.mode or "lines"
        colour = _colour(trace.line.color if trace.line and trace.line.color else
                         (trace.marker.color if trace.marker else None))
        style = {"dot": ":", "dash": "--"}.get(trace.line.dash if trace.line else None, "-")
        if trace.fill == "tonexty" and (trace.yaxis or "y") in previous:
            px, py = previous[trace.yaxis or "y"]
            if len(px) == len(x):
                ax.fill_between(x, y, py, color=_colour(trace.fillcolor, colour), linewidth=0)
        marker = {"diamond": "D", "x": "x"}.get(trace.marker.symbol if trace.marker else None, "o")
        if "lines" in mode:
            ax.plot(x, y, style, color=colour, marker=marker if "markers" in mode else None, markersize=4,
                    label=legend, linewidth=(trace.line.width or 1.5) if trace.line else 1.5)
        elif "markers" in mode:
            ax.plot(x, y, linestyle="none", marker=marker, color=colour, label=legend, markersize=6)
        if "text" in mode and trace.text is not None and not isinstance(trace.text, str):
            for xi, yi, label in zip(x, y, trace.text):
                ax.annotate(_plain(label), (xi, yi), textcoords="offset points", xytext=(6, 0),
                            va="center", fontsize=7, color=colour)
        previous[trace.yaxis or "y"] = (x, y)
    for note in layout.annotations:
        if note.xref == "paper":
            out.text(0.02, 0.02, _plain(note.text), fontsize=6.5, color="#555555", va="bottom", ha="left",
                     wrap=True)
        else:
            ax = axes.get(note.yref or "y", axes["y"])
            ax.annotate(_plain(note.text), (float(note.x), float(note.y)), xytext=(0, 30),
                        textcoords="offset points", ha="center", fontsize=8,
                        arrowprops={"arrowstyle": "->"} if note.showarrow else None)
    title = layout.title.text if layout.title else None
    if title:
        out.suptitle(_plain(title), fontsize=11, y=0.97)
    for name, ax in axes.items():
        axis = layout.yaxis if name == "y" else layout.yaxis2
        if axis and axis.title and axis.title.text:
            ax.set_ylabel(_plain(axis.title.text), fontsize=8)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
        ax.xaxis.get_major_locator().set_params(integer=True)
    labels = axes["y"].get_legend_handles_labels()[1]
    if labels:  # above the plot, where it hides no data; the plot shrinks to make room
        axes["y"].legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.01), ncol=3, frameon=False)
    low, high = axes["y"].get_ylim()
    axes["y"].set_ylim(0, high * 1.08)
    path = Path(path)
    out.savefig(path, format="png")
    return path
