"""The benchmark's own scoring functions, on hand-worked examples (no data, no model)."""

from __future__ import annotations

import numpy as np

from bench.documents import ranking_scores, recall_of_rankings


def test_recall_of_rankings_counts_each_querys_own_document_hand_worked():
    rankings = np.array([[5, 1, 2], [0, 9, 7], [3, 4, 6]])  # (Q, depth)
    targets = np.array([5, 7, 8])  # query 0 finds its own at rank 1, query 1 at rank 3, query 2 never
    assert recall_of_rankings(rankings, targets, ks=(1, 2, 3)) == [1 / 3, 1 / 3, 2 / 3]


def test_ranking_scores_mrr_and_ndcg_hand_worked():
    doc_group = np.array(["a", "a", "b", "b", "b"])
    rankings = np.array([[2, 0, 1], [3, 4, 0]])  # query 0 (group a): relevant at ranks 2, 3; query 1 (b): ranks 1, 2
    mrr, ndcg = ranking_scores(rankings, np.array(["a", "b"]), doc_group, k=3)
    assert np.isclose(mrr, (1 / 2 + 1) / 2)
    # query 0: DCG = 1/log2(3) + 1/log2(4), ideal (2 relevant in the pool) = 1 + 1/log2(3)
    # query 1: DCG = 1 + 1/log2(3), ideal (3 relevant) = 1 + 1/log2(3) + 1/log2(4)
    first = (1 / np.log2(3) + 0.5) / (1 + 1 / np.log2(3))
    second = (1 + 1 / np.log2(3)) / (1 + 1 / np.log2(3) + 0.5)
    assert np.isclose(ndcg, (first + second) / 2)


def test_ranking_scores_never_count_an_empty_slot_as_relevant():
    doc_group = np.array(["a", "b", "a"])  # the last document is of group a: a -1 must not read it
    rankings = np.array([[1, -1, -1]])
    mrr, ndcg = ranking_scores(rankings, np.array(["a"]), doc_group, k=3)
    assert mrr == 0.0 and ndcg == 0.0
