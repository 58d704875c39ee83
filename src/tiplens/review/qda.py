"""REFI-QDA codebook exchange (``.qdc``): export to and import from NVivo, ATLAS.ti, MAXQDA, QualCoder.

The REFI-QDA codebook format (namespace ``urn:QDA-XML:codebook:1.0``) knows a code's name,
colour, whether it can be coded, its description and its children. Everything else a tiplens
codebook holds (the code identifier, when to use, when not to use, keywords, patterns, example
sentences) is written into the code's ``<Description>`` after the definition, under a marker
line, as YAML that :func:`read_qdc` reads back. The codebook's own name, version, title and
coder settings travel the same way in the description of one code set named after the
codebook. A codebook made in another program (no marker) imports with its descriptions as
definitions and no keywords, so only the embedding coder can use it until keywords are added.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from .._version import __version__
from ..errors import TiplensError
from .codebooks import Codebook, parse_codebook

NAMESPACE = "urn:QDA-XML:codebook:1.0"
MARKER = "--- tiplens fields (keep this block to re-import into tiplens) ---"
_NS = {"q": NAMESPACE}
_GUID_SPACE = uuid.UUID("5b2f6a0e-6f1c-4d38-9a53-1d0f3a7c2b11")  # fixed: the same code keeps its guid
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf"]


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_GUID_SPACE, "/".join(parts)))


def _description(definition: str, extra: dict) -> str:
    block = yaml.safe_dump(extra, sort_keys=False, allow_unicode=True, width=100).rstrip()
    return f"{definition}\n\n{MARKER}\n{block}\n"


def _split_description(text: str) -> tuple[str, dict | None, str | None]:
    """(definition, extra fields or None, problem) from a description written by :func:`_description`."""
    if MARKER not in text:
        return text.strip(), None, None
    definition, _, block = text.partition(MARKER)
    try:
        extra = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        return definition.strip(), None, f"the tiplens block is not valid YAML ({exc})"
    except RecursionError:
        return definition.strip(), None, "the tiplens block is nested too deeply"
    if not isinstance(extra, dict):
        return definition.strip(), None, "the tiplens block is not a mapping"
    return definition.strip(), extra, None


def codebook_to_qdc(book: Codebook) -> ET.ElementTree:
    """The codebook as a REFI-QDA ``CodeBook`` XML tree."""
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}CodeBook", {"origin": f"tiplens {__version__}"})
    codes_element = ET.SubElement(root, f"{{{NAMESPACE}}}Codes")
    top_colours = {c.code: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(book.children(None))}

    def add(parent_element, code):
        element = ET.SubElement(parent_element, f"{{{NAMESPACE}}}Code", {
            "guid": _guid(book.name, code.code), "name": code.name, "isCodable": "true",
            "color": top_colours[book.top_level(code.code)]})
        extra = {key: value for key, value in code.as_dict().items() if key not in ("name", "definition")}
        ET.SubElement(element, f"{{{NAMESPACE}}}Description").text = _description(code.definition, extra)
        for child in book.children(code.code):
            add(element, child)

    for top in book.children(None):
        add(codes_element, top)
    sets = ET.SubElement(root, f"{{{NAMESPACE}}}Sets")
    code_set = ET.SubElement(sets, f"{{{NAMESPACE}}}Set", {"guid": _guid(book.name, "@codebook"),
                                                            "name": f"{book.name} {book.version}"})
    meta = {"codebook": book.name, "version": book.version, "title": book.title,
            "description": book.description, "source": book.source, "coders": book.coders,
            "order": book.code_ids}
    ET.SubElement(code_set, f"{{{NAMESPACE}}}Description").text = _description(
        book.title or book.name, meta)
    for code in book.codes:
        ET.SubElement(code_set, f"{{{NAMESPACE}}}MemberCode", {"targetGUID": _guid(book.name, code.code)})
    ET.indent(root, space="  ")
    return ET.ElementTree(root)


def write_qdc(book: Codebook, path: str | Path) -> Path:
    """Write the codebook as a REFI-QDA ``.qdc`` file."""
    path = Path(path)
    codebook_to_qdc(book).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _slug(name: str) -> str:
    import re
    slug = re.sub(r"[^a-z0-9_.-]+", "_", name.strip().lower()).strip("_.-")
    return slug if slug and slug[0].isalpha() else f"code_{slug}"


def read_qdc(path: str | Path) -> Codebook:
    """Read a REFI-QDA ``.qdc`` codebook (written by tiplens or by another program)."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else "?"
        raise TiplensError(f"{path}: line {line}: not valid XML ({exc})") from None
    if root.tag != f"{{{NAMESPACE}}}CodeBook":
        raise TiplensError(f"{path}: not a REFI-QDA codebook (root element {root.tag!r}; expected CodeBook "
                           f"in namespace {NAMESPACE})")
    meta: dict = {}
    for code_set in root.findall("q:Sets/q:Set", _NS):
        description = code_set.findtext("q:Description", default="", namespaces=_NS)
        _, extra, _ = _split_description(description)
        if extra and "codebook" in extra:
            meta = extra
            break
    entries: list[dict] = []
    # Depth first, in document order, without recursion: a file may nest codes thousands deep.
    pending = [(top, None) for top in reversed(root.findall("q:Codes/q:Code", _NS))]
    while pending:
        element, parent_id = pending.pop()
        name = element.get("name") or ""
        definition, extra, problem = _split_description(element.findtext("q:Description", default="",
                                                                         namespaces=_NS))
        if problem:
            raise TiplensError(f"{path}: code {name!r}: {problem}")
        entry = {"code": _slug(name), "name": name, "parent": parent_id, "definition": definition}
        if extra:
            entry.update({k: v for k, v in extra.items() if k in ("code", "when_to_use", "when_not_to_use",
                                                                  "keywords", "patterns", "examples")})
        # The parent comes from the nesting, so a code moved in another program keeps its new place.
        entries.append(entry)
        pending.extend((child, entry["code"]) for child in reversed(element.findall("q:Code", _NS)))
    if not entries:
        raise TiplensError(f"{path}: the codebook has no codes")
    order = meta.get("order")
    if isinstance(order, list):  # only a list of identifiers orders the codes; anything else is ignored
        rank = {code: i for i, code in enumerate(order) if isinstance(code, str)}
        entries.sort(key=lambda e: rank.get(e["code"], len(rank)) if isinstance(e["code"], str) else len(rank))
    data = {"name": meta.get("codebook") or _slug(path.stem), "version": str(meta.get("version") or "1.0"),
            "title": meta.get("title") or "", "description": meta.get("description") or "",
            "source": meta.get("source") or "", "coders": meta.get("coders") or {}, "codes": entries}
    book = parse_codebook(data, str(path))
    return Codebook(**{**book.__dict__, "origin": str(path)})
