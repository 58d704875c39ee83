"""The cooperation knowledge base: documents, liberal concepts, entities, relations and the seed
paper's Table, as package YAML that users extend with their own files.

Sections of a knowledge-base file (every one optional in a user's file):

``documents``
    ``id, citation, year, locator``: what entries cite.
``concepts``
    ``id, label, definition, references`` (document ids): the liberal IR concepts entries are
    tagged with (:data:`package concepts <tiplens.lens>`; docs/lens.md lists them).
``entities``
    ``id, name, type`` (:data:`ENTITY_TYPES`), ``subtype`` (for actors one of
    :data:`ACTOR_SUBTYPES`), ``region``, ``founded``, ``in_force`` (years; empty = unknown),
    ``scope``, ``concepts``, ``sources`` or ``source_missing``, ``membership`` (the store data
    listing its member countries: one or more of ``{source, dataset}`` / ``{source, indicator}``;
    a later one only fills countries the earlier ones leave unknown), ``org_codes``, ``grant_recipient``, ``note``.
``relations``
    ``from, type`` (:data:`RELATION_TYPES`), ``to`` (an entity; a country's ISO3 for
    ``operates_in``), ``region, start, end, concepts, sources`` or ``source_missing``, ``note``.
``memberships``
    a user's own country memberships: ``country`` (ISO3), ``entity``, ``status``
    (:data:`MEMBERSHIP_STATUSES`), ``date``, ``sources`` or ``source_missing``, ``note``.
``rows``
    the paper's Table (package only).

Rules enforced on load: ids are unique across all files; every entry cites known documents or
says why no source exists; every concept, entity and country named exists. A broken file raises
:class:`~tiplens.errors.TiplensError` naming the file, the entry and what is valid. Nothing is
inferred: membership of one entity never implies membership of another.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Literal, Optional

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import TiplensError

ENTITY_TYPES = ("instrument", "process", "programme", "monitoring_body", "actor")
ACTOR_SUBTYPES = ("un_agency", "international_organisation", "regional_organisation", "national_agency",
                  "ngo_network")
RELATION_TYPES = ("party_to", "member_of", "monitors", "implements", "funds", "partners_with", "operates_in")
MEMBERSHIP_STATUSES = ("party", "signatory", "member", "not_bound", "not_party", "unknown")
SECTIONS = ("documents", "concepts", "entities", "relations", "memberships", "rows")
PACKAGE_FILES = ("documents.yaml", "concepts.yaml", "entities.yaml", "relations.yaml", "paper_table.yaml")
PACKAGE = "package"

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when libyaml is there
_ID = r"^[a-z][a-z0-9_]*$"
_ISO3 = r"^[A-Z]{3}$"
_YEAR = Field(default=None, ge=1800, le=2100)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Sourced(_Entry):
    sources: list[str] = Field(default_factory=list)
    source_missing: Optional[str] = None

    @model_validator(mode="after")
    def _one_source(self):
        if not self.sources and not self.source_missing:
            raise ValueError("cites no source: give 'sources' (document ids) or say why none exists in "
                             "'source_missing'")
        if self.sources and self.source_missing:
            raise ValueError("has both 'sources' and 'source_missing': keep one")
        return self


class Document(_Entry):
    id: str = Field(pattern=_ID)
    citation: str = Field(min_length=1)
    year: Optional[int] = _YEAR
    locator: Optional[str] = None


class Concept(_Entry):
    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    references: list[str] = Field(min_length=1)


class MembershipSpec(_Entry):
    source: str
    dataset: Optional[str] = None
    indicator: Optional[str] = None

    @model_validator(mode="after")
    def _one_key(self):
        if (self.dataset is None) == (self.indicator is None):
            raise ValueError("membership names exactly one of 'dataset' or 'indicator'")
        return self


class Entity(_Sourced):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    type: Literal[ENTITY_TYPES]
    subtype: Optional[str] = None
    region: Optional[str] = None
    founded: Optional[int] = _YEAR
    in_force: Optional[int] = _YEAR
    scope: Optional[str] = None
    concepts: list[str] = Field(min_length=1)
    membership: list[MembershipSpec] = Field(default_factory=list)
    org_codes: list[str] = Field(default_factory=list)
    grant_recipient: Optional[str] = None
    note: Optional[str] = None

    @field_validator("membership", mode="before")
    @classmethod
    def _one_or_more(cls, value):
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _actor_subtype(self):
        if self.type == "actor" and self.subtype not in ACTOR_SUBTYPES:
            raise ValueError(f"actor subtype {self.subtype!r} is not one of {', '.join(ACTOR_SUBTYPES)}")
        return self


class Relation(_Sourced):
    from_: str = Field(alias="from")
    type: Literal[RELATION_TYPES]
    to: str
    region: Optional[str] = None
    start: Optional[int] = _YEAR
    end: Optional[int] = _YEAR
    concepts: list[str] = Field(min_length=1)
    note: Optional[str] = None

    @property
    def id(self) -> str:
        return f"{self.from_} {self.type} {self.to}"


class Membership(_Sourced):
    country: str = Field(pattern=_ISO3)
    entity: str
    status: Literal[MEMBERSHIP_STATUSES]
    date: Optional[str] = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    note: Optional[str] = None

    @property
    def id(self) -> str:
        return f"{self.country} {self.status} {self.entity}"


class Correction(_Sourced):
    kind: Literal["error", "outdated", "citation", "wording"]
    text: str = Field(min_length=1)


class TableRow(_Entry):
    row: int = Field(ge=1)
    region: str
    cooperating_entities: str
    efforts: str
    concept_text: str
    references_text: str
    entities: list[str] = Field(min_length=1)
    concepts: list[str] = Field(min_length=1)
    corrections: list[Correction] = Field(default_factory=list)

    @property
    def id(self) -> str:
        return f"row {self.row}"


_MODELS = {"documents": Document, "concepts": Concept, "entities": Entity, "relations": Relation,
           "memberships": Membership, "rows": TableRow}
_SINGULAR = {"documents": "document", "concepts": "concept", "entities": "entity", "relations": "relation",
             "memberships": "membership", "rows": "table row"}


@dataclass
class KnowledgeBase:
    """The validated knowledge base; each entry remembers the file it came from (``origins``)."""

    documents: dict[str, Document] = field(default_factory=dict)
    concepts: dict[str, Concept] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)
    origins: dict[tuple[str, str], str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    # -- tables ------------------------------------------------------------------------------
    def citation(self, entry) -> str:
        """The entry's sources as one string: citations joined by '; ', or 'source missing: why'."""
        if entry.source_missing:
            return f"source missing: {entry.source_missing}"
        return "; ".join(f"{self.documents[d].citation}" for d in entry.sources)

    def entities_frame(self) -> pd.DataFrame:
        """One row per entity: id, name, type, subtype, region, founded, in_force, scope, concepts,
        sources (document ids), citation, source_missing (bool), membership, note, origin."""
        rows = []
        for e in self.entities.values():
            rows.append({"id": e.id, "name": e.name, "type": e.type, "subtype": e.subtype, "region": e.region,
                         "founded": e.founded, "in_force": e.in_force, "scope": e.scope,
                         "concepts": ", ".join(e.concepts), "sources": ", ".join(e.sources),
                         "citation": self.citation(e), "source_missing": bool(e.source_missing),
                         "membership": ", ".join(f"{s.source}:{s.dataset or s.indicator}"
                                                 for s in e.membership) or None,
                         "note": e.note, "origin": self.origins.get(("entities", e.id), PACKAGE)})
        frame = pd.DataFrame(rows)
        for column in ("founded", "in_force"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def relations_frame(self) -> pd.DataFrame:
        """One row per relation: from, type, to, region, start, end, concepts, citation,
        source_missing, note, origin."""
        frame = pd.DataFrame([{
            "from": r.from_, "type": r.type, "to": r.to, "region": r.region, "start": r.start, "end": r.end,
            "concepts": ", ".join(r.concepts), "citation": self.citation(r), "source_missing": bool(r.source_missing),
            "note": r.note, "origin": self.origins.get(("relations", r.id), PACKAGE)} for r in self.relations],
            columns=["from", "type", "to", "region", "start", "end", "concepts", "citation", "source_missing",
                     "note", "origin"])
        for column in ("start", "end"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def concepts_frame(self) -> pd.DataFrame:
        """One row per concept: id, label, definition, references (citations)."""
        return pd.DataFrame([{"id": c.id, "label": c.label, "definition": c.definition,
                              "references": "; ".join(self.documents[d].citation for d in c.references)}
                             for c in self.concepts.values()])

    def counts(self) -> dict:
        """How many entries of each kind (entities by type, relations, memberships, documents...)."""
        by_type = pd.Series([e.type for e in self.entities.values()]).value_counts()
        return {"entities": len(self.entities), "entities_by_type": {t: int(by_type.get(t, 0)) for t in ENTITY_TYPES},
                "relations": len(self.relations), "relations_source_missing":
                    sum(1 for r in self.relations if r.source_missing),
                "entities_source_missing": sum(1 for e in self.entities.values() if e.source_missing),
                "memberships": len(self.memberships), "documents": len(self.documents),
                "concepts": len(self.concepts), "table_rows": len(self.rows), "files": list(self.files)}


# -- loading ---------------------------------------------------------------------------------
def _read_yaml(text: str, origin: str) -> dict:
    try:
        document = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise TiplensError(f"{origin}{where}: not valid YAML ({getattr(exc, 'problem', exc)}). "
                           "Check indentation and quoting.") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise TiplensError(f"{origin}: a knowledge-base file is a mapping with the keys "
                           f"{', '.join(SECTIONS[:-1])}; found {type(document).__name__}")
    unknown = set(document) - set(SECTIONS)
    if unknown:
        raise TiplensError(f"{origin}: unknown section(s) {', '.join(sorted(map(str, unknown)))}; valid sections: "
                           f"{', '.join(SECTIONS[:-1])}")
    return document


def _entry_name(section: str, raw, index: int) -> str:
    label = None
    if isinstance(raw, dict):
        if section == "relations":
            label = f"{raw.get('from')} {raw.get('type')} {raw.get('to')}"
        elif section == "memberships":
            label = f"{raw.get('country')} {raw.get('status')} {raw.get('entity')}"
        elif section == "rows":
            label = f"row {raw.get('row')}"
        else:
            label = raw.get("id")
    return f"{_SINGULAR[section]} {index + 1}" + (f" ({label!s})" if label else "")


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"] if p != "from_") or "entry"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "literal_error":
            message = f"{error['input']!r} is not valid; expected {error['ctx']['expected']}"
        elif error["type"] == "extra_forbidden":
            message = "is not a known field"
        elif error["type"] == "string_pattern_mismatch":
            pattern = error["ctx"]["pattern"]
            wanted = {_ID: "lower-case letters, digits and '_', starting with a letter",
                      _ISO3: "an ISO 3166 alpha-3 code such as 'DNK'"}.get(pattern, f"the form {pattern}")
            message = f"{error['input']!r} is not {wanted}"
        parts.append(message if loc == "entry" else f"field '{loc}': {message}")
    return "; ".join(parts)


def _parse(document: dict, origin: str) -> dict[str, list]:
    parsed: dict[str, list] = {}
    for section, model in _MODELS.items():
        raw_entries = document.get(section) or []
        if not isinstance(raw_entries, list):
            raise TiplensError(f"{origin}: section '{section}' must be a list of entries")
        entries = []
        for index, raw in enumerate(raw_entries):
            if not isinstance(raw, dict):
                raise TiplensError(f"{origin}: {_entry_name(section, raw, index)} is not a mapping of fields")
            try:
                entries.append(model.model_validate(raw))
            except ValidationError as exc:
                raise TiplensError(f"{origin}: {_entry_name(section, raw, index)}: {_explain(exc)}") from None
        parsed[section] = entries
    return parsed


def _closest(value: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    near = difflib.get_close_matches(value, valid, n=3, cutoff=0.5)
    shown = near or valid[:8]
    more = "" if near or len(valid) <= 8 else f", ... ({len(valid)} in all)"
    return ("closest: " if near else "valid: ") + ", ".join(shown) + more


class _Merger:
    def __init__(self, countries: set[str] | None):
        self.kb = KnowledgeBase()
        self.countries = countries

    def add(self, parsed: dict[str, list], origin: str) -> None:
        kb = self.kb
        for section in ("documents", "concepts", "entities"):
            target = getattr(kb, section)
            for entry in parsed[section]:
                if entry.id in target:
                    first = kb.origins[(section, entry.id)]
                    raise TiplensError(f"{origin}: {_SINGULAR[section]} '{entry.id}' is a duplicate id: it is "
                                       f"already defined in {first}. Choose another id (ids are unique across "
                                       "the package knowledge base and every --kb file).")
                target[entry.id] = entry
                kb.origins[(section, entry.id)] = origin
        for section in ("relations", "memberships", "rows"):
            seen = {x.id for x in getattr(kb, section)}
            for entry in parsed[section]:
                if entry.id in seen:
                    raise TiplensError(f"{origin}: {_SINGULAR[section]} '{entry.id}' is a duplicate: the same "
                                       f"{_SINGULAR[section]} is already defined in "
                                       f"{kb.origins[(section, entry.id)]}.")
                seen.add(entry.id)
                getattr(kb, section).append(entry)
                kb.origins[(section, entry.id)] = origin
        kb.files.append(origin)

    # -- references --------------------------------------------------------------------------
    def _fail(self, section: str, entry_id: str, problem: str) -> None:
        origin = self.kb.origins.get((section, entry_id), PACKAGE)
        raise TiplensError(f"{origin}: {_SINGULAR[section]} '{entry_id}': {problem}")

    def _check_sources(self, section: str, entry_id: str, sources: list[str]) -> None:
        for doc in sources:
            if doc not in self.kb.documents:
                self._fail(section, entry_id, f"source '{doc}' is not a known document; add it under "
                           f"'documents' or use a known id ({_closest(doc, self.kb.documents)})")

    def _check_concepts(self, section: str, entry_id: str, concepts: list[str]) -> None:
        for concept in concepts:
            if concept not in self.kb.concepts:
                self._fail(section, entry_id, f"concept '{concept}' is unknown; valid concepts: "
                           f"{', '.join(self.kb.concepts)}")

    def _check_entity(self, section: str, entry_id: str, role: str, value: str) -> None:
        if value not in self.kb.entities:
            self._fail(section, entry_id, f"{role} '{value}' is not a known actor, framework or other entity "
                       f"({_closest(value, self.kb.entities)})")

    def _check_country(self, section: str, entry_id: str, role: str, value: str) -> None:
        if self.countries is not None and value not in self.countries:
            self._fail(section, entry_id, f"{role} '{value}' is not a country ISO3 code known to the store "
                       f"({_closest(value, self.countries)})")

    def check(self) -> KnowledgeBase:
        kb = self.kb
        for concept in kb.concepts.values():
            self._check_sources("concepts", concept.id, concept.references)
        for entity in kb.entities.values():
            self._check_sources("entities", entity.id, entity.sources)
            self._check_concepts("entities", entity.id, entity.concepts)
        for relation in kb.relations:
            self._check_sources("relations", relation.id, relation.sources)
            self._check_concepts("relations", relation.id, relation.concepts)
            self._check_entity("relations", relation.id, "'from'", relation.from_)
            if relation.type == "operates_in" and relation.to.isupper():
                self._check_country("relations", relation.id, "'to'", relation.to)
            else:
                self._check_entity("relations", relation.id, "'to'", relation.to)
        for membership in kb.memberships:
            self._check_sources("memberships", membership.id, membership.sources)
            self._check_entity("memberships", membership.id, "'entity'", membership.entity)
            self._check_country("memberships", membership.id, "'country'", membership.country)
        for row in kb.rows:
            self._check_concepts("rows", row.id, row.concepts)
            for entity in row.entities:
                self._check_entity("rows", row.id, "entity", entity)
            for correction in row.corrections:
                self._check_sources("rows", row.id, correction.sources)
        return kb


@lru_cache(maxsize=1)
def _package_parsed() -> tuple[tuple[str, dict[str, list]], ...]:
    folder = resources.files("tiplens.lens").joinpath("data")
    out = []
    for name in PACKAGE_FILES:
        origin = f"{PACKAGE}:{name}"
        out.append((origin, _parse(_read_yaml(folder.joinpath(name).read_text(encoding="utf-8"), origin), origin)))
    return tuple(out)


def load_kb(extra: Iterable[str | Path] | None = None, *, countries: Iterable[str] | None = None) -> KnowledgeBase:
    """The package knowledge base plus the user's files in ``extra``, validated together.

    Parameters
    ----------
    extra
        Paths of YAML files with any of the sections ``documents``, ``concepts``, ``entities``,
        ``relations``, ``memberships``. They may cite and link to the package's entries.
    countries
        Valid ISO3 codes (usually ``store.countries()['iso3']``); when given, countries named in
        relations and memberships are checked against them.

    Raises
    ------
    TiplensError
        For an unreadable file, an invalid field, a duplicate id, or a reference to an unknown
        document, concept, entity or country; the message names the file and the entry.
    """
    merger = _Merger(set(countries) if countries is not None else None)
    for origin, parsed in _package_parsed():
        merger.add(parsed, origin)
    for path in extra or []:
        path = Path(path)
        if not path.is_file():
            raise TiplensError(f"{path}: knowledge-base file not found; give the path of a YAML file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise TiplensError(f"{path}: not UTF-8 text; save the YAML file as UTF-8") from None
        origin = str(path)
        if origin in merger.kb.files:
            raise TiplensError(f"{path}: given twice with --kb; every entry in it would be a duplicate")
        merger.add(_parse(_read_yaml(text, origin), origin), origin)
    return merger.check()
