"""Hierarchy-aware retrieval metrics, each a small pure function of ranked ids and the hierarchy.

Inputs share one convention: `retrieved` is (m, K) document ids, best first, for m queries; `query_nodes` (m,) is the
node each query belongs to. Recall by distance follows the HR paper (methods.md): query v must retrieve anc(v); take
its top-|anc(v)| documents; recall at distance d is the share of pairs (v, a) with dist(v, a) = d found there.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from core.data.hierarchy import Ancestors, relevant_pairs


def recall_by_distance(
    retrieved: np.ndarray,
    query_nodes: np.ndarray,
    ancestors: Ancestors,
    k: int | None = None,
) -> dict:
    """Recall per distance, overall (over all pairs) and minimum (over distances).

    With k=None each query is cut at its own |anc(v)| (the paper's metric); with an int k every query keeps k hits.
    """
    retrieved = np.asarray(retrieved, dtype=np.int64)
    m, width = retrieved.shape
    row, anc, dist = relevant_pairs(ancestors, query_nodes)
    cutoff = ancestors.sizes()[query_nodes] if k is None else np.full(m, k)
    if (cutoff > width).any():
        raise ValueError(f"retrieved has {width} columns but a query needs {int(cutoff.max())}")
    n_docs = int(max(retrieved.max(initial=0), anc.max(initial=0))) + 1
    kept = np.arange(width)[None, :] < cutoff[:, None]  # (m, K)
    found = (np.arange(m)[:, None] * n_docs + retrieved)[kept & (retrieved >= 0)]
    hit = np.isin(row * n_docs + anc, found)
    pairs = np.bincount(dist)
    hits = np.bincount(dist, weights=hit, minlength=len(pairs))
    present = np.flatnonzero(pairs)
    by_distance = {str(d): float(hits[d] / pairs[d]) for d in present}
    return {
        "recall_by_distance": by_distance,
        "pairs_by_distance": {str(d): int(pairs[d]) for d in present},
        "recall_overall": float(hit.mean()) if len(hit) else float("nan"),
        "recall_min": min(by_distance.values()) if by_distance else float("nan"),
        "queries": int(m),
    }


def target_ranks(retrieved: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of targets[i] in retrieved[i]; -1 where it is not retrieved at all."""
    match = np.asarray(retrieved) == np.asarray(targets)[:, None]
    return np.where(match.any(axis=1), match.argmax(axis=1), -1)


def query_metrics(ranks: np.ndarray, ks: tuple[int, ...] = (1, 10, 100)) -> dict:
    """MRR@10, nDCG@10 and recall@k of a single relevant row per query, from its 0-based rank (-1 = not found)."""
    ranks = np.asarray(ranks)
    found10 = (ranks >= 0) & (ranks < 10)
    safe = np.where(ranks >= 0, ranks, 0)
    out = {
        "mrr@10": float(np.where(found10, 1.0 / (safe + 1), 0.0).mean()),
        "ndcg@10": float(np.where(found10, 1.0 / np.log2(safe + 2), 0.0).mean()),
    }
    for k in ks:
        out[f"recall@{k}"] = float(((ranks >= 0) & (ranks < k)).mean())
    return out


def precision_at_k(neighbour_labels: np.ndarray, labels: np.ndarray) -> float:
    """Mean share of each item's neighbours (m, k) that carry its own label (m,)."""
    return float((neighbour_labels == labels[:, None]).mean())


def knn_vote(neighbour_labels: np.ndarray) -> np.ndarray:
    """Majority label among each row's neighbours (m, k); a tie goes to the label seen first (the nearer one)."""
    same = neighbour_labels[:, :, None] == neighbour_labels[:, None, :]  # (m, k, k)
    votes = same.sum(axis=2)  # (m, k): how many neighbours share neighbour j's label
    k = neighbour_labels.shape[1]
    best = np.argmax(votes * (k + 1) - np.arange(k), axis=1)
    return neighbour_labels[np.arange(len(neighbour_labels)), best]


def knn_macro_f1(neighbour_labels: np.ndarray, labels: np.ndarray) -> float:
    """Macro F1 of the kNN majority vote against the true labels, over the labels that occur."""
    predicted = knn_vote(neighbour_labels)
    return float(f1_score(labels, predicted, labels=np.unique(labels), average="macro", zero_division=0))
