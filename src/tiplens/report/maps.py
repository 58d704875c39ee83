"""World maps whose country shapes come from boundary data installed with a package, never a CDN.

plotly.js draws ``locations=ISO3`` maps from a world TopoJSON it downloads from plotly's CDN at
render time, so such a map stays blank offline (``stack.md`` §3.5). tiplens draws its maps itself,
as inline SVG: the country outlines are the world map that ships inside the PyPI package
``pygal_maps_world`` (a dependency of tiplens; LGPL-3.0-or-later), whose country groups carry
ISO 3166 alpha-2 codes as classes. :func:`svg_choropleth` fills each country by value, adds a
tooltip (an SVG ``<title>``) and a legend, and returns the SVG text: no script, no request, the
same in the report file and in the dashboard.

``path`` arguments accept another SVG with the same structure (``<g class="fr country">``).
"""

from __future__ import annotations

import html
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import TiplensError

BOUNDARY_SOURCE = ("Country outlines: the world map shipped in the pygal_maps_world package "
                   "(LGPL-3.0-or-later), keyed by ISO 3166 alpha-2 code.")
BOUNDARY_CAVEAT = ("Outlines are drawn for orientation only and imply no position on the status of any "
                   "territory; very small states are hard to see at this scale.")
NO_DATA_COLOUR = "#e6e6e6"
#: Five steps of a blue scale, light to dark (ColorBrewer "Blues").
STEPS = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
_GROUP = re.compile(r'<g class="([a-z]{2}) country[^"]*">')


def _map_text(path: str | os.PathLike | None) -> str:
    if path is not None:
        source = Path(path)
        if not source.is_file():
            raise TiplensError(f"{source}: world map SVG not found; leave the option out to use the packaged one")
        return source.read_text(encoding="utf-8")
    try:
        return (resources.files("pygal_maps_world") / "worldmap.svg").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise TiplensError("world map outlines not found: the pygal_maps_world package is missing; "
                           "reinstall tiplens (pip install tiplens) to get it") from None


@lru_cache(maxsize=4)
def _template(path: str | None) -> tuple[str, dict[str, str]]:
    """The map's SVG and its ISO2 → ISO3 mapping (codes that match no country are left out)."""
    from ..harmonise.countries import resolve
    text = _map_text(path)
    codes = sorted(set(_GROUP.findall(text)))
    if not codes:
        raise TiplensError(f"{path or 'pygal_maps_world/worldmap.svg'}: no country groups "
                           '(<g class="xx country">) in this SVG')
    matched = resolve(codes, "iso2")
    iso3 = {code: row.iso3 for code, row in zip(codes, matched.itertuples()) if row.status == "matched"}
    return text, iso3


def map_countries(path: str | os.PathLike | None = None) -> list[str]:
    """ISO3 codes of the countries the map can draw."""
    return sorted(_template(None if path is None else str(path))[1].values())


def _bins(values: pd.Series) -> np.ndarray:
    """Upper edges of up to five equal-width steps over the positive values."""
    positive = values[values > 0]
    if positive.empty:
        return np.array([])
    low, high = float(positive.min()), float(positive.max())
    if low == high:
        return np.array([high])
    return np.linspace(low, high, len(STEPS) + 1)[1:]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return f"{int(value):,}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.2f}"
    return str(value)


def svg_choropleth(frame: pd.DataFrame, *, value: str, title: str, hover: list[str] | None = None,
                   legend_title: str = "", path: str | os.PathLike | None = None) -> str:
    """An inline SVG world map of ``frame[value]`` by ``frame["iso3"]``.

    Countries without a row, or with a value of 0 or missing, are light grey, so "no report" stays
    visible. Each country has a tooltip with the ``hover`` columns (default name/iso3 and value).
    The legend gives the five colour steps (equal-width bins over the positive values).
    """
    if "iso3" not in frame.columns or value not in frame.columns:
        raise TiplensError(f"svg_choropleth needs columns iso3 and {value!r}")
    text, iso3_of = _template(None if path is None else str(path))
    hover = hover or [c for c in ("name", "iso3") if c in frame.columns][:1] + [value]
    rows = frame.drop_duplicates("iso3").set_index("iso3")
    values = pd.to_numeric(rows[value], errors="coerce")
    edges = _bins(values.fillna(0))

    def fill(number) -> str:
        if pd.isna(number) or number <= 0 or not len(edges):
            return NO_DATA_COLOUR
        return STEPS[min(int(np.searchsorted(edges, number, side="left")), len(edges) - 1)
                     + len(STEPS) - len(edges)]

    def group(match: re.Match) -> str:
        code = match.group(1)
        iso3 = iso3_of.get(code)
        if iso3 is None or iso3 not in rows.index:
            label = f"{iso3 or code.upper()}: no data"
            colour = NO_DATA_COLOUR
        else:
            row = rows.loc[iso3]
            label = "; ".join(f"{col}: {_fmt(row[col]) if col != 'iso3' else iso3}" for col in hover)
            colour = fill(values.loc[iso3])
        return (f'<g class="{code} country" data-iso3="{html.escape(iso3 or "")}" fill="{colour}">'
                f"<title>{html.escape(label)}</title>")

    body = _GROUP.sub(group, text)
    body = re.sub(r"<svg\b[^>]*>", "", body, count=1).replace("</svg>", "")
    legend = _legend(edges, legend_title or value)
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2475 1480" role="img" class="tl-map" '
            f'aria-label="{html.escape(title)}" stroke="#ffffff" stroke-width="0.6">'
            f"<title>{html.escape(title)}</title>{body}{legend}</svg>")


def _legend(edges: np.ndarray, label: str) -> str:
    parts = [f'<g class="tl-map-legend" stroke="none" font-size="28" font-family="sans-serif">'
             f'<text x="20" y="1420" fill="#333">{html.escape(label)}:</text>']
    entries = [(NO_DATA_COLOUR, "none / no data")]
    start = None
    colours = STEPS[len(STEPS) - len(edges):]
    for colour, edge in zip(colours, edges):
        entries.append((colour, f"{_fmt(start) + '–' if start is not None else 'up to '}{_fmt(round(float(edge), 2))}"))
        start = round(float(edge), 2)
    x = 20
    for colour, text in entries:
        parts.append(f'<rect x="{x}" y="1436" width="34" height="26" fill="{colour}"/>'
                     f'<text x="{x + 42}" y="1458" fill="#333">{html.escape(text)}</text>')
        x += 60 + 15 * len(text)
    parts.append("</g>")
    return "".join(parts)
