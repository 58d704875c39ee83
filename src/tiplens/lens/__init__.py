"""The liberal lens: the anti-trafficking cooperation regime as a knowledge base and a network.

``kb``       the knowledge base (package YAML + users' files), validated on load
``table``    the seed paper's Table regenerated from the knowledge base, with corrections
``network``  two-mode networks (countries or actors x frameworks), projections and their metrics

(``coverage`` and ``models`` test the liberal hypotheses on the panel.)
"""

from .kb import ACTOR_SUBTYPES, ENTITY_TYPES, MEMBERSHIP_STATUSES, RELATION_TYPES, KnowledgeBase, load_kb
from .table import paper_table

__all__ = ["load_kb", "KnowledgeBase", "ENTITY_TYPES", "ACTOR_SUBTYPES", "RELATION_TYPES", "MEMBERSHIP_STATUSES",
           "paper_table", "NETWORK_MODES", "build_network", "network_metrics"]


def __getattr__(name):
    # networkx takes a while to import: load the network module only when it is used
    if name in ("NETWORK_MODES", "build_network", "network_metrics"):
        from . import network
        return getattr(network, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
