"""BM25 and reciprocal-rank fusion, the lexical references, on hand-built texts and rankings."""

from __future__ import annotations

import numpy as np

import core.evaluation.lexical
from core.evaluation.lexical import bm25_ranking, rank_fusion


def test_rank_fusion_sums_reciprocal_ranks_hand_worked():
    dense = np.array([[0, 1, 2], [4, 3, 2]])  # (Q=2, R=3) document ids, best first
    lexical = np.array([[2, 0, 3], [1, 0, 4]])
    fused = rank_fusion([dense, lexical], n_docs=5, width=4, k=60)
    # query 0: doc 0 = 1/61 + 1/62, doc 2 = 1/63 + 1/61, doc 1 = 1/62, doc 3 = 1/63
    assert fused[0].tolist() == [0, 2, 1, 3]
    # query 1: doc 4 = 1/61 + 1/63 beats doc 1 = 1/61 (BM25's first alone) and doc 3 = 1/62; doc 0 = 1/62 ties doc 3
    # and goes first, the lower id
    assert fused[1].tolist() == [4, 1, 0, 3]


def test_rank_fusion_of_one_ranking_keeps_it():
    ranking = np.array([[3, 1, 4, 0, 2]])
    assert rank_fusion([ranking], n_docs=5, width=5).tolist() == ranking.tolist()


def test_rank_fusion_skips_empty_slots_and_pads_what_no_ranking_holds():
    dense = np.array([[4, 0]])
    lexical = np.array([[-1, -1]])  # BM25 found nothing: -1 must not score the last document
    fused = rank_fusion([dense, lexical], n_docs=5, width=4)
    assert fused.tolist() == [[4, 0, -1, -1]]


def test_rank_fusion_works_through_query_chunks(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = (np.stack([rng.permutation(50)[:10] for _ in range(7)]) for _ in range(2))
    whole = rank_fusion([a, b], n_docs=50, width=10)  # one pass
    monkeypatch.setattr(core.evaluation.lexical, "FUSION_CELLS", 40)  # two queries (2 x 20 entries) per pass: the last one short
    assert rank_fusion([a, b], n_docs=50, width=10).tolist() == whole.tolist()


def test_bm25_ranks_the_document_sharing_a_rare_word_first():
    docs = ["the cat sat on the mat", "dogs bark at the postman", "a cat and a dog met a postman", "weather today"]
    ranking = bm25_ranking(docs, ["postman dogs", "weather", "the and a"], width=3)
    assert ranking.shape == (3, 3)
    assert ranking[0, 0] == 1  # both words; doc 2 has only 'postman'
    assert ranking[0, 1] == 2 and ranking[0, 2] == -1  # no third document shares a word
    assert ranking[1].tolist() == [3, -1, -1]
    assert ranking[2].tolist() == [-1, -1, -1]  # stopwords only: nothing to rank


def test_bm25_width_beyond_the_corpus_pads():
    assert bm25_ranking(["one apple", "two pears"], ["apple"], width=5).tolist() == [[0, -1, -1, -1, -1]]


def _asked_corpus(with_queries: bool):
    import pandas as pd

    from core.data.corpus import corpus_from_frame

    frame = pd.DataFrame({"id": ["a", "b", "c", "d"],
                          "text": ["rocket launch orbit", "engine brake wheel", "oven flour butter", "moon shuttle"],
                          "path": ["space", "cars", "food", "space"]})
    if with_queries:
        frame["query"] = ["orbit question", "brake noise", "", "shuttle moon"]
    return corpus_from_frame(frame, "asked.csv")


def test_lexical_references_rank_each_querys_own_text_and_fuse_with_the_zero_shot_vectors():
    from core.evaluation.reference import lexical_rankings

    corpus = _asked_corpus(with_queries=True)
    nodes = corpus.query_nodes  # a, b, d (c has no query)
    assert [corpus.ids[i] for i in nodes] == ["a", "b", "d"]
    # zero-shot vectors that get every query wrong: each query points at node 'c'
    docs = np.eye(corpus.n, dtype=np.float32)
    queries = np.tile(docs[corpus.hierarchy.index["c"]], (len(nodes), 1))
    rankings = lexical_rankings(corpus, queries, docs, width=3)
    bm25, hybrid = rankings["reference_bm25"], rankings["reference_hybrid"]
    assert bm25.shape == hybrid.shape == (3, 3)
    assert bm25[:, 0].tolist() == nodes.tolist()  # each query's words are in its own text only
    assert (bm25[:, 1:] == -1).all()
    # fused: BM25's first (1/61) ties the dense first 'c' (1/61); the dense list also holds the own node further down,
    # so the own node scores more and leads
    assert hybrid[:, 0].tolist() == nodes.tolist()
    assert (hybrid[:, 1] == corpus.hierarchy.index["c"]).all()
    # link-and-walk through the hybrid: the hybrid's first hit, then its ancestors (the 'space'/'cars' label node),
    # then the rest of the hybrid's list
    walk = rankings["reference_hybrid_walk"]
    index = corpus.hierarchy.index
    assert walk[:, :2].tolist() == [[index["a"], index["space"]], [index["b"], index["cars"]],
                                    [index["d"], index["space"]]]
    assert (walk[:, 2] == index["c"]).all()


def test_no_lexical_references_where_queries_are_the_documents_own_texts():
    from core.evaluation.reference import lexical_rankings

    corpus = _asked_corpus(with_queries=False)
    vectors = np.eye(corpus.n, dtype=np.float32)
    assert lexical_rankings(corpus, vectors[corpus.query_nodes], vectors) == {}


def test_bm25_of_documents_with_no_word_but_stopwords_ranks_nothing():
    assert bm25_ranking(["the", "a and", ""], ["the cat", "cat"], width=2).tolist() == [[-1, -1], [-1, -1]]
    assert bm25_ranking(["cat dog", "x"], ["", "dog"], width=2).tolist() == [[-1, -1], [0, -1]]
