"""Inner-product search with FAISS: exact (IndexFlatIP) by default, HNSW for large corpora.

Vectors are float32 and C-contiguous before they reach FAISS (it silently needs both).
"""

from __future__ import annotations

from collections.abc import Callable

import faiss
import numpy as np

INDEX_KINDS = ("exact", "hnsw")


def _f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def build_index(vectors: np.ndarray, kind: str = "exact", hnsw_m: int = 32, ef_search: int = 128) -> faiss.Index:
    """An inner-product index over `vectors` (N, d); `kind` is 'exact' or 'hnsw' (approximate, faster on big N)."""
    vectors = _f32(vectors)
    d = vectors.shape[1]
    if kind == "exact":
        index = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = ef_search
    else:
        raise ValueError(f"unknown index kind {kind!r}; use one of {INDEX_KINDS}")
    index.add(vectors)
    return index


def search(
    index: faiss.Index,
    queries: np.ndarray,
    k: int,
    batch: int = 4096,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for each query, best first; batched so progress can be reported on big query sets."""
    queries = _f32(queries)
    k = min(k, index.ntotal)
    scores = np.empty((len(queries), k), dtype=np.float32)
    ids = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), batch):
        s, i = index.search(queries[start : start + batch], k)
        scores[start : start + batch], ids[start : start + batch] = s, i
        if progress is not None:
            progress(min(start + batch, len(queries)), len(queries))
    return scores, ids


def brute_force_search(docs: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference search with numpy (for tests): top-k by inner product, ties broken by lower id."""
    sims = queries @ docs.T  # (m, N)
    order = np.lexsort((np.broadcast_to(np.arange(docs.shape[0]), sims.shape), -sims), axis=1)[:, :k]
    return np.take_along_axis(sims, order, axis=1), order
