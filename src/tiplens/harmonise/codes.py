"""Country codes that country_converter does not know, and countries row by row.

``cow_codes()``
    Correlates of War state numbers → ISO3 (``data/cow_codes.csv``), including the Kelley/Heiss
    files' own codes 1000-1003.
``gec_codes()``
    CIA World Factbook GEC codes (``gm`` = Germany) → ISO3 (``data/gec_codes.csv``).
``country_keys(iso=, cow=, name=)``
    ISO3 per row from an ISO3 column, else a COW number, else (only where both are absent) a name,
    as the Kelley/Heiss-family sources (``tip_tiers``, ``policy_3p``, ``kelley_simmons``) need it.
``resolve_rows(values, scheme)``
    :func:`~tiplens.harmonise.countries.resolve` spread over the rows of one column: ISO3,
    status and note per row.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from .countries import resolve


@lru_cache(maxsize=1)
def cow_codes() -> pd.DataFrame:
    """The COW → ISO3 table (``harmonise/data/cow_codes.csv``) for codes used by the Kelley/Heiss files.

    Facts: Correlates of War State System Membership List v2016; codes 1000-1003 are the files'
    own ad-hoc codes (Hong Kong, Kosovo, Macao, Serbia), noted row by row.
    """
    with resources.files("tiplens.harmonise").joinpath("data/cow_codes.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def gec_codes() -> pd.DataFrame:
    """The Factbook GEC → ISO3 table (``harmonise/data/gec_codes.csv``; CIA World Factbook, Appendix D)."""
    with resources.files("tiplens.harmonise").joinpath("data/gec_codes.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def clean_code(series: pd.Series) -> pd.Series:
    """COW codes as the files write them ('20', '20.0', 'NA', '') → '20' or None."""
    s = series.astype("str").str.strip().str.replace(r"\.0+$", "", regex=True)
    return s.where(~s.isin(["", "NA", "nan"]), None)


def country_keys(*, iso: pd.Series | None = None, cow: pd.Series | None = None,
                 name: pd.Series | None = None, name_first_for_non_country: bool = False) -> pd.DataFrame:
    """ISO3 per row from an ISO3 column, else a COW code, else (only where both are absent) the name.

    A code that is present but unknown is *not* replaced by the name: the row is ``unmatched``.

    Returns
    -------
    DataFrame
        Same index; ``iso3``, ``status`` (matched/override/non_country/unmatched), ``note``,
        ``key`` (the value that decided, for quarantine reasons).
    """
    index = next(s.index for s in (iso, cow, name) if s is not None)
    out = pd.DataFrame({"iso3": pd.Series(None, index=index, dtype=object),
                        "status": pd.Series(None, index=index, dtype=object),
                        "note": pd.Series(None, index=index, dtype=object),
                        "key": pd.Series(None, index=index, dtype=object)})
    pending = pd.Series(True, index=index)

    def _apply(mask, iso3, status, note, key):
        out.loc[mask, "iso3"] = iso3[mask]
        out.loc[mask, "status"] = status[mask]
        out.loc[mask, "note"] = note[mask]
        out.loc[mask, "key"] = key[mask]

    if name is not None and name_first_for_non_country:
        table = resolve(name.unique(), "name").set_index("value")
        status = name.map(table["status"])
        hit = pending & status.eq("non_country")
        _apply(hit, name.map(table["iso3"]), status, name.map(table["note"]), name)
        pending &= ~hit
    if iso is not None:
        code = iso.astype("str").str.strip()
        table = resolve(code[pending].unique(), "iso3").set_index("value")
        status = code.map(table["status"])
        hit = pending & status.notna() & ~status.eq("unmatched")
        _apply(hit, code.map(table["iso3"]), status, code.map(table["note"]), "iso " + code)
        pending &= ~hit
    if cow is not None:
        code = clean_code(cow)
        table = cow_codes().set_index("cow")
        via = code.map(table["iso3"])
        resolved = resolve(via[pending].dropna().unique(), "iso3").set_index("value")
        status = via.map(resolved["status"])
        present = pending & code.notna()
        hit = present & status.notna() & ~status.eq("unmatched")
        _apply(hit, via.map(resolved["iso3"]), status, via.map(resolved["note"]), "cow " + code.fillna(""))
        miss = present & ~hit
        _apply(miss, pd.Series(None, index=index, dtype=object), pd.Series("unmatched", index=index),
               pd.Series(None, index=index, dtype=object), "cow " + code.fillna(""))
        pending &= ~present
    if name is not None:
        label = name.astype("str").str.strip()
        table = resolve(label[pending].unique(), "name").set_index("value")
        status = label.map(table["status"]).astype(object).fillna("unmatched")
        _apply(pending, label.map(table["iso3"]), status, label.map(table["note"]), label)
        pending[:] = False
    out.loc[pending, "status"] = "unmatched"
    out["status"] = out["status"].fillna("unmatched")
    return out


def resolve_rows(values: pd.Series, scheme: str = "name") -> tuple[pd.Series, pd.Series, pd.Series]:
    """:func:`~tiplens.harmonise.countries.resolve` for every row of a column (each distinct value once).

    Returns
    -------
    (iso3, status, note)
        Series on the index of ``values``: ``status`` is ``unmatched`` where nothing matched,
        ``note`` is ``''`` where the table has none.
    """
    table = resolve(values.unique(), scheme).set_index("value")
    return (values.map(table["iso3"]), values.map(table["status"]).fillna("unmatched"),
            values.map(table["note"].fillna("").astype("str")).fillna(""))
