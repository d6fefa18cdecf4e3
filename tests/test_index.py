from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.index import brute_force_search, build_index, search


def test_exact_index_equals_brute_force():
    rng = np.random.default_rng(0)
    docs = rng.standard_normal((500, 24)).astype(np.float32)
    queries = rng.standard_normal((70, 24)).astype(np.float32)
    scores, ids = search(build_index(docs), queries, 10, batch=16)
    ref_scores, ref_ids = brute_force_search(docs, queries, 10)
    assert np.array_equal(ids, ref_ids)
    assert np.allclose(scores, ref_scores, atol=1e-4)


def test_hnsw_finds_most_true_neighbours():
    rng = np.random.default_rng(1)
    docs = rng.standard_normal((2000, 16)).astype(np.float32)
    queries = docs[:100] + 0.01 * rng.standard_normal((100, 16)).astype(np.float32)
    _, ids = search(build_index(docs, "hnsw"), queries, 5)
    _, ref = brute_force_search(docs, queries, 5)
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ids, ref)])
    assert overlap > 0.9


def test_k_larger_than_index_and_progress():
    docs = np.eye(3, dtype=np.float32)
    seen = []
    _, ids = search(build_index(docs), docs, 10, batch=2, progress=lambda d, t: seen.append((d, t)))
    assert ids.shape == (3, 3) and ids[:, 0].tolist() == [0, 1, 2]
    assert seen == [(2, 3), (3, 3)]


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown index kind"):
        build_index(np.eye(2), "ivf-magic")
