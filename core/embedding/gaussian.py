"""The constructive embedding behind Theorem 3.1 of the HR paper, as a reference encoder.

One random Gaussian unit vector per document; a query's vector is the normalised sum of the vectors of its relevant
documents (its node's ancestors, itself included). In dimension O(s log m) this separates relevant from irrelevant
documents for every query, so a correct recall-by-distance metric must score it 1.0 there: a check on the metric and
the engine with no model involved.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from core.data.hierarchy import Ancestors, relevant_pairs


def gaussian_embeddings(
    ancestors: Ancestors, query_nodes: np.ndarray, n_docs: int, dim: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(queries (m, dim), documents (n_docs, dim)), all unit-normalised float32."""
    rng = np.random.default_rng(seed)
    docs = rng.standard_normal((n_docs, dim)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    rows, cols, _ = relevant_pairs(ancestors, query_nodes)
    membership = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(query_nodes), n_docs))
    queries = np.asarray(membership @ docs, dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return queries, docs
