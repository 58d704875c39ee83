"""The cooperation knowledge base: package content, sources, and bad user files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tiplens.errors import TiplensError
from tiplens.lens.kb import ACTOR_SUBTYPES, ENTITY_TYPES, RELATION_TYPES, load_kb

#: ISO3 codes accepted in the user-file tests (a small stand-in for store.countries()).
COUNTRIES = ["DNK", "TLS", "IDN", "USA", "FRA"]


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the package knowledge base ------------------------------------------------------------------
def test_issue_entities_are_all_there_with_their_types(kb):
    # the entities the issue lists, by type (read off the issue text by hand)
    expected = {
        "instrument": ["palermo_protocol", "untoc", "coe_cets197", "eu_directive_2011_36", "eu_directive_2024_1712",
                       "asean_actip", "saarc_convention_2002", "ilo_p029", "us_tvpa"],
        "process": ["bali_process", "alliance_8_7", "icat", "un_global_plan_of_action", "blue_heart_campaign",
                    "dhs_blue_campaign"],
        "programme": ["glo_act", "asean_act"],
        "monitoring_body": ["greta"],
        "actor": ["unodc", "iom", "ilo", "unicef", "interpol", "asean", "ecpat", "polaris",
                  "anti_slavery_international", "la_strada", "gaatw", "usaid", "us_dhs"],
    }
    for entity_type, ids in expected.items():
        for entity_id in ids:
            assert kb.entities[entity_id].type == entity_type, entity_id
    assert {e.type for e in kb.entities.values()} <= set(ENTITY_TYPES)
    assert {e.subtype for e in kb.entities.values() if e.type == "actor"} == set(ACTOR_SUBTYPES)
    assert {r.type for r in kb.relations} <= set(RELATION_TYPES)


def test_every_entry_cites_a_document_or_says_why_not(kb):
    for entry in [*kb.entities.values(), *kb.relations]:
        assert entry.sources or entry.source_missing, entry.id
        assert all(d in kb.documents for d in entry.sources)
        assert entry.concepts and set(entry.concepts) <= set(kb.concepts)
    for document in kb.documents.values():
        assert document.citation and document.year
    # GLO.ACT's funder and implementers cite UNODC's own project page (not the seed paper, which
    # pairs GLO.ACT with Interpol)
    glo_act = [r for r in kb.relations if r.to == "glo_act"]
    assert {(r.from_, r.type) for r in glo_act} == {("eu", "funds"), ("unodc", "implements"),
                                                    ("iom", "partners_with"), ("unicef", "partners_with")}
    assert all(r.sources == ["unodc_gloact_overview"] for r in glo_act)
    assert sum(1 for e in [*kb.entities.values(), *kb.relations] if e.source_missing) == 2  # ICAT, GAATW
    assert not any(r.from_ == "interpol" and r.to == "glo_act" for r in kb.relations)


def test_concepts_define_and_reference_the_liberal_canon(kb):
    assert set(kb.concepts) == {"institutions_regimes", "complex_interdependence", "transnational_advocacy_networks",
                                "human_rights_norms", "rule_of_law", "state_preferences", "development_root_causes"}
    cited = {d for c in kb.concepts.values() for d in c.references}
    assert {"keohane_1984", "keohane_nye_1977", "moravcsik_1997", "donnelly_2013", "keck_sikkink_1998"} <= cited
    assert all(len(c.definition) > 80 for c in kb.concepts.values())


def test_dates_are_the_sources_dates_or_unknown(kb, real_data):
    # every entity citing frameworks.csv carries exactly that file's adopted/in_force years; an
    # empty cell stays unknown (read from the CSV with the csv module, not through tiplens)
    with open(real_data / "cooperation_membership" / "frameworks.csv", encoding="utf-8", newline="") as fh:
        frameworks = {row["id"]: row for row in csv.DictReader(fh)}
    checked = 0
    for entity_id, row in frameworks.items():
        if entity_id not in kb.entities:
            continue
        entity = kb.entities[entity_id]
        assert entity.founded == (int(row["adopted"][:4]) if row["adopted"] else None), entity_id
        assert entity.in_force == (int(row["in_force"][:4]) if row["in_force"] else None), entity_id
        checked += 1
    assert checked == len(frameworks) == 13  # every framework of the CSV is in the knowledge base
    assert kb.entities["eu_directive_2011_36"].in_force is None
    # no date from memory: entities that only the seed paper sources carry no date (it gives none)
    for entity in kb.entities.values():
        if entity.sources == ["seed_paper"] or entity.source_missing:
            assert entity.founded is None and entity.in_force is None, entity.id


def test_counts(kb):
    counts = kb.counts()
    assert counts["entities"] == len(kb.entities) == sum(counts["entities_by_type"].values())
    assert counts["table_rows"] == 7
    assert counts["files"][0] == "package:documents.yaml"


# -- user files ----------------------------------------------------------------------------------
GOOD = """
documents:
  - {id: my_report, citation: "My NGO, Annual report on shelters", year: 2024, locator: "p. 12"}
entities:
  - id: my_shelter_network
    name: My shelter network
    type: actor
    subtype: ngo_network
    region: Europe
    concepts: [transnational_advocacy_networks]
    sources: [my_report]
relations:
  - {from: my_shelter_network, type: partners_with, to: la_strada, concepts: [human_rights_norms],
     sources: [my_report]}
  - {from: my_shelter_network, type: operates_in, to: FRA, concepts: [human_rights_norms], sources: [my_report]}
memberships:
  - {country: FRA, entity: alliance_8_7, status: member, date: "2019", sources: [my_report]}
"""


def test_a_user_file_extends_the_knowledge_base(tmp_path):
    path = write(tmp_path, "mine.yaml", GOOD)
    kb = load_kb([path], countries=COUNTRIES)
    assert kb.entities["my_shelter_network"].subtype == "ngo_network"
    assert kb.origins[("entities", "my_shelter_network")] == str(path)
    assert kb.origins[("entities", "unodc")] == "package:entities.yaml"
    assert len(kb.relations) == len(load_kb().relations) + 2
    assert kb.memberships[0].country == "FRA"
    frame = kb.entities_frame()
    assert frame.loc[frame["id"] == "my_shelter_network", "origin"].item() == str(path)


@pytest.mark.parametrize("text, expected", [
    # broken reference: unknown actor in a relation
    ("relations:\n  - {from: unodcc, type: implements, to: untoc, concepts: [rule_of_law], sources: [seed_paper]}\n",
     ["relation 'unodcc implements untoc'", "'from' 'unodcc' is not a known actor, framework", "closest: unodc"]),
    # broken reference: unknown framework
    ("relations:\n  - {from: unodc, type: implements, to: palermo, concepts: [rule_of_law], sources: [seed_paper]}\n",
     ["'to' 'palermo' is not a known", "palermo_protocol"]),
    # broken reference: unknown country
    ("memberships:\n  - {country: XYZ, entity: untoc, status: party, sources: [seed_paper]}\n",
     ["membership 'XYZ party untoc'", "'country' 'XYZ' is not a country ISO3 code"]),
    ("relations:\n  - {from: polaris, type: operates_in, to: ZZZ, concepts: [rule_of_law], sources: [seed_paper]}\n",
     ["'to' 'ZZZ' is not a country ISO3 code"]),
    # duplicate id of a package entity
    ("entities:\n  - {id: unodc, name: Mine, type: programme, concepts: [rule_of_law], sources: [seed_paper]}\n",
     ["entity 'unodc' is a duplicate id", "already defined in package:entities.yaml"]),
    # unknown concept
    ("entities:\n  - {id: mine, name: Mine, type: programme, concepts: [realism], sources: [seed_paper]}\n",
     ["entity 'mine': concept 'realism' is unknown", "valid concepts: institutions_regimes"]),
    # unknown document
    ("entities:\n  - {id: mine, name: Mine, type: programme, concepts: [rule_of_law], sources: [my_doc]}\n",
     ["source 'my_doc' is not a known document"]),
    # no source at all
    ("entities:\n  - {id: mine, name: Mine, type: programme, concepts: [rule_of_law]}\n",
     ["entity 1 (mine)", "cites no source"]),
    # invalid type and relation type, with the valid values
    ("entities:\n  - {id: mine, name: Mine, type: treaty, concepts: [rule_of_law], sources: [seed_paper]}\n",
     ["field 'type': 'treaty' is not valid; expected 'instrument', 'process'"]),
    ("relations:\n  - {from: unodc, type: supports, to: untoc, concepts: [rule_of_law], sources: [seed_paper]}\n",
     ["field 'type': 'supports' is not valid", "'operates_in'"]),
    ("entities:\n  - {id: mine, name: Mine, type: actor, subtype: charity, concepts: [rule_of_law], "
     "sources: [seed_paper]}\n", ["actor subtype 'charity' is not one of un_agency"]),
    ("entities:\n  - {id: Mine, name: Mine, type: programme, concepts: [rule_of_law], sources: [seed_paper]}\n",
     ["field 'id': 'Mine' is not lower-case letters"]),
    ("entities:\n  - {id: mine, name: Mine, type: programme, concept: [rule_of_law], sources: [seed_paper]}\n",
     ["field 'concept': is not a known field"]),
    ("memberships:\n  - {country: FRA, entity: untoc, status: ratified, sources: [seed_paper]}\n",
     ["field 'status': 'ratified' is not valid; expected 'party'"]),
    ("entity:\n  - {id: mine}\n", ["unknown section(s) entity; valid sections: documents"]),
    ("entities: [\n", ["not valid YAML"]),
])
def test_bad_user_files_name_file_entry_and_what_is_valid(tmp_path, text, expected):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(TiplensError) as info:
        load_kb([path], countries=COUNTRIES)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for part in expected:
        assert part in message, message


def test_duplicate_within_and_across_user_files(tmp_path):
    entity = "  - {id: mine, name: Mine, type: programme, concepts: [rule_of_law], sources: [seed_paper]}\n"
    twice = write(tmp_path, "twice.yaml", "entities:\n" + entity + entity)
    with pytest.raises(TiplensError, match="twice.yaml: entity 'mine' is a duplicate id: it is already defined in "
                                           ".*twice.yaml"):
        load_kb([twice])
    first, second = write(tmp_path, "a.yaml", "entities:\n" + entity), write(tmp_path, "b.yaml", "entities:\n" + entity)
    with pytest.raises(TiplensError, match=r"b.yaml: entity 'mine' is a duplicate id: it is already defined in .*a.yaml"):
        load_kb([first, second])
    relation = "relations:\n  - {from: unodc, type: implements, to: untoc, concepts: [rule_of_law], sources: [seed_paper]}\n"
    with pytest.raises(TiplensError, match="relation 'unodc implements untoc' is a duplicate.*package:relations.yaml"):
        load_kb([write(tmp_path, "rel.yaml", relation)])


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(TiplensError, match="knowledge-base file not found"):
        load_kb([tmp_path / "nope.yaml"])


def test_every_entity_of_the_paper_table_is_sourced(kb):
    for row in kb.rows:
        for entity_id in row.entities:
            entity = kb.entities[entity_id]
            assert entity.sources and not entity.source_missing, (row.row, entity_id)
        assert row.corrections  # every row was checked; each has at least one correction or caveat
