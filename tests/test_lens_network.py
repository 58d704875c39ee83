"""`tiplens lens network`: metrics pinned by hand on small graphs, and the network of the store."""

from __future__ import annotations

import csv
import json
import math

import networkx as nx
import pandas as pd
import pytest
from typer.testing import CliRunner

from tiplens import ingest, open_store
from tiplens._api_lens import lens_network, write_network
from tiplens.cli import app, to_jsonable
from tiplens.errors import TiplensError
from tiplens.lens.network import _project, betweenness, membership_edges, network_metrics, region_brokerage

from test_lens_kb import GOOD


# -- metrics by hand ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def path_graph():
    """Countries A, B, C and frameworks F1, F2: A-F1, B-F1, B-F2, C-F2 (a path A-F1-B-F2-C)."""
    edges = pd.DataFrame({"source": ["A", "B", "B", "C"], "target": ["F1", "F1", "F2", "F2"]})
    graph = nx.Graph(list(zip(edges["source"], edges["target"])))
    side = {"A": 0, "B": 0, "C": 0, "F1": 1, "F2": 1}
    return edges, graph, side


def test_metrics_on_a_path_worked_out_by_hand(path_graph):
    _, graph, side = path_graph
    metrics = network_metrics(graph, side=side).set_index("id")
    assert metrics["degree"].to_dict() == {"A": 1, "F1": 2, "B": 2, "F2": 2, "C": 1}
    # two-mode degree centrality: degree / size of the other mode (3 countries, 2 frameworks)
    assert metrics["degree_centrality"].to_dict() == pytest.approx(
        {"A": 1 / 2, "B": 2 / 2, "C": 1 / 2, "F1": 2 / 3, "F2": 2 / 3})
    # betweenness by hand: of the 6 pairs not involving the node, F1 lies on (A,B), (A,F2), (A,C) -> 3/6;
    # B on (A,F2), (A,C), (F1,F2), (F1,C) -> 4/6; F2 like F1; the ends on none
    assert metrics["betweenness"].to_dict() == pytest.approx({"A": 0, "F1": 0.5, "B": 4 / 6, "F2": 0.5, "C": 0})
    # eigenvector of the path P5: largest eigenvalue 2cos(pi/6) = sqrt(3), vector sin(j*pi/6), j = 1..5,
    # i.e. (1/2, sqrt3/2, 1, sqrt3/2, 1/2), whose length is sqrt(3): divide by it
    root3 = math.sqrt(3)
    assert metrics["eigenvector"].to_dict() == pytest.approx(
        {"A": 0.5 / root3, "F1": 0.5, "B": 1 / root3, "F2": 0.5, "C": 0.5 / root3}, abs=1e-9)
    assert set(metrics["component"]) == {0}


def test_one_mode_degree_centrality_by_hand(path_graph):
    _, graph, _ = path_graph
    metrics = network_metrics(graph).set_index("id")  # one-mode: degree / (n - 1) = degree / 4
    assert metrics["degree_centrality"].to_dict() == pytest.approx({"A": .25, "F1": .5, "B": .5, "F2": .5, "C": .25})


def test_brokerage_between_regions_by_hand(path_graph):
    edges, _, _ = path_graph
    regions = pd.Series({"A": "Africa", "B": "Africa", "C": "Europe"})
    out = region_brokerage(edges, regions).set_index("id")
    # F1 links A and B (both Africa): 1 region, diversity 0; F2 links B (Africa) and C (Europe): 1 - (1/4 + 1/4)
    assert out.loc["F1", ["countries_linked", "regions_bridged", "region_diversity"]].tolist() == [2, 1, 0.0]
    assert out.loc["F2", ["countries_linked", "regions_bridged", "region_diversity"]].tolist() == [2, 2, 0.5]
    # B shares F1 with A and F2 with C: Africa and Europe; A shares only with B; C only with B
    assert out.loc["B", "regions"] == "Africa, Europe" and out.loc["B", "region_diversity"] == 0.5
    assert out.loc["A", "regions_bridged"] == 1 and out.loc["C", "regions"] == "Africa"
    # an actor tied to F2 links F2's members
    actor = region_brokerage(edges, regions, pd.DataFrame({"source": ["X"], "target": ["F2"]})).set_index("id")
    assert actor.loc["X", "regions"] == "Africa, Europe"


def test_projections_by_hand(path_graph):
    edges, _, _ = path_graph
    countries = _project(edges, "source")
    assert sorted(zip(countries["source"], countries["target"], countries["weight"])) == [("A", "B", 1.0),
                                                                                          ("B", "C", 1.0)]
    frameworks = _project(edges, "target")
    assert list(zip(frameworks["source"], frameworks["target"], frameworks["weight"])) == [("F1", "F2", 1.0)]
    # two countries sharing two frameworks are tied with weight 2
    doubled = _project(pd.DataFrame({"source": ["A", "A", "B", "B"], "target": ["F1", "F2", "F1", "F2"]}), "source")
    assert doubled["weight"].tolist() == [2.0]


def test_louvain_splits_two_triangles_with_a_fixed_seed():
    # two triangles joined by one edge: the split has modularity 2 * (3/7 - (7/14)^2) = 5/14 by hand,
    # against 0 for one community, and is what Louvain finds
    graph = nx.Graph([(1, 2), (2, 3), (1, 3), (4, 5), (5, 6), (4, 6), (3, 4)])
    metrics = network_metrics(graph, seed=7).set_index("id")
    groups = metrics.groupby("community").groups
    assert sorted(sorted(g) for g in groups.values()) == [[1, 2, 3], [4, 5, 6]]
    assert nx.community.modularity(graph, [{1, 2, 3}, {4, 5, 6}]) == pytest.approx(5 / 14)
    assert network_metrics(graph, seed=7)["community"].tolist() == metrics["community"].tolist()


@pytest.mark.parametrize("seed", range(4))
def test_fast_betweenness_equals_networkx(seed):
    graph = nx.gnp_random_graph(70, 0.07, seed=seed)
    graph.add_edges_from([(100, 101), (101, 102)])  # a second component
    ours, theirs = betweenness(graph), nx.betweenness_centrality(graph, normalized=True)
    assert ours == pytest.approx(theirs, abs=1e-12)


# -- the network of the default store --------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("lens_network") / "s.duckdb", with_default=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def countries_net(store):
    return lens_network(db=store, mode="countries")


def test_palermo_ties_match_the_membership_file(countries_net, real_data):
    # parties counted straight from the published CSV (csv module), the EU excluded (not a country)
    with open(real_data / "cooperation_membership" / "palermo_protocol_xviii_12_a.csv", encoding="utf-8",
              newline="") as fh:
        parties = {r["iso3"] for r in csv.DictReader(fh) if r["status"].strip().lower() == "party" and r["iso3"] != "EUU"}
    edges = countries_net["edges"]
    palermo = edges[edges["target"] == "palermo_protocol"]
    assert set(palermo["source"]) == parties and len(parties) == 177
    nodes = countries_net["nodes"].set_index("id")
    assert nodes.loc["palermo_protocol", "degree"] == 177
    assert set(edges["status"]) <= {"party", "member"}
    countries = set(store_countries(countries_net))
    assert countries and all(len(c) == 3 and c.isupper() for c in countries)


def store_countries(result) -> list[str]:
    nodes = result["nodes"]
    return nodes.loc[nodes["kind"] == "country", "id"].tolist()


def test_membership_of_one_thing_never_implies_another(store, countries_net):
    edges = countries_net["edges"]
    ties = set(zip(edges["source"], edges["target"]))
    # Timor-Leste joined ASEAN (2025-10-26) but its ACTIP accession is not confirmed
    assert ("TLS", "asean") in ties and ("TLS", "asean_actip") not in ties
    # Denmark is an EU member, party to the CoE convention, and not bound by the EU directives
    assert ("DNK", "coe_cets197") in ties
    assert ("DNK", "eu_directive_2011_36") not in ties and ("DNK", "eu_directive_2024_1712") not in ties
    from tiplens.lens.kb import load_kb
    every = membership_edges(load_kb(), store.observations(source="membership"), store.records("membership_organisations"))
    status = every.set_index(["source", "target"])["status"]
    assert status[("TLS", "asean_actip")] == "unknown"
    assert status[("DNK", "eu_directive_2011_36")] == "not_bound"
    assert "unverified" in every.set_index(["source", "target"]).loc[("DNK", "eu_directive_2011_36"), "flag"]
    # Indonesia and Brunei signed ACTIP: signatories are not ties unless asked for
    assert status[("IDN", "asean_actip")] == "signatory" and ("IDN", "asean_actip") not in ties
    with_signatories = lens_network(db=store, statuses=("party", "member", "signatory"))["edges"]
    assert ("IDN", "asean_actip") in set(zip(with_signatories["source"], with_signatories["target"]))


def test_actor_and_all_modes(store):
    actors = lens_network(db=store, mode="actors")
    ties = set(zip(actors["edges"]["source"], actors["edges"]["target"], actors["edges"]["type"]))
    assert ("eu", "palermo_protocol", "party_to") in ties      # the EU row of the Palermo table
    assert ("iom", "bali_process", "member_of") in ties        # Bali Process member organisations
    assert ("greta", "coe_cets197", "monitors") in ties
    assert ("unodc", "glo_act", "implements") in ties
    assert not actors["edges"]["source"].str.fullmatch(r"[A-Z]{3}").any()
    unsourced = actors["edges"][~actors["edges"]["sourced"]]
    assert unsourced.empty  # GLO.ACT's funder and partners cite UNODC's project page
    full = lens_network(db=store, mode="all")
    funds = full["edges"][full["edges"]["type"] == "funds"].set_index("target")
    assert {"iom", "unodc", "unicef", "polaris", "la_strada", "anti_slavery_international", "ecpat"} <= set(funds.index)
    assert funds.drop(index="glo_act")["year"].between(2001, 2014).all()  # US G/TIP grants 2001-2014
    assert funds.loc["glo_act", "year"] == 2015  # the EU's GLO.ACT funding from 2015 (UNODC's page)
    projection = lens_network(db=store, mode="framework-projection")
    weights = projection["edges"].set_index(["source", "target"])["weight"]
    # Palermo and UNTOC share the countries party to both (computed from the countries-mode ties)
    assert weights[("palermo_protocol", "untoc")] > 100


def test_both_projection_modes_run_on_the_default(store):
    countries = lens_network(db=store, mode="country-projection")
    assert countries["summary"]["frameworks"] == 0 and countries["summary"]["countries"] > 150
    actors = lens_network(db=store, mode="actor-projection")
    assert actors["summary"]["countries"] == 0 and actors["summary"]["actors"] > 5


def test_user_file_adds_ties(store, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = lens_network(db=store, mode="countries", extra=[path])
    mine = result["edges"][result["edges"]["target"] == "alliance_8_7"]
    assert mine[["source", "type", "status", "year"]].values.tolist() == [["FRA", "member_of", "member", 2019]]
    assert mine["citation"].item() == "My NGO, Annual report on shelters"
    full = lens_network(db=store, mode="all", extra=[path])
    assert ("my_shelter_network", "FRA") in set(zip(full["edges"]["source"], full["edges"]["target"]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("memberships:\n  - {country: FRA, entity: alliance_87, status: member, sources: [seed_paper]}\n")
    with pytest.raises(TiplensError, match="bad.yaml: membership 'FRA member alliance_87': 'entity' 'alliance_87' is "
                                           "not a known actor, framework or other entity \\(closest: alliance_8_7"):
        lens_network(db=store, extra=[bad])


def test_exports(countries_net, tmp_path):
    written = write_network(countries_net, graphml=tmp_path / "g.graphml", out=tmp_path / "nodes.csv",
                            chart=tmp_path / "net.html")
    graph = nx.read_graphml(tmp_path / "g.graphml")
    assert graph.number_of_nodes() == countries_net["summary"]["nodes"]
    assert graph.number_of_edges() == countries_net["summary"]["edges"]
    assert graph.nodes["DNK"]["kind"] == "country" and graph.nodes["palermo_protocol"]["degree"] == 177
    assert len(pd.read_csv(tmp_path / "nodes.csv")) == countries_net["summary"]["nodes"]
    assert len(pd.read_csv(tmp_path / "nodes_edges.csv")) == len(countries_net["edges"])
    html = (tmp_path / "net.html").read_text(encoding="utf-8")
    assert "plotly" in html and "palermo_protocol" in html
    assert written[-1] == tmp_path / "net.html"
    with pytest.raises(TiplensError, match="charts are written as .html or .png"):
        write_network(countries_net, chart=tmp_path / "net.svg")


def test_bad_mode_and_status(store):
    with pytest.raises(TiplensError, match="--mode 'bipartite' is not a network mode; valid: countries, actors"):
        lens_network(db=store, mode="bipartite")
    with pytest.raises(TiplensError, match="status ratified is not a membership status"):
        lens_network(db=store, statuses=("ratified",))


def test_cli_json_is_the_twin(tmp_path):
    db = str(tmp_path / "cli.duckdb")  # its own store file: DuckDB allows one configuration per file
    result = CliRunner().invoke(app, ["lens", "network", "--mode", "framework-projection", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload == json.loads(json.dumps(to_jsonable(lens_network(db=db, mode="framework-projection"))))
    assert {"id", "degree", "betweenness", "eigenvector", "community"} <= set(payload["nodes"][0])
    assert {"source", "target", "type"} <= set(payload["edges"][0])
    text = CliRunner().invoke(app, ["lens", "network", "--db", db, "--top", "3"])
    assert text.exit_code == 0 and "Brokers between regions" in text.stdout


# -- the full data ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_store(tmp_path_factory, real_data):
    store = open_store(tmp_path_factory.mktemp("lens_full") / "s.duckdb", with_default=True)
    ingest([real_data / "un_hr_treaty_status" / "hr_status_op_crc_sc.csv"], db=store, edition="2022-08-25")
    ingest([real_data / "kelley_simmons_panel" / "palermo_ratification_year_derived.csv"], db=store,
           edition="2017-08-14")
    ingest(sorted((real_data / "cooperation_membership").glob("*.csv")), db=store, edition="2025-11")
    yield store
    store.close()


def test_full_data_adds_op_crc_sc_and_fills_palermo_unknowns(full_store, real_data):
    result = lens_network(db=full_store, mode="countries")
    edges = result["edges"]
    # OP-CRC-SC state parties counted straight from the UN file (csv module, Namibia's 'NA' kept)
    with open(real_data / "un_hr_treaty_status" / "hr_status_op_crc_sc.csv", encoding="utf-8", newline="") as fh:
        parties = [r for r in csv.DictReader(fh) if r["status"] == "state party"]
    assert (edges["target"] == "op_crc_sc").sum() == len(parties) == 176
    # Saint Kitts and Nevis has no Palermo status in the membership table; Kelley & Simmons code it
    # ratified by 2004 (palermo_ratification_year_derived.csv): a party tie flagged with that source
    kna = edges[(edges["source"] == "KNA") & (edges["target"] == "palermo_protocol")]
    assert kna["status"].tolist() == ["party"] and kna["year"].tolist() == [2004]
    assert kna["flag"].item().startswith("status from kelley_simmons")
    # a country the main table says is not a party is never overwritten by the fallback
    assert not ((edges["target"] == "palermo_protocol") & (edges["source"] == "PNG")).any()
    assert result["summary"]["countries_with_membership"] >= 190


def test_eigenvector_agrees_with_networkx_and_is_reproducible():
    graph = nx.les_miserables_graph()  # weighted, connected
    ours = network_metrics(graph).set_index("id")["eigenvector"].to_dict()
    theirs = nx.eigenvector_centrality_numpy(graph, weight="weight")
    assert ours == pytest.approx({k: abs(v) for k, v in theirs.items()}, abs=1e-9)
    assert network_metrics(graph).set_index("id")["eigenvector"].to_dict() == ours


def test_every_membership_file_in_the_store_has_its_entity(store, countries_net):
    # datasets of the membership source, read from the store's provenance table; each country list
    # belongs to exactly one knowledge-base entity (the frameworks table and organisation lists aside)
    from tiplens.lens.kb import load_kb
    datasets = set(store.files("membership")["dataset"]) - {"frameworks"}
    datasets = {d for d in datasets if not d.endswith("_organisations")}
    specs = {s.dataset for e in load_kb().entities.values() for s in e.membership if s.source == "membership"}
    assert datasets == specs
    assert all(any(item.startswith(f"membership/{d} edition ") for item in countries_net["summary"]["data"])
               for d in datasets)


def test_projection_exports_png_and_graphml(store, tmp_path):
    result = lens_network(db=store, mode="framework-projection")
    write_network(result, graphml=tmp_path / "p.graphml", chart=tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    graph = nx.read_graphml(tmp_path / "p.graphml")
    assert "bipartite" not in graph.nodes["untoc"]  # one-mode: no empty attribute written
    edges = result["edges"].set_index(["source", "target"])
    assert graph.edges["palermo_protocol", "untoc"]["weight"] == edges.loc[("palermo_protocol", "untoc"), "weight"]
