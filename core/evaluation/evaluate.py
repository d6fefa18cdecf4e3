"""Score query and document embeddings of a corpus against its hierarchy, on all queries and on a held-out split.

One search per query set feeds every metric: recall by distance (top-|anc(v)|), recall@k by distance, the
query-column metrics (the query's own row), and per-level neighbour metrics for trees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from core.data.corpus import Corpus
from core.data.hierarchy import Hierarchy
from core.evaluation.index import build_index, search
from core.evaluation.metrics import knn_macro_f1, precision_at_k, query_metrics, recall_by_distance, target_ranks


@dataclass(frozen=True)
class EvalConfig:
    heldout_fraction: float = 0.2  # share of query nodes held out from training (seeded), reported separately
    seed: int = 0  # seed of the held-out split and of the per-level document sample
    index: str = "exact"  # FAISS index: 'exact' (flat inner product) or 'hnsw' (approximate)
    recall_k: int = 10  # k of the fixed-k recall@k by distance
    level_k: int = 10  # neighbours for per-level precision@k and kNN macro-F1
    max_level_docs: int = 20_000  # per-level metrics use at most this many documents as queries (sampled)


def heldout_mask(n: int, fraction: float, seed: int) -> np.ndarray:
    """(n,) bool: a seeded random `fraction` of the n items is True (at least one when fraction > 0 and n > 1)."""
    count = int(round(n * fraction))
    if fraction > 0 and n > 1:
        count = min(max(count, 1), n - 1)
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[:count]] = True
    return mask


def retrieval_metrics(corpus: Corpus, retrieved: np.ndarray, query_nodes: np.ndarray, recall_k: int) -> dict:
    """All query-side metrics for the given rows of a search (retrieved ids are node indices)."""
    ancestors = corpus.hierarchy.ancestors
    recall_k = min(recall_k, corpus.n)  # a corpus smaller than k: every document is retrieved
    out = recall_by_distance(retrieved, query_nodes, ancestors)
    at_k = recall_by_distance(retrieved, query_nodes, ancestors, k=recall_k)
    out["recall_at_k"] = {"k": recall_k, **{key: at_k[key] for key in ("recall_by_distance", "recall_overall", "recall_min")}}
    if corpus.queries is not None and retrieved.shape[1] >= min(100, corpus.n):
        out["query_metrics"] = query_metrics(target_ranks(retrieved[:, :100], query_nodes))
    return out


def level_metrics(corpus: Corpus, doc_vectors: np.ndarray, rows: np.ndarray, config: EvalConfig,
                  tree: Hierarchy | None = None) -> dict:
    """Per tree level: precision@k of a document's nearest other documents sharing its label, and kNN macro-F1.

    A DAG is read through `tree` (default: its spanning tree, each node under its first parent)."""
    h = tree if tree is not None else corpus.hierarchy.spanning_tree()
    all_rows = np.flatnonzero(corpus.is_row)
    labels = h.level_labels()
    index = build_index(doc_vectors[all_rows], config.index)
    rng = np.random.default_rng(config.seed)
    if len(rows) > config.max_level_docs:
        rows = np.sort(rng.choice(rows, config.max_level_docs, replace=False))
    _, nbr = search(index, doc_vectors[rows], config.level_k + 1)
    nbr = all_rows[nbr]  # back to node ids
    not_self = nbr != rows[:, None]
    # keep the first level_k neighbours that are not the document itself
    order = np.argsort(~not_self, axis=1, kind="stable")[:, : config.level_k]
    nbr = np.take_along_axis(nbr, order, axis=1)
    out = {}
    for level in range(labels.shape[1]):
        column = labels[:, level]
        has = (column[rows] >= 0) & (column[rows] != rows)  # a proper ancestor (not the node itself) at this level
        if not has.any() or len(np.unique(column[rows[has]])) < 2:
            continue  # a constant level (a single root) says nothing
        mine, theirs = column[rows[has]], column[nbr[has]]
        out[str(level)] = {
            f"precision@{config.level_k}": precision_at_k(theirs, mine),
            "knn_macro_f1": knn_macro_f1(theirs, mine),
            "labels": int(len(np.unique(mine))),
            "documents": int(has.sum()),
        }
    return out


def evaluate_embeddings(
    corpus: Corpus,
    query_vectors: np.ndarray,
    doc_vectors: np.ndarray,
    config: EvalConfig = EvalConfig(),
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Metrics for query vectors (one per corpus.query_nodes) against document vectors (one per node).

    Returns the keys of `evaluate`'s metrics.json: recall_by_distance, pairs_by_distance, recall_overall, recall_min,
    recall_at_k, query_metrics (with a query column), levels (for trees), and `heldout` with the same keys.
    """
    query_nodes = corpus.query_nodes
    if len(query_vectors) != len(query_nodes) or len(doc_vectors) != corpus.n:
        raise ValueError(f"need {len(query_nodes)} query and {corpus.n} document vectors, "
                         f"got {len(query_vectors)} and {len(doc_vectors)}")
    sizes = corpus.hierarchy.ancestors.sizes()[query_nodes]
    k = int(max(sizes.max(initial=1), config.recall_k, 100 if corpus.queries is not None else 0))
    _, retrieved = search(build_index(doc_vectors, config.index), query_vectors, k, progress=progress)
    held = heldout_mask(len(query_nodes), config.heldout_fraction, config.seed)
    result = retrieval_metrics(corpus, retrieved, query_nodes, config.recall_k)
    result["heldout"] = retrieval_metrics(corpus, retrieved[held], query_nodes[held], config.recall_k)
    if corpus.hierarchy.max_depth > 0:  # levels of a tree, or of a DAG's spanning tree
        rows = np.flatnonzero(corpus.is_row)
        result["levels"] = level_metrics(corpus, doc_vectors, rows, config)
        held_nodes = np.zeros(corpus.n, dtype=bool)
        held_nodes[query_nodes[held]] = True
        result["heldout"]["levels"] = level_metrics(corpus, doc_vectors, rows[held_nodes[rows]], config)
    result["config"] = asdict(config)
    return result
