"""Which (query, relevant document) pairs training sees, and how often.

The HR paper's results depend on the pair distribution ("regular" vs far-only), which the paper does not pin down
(methods.md), so it is a named, recorded option:
- "pairs": uniform over all (query, ancestor) pairs (the natural distribution);
- "query": a query uniformly, then one of its ancestors uniformly;
- "weights:w0,w1,...": distance d gets total mass w_d (the last weight repeats for deeper distances), uniform within.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.hierarchy import Ancestors, relevant_pairs
from core.errors import InputError


@dataclass(frozen=True)
class Pairs:
    """Training pairs: query position (into corpus.query_nodes), document node, hop distance."""

    query: np.ndarray  # (P,) int64
    doc: np.ndarray  # (P,) int64
    distance: np.ndarray  # (P,) int64

    def __len__(self) -> int:
        return len(self.query)

    def subset(self, mask: np.ndarray) -> Pairs:
        return Pairs(self.query[mask], self.doc[mask], self.distance[mask])


def training_pairs(ancestors: Ancestors, query_nodes: np.ndarray, rows: np.ndarray) -> Pairs:
    """All relevant pairs of the query positions `rows`."""
    row, doc, dist = relevant_pairs(ancestors, query_nodes[rows])
    return Pairs(rows[row].astype(np.int64), doc, dist)


def pair_probabilities(pairs: Pairs, scheme: str) -> np.ndarray:
    """(P,) sampling probabilities of each pair under a named scheme."""
    if len(pairs) == 0:
        raise InputError("training pairs", "there are no training pairs", "use a corpus with queries and a hierarchy")
    if scheme == "pairs":
        p = np.ones(len(pairs))
    elif scheme == "query":
        per_query = np.bincount(pairs.query)
        p = 1.0 / per_query[pairs.query]
    elif scheme.startswith("weights:"):
        try:
            weights = [float(w) for w in scheme.split(":", 1)[1].split(",")]
        except ValueError:
            weights = []
        if not weights or min(weights) < 0 or sum(weights) <= 0:
            raise InputError(f"sampler {scheme!r}", "weights must be non-negative numbers, not all zero",
                             "write e.g. weights:0.85,0.1,0.04,0.01")
        per_distance = np.array([weights[min(d, len(weights) - 1)] for d in range(pairs.distance.max() + 1)])
        counts = np.bincount(pairs.distance, minlength=len(per_distance))
        p = per_distance[pairs.distance] / counts[pairs.distance]
    else:
        raise InputError(f"sampler {scheme!r}", "unknown pair sampler", "use pairs, query, or weights:w0,w1,...")
    if p.sum() <= 0:
        raise InputError(f"sampler {scheme!r}", "gives every training pair zero weight", "give some distance a weight")
    return p / p.sum()


class PairSampler:
    """Draws batches of pair indices with replacement from fixed probabilities, seeded."""

    def __init__(self, pairs: Pairs, probabilities: np.ndarray, seed: int = 0):
        self.pairs = pairs
        self.cumulative = np.cumsum(probabilities)
        self.cumulative[-1] = 1.0
        self.rng = np.random.default_rng(seed)

    def sample(self, batch_size: int) -> np.ndarray:
        return np.searchsorted(self.cumulative, self.rng.random(batch_size), side="right")
