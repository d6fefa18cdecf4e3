"""Each metric against an example worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.hierarchy import Hierarchy
from core.evaluation.metrics import (
    knn_macro_f1,
    knn_vote,
    precision_at_k,
    query_metrics,
    recall_by_distance,
    target_ranks,
)

# chain r(0) <- a(1) <- b(2); queries for b and a
CHAIN = Hierarchy.from_parent_lists(["r", "a", "b"], [[], [0], [1]])
QUERIES = np.array([2, 1])
RETRIEVED = np.array([[2, 0, 1], [2, 1, 0]])


def test_recall_by_distance_top_size_of_relevant_set():
    # query b keeps its top 3 = {b, r, a}: hits at d0, d2, d1. query a keeps its top 2 = {b, a}: d0 hit, d1 (r) missed.
    m = recall_by_distance(RETRIEVED, QUERIES, CHAIN.ancestors)
    assert m["pairs_by_distance"] == {"0": 2, "1": 2, "2": 1}
    assert m["recall_by_distance"] == {"0": 1.0, "1": 0.5, "2": 1.0}
    assert m["recall_overall"] == pytest.approx(4 / 5)
    assert m["recall_min"] == 0.5


def test_recall_at_fixed_k():
    # k=1: query b keeps {b} (d0 hit); query a keeps {b} (nothing)
    m = recall_by_distance(RETRIEVED, QUERIES, CHAIN.ancestors, k=1)
    assert m["recall_by_distance"] == {"0": 0.5, "1": 0.0, "2": 0.0}
    assert m["recall_overall"] == pytest.approx(1 / 5)
    assert m["recall_min"] == 0.0


def test_recall_needs_enough_columns():
    with pytest.raises(ValueError, match="columns"):
        recall_by_distance(RETRIEVED[:, :2], QUERIES, CHAIN.ancestors)


def test_query_metrics_from_ranks():
    ranks = target_ranks(np.array([[7, 1, 2], [4, 5, 9], [1, 2, 3], [0, 0, 0]]), np.array([7, 9, 8, 0]))
    assert ranks.tolist() == [0, 2, -1, 0]
    m = query_metrics(np.array([0, 2, -1, 15]), ks=(1, 10, 100))
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3) / 4)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / np.log2(4)) / 4)
    assert (m["recall@1"], m["recall@10"], m["recall@100"]) == (0.25, 0.5, 0.75)


def test_precision_and_knn_macro_f1():
    neighbours = np.array([[1, 2, 2], [3, 1, 3], [5, 6, 7]])
    labels = np.array([2, 1, 5])
    assert knn_vote(neighbours).tolist() == [2, 3, 5]  # majority; a three-way tie goes to the nearest
    assert precision_at_k(neighbours, labels) == pytest.approx((2 / 3 + 1 / 3 + 1 / 3) / 3)
    # per true label: 1 -> F1 0 (missed), 2 -> 1, 5 -> 1
    assert knn_macro_f1(neighbours, labels) == pytest.approx(2 / 3)
