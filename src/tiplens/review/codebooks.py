"""Codebooks: versioned, hierarchical YAML files that say what each code means.

A codebook file looks like this (the shipped ones are in ``review/codebooks/``)::

    name: liberalism
    version: "1.0"
    title: Liberalism in International Relations
    description: ...
    coders:                       # settings tuned on the tuning half of the validation set
      dictionary: {min_terms: 1}
      embedding: {threshold: 0.35, top: 2}
    codes:
      - code: cooperation         # identifier, unique in the codebook
        name: International cooperation and institutions
        parent: null              # or the identifier of another code
        definition: ...           # required
        when_to_use: ...
        when_not_to_use: ...
        keywords: [multilateral, "international cooperation", cooperat*]   # * = any word ending
        patterns: ['\\bUNODC\\b']  # regular expressions (case-insensitive)
        examples: ["A sentence that this code fits."]

Every problem (duplicate code, a parent that does not exist, a missing definition, a bad
pattern) raises one :class:`~tiplens.errors.TiplensError` naming the file and the code.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from ..errors import TiplensError

#: The codebooks that ship with tiplens, by name.
SHIPPED = ("liberalism", "realism", "constructivism")

CODE_FIELDS = ("code", "name", "parent", "definition", "when_to_use", "when_not_to_use", "keywords",
               "patterns", "examples")
_TOP_FIELDS = ("name", "version", "title", "description", "source", "coders", "codes")
_CODE_ID = re.compile(r"^[a-z][a-z0-9_.-]*$")

DEFAULT_CODERS = {"dictionary": {"min_terms": 1}, "embedding": {"threshold": 0.35, "top": 2}}


@dataclass(frozen=True)
class Code:
    """One code of a codebook; ``parent`` is None for a top-level code."""

    code: str
    name: str
    definition: str
    parent: str | None = None
    when_to_use: str = ""
    when_not_to_use: str = ""
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("keywords", "patterns", "examples"):
            data[key] = list(data[key])
        return {key: data[key] for key in CODE_FIELDS}


@dataclass(frozen=True)
class Codebook:
    """A named, versioned set of codes (a tree through ``parent``)."""

    name: str
    version: str
    codes: tuple[Code, ...]
    title: str = ""
    description: str = ""
    source: str = ""
    coders: dict = field(default_factory=dict)
    origin: str = ""  # where it was read from: "shipped", a file path, or "store"

    def code(self, code: str) -> Code:
        for item in self.codes:
            if item.code == code:
                return item
        raise TiplensError(f"codebook {self.name}: no code {code!r}; codes: {', '.join(self.code_ids)}")

    @property
    def code_ids(self) -> list[str]:
        return [c.code for c in self.codes]

    def top_level(self, code: str) -> str:
        """The top-level ancestor of a code (itself when it has no parent)."""
        parents = {c.code: c.parent for c in self.codes}
        while parents.get(code):
            code = parents[code]
        return code

    def children(self, code: str | None) -> list[Code]:
        return [c for c in self.codes if c.parent == code]

    def setting(self, coder: str, key: str):
        return {**DEFAULT_CODERS.get(coder, {}), **(self.coders or {}).get(coder, {})}.get(key)

    def as_dict(self) -> dict:
        """The YAML structure (what :func:`write_codebook` writes and :func:`parse_codebook` reads)."""
        data = {"name": self.name, "version": self.version, "title": self.title,
                "description": self.description, "source": self.source, "coders": self.coders,
                "codes": [c.as_dict() for c in self.codes]}
        return data


def _text(value, where: str, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    raise TiplensError(f"{where}: {name} must be text, found {type(value).__name__}")


def _texts(value, where: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise TiplensError(f"{where}: {name} must be a list of texts")
    return tuple(str(v).strip() for v in value if str(v).strip())


def parse_codebook(data, source: str) -> Codebook:
    """Build and validate a codebook from its YAML structure; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise TiplensError(f"{source}: a codebook is a mapping with name, version and codes")
    unknown = set(data) - set(_TOP_FIELDS)
    if unknown:
        raise TiplensError(f"{source}: unknown field(s) {sorted(unknown)}; valid: {', '.join(_TOP_FIELDS)}")
    name = _text(data.get("name"), source, "name")
    if not name or not _CODE_ID.match(name):
        raise TiplensError(f"{source}: the codebook needs a name of lower-case letters, digits, '_', '-' "
                           f"(found {data.get('name')!r})")
    version = _text(data.get("version"), source, "version")
    if not version:
        raise TiplensError(f"{source}: codebook {name} has no version; add e.g. version: \"1.0\"")
    raw_codes = data.get("codes")
    if not isinstance(raw_codes, list) or not raw_codes:
        raise TiplensError(f"{source}: codebook {name} has no codes (a list under 'codes:')")
    coders = data.get("coders") or {}
    # Settings are single values: a nested structure here could be an alias bomb that every
    # reader printing the codebook (codebook show --json) would expand.
    if not isinstance(coders, dict) or not all(
            isinstance(coder, str) and isinstance(settings, dict)
            and all(isinstance(key, str) and isinstance(value, (str, int, float, bool)) for key, value in
                    settings.items())
            for coder, settings in coders.items()):
        raise TiplensError(f"{source}: 'coders' must map each coder to its settings (single values), such as "
                           f"{DEFAULT_CODERS}")
    codes, seen = [], set()
    for number, entry in enumerate(raw_codes, start=1):
        if not isinstance(entry, dict):
            raise TiplensError(f"{source}: code number {number} is not a mapping")
        code_id = _text(entry.get("code"), f"{source}: code number {number}", "code")
        where = f"{source}: code {code_id!r}" if code_id else f"{source}: code number {number}"
        if not code_id:
            raise TiplensError(f"{where}: has no 'code' identifier")
        if not _CODE_ID.match(code_id):
            raise TiplensError(f"{where}: identifiers use lower-case letters, digits, '_', '.', '-'")
        unknown = set(entry) - set(CODE_FIELDS)
        if unknown:
            raise TiplensError(f"{where}: unknown field(s) {sorted(unknown)}; valid: {', '.join(CODE_FIELDS)}")
        if code_id in seen:
            raise TiplensError(f"{where}: duplicate code (each code appears once in a codebook)")
        seen.add(code_id)
        definition = _text(entry.get("definition"), where, "definition")
        if not definition:
            raise TiplensError(f"{where}: no definition (every code needs one: what it means)")
        patterns = _texts(entry.get("patterns"), where, "patterns")
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise TiplensError(f"{where}: pattern {pattern!r} is not a valid regular expression ({exc})") from None
        parent = _text(entry.get("parent"), where, "parent") or None
        codes.append(Code(code=code_id, name=_text(entry.get("name"), where, "name") or code_id,
                          definition=definition, parent=parent,
                          when_to_use=_text(entry.get("when_to_use"), where, "when_to_use"),
                          when_not_to_use=_text(entry.get("when_not_to_use"), where, "when_not_to_use"),
                          keywords=_texts(entry.get("keywords"), where, "keywords"), patterns=patterns,
                          examples=_texts(entry.get("examples"), where, "examples")))
    for item in codes:
        if item.parent is not None and item.parent not in seen:
            raise TiplensError(f"{source}: code {item.code!r}: parent {item.parent!r} is not a code of this "
                               f"codebook; codes: {', '.join(sorted(seen))}")
    parents = {c.code: c.parent for c in codes}
    for item in codes:
        chain, current = {item.code}, item.parent
        while current:
            if current in chain:
                raise TiplensError(f"{source}: code {item.code!r}: its parents form a cycle through {current!r}")
            chain.add(current)
            current = parents[current]
    return Codebook(name=name, version=version, codes=tuple(codes),
                    title=_text(data.get("title"), source, "title"),
                    description=_text(data.get("description"), source, "description"),
                    source=_text(data.get("source"), source, "source"), coders=coders, origin=source)


def read_codebook_file(path: str | Path) -> Codebook:
    """Read a codebook from a YAML file or a REFI-QDA ``.qdc`` file."""
    path = Path(path)
    if not path.is_file():
        raise TiplensError(f"{path}: no such codebook file")
    if path.suffix.lower() == ".qdc":
        from .qda import read_qdc
        return read_qdc(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise TiplensError(f"{path}:{line} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except UnicodeDecodeError:
        raise TiplensError(f"{path}: not UTF-8 text; save the codebook as UTF-8") from None
    except RecursionError:
        # the YAML composer recurses once per nesting level; no codebook nests more than a few
        raise TiplensError(f"{path}: nested too deeply to be a codebook (lists or mappings inside each other "
                           "hundreds of levels deep)") from None
    book = parse_codebook(data, str(path))
    return Codebook(**{**book.__dict__, "origin": str(path)})


def shipped_codebook(name: str) -> Codebook:
    """One of the codebooks that ship with tiplens (see :data:`SHIPPED`)."""
    if name not in SHIPPED:
        raise TiplensError(f"no shipped codebook {name!r}; shipped: {', '.join(SHIPPED)}")
    text = resources.files("tiplens.review").joinpath("codebooks", f"{name}.yaml").read_text(encoding="utf-8")
    book = parse_codebook(yaml.safe_load(text), f"codebooks/{name}.yaml")
    return Codebook(**{**book.__dict__, "origin": "shipped"})


def to_yaml(book: Codebook) -> str:
    """The codebook as YAML text (reads back to an equal codebook)."""
    return yaml.safe_dump(book.as_dict(), sort_keys=False, allow_unicode=True, width=100)


def write_codebook(book: Codebook, path: str | Path) -> Path:
    """Write a codebook as YAML (``.yaml``/``.yml``) or REFI-QDA (``.qdc``), by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".qdc":
        from .qda import write_qdc
        return write_qdc(book, path)
    if suffix not in (".yaml", ".yml"):
        raise TiplensError(f"{path}: write a codebook as .yaml, .yml or .qdc (REFI-QDA)")
    path.write_text(to_yaml(book), encoding="utf-8")
    return path


def codes_table(book: Codebook) -> pd.DataFrame:
    """One row per code: code, name, parent, top (top-level ancestor), level, definition,
    when_to_use, when_not_to_use, keywords and examples (joined by '; ') and their counts."""
    rows = []
    parents = {c.code: c.parent for c in book.codes}  # one lookup table: a long codebook stays linear
    for item in book.codes:
        level, top = 0, item.code
        while parents.get(top):
            level += 1
            top = parents[top]
        rows.append({"code": item.code, "name": item.name, "parent": item.parent, "top": top,
                     "level": level, "definition": item.definition, "when_to_use": item.when_to_use,
                     "when_not_to_use": item.when_not_to_use, "keywords": "; ".join(item.keywords),
                     "patterns": "; ".join(item.patterns), "examples": "; ".join(item.examples),
                     "n_keywords": len(item.keywords) + len(item.patterns), "n_examples": len(item.examples)})
    return pd.DataFrame(rows)
