"""Citizenship categories: free-text labels → ISO3 and a category class.

UNODC GLOTIP rows with Dimension ``by citizenship`` or ``by country of repatriation`` carry
their category as free text typed by national correspondents, in many languages and
spellings: country names (``CAMBOYA``, ``Albanie``), nationality adjectives (``TAZANIANS``,
``Nigerin``), the reporting country's own nationals (``Ciudadanos de su país``,
``Nationals``), regions, blocs, residual lines, unknowns and totals. :func:`classify` gives
each distinct label a class and, for single countries, an ISO3 code.

Resolution, for each distinct value:

1. Mojibake repair. Text that is UTF-8 decoded as cp1252 / Latin-1 (``TÃ¼rkiye``) is
   re-decoded when the round trip is clean. Text with U+FFFD replacement characters
   (``Espa�a``) has lost its bytes for good; it is repaired only when exactly one entry of a
   known vocabulary (the alias table and country_converter's names) fits, ``�`` standing
   for exactly one non-ASCII character. Otherwise it stays as it is, flagged
   ``unrecoverable``.
2. The reviewed alias table ``data/citizenship_aliases.csv`` (case-insensitive,
   whitespace-normalised). It wins over country_converter, so it also holds corrections
   (``GUINEA ECUATORIAL`` is not Guinea) and labels reviewed and left ``unmapped`` on
   purpose (``CAR``, ``Congolese``).
3. :func:`tiplens.harmonise.countries.resolve` (country_converter plus the country
   override table), called once for all values not settled by the alias table.
4. Anything else is ``unmapped``. Nothing is guessed.

Classes: ``country``, ``domestic`` (the reporting country's own nationals; ``category_iso3``
is set only when the label names that country), ``foreign_unspecified``, ``region``,
``bloc``, ``unknown`` (also blank categories), ``other`` (residual "other countries", stateless
persons, cells that mix several countries), ``total`` and ``unmapped``.

Traps handled: country_converter matches substrings, so ``Former Czechoslovakia`` becomes
CZE and ``GUINEA ECUATORIAL`` becomes GIN (both corrected); nationality adjectives it does
not know (``Thai``, ``Dutch``, ``Kyrgysi``); questionnaire cell codes and bare numbers in
place of a label (left unmapped with a note).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources

import pandas as pd

from tiplens.harmonise import countries

CLASSES = ("country", "domestic", "foreign_unspecified", "region", "bloc", "unknown", "other",
           "total", "unmapped")
COLUMNS = ["value", "repaired", "mojibake", "category_iso3", "category_class", "note"]

_REPLACEMENT = "\ufffd"
# Questionnaire cell references such as "Q6.1_10s_2019" stand in place of a label in some
# corrupt 2025 rows (PROVENANCE note 2); a bare number is a value typed into the label column.
_QUESTIONNAIRE_CODE = re.compile(r"Q\d")
_NUMBER = re.compile(r"\d+")

#: value → finished row (without the value itself); filled lazily, shared by all calls.
_CACHE: dict[object, tuple] = {}


def _key(text: str) -> str:
    """Lookup key: whitespace collapsed, case folded."""
    return " ".join(text.split()).casefold()


@lru_cache(maxsize=1)
def aliases() -> pd.DataFrame:
    """The reviewed alias table (alias, iso3, class, language, note); empty cells are ``""``."""
    path = resources.files("tiplens.harmonise").joinpath("data/citizenship_aliases.csv")
    with path.open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    keys = table["alias"].map(_key)
    repeated = sorted(set(table.loc[keys.duplicated(), "alias"]))
    if repeated:
        raise ValueError(f"citizenship_aliases.csv: alias listed twice: {repeated}")
    unknown_classes = sorted(set(table["class"]) - set(CLASSES))
    if unknown_classes:
        raise ValueError(f"citizenship_aliases.csv: unknown class {unknown_classes}")
    return table


@lru_cache(maxsize=1)
def _alias_lookup() -> dict[str, dict]:
    records = [{column: (text or None) for column, text in row.items()}
               for row in aliases().to_dict("records")]
    return {_key(row["alias"]): row for row in records}


@lru_cache(maxsize=1)
def _vocabulary_by_length() -> dict[int, list[tuple[str, str]]]:
    """Known spellings for pattern repair, as (lower-case, original), grouped by length."""
    coco = countries._coco_table()
    names = list(aliases()["alias"]) + list(coco["name_short"]) + list(coco["name_official"])
    by_length: dict[int, dict[str, str]] = {}
    for name in names:
        if name:
            by_length.setdefault(len(name), {}).setdefault(name.lower(), name)
    return {length: list(entries.items()) for length, entries in by_length.items()}


def _undo_double_encoding(text: str) -> str | None:
    """The text re-decoded if it is UTF-8 that was read as cp1252 or Latin-1, else None."""
    if text.isascii():
        return None
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed != text:
            return fixed
    return None


def _pattern_candidates(text: str) -> list[str]:
    """Vocabulary entries that fit ``text`` when each U+FFFD stands for one character.

    A decoder only emits U+FFFD for bytes it cannot decode; ASCII bytes decode in UTF-8 and
    in every single-byte code page, so the lost character was non-ASCII. Requiring that keeps
    ``Haiti`` from competing with ``Haití`` for ``Hait�``.
    """
    lowered = text.lower()
    pattern = re.compile("".join("[^\\x00-\\x7f]" if ch == _REPLACEMENT else re.escape(ch)
                                 for ch in lowered))
    return [original for candidate, original in _vocabulary_by_length().get(len(text), [])
            if pattern.fullmatch(candidate)]


def _fill_in(text: str, candidate: str) -> str:
    """``text`` with each U+FFFD replaced by the candidate's letter, in the text's case."""
    all_upper = text == text.upper()
    letters = []
    for position, (ch, fill) in enumerate(zip(text, candidate)):
        if ch != _REPLACEMENT:
            letters.append(ch)
        elif all_upper:
            letters.append(fill.upper())
        elif position > 0 and text[position - 1].islower():
            letters.append(fill.lower())
        else:
            letters.append(fill)
    return "".join(letters)


def _repair(text: str) -> tuple[str, str | None, str | None, list[str]]:
    """(repaired text, mojibake flag, note, ambiguous candidates)."""
    fixed = _undo_double_encoding(text)
    if fixed is not None:
        return fixed, "repaired", "double-encoded UTF-8 re-decoded", []
    if _REPLACEMENT not in text:
        return text, None, None, []
    candidates = _pattern_candidates(text)
    if len(candidates) == 1:
        return (_fill_in(text, candidates[0]), "repaired",
                f"matched by pattern against {candidates[0]}", [])
    return text, "unrecoverable", None, candidates


def _resolve_text(texts: list[str]) -> dict[str, tuple[str | None, str, str | None]]:
    """Resolve repaired texts to (iso3, class, note): alias table, then country_converter."""
    lookup = _alias_lookup()
    out: dict[str, tuple[str | None, str, str | None]] = {}
    pending = []
    for text in texts:
        hit = lookup.get(_key(text))
        if hit is not None:
            out[text] = (hit["iso3"], hit["class"], hit["note"] or "alias table")
        elif _QUESTIONNAIRE_CODE.match(text.strip()):
            out[text] = (None, "unmapped", "questionnaire cell code in place of a label "
                                           "(corrupt row, see GLOTIP PROVENANCE note 2)")
        elif _NUMBER.fullmatch(text.strip()):
            out[text] = (None, "unmapped", "a number in place of a label")
        else:
            pending.append(text)
    if pending:
        # One call for the whole batch: country_converter is slow per call.
        resolved = countries.resolve(pending, "name")
        for row in resolved.to_dict("records"):
            given_note = None if _is_missing(row["note"]) else row["note"]
            if row["status"] in ("matched", "override"):
                note = "country_converter" if row["status"] == "matched" else given_note
                out[row["value"]] = (row["iso3"], "country", note)
            else:
                out[row["value"]] = (None, "unmapped", given_note or "no alias, no country match")
        for text in pending:
            out.setdefault(text, (None, "unmapped", "no alias, no country match"))
    return out


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _classify_new(values: list) -> None:
    """Classify values not yet cached and add them to the cache."""
    repairs = {}
    for value in values:
        if _is_missing(value) or str(value).strip() == "":
            _CACHE[value] = (value, None, None, "unknown", "blank category")
        else:
            repairs[value] = _repair(str(value))
    # Ambiguous U+FFFD values are still resolved on their raw text, and their candidates too.
    texts = {r[0] for r in repairs.values()}
    texts |= {c for r in repairs.values() for c in r[3]}
    resolved = _resolve_text(sorted(texts))
    for value, (text, flag, repair_note, candidates) in repairs.items():
        iso3, cls, note = resolved[text]
        if candidates:
            meanings = {resolved[c][:2] for c in candidates}
            listed = ", ".join(candidates)
            common = next(iter(meanings)) if len(meanings) == 1 else None
            if common is not None and common[1] != "unmapped" and cls == "unmapped":
                # Every spelling that fits means the same thing: the text stays unknown, its
                # meaning does not.
                iso3, cls = common
                note = f"U+FFFD fits several spellings ({listed}), all with this meaning"
            else:
                note = f"U+FFFD fits several spellings ({listed}); " + (note or "")
        elif flag == "unrecoverable":
            note = "U+FFFD fits no known spelling; " + (note or "")
        if repair_note:
            note = f"{repair_note}; {note}" if note else repair_note
        _CACHE[value] = (text, flag, iso3, cls, note)


def classify(values) -> pd.DataFrame:
    """Classify free-text citizenship / repatriation categories.

    Parameters
    ----------
    values : iterable
        Category labels as the source writes them (a column or its distinct values);
        missing and blank labels are allowed.

    Returns
    -------
    DataFrame
        One row per distinct value, in order of first appearance: ``value`` (as given; None
        for a missing one), ``repaired`` (text after mojibake repair, else the same),
        ``mojibake`` (None, ``'repaired'`` or ``'unrecoverable'``), ``category_iso3`` (ISO3 or
        None), ``category_class`` (one of :data:`CLASSES`) and ``note`` (why).

    Notes
    -----
    Results are cached per value, so only the first call pays for country_converter.
    """
    distinct = pd.unique(pd.Series(list(values) if not isinstance(values, pd.Series) else values,
                                   dtype=object))
    keys = list(dict.fromkeys(None if _is_missing(v) else v for v in distinct))
    new = [v for v in keys if v not in _CACHE]
    if new:
        _classify_new(new)
    rows = [(value, *_CACHE[value]) for value in keys]
    # object dtype keeps None as None (the str dtype would turn it into NaN).
    return pd.DataFrame(rows, columns=COLUMNS, dtype=object)


def unmapped(values) -> pd.DataFrame:
    """Labels that could not be classified, with how many times each occurs.

    Parameters
    ----------
    values : iterable
        Category labels, one per source row (so the counts are row counts).

    Returns
    -------
    DataFrame
        ``value``, ``repaired``, ``mojibake``, ``note`` and ``rows``, most frequent first.
    """
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values, dtype=object)
    series = series.map(lambda v: None if _is_missing(v) else v)
    counts = series.value_counts(dropna=False)
    table = classify(counts.index)
    table["rows"] = counts.to_numpy()
    table = table[table["category_class"] == "unmapped"]
    return (table[["value", "repaired", "mojibake", "note", "rows"]]
            .sort_values(["rows", "value"], ascending=[False, True], ignore_index=True))
