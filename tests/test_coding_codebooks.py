"""Codebooks: the shipped three, validation errors naming file and code, REFI-QDA round trip."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tiplens.errors import TiplensError
from tiplens.review.codebooks import (SHIPPED, codes_table, read_codebook_file, shipped_codebook, to_yaml,
                                      write_codebook)
from tiplens.review.qda import MARKER, NAMESPACE, read_qdc, write_qdc


def test_shipped_codebooks_cover_the_concepts_of_the_issue():
    liberalism = shipped_codebook("liberalism")
    # The concepts the issue (and the seed paper) name for the liberal lens, one top-level code each.
    assert [c.code for c in liberalism.children(None)] == [
        "cooperation", "interdependence", "non_state_actors", "human_rights", "rule_of_law", "root_causes",
        "technology_governance"]
    assert [c.code for c in shipped_codebook("realism").codes] == [
        "sovereignty_security", "state_interest_power", "border_control"]
    assert [c.code for c in shipped_codebook("constructivism").codes] == [
        "norms", "identity", "socialisation", "framing"]
    for name in SHIPPED:
        for code in shipped_codebook(name).codes:
            assert code.definition and code.when_to_use and code.when_not_to_use and code.examples
            assert code.keywords or code.patterns


def test_hierarchy_and_codes_table():
    book = shipped_codebook("liberalism")
    assert book.top_level("cooperation.institutions") == "cooperation"
    assert book.top_level("rule_of_law") == "rule_of_law"
    table = codes_table(book)
    row = table.set_index("code").loc["non_state_actors.advocacy"]
    assert (row["parent"], row["top"], row["level"]) == ("non_state_actors", "non_state_actors", 1)


def _write(tmp_path: Path, codes: list[dict], name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"name": "mine", "version": "0.1", "codes": codes}), encoding="utf-8")
    return path


@pytest.mark.parametrize("codes, message", [
    ([{"code": "a", "definition": "A."}, {"code": "a", "definition": "Again."}], r"code 'a': duplicate code"),
    ([{"code": "a", "definition": "A."}, {"code": "b", "parent": "zz", "definition": "B."}],
     r"code 'b': parent 'zz' is not a code of this codebook"),
    ([{"code": "a", "definition": "A."}, {"code": "b", "keywords": ["x"]}], r"code 'b': no definition"),
    ([{"code": "a", "parent": "b", "definition": "A."}, {"code": "b", "parent": "a", "definition": "B."}],
     r"code 'a': its parents form a cycle"),
    ([{"code": "a", "definition": "A.", "patterns": ["(unclosed"]}], r"code 'a': pattern '\(unclosed' is not a valid"),
    ([{"code": "a", "definition": "A.", "keyword": ["typo"]}], r"code 'a': unknown field\(s\) \['keyword'\]"),
])
def test_bad_codebook_names_file_and_code(tmp_path, codes, message):
    path = _write(tmp_path, codes)
    with pytest.raises(TiplensError, match=rf"bad\.yaml: {message}"):
        read_codebook_file(path)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nversion: '1'\ncodes:\n  - code: a\n    definition: [unclosed\n", encoding="utf-8")
    with pytest.raises(TiplensError, match=r"broken\.yaml: line \d+ not valid YAML"):
        read_codebook_file(path)


def test_yaml_round_trip(tmp_path):
    for name in SHIPPED:
        book = shipped_codebook(name)
        back = read_codebook_file(write_codebook(book, tmp_path / f"{name}.yaml"))
        assert back.as_dict() == book.as_dict()
    assert yaml.safe_load(to_yaml(book))["name"] == book.name


@pytest.mark.parametrize("name", SHIPPED)
def test_qdc_round_trip_loses_nothing(tmp_path, name):
    book = shipped_codebook(name)
    back = read_qdc(write_qdc(book, tmp_path / f"{name}.qdc"))
    assert back.as_dict() == book.as_dict()
    # Exported twice, the file is the same byte for byte (guids derive from codebook and code).
    again = write_qdc(back, tmp_path / f"{name}-again.qdc")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(
        (tmp_path / f"{name}.qdc").read_bytes()).digest()


def test_qdc_is_refi_qda_shaped(tmp_path):
    book = shipped_codebook("liberalism")
    root = ET.parse(write_qdc(book, tmp_path / "l.qdc")).getroot()
    ns = {"q": NAMESPACE}
    assert root.tag == f"{{{NAMESPACE}}}CodeBook"
    tops = root.findall("q:Codes/q:Code", ns)
    # Seven top-level codes as nested Code elements; children nested inside their parent.
    assert [c.get("name") for c in tops][:2] == ["International cooperation and institutions", "Complex interdependence"]
    assert len(tops) == 7
    assert [c.get("name") for c in tops[0].findall("q:Code", ns)] == ["International organisations",
                                                                      "International agreements"]
    description = tops[0].findtext("q:Description", namespaces=ns)
    assert description.startswith(book.code("cooperation").definition) and MARKER in description
    assert all(c.get("guid") and c.get("isCodable") == "true" for c in root.iter(f"{{{NAMESPACE}}}Code"))
    members = root.findall("q:Sets/q:Set/q:MemberCode", ns)
    assert len(members) == len(book.codes)


def test_qdc_edited_in_another_program_keeps_its_edits(tmp_path):
    book = shipped_codebook("realism")
    path = write_qdc(book, tmp_path / "r.qdc")
    text = path.read_text(encoding="utf-8").replace('name="Border control"', 'name="Border and migration control"')
    path.write_text(text, encoding="utf-8")
    back = read_qdc(path)
    assert back.code("border_control").name == "Border and migration control"
    assert back.code("border_control").keywords == book.code("border_control").keywords


def test_qdc_from_another_program(tmp_path):
    path = tmp_path / "nvivo.qdc"
    path.write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="{NAMESPACE}" origin="Another program">
  <Codes>
    <Code guid="11111111-1111-1111-1111-111111111111" name="Gender" isCodable="true">
      <Description>Gender as a cause of vulnerability.</Description>
      <Code guid="22222222-2222-2222-2222-222222222222" name="Forced marriage" isCodable="true">
        <Description>Marriage without consent.</Description>
      </Code>
    </Code>
  </Codes>
</CodeBook>""", encoding="utf-8")
    book = read_qdc(path)
    assert (book.name, book.version) == ("nvivo", "1.0")
    assert [(c.code, c.parent, c.definition) for c in book.codes] == [
        ("gender", None, "Gender as a cause of vulnerability."),
        ("forced_marriage", "gender", "Marriage without consent.")]
    assert book.codes[0].keywords == ()
    path.write_text(path.read_text().replace("<Description>Marriage without consent.</Description>", ""))
    with pytest.raises(TiplensError, match=r"nvivo\.qdc: code 'forced_marriage': no definition"):
        read_qdc(path)


def test_bad_qdc(tmp_path):
    (tmp_path / "x.qdc").write_text("<CodeBook><Codes>", encoding="utf-8")
    with pytest.raises(TiplensError, match=r"x\.qdc: line \d+: not valid XML"):
        read_qdc(tmp_path / "x.qdc")
    (tmp_path / "y.qdc").write_text("<Project/>", encoding="utf-8")
    with pytest.raises(TiplensError, match=r"y\.qdc: not a REFI-QDA codebook"):
        read_qdc(tmp_path / "y.qdc")
