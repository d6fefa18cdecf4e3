"""Lexical references: BM25, and BM25 fused with the zero-shot encoder (reciprocal-rank fusion).

Where queries are short texts of their own (a `query` column), the first thing a sceptic tries against a trained
encoder is word overlap, and then word overlap fused with the untrained encoder. On 20 Newsgroups Subject -> body
that hybrid beats every trained row (docs/benchmarks.md), so a run on such a corpus is scored next to both, and next to
link-and-walk linking through the hybrid (core/evaluation/reference.py).
"""

from __future__ import annotations

import numpy as np

FUSION_DEPTH = 200  # the hybrid fuses each ranking's top this many (at least the width asked for)
FUSION_CELLS = 5_000_000  # rank_fusion reads at most this many ranking entries per pass (about 200 MB of work arrays)


def bm25_index(doc_texts: list[str]):
    """A BM25 index of the documents (bm25s: Lucene's BM25 variant, English stopwords, no stemming), built once and
    searched by bm25_search (None when the documents hold no word but stopwords); bm25s is imported here, as only
    corpora with a query column need it."""
    import bm25s

    tokens = bm25s.tokenize(list(doc_texts), stopwords="en", show_progress=False)
    if not tokens.vocab:
        return None  # not one word outside the stopwords: nothing can match (bm25s cannot index that)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    return retriever


def bm25_search(index, n_docs: int, query_texts: list[str], width: int) -> np.ndarray:
    """(Q, width) document ids by BM25 score, best first; -1 where a query shares no word with any more documents
    (a query of stopwords only ranks nothing)."""
    import bm25s

    ranking = np.full((len(query_texts), width), -1, dtype=np.int64)
    depth = min(width, n_docs)
    if index is None or not query_texts or depth <= 0:
        return ranking
    hits, scores = index.retrieve(bm25s.tokenize(list(query_texts), stopwords="en", show_progress=False),
                                  k=depth, show_progress=False, n_threads=1)
    ranking[:, :depth] = np.where(np.asarray(scores) > 0, np.asarray(hits, dtype=np.int64), -1)
    return ranking


def bm25_ranking(doc_texts: list[str], query_texts: list[str], width: int) -> np.ndarray:
    """bm25_search over a fresh index of `doc_texts`: (Q, width) ids, -1 past the documents sharing a word."""
    if not doc_texts or not query_texts or width <= 0:
        return np.full((len(query_texts), max(width, 0)), -1, dtype=np.int64)
    return bm25_search(bm25_index(doc_texts), len(doc_texts), query_texts, width)


def rank_fusion(rankings: list[np.ndarray], n_docs: int, width: int = 100, k: int = 60) -> np.ndarray:
    """Reciprocal-rank fusion (Cormack et al. 2009): a document scores the sum of 1 / (k + rank) over the rankings
    (rank from 1) that hold it; (Q, width) ids best first, ties to the lower id, -1 once no ranking holds more.

    Only the (query, document) pairs the rankings hold are scored, never a (Q, n_docs) table."""
    rankings = [np.asarray(r, dtype=np.int64) for r in rankings]  # each (Q, R) document ids, best first, -1 = none
    n_queries = len(rankings[0])
    fused = np.full((n_queries, width), -1, dtype=np.int64)
    chunk = max(1, FUSION_CELLS // max(sum(r.shape[1] for r in rankings), 1))  # queries per pass
    for start in range(0, n_queries, chunk):
        parts = [r[start:start + chunk] for r in rankings]
        q = len(parts[0])
        rows = np.concatenate([np.repeat(np.arange(q), p.shape[1]) for p in parts])  # (q * sum R,)
        ids = np.concatenate([p.ravel() for p in parts])
        weight = np.concatenate([np.tile(1.0 / (k + 1 + np.arange(p.shape[1])), q) for p in parts])
        held = ids >= 0
        pairs, where = np.unique(rows[held] * n_docs + ids[held], return_inverse=True)  # each (query, doc) once
        score = np.bincount(where, weights=weight[held])
        row, doc = pairs // n_docs, pairs % n_docs
        order = np.lexsort((doc, -score, row))  # by query, then score (high first), then id
        row, doc = row[order], doc[order]
        rank = np.arange(len(row)) - np.searchsorted(row, np.arange(q))[row]  # 0-based place within its query
        keep = rank < width
        fused[start + row[keep], rank[keep]] = doc[keep]
    return fused
