"""Countries: any source's name or code → ISO3, UN M49 region and subregion.

Matching uses ``country_converter`` (built with the pandas-3 workaround: its own table read
with ``keep_default_na=False`` so Namibia's ``NA`` stays Namibia) and, first, the reviewed
override table ``data/country_overrides.csv`` for the cases that trip it: Kosovo, Sark,
sub-national rows, historic states, retired and non-ISO codes.

Nothing is guessed: a value that matches neither comes back with ``status='unmatched'`` and
the source module quarantines its rows (so it appears in ``tiplens quarantine``).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from importlib import resources

import pandas as pd

#: coco's ``UNregion`` is the M49 sub-region or, in Africa and the Americas, the
#: intermediate region. M49 (unstats.un.org/unsd/methodology/m49) groups them as follows.
_M49_PARENT: dict[str, tuple[str, str]] = {
    "Northern Africa": ("Africa", "Northern Africa"),
    "Eastern Africa": ("Africa", "Sub-Saharan Africa"),
    "Middle Africa": ("Africa", "Sub-Saharan Africa"),
    "Southern Africa": ("Africa", "Sub-Saharan Africa"),
    "Western Africa": ("Africa", "Sub-Saharan Africa"),
    "Caribbean": ("Americas", "Latin America and the Caribbean"),
    "Central America": ("Americas", "Latin America and the Caribbean"),
    "South America": ("Americas", "Latin America and the Caribbean"),
    "Northern America": ("Americas", "Northern America"),
    "Central Asia": ("Asia", "Central Asia"),
    "Eastern Asia": ("Asia", "Eastern Asia"),
    "South-eastern Asia": ("Asia", "South-eastern Asia"),
    "Southern Asia": ("Asia", "Southern Asia"),
    "Western Asia": ("Asia", "Western Asia"),
    "Eastern Europe": ("Europe", "Eastern Europe"),
    "Northern Europe": ("Europe", "Northern Europe"),
    "Southern Europe": ("Europe", "Southern Europe"),
    "Western Europe": ("Europe", "Western Europe"),
    "Australia and New Zealand": ("Oceania", "Australia and New Zealand"),
    "Melanesia": ("Oceania", "Melanesia"),
    "Micronesia": ("Oceania", "Micronesia"),
    "Polynesia": ("Oceania", "Polynesia"),
}
_INTERMEDIATE = {"Eastern Africa", "Middle Africa", "Southern Africa", "Western Africa",
                 "Caribbean", "Central America", "South America"}

SCHEMES = ("name", "iso3", "iso2", "gwcode")
_COCO_SCHEME = {"name": "regex", "iso3": "ISO3", "iso2": "ISO2", "gwcode": "GWcode"}


@lru_cache(maxsize=1)
def _coco_table() -> pd.DataFrame:
    import country_converter as coco
    path = os.path.join(os.path.dirname(coco.__file__), "country_data.tsv")
    table = pd.read_csv(path, sep="\t", encoding="utf-8", keep_default_na=False, na_values=[""])
    for col in ("ISO2", "ISO3", "regex", "name_short", "name_official"):
        table[col] = table[col].fillna("")
    return table


@lru_cache(maxsize=1)
def _converter():
    import country_converter as coco
    logging.getLogger("country_converter").setLevel(logging.ERROR)
    return coco.CountryConverter(country_data=_coco_table())


@lru_cache(maxsize=1)
def overrides() -> pd.DataFrame:
    """The reviewed override table (scheme, value, iso3, class, regions, name, note)."""
    with resources.files("tiplens.harmonise").joinpath("data/country_overrides.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return table.replace("", None)


@lru_cache(maxsize=1)
def _iso3_set() -> frozenset[str]:
    table = _coco_table()
    return frozenset(table.loc[table["obsolete"].isna(), "ISO3"])


def _override_lookup(scheme: str) -> dict[str, dict]:
    table = overrides()
    table = table[table["scheme"] == scheme]
    return {str(v).casefold(): row for v, row in zip(table["value"], table.to_dict("records"))}


def resolve(values, scheme: str = "name") -> pd.DataFrame:
    """Map distinct names or codes to ISO3.

    Parameters
    ----------
    values : iterable of str
        Names or codes as the source writes them.
    scheme : {"name", "iso3", "iso2", "gwcode"}
        What the values are. ``gwcode`` is the Gleditsch–Ward number (close to COW).

    Returns
    -------
    DataFrame
        One row per distinct input: ``value``, ``iso3`` (None when not a country),
        ``status`` (``matched``, ``override``, ``non_country`` or ``unmatched``),
        ``country_class`` (``country``, ``subnational``, ``historic``, ``non_country``) and ``note``.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}")
    distinct = list(dict.fromkeys(v for v in values if v is not None and v == v and str(v).strip() != ""))
    table = _resolve_cached(tuple(distinct), scheme)
    return table


@lru_cache(maxsize=256)
def _resolve_cached(values: tuple, scheme: str) -> pd.DataFrame:
    lookup = _override_lookup(scheme)
    rows, pending = [], []
    for value in values:
        text = str(value).strip()
        hit = lookup.get(text.casefold())
        if hit is not None:
            cls = hit["class"]
            rows.append({"value": value, "iso3": hit["iso3"],
                         "status": "non_country" if cls == "non_country" else "override",
                         "country_class": cls, "note": hit["note"]})
        elif scheme == "iso3":
            ok = text.upper() in _iso3_set()
            rows.append({"value": value, "iso3": text.upper() if ok else None,
                         "status": "matched" if ok else "unmatched",
                         "country_class": "country" if ok else None, "note": None})
        else:
            pending.append(value)
    if pending and scheme == "name" and _use_name_cache:
        cache = name_cache()
        still = []
        for value in pending:
            hit = cache.get(str(value).strip())
            if hit is None:
                still.append(value)
            else:
                rows.append({"value": value, "iso3": hit or None, "status": "matched" if hit else "unmatched",
                             "country_class": "country" if hit else None, "note": None})
        pending = still
    if pending:
        if scheme == "name":
            coco_calls.update(str(v).strip() for v in pending)
        src = _COCO_SCHEME[scheme]
        inputs = [str(v).strip() for v in pending]
        if scheme == "gwcode":
            inputs = [str(int(float(v))) if _is_number(v) else v for v in inputs]
        found = _converter().convert(inputs, src=src, to="ISO3", not_found=None)
        if isinstance(found, str) or found is None:
            found = [found]
        for value, iso in zip(pending, found):
            if isinstance(iso, list):  # ambiguous: coco matched several countries
                rows.append({"value": value, "iso3": None, "status": "unmatched", "country_class": None,
                             "note": f"ambiguous: matches {', '.join(iso)}"})
            elif iso is None or iso not in _iso3_set():
                rows.append({"value": value, "iso3": None, "status": "unmatched", "country_class": None,
                             "note": None})
            else:
                rows.append({"value": value, "iso3": iso, "status": "matched", "country_class": "country",
                             "note": None})
    return pd.DataFrame(rows, columns=["value", "iso3", "status", "country_class", "note"])


#: Names passed to country_converter in this process (scripts/build_country_cache.py records them).
coco_calls: set[str] = set()
_use_name_cache = True


@lru_cache(maxsize=1)
def name_cache() -> dict[str, str]:
    """country_converter's answers for every name in the public files, computed ahead.

    Matching a name with country_converter's regexes costs about 1 ms a name, and sources carry
    hundreds (GLOTIP's citizenship labels alone ~700), which dominated ingest time. The cache
    (``data/country_name_cache.csv``, built by ``scripts/build_country_cache.py``) is checked
    against the live converter by ``tests/test_countries.py``; '' means no match.
    """
    try:
        with resources.files("tiplens.harmonise").joinpath("data/country_name_cache.csv").open(
                encoding="utf-8") as fh:
            table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        return {}
    return dict(zip(table["name"], table["iso3"]))


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def attach_iso3(frame: pd.DataFrame, column: str, scheme: str = "name") -> pd.DataFrame:
    """Add ``iso3`` and ``country_status`` columns to ``frame`` by resolving ``column``.

    Rows whose value is unmatched get ``iso3=None`` and ``country_status='unmatched'``; the
    caller quarantines them (``reason: country not matched``).
    """
    table = resolve(frame[column], scheme).set_index("value")
    key = frame[column]
    out = frame.copy()
    out["iso3"] = key.map(table["iso3"])
    status = key.map(table["status"])
    out["country_status"] = status.where(status.notna(), "unmatched")
    return out


def country_table() -> pd.DataFrame:
    """ISO3 → names and UN M49 region/subregion for every current country and override."""
    return _country_table().copy()


@lru_cache(maxsize=1)
def _country_table() -> pd.DataFrame:
    table = _coco_table()
    table = table[table["ISO3"].str.fullmatch(r"[A-Z]{3}")]
    parent = table["UNregion"].map(lambda r: _M49_PARENT.get(r, (None, None)))
    out = pd.DataFrame({
        "iso3": table["ISO3"],
        "name": table["name_short"],
        "name_official": table["name_official"],
        "m49_code": pd.to_numeric(table["UNcode"], errors="coerce").astype("Int64"),
        "m49_region": [p[0] for p in parent],
        "m49_subregion": [p[1] for p in parent],
        "m49_intermediate": table["UNregion"].where(table["UNregion"].isin(_INTERMEDIATE)),
        "un_member_since": pd.to_numeric(table["UNmember"], errors="coerce").astype("Int64"),
        "note": table["obsolete"].map(lambda y: f"historic (obsolete {int(y)})" if y == y else None),
    })
    extra = overrides()
    extra = extra[extra["iso3"].notna() & ~extra["iso3"].isin(out["iso3"])].drop_duplicates("iso3")
    out = pd.concat([out, pd.DataFrame({
        "iso3": extra["iso3"], "name": extra["name"], "name_official": extra["name"],
        "m49_region": extra["m49_region"], "m49_subregion": extra["m49_subregion"],
        "note": extra["note"]})], ignore_index=True)
    return out.drop_duplicates("iso3").sort_values("iso3", ignore_index=True)
