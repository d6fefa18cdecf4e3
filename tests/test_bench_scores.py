"""The benchmark's own scoring functions, on hand-worked examples (no data, no model)."""

from __future__ import annotations

import numpy as np

from bench.documents import rank_fusion, ranking_scores, recall_of_rankings


def test_rank_fusion_sums_reciprocal_ranks_hand_worked():
    dense = np.array([[0, 1, 2], [4, 3, 2]])  # (Q=2, R=3) document positions, best first
    lexical = np.array([[2, 0, 3], [1, 0, 4]])
    fused = rank_fusion([dense, lexical], n_docs=5, depth=4, k=60)
    # query 0: doc 0 = 1/61 + 1/62, doc 2 = 1/63 + 1/61, doc 1 = 1/62, doc 3 = 1/63
    assert fused[0].tolist() == [0, 2, 1, 3]
    # query 1: doc 4 = 1/61 + 1/63 beats doc 1 = 1/61 (BM25's first alone) and doc 3 = 1/62; doc 0 = 1/62 ties doc 3
    # and goes first by position
    assert fused[1].tolist() == [4, 1, 0, 3]
    assert fused.shape == (2, 4)


def test_rank_fusion_of_one_ranking_keeps_it():
    ranking = np.array([[3, 1, 4, 0, 2]])
    assert rank_fusion([ranking], n_docs=5, depth=5).tolist() == ranking.tolist()


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
