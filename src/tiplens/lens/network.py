"""The cooperation regime as a network: two-mode graphs, projections and their metrics.

Modes (:data:`NETWORK_MODES`):

``countries``
    two-mode: countries x mechanisms (treaties, processes, campaigns and organisations with
    member countries); a tie is a membership whose status is in ``statuses`` (default party
    and member: signatories, "not bound", "not party" and unknown statuses are not ties).
``actors``
    two-mode: actors (organisations, agencies, NGOs, monitoring bodies) x frameworks
    (instruments, processes, programmes), from the knowledge base's relations and the
    organisation rows of the membership tables (the EU as a party, IOM in the Bali Process).
``all``
    every node and tie in one graph, plus US G/TIP grants (``funds``, ``operates_in``).
``country-projection`` / ``framework-projection``
    one-mode projections of ``countries``: two countries are tied by the number of mechanisms
    they share (``weight``); two mechanisms by the number of countries they share.
``actor-projection``
    actors tied by the number of frameworks they share.

Metrics (:func:`network_metrics`): ``degree``; ``degree_centrality`` (degree / size of the other
mode in a two-mode graph, degree / (n - 1) in a one-mode graph); ``betweenness`` (share of
shortest paths, by number of steps, between all other pairs that pass through the node,
normalised by (n-1)(n-2)/2); ``eigenvector`` (unit length, on the largest connected component,
ties weighted; empty elsewhere); ``community`` (Louvain, fixed seed). Brokerage between regions
(:func:`region_brokerage`): for each node the UN M49 regions of the countries it links, as
``regions_bridged`` and the Gini-Simpson ``region_diversity`` (1 - sum of squared regional
shares): 0 when all its countries are in one region.
"""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import TiplensError
from .kb import KnowledgeBase

NETWORK_MODES = ("countries", "actors", "all", "country-projection", "framework-projection", "actor-projection")
BINDING_STATUSES = ("party", "member")
FRAMEWORK_TYPES = ("instrument", "process", "programme")
ACTOR_TYPES = ("actor", "monitoring_body")
DEFAULT_SEED = 42

#: Published categories of the store's treaty_event observations -> membership status.
STATUS_FROM_CATEGORY = {
    "party": "party", "member": "member", "signatory": "signatory", "not_bound": "not_bound",
    "not_party": "not_party", "unknown": "unknown",
    "state_party": "party", "signatory_state": "signatory", "no_action": "not_party",  # un_treaties
    "ratified": "party", "not ratified by 2011": "unknown",  # kelley_simmons (censored 2011: not 'never')
}

EDGE_COLUMNS = ["source", "target", "type", "status", "date", "year", "weight", "sourced", "origin", "citation",
                "flag"]
NODE_COLUMNS = ["id", "label", "kind", "type", "subtype", "region", "subregion"]

CAVEAT = ("Ties are memberships and relations that a source states; an absent tie is 'not known', not "
          "'not a member'. Membership tables are partial for the Bali Process (22 of 45 states), the ILO "
          "Forced Labour Protocol (14 of 50+ ratifications) and the Blue Heart Campaign (2013 list). "
          "Centralities describe this recorded structure, not influence.")


# -- edges ------------------------------------------------------------------------------------
def _edge_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=EDGE_COLUMNS)
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce").astype("Int64")
    frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce").fillna(1.0)
    return frame


def _edge_frame_columns(columns: dict) -> pd.DataFrame:
    return _edge_frame([]) if not len(columns["source"]) else _edge_frame_from(pd.DataFrame(columns))


def _edge_frame_from(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[EDGE_COLUMNS].copy()
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce").astype("Int64")
    frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce").fillna(1.0)
    return frame


def _tie_type(kb: KnowledgeBase, entity_id: str) -> str:
    return "party_to" if kb.entities[entity_id].type == "instrument" else "member_of"


def membership_edges(kb: KnowledgeBase, observations: pd.DataFrame,
                     organisations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Country (and organisation) memberships of the knowledge base's entities, every status.

    Parameters
    ----------
    kb
        The knowledge base; each entity's ``membership`` names the store data listing its members.
    observations
        Store observations (``measure == 'treaty_event'``) with ``source``, ``dataset``,
        ``indicator``, ``iso3``, ``category``, ``date``, ``year``, ``edition``, ``source_row``, ``flag``.
    organisations
        ``records_membership_organisations`` (organisations as members, e.g. the EU, IOM).

    Returns
    -------
    DataFrame
        :data:`EDGE_COLUMNS`: ``source`` (ISO3 or actor id), ``target`` (entity id), ``type``
        (``party_to`` for instruments, else ``member_of``), ``status`` (party, signatory,
        member, not_bound, not_party, unknown), ``date``/``year`` of that status (empty when
        unknown), ``origin`` (store source, dataset, edition and row), ``flag`` (the source's
        caveat). The user's ``memberships`` are included with their citation.
    """
    rows: list[dict] = []
    obs = observations
    for entity in kb.entities.values():
        if obs is None or obs.empty:
            break
        known: set[str] = set()
        for rank, spec in enumerate(entity.membership):
            mask = obs["source"].eq(spec.source)
            mask &= obs["dataset"].eq(spec.dataset) if spec.dataset else obs["indicator"].eq(spec.indicator)
            part = obs[mask & obs["iso3"].notna()]
            this_spec: set[str] = set()
            for rec in part.itertuples(index=False):
                status = STATUS_FROM_CATEGORY.get(rec.category, "unknown")
                if rank and (rec.iso3 in known or status == "unknown"):
                    continue  # a later source only fills what the earlier ones leave unknown
                flag = rec.flag if isinstance(rec.flag, str) else None
                if rank:
                    flag = "; ".join(filter(None, [f"status from {spec.source} ({rec.category}, year only), not "
                                                   f"from the main membership table", flag]))
                rows.append({"source": rec.iso3, "target": entity.id, "type": _tie_type(kb, entity.id),
                             "status": status, "date": rec.date if isinstance(rec.date, str) else None,
                             "year": rec.year, "weight": 1.0, "sourced": True,
                             "origin": f"{rec.source}/{rec.dataset} edition {rec.edition}, row {rec.source_row}",
                             "citation": f"tiplens store, source {rec.source}", "flag": flag})
                if status != "unknown":
                    this_spec.add(rec.iso3)
            known |= this_spec
        if len(entity.membership) > 1:
            # a country filled by a later source replaces its 'unknown' row from an earlier one
            filled = {r["source"] for r in rows if r["target"] == entity.id and r["flag"]
                      and str(r["flag"]).startswith("status from ")}
            rows = [r for r in rows if not (r["target"] == entity.id and r["source"] in filled
                                            and r["status"] == "unknown")]
    if organisations is not None and not organisations.empty:
        by_dataset = {s.dataset: e.id for e in kb.entities.values() for s in e.membership[:1] if s.dataset}
        by_code = {code: e.id for e in kb.entities.values() for code in e.org_codes}
        for rec in organisations.itertuples(index=False):
            target = by_dataset.get(rec.framework)
            actor = by_code.get(rec.org_code)
            if target is None or actor is None:
                continue
            rows.append({"source": actor, "target": target, "type": _tie_type(kb, target),
                         "status": STATUS_FROM_CATEGORY.get(rec.category, "unknown"),
                         "date": rec.date if isinstance(rec.date, str) else None, "year": rec.year, "weight": 1.0,
                         "sourced": True,
                         "origin": f"membership/{rec.framework} organisations, row {rec.source_row}",
                         "citation": "tiplens store, records_membership_organisations", "flag": rec.flag})
    for m in kb.memberships:
        rows.append({"source": m.country, "target": m.entity, "type": _tie_type(kb, m.entity), "status": m.status,
                     "date": m.date, "year": int(m.date[:4]) if m.date else None, "weight": 1.0,
                     "sourced": not m.source_missing, "origin": kb.origins.get(("memberships", m.id)),
                     "citation": kb.citation(m), "flag": m.note})
    return _edge_frame(rows)


def relation_edges(kb: KnowledgeBase) -> pd.DataFrame:
    """The knowledge base's typed relations as edges (``year`` = start year, empty if unknown)."""
    return _edge_frame([{
        "source": r.from_, "target": r.to, "type": r.type, "status": None, "date": None, "year": r.start,
        "weight": 1.0, "sourced": not r.source_missing, "origin": kb.origins.get(("relations", r.id)),
        "citation": kb.citation(r), "flag": r.note} for r in kb.relations])


def grant_edges(kb: KnowledgeBase, grants: pd.DataFrame | None, funder: str = "us_state_gtip") -> pd.DataFrame:
    """US G/TIP grants to knowledge-base actors: one ``funds`` edge per recipient and one
    ``operates_in`` edge per recipient and country (grant-funded work there). The number of
    grants and their years are in ``origin``; ``weight`` stays 1 so that grant counts do not
    outweigh memberships in weighted metrics."""
    if grants is None or grants.empty or funder not in kb.entities:
        return _edge_frame([])
    rows = []
    recipients = grants["recipient"].fillna("").astype(str)
    for entity in kb.entities.values():
        if not entity.grant_recipient:
            continue
        hit = grants[recipients.str.contains(entity.grant_recipient, flags=re.IGNORECASE, regex=True)]
        if hit.empty:
            continue
        years = pd.to_numeric(hit["grant_year"], errors="coerce")
        citation = "; ".join(kb.documents[d].citation for d in kb.entities[funder].sources)
        rows.append({"source": funder, "target": entity.id, "type": "funds", "status": None, "date": None,
                     "year": int(years.min()), "weight": 1.0, "sourced": True,
                     "origin": f"records_us_tip_grants: {len(hit)} grants {int(years.min())}-{int(years.max())}",
                     "citation": citation, "flag": None})
        for iso3, group in hit[hit["iso3"].notna()].groupby("iso3"):
            gy = pd.to_numeric(group["grant_year"], errors="coerce")
            rows.append({"source": entity.id, "target": iso3, "type": "operates_in", "status": None, "date": None,
                         "year": int(gy.min()), "weight": 1.0, "sourced": True,
                         "origin": f"records_us_tip_grants: {len(group)} grants {int(gy.min())}-{int(gy.max())}",
                         "citation": citation, "flag": "grant-funded work in the country (US G/TIP grants)"})
    return _edge_frame(rows)


# -- nodes and graphs -------------------------------------------------------------------------
def node_table(kb: KnowledgeBase, countries: pd.DataFrame) -> pd.DataFrame:
    """Every possible node: countries (by ISO3, M49 region) and knowledge-base entities."""
    country_nodes = pd.DataFrame({"id": countries["iso3"], "label": countries["name"], "kind": "country",
                                  "type": "country", "subtype": None, "region": countries["m49_region"],
                                  "subregion": countries["m49_subregion"]})
    entity_nodes = pd.DataFrame([{"id": e.id, "label": e.name,
                                  "kind": "actor" if e.type in ACTOR_TYPES else "framework",
                                  "type": e.type, "subtype": e.subtype, "region": e.region, "subregion": None}
                                 for e in kb.entities.values()], columns=NODE_COLUMNS)
    return pd.concat([country_nodes, entity_nodes], ignore_index=True)[NODE_COLUMNS]


def _graph(edges: pd.DataFrame, nodes: pd.DataFrame) -> nx.Graph:
    """An undirected graph; parallel ties between two nodes merge (weights add, types join)."""
    graph = nx.Graph()
    attrs = nodes.drop_duplicates("id").set_index("id").to_dict("index")
    for node in pd.unique(pd.concat([edges["source"], edges["target"]])):
        data = attrs.get(node, {})
        graph.add_node(node, **{k: v for k, v in data.items() if v is not None and v == v})
    # parallel ties (same pair, either direction) merge: weights add, distinct types join with '|'
    pairs = edges[["source", "target", "type", "weight"]].copy()
    swap = pairs["source"].astype(str) > pairs["target"].astype(str)
    pairs.loc[swap, ["source", "target"]] = pairs.loc[swap, ["target", "source"]].to_numpy()
    merged = pairs.groupby(["source", "target"], sort=False).agg(
        weight=("weight", "sum"), type=("type", lambda s: "|".join(dict.fromkeys(s)))).reset_index() \
        if pairs.duplicated(["source", "target"]).any() else pairs
    graph.add_edges_from((s, t_, {"type": ty, "weight": float(w)}) for s, t_, ty, w in
                         zip(merged["source"], merged["target"], merged["type"], merged["weight"]))
    return graph


def build_graph(nodes: pd.DataFrame, edges: pd.DataFrame) -> nx.Graph:
    """A networkx graph of a :func:`build_network` result (for GraphML or further analysis)."""
    return _graph(edges, nodes)


def _project(edges: pd.DataFrame, onto: str) -> pd.DataFrame:
    """One-mode projection of a two-mode edge list onto its ``source`` or ``target`` nodes:
    weight = number of shared neighbours (incidence matrix times its transpose)."""
    other = "target" if onto == "source" else "source"
    pairs = edges[[onto, other]].drop_duplicates()
    rows, row_ids = pd.factorize(pairs[onto], sort=True)
    cols, _ = pd.factorize(pairs[other], sort=True)
    incidence = np.zeros((len(row_ids), int(cols.max()) + 1 if len(cols) else 0))
    incidence[rows, cols] = 1.0
    shared = incidence @ incidence.T
    upper_i, upper_j = np.nonzero(np.triu(shared, k=1))
    ids = np.asarray(row_ids, dtype=object)
    n = len(upper_i)
    return _edge_frame_columns({"source": ids[upper_i], "target": ids[upper_j], "type": ["shares"] * n,
                                "status": [None] * n, "date": [None] * n, "year": [None] * n,
                                "weight": shared[upper_i, upper_j], "sourced": [True] * n,
                                "origin": ["projection"] * n, "citation": [None] * n, "flag": [None] * n})


def betweenness(graph: nx.Graph) -> dict:
    """Exact shortest-path betweenness of an unweighted graph, normalised as networkx does
    (by (n-1)(n-2)/2): Brandes' accumulation run for all sources at once with matrix products.

    Equal to :func:`networkx.betweenness_centrality` (``normalized=True``), which the tests
    check, and much faster on dense graphs such as the country projection.
    """
    nodes = list(graph.nodes)
    n = len(nodes)
    if n <= 2:
        return {v: 0.0 for v in nodes}
    # sparse products: single-threaded, so a busy machine's BLAS threads do not slow them down
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=None, format="csr")
    adjacency.setdiag(0)
    adjacency.eliminate_zeros()
    adjacency = (adjacency > 0).astype(float)
    distance = np.full((n, n), -1, dtype=int)
    np.fill_diagonal(distance, 0)
    sigma = np.eye(n)                       # sigma[s, v]: number of shortest s-v paths
    frontier = np.eye(n)
    level = 0
    while frontier.any():
        level += 1
        reached = np.asarray(adjacency @ frontier.T).T   # A is symmetric: (frontier A)^T = A frontier^T
        new = (reached > 0) & (distance < 0)
        distance[new] = level
        sigma[new] = reached[new]
        frontier = np.where(new, reached, 0.0)
    delta = np.zeros((n, n))                # delta[s, v]: dependency of s on v
    with np.errstate(divide="ignore", invalid="ignore"):
        for depth in range(level - 1, 0, -1):
            below = np.where(distance == depth + 1, (1.0 + delta) / sigma, 0.0)
            at = distance == depth
            delta[at] = (sigma * np.asarray(adjacency @ below.T).T)[at]
    scores = delta.sum(axis=0) / ((n - 1) * (n - 2))
    return {v: float(scores[i]) for i, v in enumerate(nodes)}


# -- metrics ----------------------------------------------------------------------------------
def network_metrics(graph: nx.Graph, *, side: dict[str, int] | None = None, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Centralities and communities of every node.

    Parameters
    ----------
    graph
        An undirected graph; edge attribute ``weight`` (default 1) counts for eigenvector
        centrality and communities, not for betweenness (paths are counted in steps).
    side
        For a two-mode graph, node -> 0 or 1 (its mode): degree centrality is then divided by the
        size of the other mode. ``None`` for a one-mode graph.
    seed
        Seed of the Louvain community detection (results are reproducible for a given seed).

    Returns
    -------
    DataFrame
        ``id, degree, weighted_degree, degree_centrality, betweenness, eigenvector, community,
        component`` (``component`` 0 is the largest connected component; eigenvector centrality
        is computed there only and is empty elsewhere).
    """
    nodes = list(graph.nodes)
    if not nodes:
        return pd.DataFrame(columns=["id", "degree", "weighted_degree", "degree_centrality", "betweenness",
                                     "eigenvector", "community", "component"])
    degree = dict(graph.degree())
    weighted = dict(graph.degree(weight="weight"))
    if side is not None:
        sizes = pd.Series(side).value_counts()
        other = {n: int(sizes.get(1 - side[n], 0)) for n in nodes}
        centrality = {n: degree[n] / other[n] if other[n] else 0.0 for n in nodes}
    else:
        n = len(nodes)
        centrality = {v: degree[v] / (n - 1) if n > 1 else 0.0 for v in nodes}
    between = betweenness(graph) if len(nodes) <= 3000 else nx.betweenness_centrality(graph)
    components = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(map(str, c))))
    component_of = {v: i for i, comp in enumerate(components) for v in comp}
    eigenvector: dict = {}
    largest = graph.subgraph(components[0])
    if largest.number_of_edges() > 0:
        eigenvector = _eigenvector(largest)
    communities = nx.community.louvain_communities(graph, weight="weight", seed=seed)
    communities = sorted(communities, key=lambda c: (-len(c), min(map(str, c))))
    community_of = {v: i for i, comm in enumerate(communities) for v in comm}
    frame = pd.DataFrame({
        "id": nodes,
        "degree": [degree[v] for v in nodes],
        "weighted_degree": [float(weighted[v]) for v in nodes],
        "degree_centrality": [centrality[v] for v in nodes],
        "betweenness": [between[v] for v in nodes],
        "eigenvector": [float(eigenvector[v]) if v in eigenvector else np.nan for v in nodes],
        "community": [community_of[v] for v in nodes],
        "component": [component_of[v] for v in nodes],
    })
    return frame


def _eigenvector(graph: nx.Graph) -> dict:
    """Eigenvector centrality of a connected graph (ties weighted), unit length and positive.

    ARPACK with a fixed start vector (networkx's call starts from a random vector, which changes
    the last digits from run to run); agrees with :func:`networkx.eigenvector_centrality_numpy`.
    """
    nodes = list(graph.nodes)
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight="weight", format="csr").astype(float)
    vector = None
    if len(nodes) > 3:
        from scipy.sparse.linalg import ArpackNoConvergence, eigsh
        try:  # a fixed start vector keeps the result identical from run to run
            _, vectors = eigsh(adjacency, k=1, which="LA", v0=np.ones(len(nodes)), tol=1e-12)
            vector = vectors[:, 0]
        except ArpackNoConvergence:
            vector = None
    if vector is None:
        _, vectors = np.linalg.eigh(adjacency.toarray())
        vector = vectors[:, -1]
    vector = vector / np.linalg.norm(vector)
    if vector.sum() < 0:  # the sign of an eigenvector is arbitrary: report it positive
        vector = -vector
    return {v: round(float(x), 12) for v, x in zip(nodes, vector)}


def region_brokerage(country_edges: pd.DataFrame, regions: pd.Series, links: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
    """The regions each node links, from country-mechanism ties.

    Parameters
    ----------
    country_edges
        Ties ``source`` (ISO3) -> ``target`` (mechanism).
    regions
        ISO3 -> region (UN M49 region by default).
    links
        Optional ties ``source`` (actor) -> ``target`` (mechanism): an actor links the member
        countries of the mechanisms it is tied to.

    Returns
    -------
    DataFrame
        ``id, countries_linked, regions_bridged, region_diversity, regions``: for a mechanism its
        member countries; for a country the other members of its mechanisms; for an actor the
        members of its mechanisms. ``region_diversity`` = 1 - sum of squared regional shares.
    """
    ties = country_edges[["source", "target"]].drop_duplicates().rename(columns={"source": "iso3",
                                                                                  "target": "mechanism"})
    linked = [ties.rename(columns={"mechanism": "id"})[["id", "iso3"]]]
    co = ties.merge(ties, on="mechanism")
    co = co[co["iso3_x"] != co["iso3_y"]][["iso3_x", "iso3_y"]].drop_duplicates()
    linked.append(co.rename(columns={"iso3_x": "id", "iso3_y": "iso3"}))
    if links is not None and not links.empty:
        via = links[["source", "target"]].rename(columns={"source": "id", "target": "mechanism"}).merge(
            ties, on="mechanism")[["id", "iso3"]]
        linked.append(via)
    pairs = pd.concat(linked, ignore_index=True).drop_duplicates()
    pairs["region"] = pairs["iso3"].map(regions).fillna("unknown region")
    if pairs.empty:
        return pd.DataFrame(columns=["id", "countries_linked", "regions_bridged", "region_diversity", "regions"])
    shares = pairs.groupby(["id", "region"]).size().rename("n").reset_index()
    shares["p2"] = (shares["n"] / shares.groupby("id")["n"].transform("sum")) ** 2
    shares = shares.sort_values(["id", "region"])
    out = shares.groupby("id").agg(countries_linked=("n", "sum"), regions_bridged=("region", "size"),
                                   region_diversity=("p2", "sum"))
    out["region_diversity"] = 1.0 - out["region_diversity"]
    out["regions"] = shares.groupby("id")["region"].agg(", ".join)
    return out.reset_index()


# -- the whole network ------------------------------------------------------------------------
def build_network(kb: KnowledgeBase, *, countries: pd.DataFrame, observations: pd.DataFrame,
                  organisations: pd.DataFrame | None = None, grants: pd.DataFrame | None = None,
                  mode: str = "countries", statuses: tuple[str, ...] = BINDING_STATUSES,
                  seed: int = DEFAULT_SEED) -> dict:
    """Nodes with their metrics, edges, communities and a summary for one network mode.

    Returns
    -------
    dict
        ``mode``; ``nodes`` (DataFrame: :data:`NODE_COLUMNS`, ``bipartite`` (0/1 in two-mode
        graphs), the metrics of :func:`network_metrics` and :func:`region_brokerage`);
        ``edges`` (DataFrame: :data:`EDGE_COLUMNS`); ``communities`` (DataFrame: community,
        size, members); ``summary`` (dict of counts); ``notes`` (list of caveats).
    """
    if mode not in NETWORK_MODES:
        raise TiplensError(f"--mode {mode!r} is not a network mode; valid: {', '.join(NETWORK_MODES)}")
    bad = set(statuses) - set(STATUS_FROM_CATEGORY.values())
    if bad:
        raise TiplensError(f"status {', '.join(sorted(bad))} is not a membership status; valid: "
                           f"{', '.join(sorted(set(STATUS_FROM_CATEGORY.values())))}")
    notes = [CAVEAT]
    all_nodes = node_table(kb, countries)
    kinds = all_nodes.set_index("id")["kind"]
    memberships = membership_edges(kb, observations, organisations)
    ties = memberships[memberships["status"].isin(statuses)]
    country_ties = ties[ties["source"].map(kinds).eq("country")]
    org_ties = ties[ties["source"].map(kinds).eq("actor")]
    relations = relation_edges(kb)
    source_kind, target_kind = relations["source"].map(kinds), relations["target"].map(kinds)
    actor_framework = relations[source_kind.eq("actor") & target_kind.eq("framework")]
    actor_ties = pd.concat([actor_framework, org_ties], ignore_index=True)
    left_out = {s: int(n) for s, n in memberships[~memberships["status"].isin(statuses)]["status"]
                .value_counts().items()}
    if left_out:
        notes.append("Not counted as ties (status not in " + ", ".join(statuses) + "): "
                     + ", ".join(f"{n} {s}" for s, n in sorted(left_out.items())) + ".")
    side = None
    if mode in ("countries", "country-projection", "framework-projection"):
        edges = country_ties
        side = {**{n: 0 for n in edges["source"]}, **{n: 1 for n in edges["target"]}}
        if mode != "countries":
            edges = _project(edges, "source" if mode == "country-projection" else "target")
            side = None
    elif mode in ("actors", "actor-projection"):
        edges = actor_ties
        skipped = len(relations) - len(actor_framework)
        notes.append(f"{skipped} relations between two actors, two frameworks or an actor and a country are "
                     "not in the two-mode actors x frameworks graph (see --mode all).")
        side = {**{n: 0 for n in edges["source"]}, **{n: 1 for n in edges["target"]}}
        if mode == "actor-projection":
            edges = _project(edges, "source")
            side = None
    else:
        grant_ties = grant_edges(kb, grants)
        edges = pd.concat([country_ties, org_ties, relations, grant_ties], ignore_index=True)
        if grants is None or grants.empty:
            notes.append("No US G/TIP grant records in the store: no funds/operates_in ties from grants.")
        else:
            notes.append(f"{len(grant_ties)} ties from US G/TIP grants 2001-2014 (Kelley & Heiss): 'funds' = the "
                         "State Department funded the actor; 'operates_in' = grant-funded work in that country; "
                         "the number of grants is in 'origin'.")
    edges = edges.reset_index(drop=True)
    unsourced = int((~edges["sourced"].astype(bool)).sum())
    if unsourced:
        notes.append(f"{unsourced} ties have no source available offline (sourced = false); see their citation.")
    graph = _graph(edges, all_nodes)
    metrics = network_metrics(graph, side=side, seed=seed)
    regions = countries.set_index("iso3")["m49_region"]
    links = actor_ties if mode in ("actors", "actor-projection", "all") else None
    brokerage = region_brokerage(country_ties, regions, links)
    nodes = all_nodes[all_nodes["id"].isin(graph.nodes)].merge(metrics, on="id", how="left")
    nodes = nodes.merge(brokerage, on="id", how="left")
    nodes.insert(7, "bipartite", nodes["id"].map(side).astype("Int64") if side else pd.NA)
    nodes = nodes.sort_values(["kind", "degree", "id"], ascending=[True, False, True]).reset_index(drop=True)
    communities = (nodes.groupby("community").agg(size=("id", "size"), members=("id", lambda s: ", ".join(sorted(s))))
                   .reset_index())
    summary = {
        "mode": mode, "statuses": list(statuses), "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
        "countries": int((nodes["kind"] == "country").sum()), "frameworks": int((nodes["kind"] == "framework").sum()),
        "actors": int((nodes["kind"] == "actor").sum()), "components": int(nodes["component"].nunique()),
        "communities": int(len(communities)), "density": float(nx.density(graph)) if len(graph) > 1 else 0.0,
        "membership_rows": int(len(memberships)),
        "countries_with_membership": int(country_ties["source"].nunique()),
        "data": _data_editions(observations, organisations, grants if mode == "all" else None),
        "seed": seed,
    }
    return {"mode": mode, "nodes": nodes, "edges": edges, "communities": communities, "summary": summary,
            "notes": notes}


def _data_editions(observations: pd.DataFrame | None, organisations: pd.DataFrame | None,
                   grants: pd.DataFrame | None) -> list[str]:
    """Which store data the network was built from: 'source/dataset edition' (and record tables)."""
    used = []
    if observations is not None and not observations.empty:
        pairs = observations[["source", "dataset", "edition"]].drop_duplicates().sort_values(["source", "dataset"])
        used += [f"{s}/{d} edition {e}" for s, d, e in pairs.itertuples(index=False)]
    if organisations is not None and not organisations.empty:
        used.append("records_membership_organisations")
    if grants is not None and not grants.empty:
        used.append("records_us_tip_grants")
    return used


# -- output -----------------------------------------------------------------------------------
def write_graphml(nodes: pd.DataFrame, edges: pd.DataFrame, path) -> None:
    """GraphML with every node and edge attribute that has a value (GraphML has no empty values)."""
    graph = nx.Graph()
    for rec in nodes.to_dict("records"):
        node = rec.pop("id")
        graph.add_node(node, **{k: _graphml_value(v) for k, v in rec.items() if _has_value(v)})
    for rec in edges.to_dict("records"):
        source, target = rec.pop("source"), rec.pop("target")
        data = {k: _graphml_value(v) for k, v in rec.items() if _has_value(v)}
        if graph.has_edge(source, target):
            old = graph.edges[source, target]
            data["type"] = old["type"] + "|" + data.get("type", "")
            data["weight"] = old.get("weight", 1.0) + data.get("weight", 1.0)
        graph.add_edge(source, target, **data)
    nx.write_graphml(graph, path)


def _has_value(value) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and np.isnan(value))


def _graphml_value(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def network_figure(nodes: pd.DataFrame, edges: pd.DataFrame, *, title: str, seed: int = DEFAULT_SEED,
                   caveat: str = CAVEAT):
    """An interactive plotly network: nodes placed by a seeded spring layout, sized by degree,
    coloured by kind (country, framework, actor); hovering shows the metrics."""
    import plotly.graph_objects as go

    graph = _graph(edges, nodes)
    positions = nx.spring_layout(graph, seed=seed, weight="weight") if len(graph) else {}
    if positions:  # scale into [0.02, 1] so static renderers that start their axes at 0 show every node
        xy = np.array(list(positions.values()))
        low, span = xy.min(axis=0), np.ptp(xy, axis=0)
        span[span == 0] = 1.0
        positions = {k: 0.02 + 0.98 * (np.asarray(v) - low) / span for k, v in positions.items()}
    fig = go.Figure()
    xs, ys = [], []
    for source, target in graph.edges:
        (x0, y0), (x1, y1) = positions[source], positions[target]
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 0.5, "color": "#b0b0b0"},
                             hoverinfo="skip", showlegend=False, name="ties"))
    colours = {"country": "#4c78a8", "framework": "#f58518", "actor": "#54a24b"}
    for kind, part in nodes[nodes["id"].isin(positions)].groupby("kind"):
        hover = [f"{r.label} ({r.id})<br>{r.type}; region: {r.region}<br>degree {r.degree}, betweenness "
                 f"{r.betweenness:.3f}, eigenvector {r.eigenvector:.3f}<br>community {r.community}"
                 if r.eigenvector == r.eigenvector else
                 f"{r.label} ({r.id})<br>{r.type}; region: {r.region}<br>degree {r.degree}, betweenness "
                 f"{r.betweenness:.3f}<br>community {r.community}" for r in part.itertuples()]
        fig.add_trace(go.Scatter(
            x=[positions[i][0] for i in part["id"]], y=[positions[i][1] for i in part["id"]], mode="markers+text",
            text=[i if k != "country" else "" for i, k in zip(part["id"], part["kind"])],
            textposition="top center", textfont={"size": 9}, hovertext=hover, hoverinfo="text", name=kind,
            marker={"size": (6 + 2 * np.sqrt(part["degree"].astype(float))).tolist(), "color": colours.get(kind),
                    "line": {"width": 0.5, "color": "white"}}))
    fig.update_layout(title=title, template="plotly_white", height=720, legend={"orientation": "h", "y": 1.02},
                      xaxis={"visible": False}, yaxis={"visible": False}, margin={"b": 90})
    fig.add_annotation(text=caveat, xref="paper", yref="paper", x=0, y=-0.12, showarrow=False, align="left",
                       font={"size": 9})
    return fig
