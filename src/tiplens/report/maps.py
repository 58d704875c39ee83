"""World maps whose country shapes come from boundary data installed with a package, never a CDN.

plotly.js draws ``locations=ISO3`` maps from a world TopoJSON it downloads from plotly's CDN at
render time, so such a map stays blank offline (``stack.md`` §3.5). Here the shapes come from
Natural Earth 1:110m as packaged by the npm package ``world-atlas`` (ISC licence; file
``countries-110m.json``, ids are ISO 3166 numeric codes such as ``"068"``): the TopoJSON is decoded
to GeoJSON in Python and handed to plotly as ``geojson=``, with the base map switched off, so plotly.js
has nothing to fetch. :data:`GEO_ASSETS_STUB` is a script to put before the figures: it tells plotly.js
that its own world TopoJSON is already present, so it does not try to fetch it either.

Where the TopoJSON is looked for (first found wins): the ``path`` argument; ``$TIPLENS_WORLD_ATLAS``
(a file, or a folder holding ``countries-110m.json``); the ``world-atlas`` package in a
``node_modules`` folder (the working directory's, ``$NODE_PATH``, npm's global folders). Without
it, :func:`boundaries` raises :class:`TiplensError` saying how to install it, and map views show
that as their ``empty_reason``.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..errors import TiplensError

BOUNDARY_SOURCE = "Natural Earth 1:110m admin-0 countries (public domain), as packaged by world-atlas (ISC)."
BOUNDARY_CAVEAT = ("Boundaries are Natural Earth's, drawn for orientation only; they imply no position on "
                   "the status of any territory. Small island states are too small to show at 1:110m.")
TOPOJSON_NAME = "countries-110m.json"
INSTALL_HINT = ("world map boundaries not found: install the npm package world-atlas (`npm install -g "
                "world-atlas@2`) or set TIPLENS_WORLD_ATLAS to its countries-110m.json")
#: plotly.js skips downloading its world TopoJSON when this key exists (stack.md §3.5).
GEO_ASSETS_STUB = ('window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};'
                   'window.PlotlyGeoAssets.topojson.world_110m = window.PlotlyGeoAssets.topojson.world_110m'
                   ' || {type: "Topology", objects: {}, arcs: []};')
#: Features without an ISO numeric id in world-atlas, keyed by their name.
_NAMED_FEATURES = {"Kosovo": "XKX", "N. Cyprus": None, "Somaliland": None}


def _candidates() -> list[Path]:
    paths = []
    env = os.environ.get("TIPLENS_WORLD_ATLAS")
    if env:
        paths.append(Path(env))
    roots = [Path.cwd() / "node_modules"]
    roots += [Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p]
    prefix = os.environ.get("npm_config_prefix") or os.environ.get("NPM_CONFIG_PREFIX")
    if prefix:
        roots.append(Path(prefix) / "lib" / "node_modules")
    roots += [Path("/usr/local/lib/node_modules"), Path("/usr/lib/node_modules"),
              Path.home() / ".npm-global" / "lib" / "node_modules"]
    paths += [root / "world-atlas" / TOPOJSON_NAME for root in roots]
    return paths


def find_topojson(path: str | os.PathLike | None = None) -> Path:
    """The world-atlas ``countries-110m.json`` to use (see the module docstring for the search order)."""
    if path is not None:
        found = Path(path)
        if found.is_dir():
            found = found / TOPOJSON_NAME
        if not found.is_file():
            raise TiplensError(f"{found}: boundary file not found; {INSTALL_HINT}")
        return found
    for candidate in _candidates():
        if candidate.is_dir():
            candidate = candidate / TOPOJSON_NAME
        if candidate.is_file():
            return candidate
    raise TiplensError(INSTALL_HINT)


def topojson_to_geojson(topology: dict, object_name: str = "countries") -> dict:
    """Decode one object of a TopoJSON topology into a GeoJSON FeatureCollection.

    Handles quantised, delta-encoded arcs (``transform``) and Polygon / MultiPolygon geometries, as
    in the TopoJSON 1.0 specification: an arc index ``i < 0`` means arc ``~i`` reversed, and
    consecutive arcs of a ring share their joining point.
    """
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy, *_ in arc:
                x, y = x + dx, y + dy
                points.append([round(x * sx + tx, 4), round(y * sy + ty, 4)])
        else:
            points = [[round(p[0], 4), round(p[1], 4)] for p in arc]
        arcs.append(points)

    def ring(indexes: list[int]) -> list[list[float]]:
        coords: list[list[float]] = []
        for i in indexes:
            points = arcs[i] if i >= 0 else arcs[~i][::-1]
            coords.extend(points if not coords else points[1:])
        return coords

    features = []
    for geometry in topology["objects"][object_name]["geometries"]:
        kind = geometry.get("type")
        if kind == "Polygon":
            shape = {"type": "Polygon", "coordinates": [ring(r) for r in geometry["arcs"]]}
        elif kind == "MultiPolygon":
            shape = {"type": "MultiPolygon", "coordinates": [[ring(r) for r in poly] for poly in geometry["arcs"]]}
        else:
            continue
        features.append({"type": "Feature", "id": geometry.get("id"),
                         "properties": dict(geometry.get("properties") or {}), "geometry": shape})
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=4)
def _boundaries_cached(path: str, iso_numeric: tuple[tuple[int, str], ...]) -> dict:
    topology = json.loads(Path(path).read_text(encoding="utf-8"))
    collection = topojson_to_geojson(topology, "countries")
    by_number = dict(iso_numeric)
    kept = []
    for feature in collection["features"]:
        raw_id = feature.get("id")
        name = feature["properties"].get("name", "")
        iso3 = by_number.get(int(raw_id)) if raw_id not in (None, "") and str(raw_id).isdigit() else None
        iso3 = iso3 or _NAMED_FEATURES.get(name)
        if iso3 is None:
            continue
        feature["id"] = iso3
        feature["properties"] = {"name": name, "iso3": iso3}
        kept.append(feature)
    kept.sort(key=lambda f: f["id"])
    return {"type": "FeatureCollection", "features": kept}


def boundaries(countries: pd.DataFrame, path: str | os.PathLike | None = None) -> dict:
    """Country shapes as a GeoJSON FeatureCollection whose feature ids are ISO3 codes.

    ``countries`` is ``Store.countries()`` (its ``m49_code`` maps the TopoJSON's ISO numeric ids to
    ISO3; M49 numeric codes are the ISO 3166 numeric codes for countries). Features without a
    matching code (disputed areas without an ISO code) are left out.
    """
    found = find_topojson(path)
    pairs = countries[["m49_code", "iso3"]].dropna()
    key = tuple(sorted((int(n), str(i)) for n, i in zip(pairs["m49_code"], pairs["iso3"])))
    return _boundaries_cached(str(found), key)


def choropleth(frame: pd.DataFrame, *, value: str, title: str, geojson: dict,
               colorbar_title: str = "", hover: list[str] | None = None, colorscale: str = "Blues"):
    """A choropleth of ``frame[value]`` by ``frame["iso3"]`` on the given shapes, no base map.

    Shapes with no row, or a value of 0 or missing, are drawn light grey, so "no report" stays
    visible. ``hover`` lists the columns shown on hover (default ``iso3`` and ``value``).
    """
    import plotly.graph_objects as go

    hover = hover or ["iso3", value]
    ids = sorted(f["id"] for f in geojson["features"])
    shown = frame[frame["iso3"].isin(ids)]
    template = "<br>".join(f"{col}: %{{customdata[{i}]}}" for i, col in enumerate(hover)) + "<extra></extra>"
    grey = [[0, "#e6e6e6"], [1, "#e6e6e6"]]
    line = {"marker_line_color": "#ffffff", "marker_line_width": 0.4}

    def custom(part: pd.DataFrame) -> list:
        return part[hover].astype(object).where(part[hover].notna(), "").to_numpy().tolist()

    missing = sorted(set(ids) - set(shown["iso3"]))
    zero = shown[shown[value].fillna(0).eq(0)]
    positive = shown[shown[value].fillna(0).gt(0)]
    figure = go.Figure()
    figure.add_trace(go.Choropleth(geojson=geojson, featureidkey="id", locations=missing, z=[0] * len(missing),
                                   colorscale=grey, showscale=False, name="no data",
                                   hovertemplate="%{location}: no data<extra></extra>", **line))
    figure.add_trace(go.Choropleth(geojson=geojson, featureidkey="id", locations=zero["iso3"].tolist(),
                                   z=[0] * len(zero), colorscale=grey, showscale=False, name="none",
                                   customdata=custom(zero), hovertemplate=template, **line))
    figure.add_trace(go.Choropleth(geojson=geojson, featureidkey="id", locations=positive["iso3"].tolist(),
                                   z=positive[value].astype(float).tolist(), colorscale=colorscale, zmin=0,
                                   colorbar={"title": {"text": colorbar_title or value}}, name=value,
                                   customdata=custom(positive), hovertemplate=template, **line))
    figure.update_geos(visible=False, showframe=False, projection_type="natural earth", lataxis_range=[-58, 85])
    figure.update_layout(title=title, height=520, margin={"l": 0, "r": 0, "t": 60, "b": 0}, template="plotly_white")
    return figure
