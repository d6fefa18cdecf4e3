"""Link-and-walk: the simple reference every aligned encoder is measured against.

Link the query to its zero-shot nearest node, return that node's ancestor chain from the corpus graph (nearest first),
and fill the rest of the list with the query's zero-shot neighbours. It needs the graph at query time, which a dual
encoder does not have; an aligned dual encoder that cannot match it has not learnt the hierarchy.

The link is the node of the nearest key: by default the nearest document; with clause keys (core/embedding/node_keys.py), the
nearest document or clause, which is what the memory method links through. Both are reported where a run uses clauses,
so the reference never lacks a linking aid the method has.

Where queries are texts of their own (a `query` column), lexical references join it (core/evaluation/lexical.py): BM25, BM25
fused with the zero-shot encoder (the hybrid a sceptic tries first on a query -> document task), and link-and-walk
linking through that hybrid instead of the zero-shot encoder alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.data.corpus import Corpus
from core.data.hierarchy import Ancestors
from core.evaluation.evaluate import EvalConfig, heldout_mask, retrieval_metrics
from core.evaluation.index import build_index, search
from core.evaluation.lexical import FUSION_DEPTH, bm25_index, bm25_search, rank_fusion

if TYPE_CHECKING:
    from core.embedding.vectors import BaseVectors

# every reference a run is scored against: metrics.json key -> the name people read
REFERENCE_NAMES = {
    "reference": "link-and-walk",
    "reference_clauses": "link-and-walk via clauses",
    "reference_bm25": "BM25",
    "reference_hybrid": "BM25 + zero-shot hybrid",
    "reference_hybrid_walk": "link-and-walk via the hybrid",
}


def link_and_walk(ancestors: Ancestors, linked: np.ndarray, neighbours: np.ndarray, width: int) -> np.ndarray:
    """(m, width) ranked document ids: the ancestors of linked[i] (itself first, nearest first), then the ids of
    neighbours[i] (zero-shot, best first) that are not in that chain; -1 pads rows that run out."""
    linked = np.asarray(linked, dtype=np.int64)
    m = len(linked)
    starts, counts = ancestors.ptr[linked], np.diff(ancestors.ptr)[linked]
    chain_width = int(counts.max(initial=0))
    chain = np.full((m, chain_width), -1, dtype=np.int64)
    col = np.arange(chain_width)
    inside = col[None, :] < counts[:, None]
    chain[inside] = ancestors.ancestor[(starts[:, None] + col[None, :])[inside]]
    candidates = np.concatenate([chain, np.asarray(neighbours, dtype=np.int64)], axis=1)  # (m, C)
    # keep the first occurrence of every id in a row, in order
    order = np.argsort(candidates, axis=1, kind="stable")
    sorted_ids = np.take_along_axis(candidates, order, axis=1)
    repeat = np.zeros_like(sorted_ids, dtype=bool)
    repeat[:, 1:] = sorted_ids[:, 1:] == sorted_ids[:, :-1]
    keep = np.empty_like(repeat)
    np.put_along_axis(keep, order, ~repeat, axis=1)
    keep &= candidates >= 0
    # stable-compact the kept ids to the left of each row
    position = np.where(keep, np.cumsum(keep, axis=1) - 1, candidates.shape[1])
    out = np.full((m, candidates.shape[1] + 1), -1, dtype=np.int64)
    np.put_along_axis(out, position, np.where(keep, candidates, -1), axis=1)
    out = out[:, : candidates.shape[1]]
    if out.shape[1] < width:
        out = np.pad(out, ((0, 0), (0, width - out.shape[1])), constant_values=-1)
    return out[:, :width]


def reference_ranking(
    corpus: Corpus,
    base_queries: np.ndarray,  # (m, d) zero-shot query vectors, one per corpus.query_nodes
    base_docs: np.ndarray,  # (n, d) zero-shot document vectors, one per node
    key_vectors: np.ndarray | None = None,  # (K, d) vectors of further keys (e.g. clauses) ...
    key_owner: np.ndarray | None = None,  # (K,) ... and the node each belongs to
    width: int | None = None,
) -> np.ndarray:
    """(m, width) link-and-walk rankings of every query; width defaults to what every metric needs."""
    width = min(reference_width(corpus) if width is None else width, corpus.n)
    _, neighbours = search(build_index(base_docs), base_queries, width)
    linked = neighbours[:, 0]
    if key_vectors is not None and len(key_vectors):
        best_score, best_key = search(build_index(key_vectors), base_queries, 1)
        doc_score = np.einsum("ij,ij->i", base_queries, base_docs[linked])
        better = best_score[:, 0] > doc_score
        linked = np.where(better, key_owner[best_key[:, 0]], linked)
    return link_and_walk(corpus.hierarchy.ancestors, linked, neighbours, width)


def better_link_keys(corpus: Corpus, references: dict[str, np.ndarray], positions: np.ndarray) -> str:
    """'clauses' or 'documents': which keys link the queries at `positions` (validation queries, never the held-out
    ones) to their nodes better, scored as link-and-walk's overall recall through each (`references`, from
    reference_rankings, holds both rankings). Clauses help where documents are short glosses that name their node
    (WordNet) and hurt where they are long posts split into many near-identical pieces (20 Newsgroups:
    docs/reproduction.md). A tie goes to clauses; without a clause ranking there is nothing to compare, and documents
    it is."""
    if "reference_clauses" not in references or not len(positions):
        return "documents"
    nodes, k = corpus.query_nodes[positions], EvalConfig().recall_k
    through_documents = retrieval_metrics(corpus, references["reference"][positions], nodes, k)
    through_clauses = retrieval_metrics(corpus, references["reference_clauses"][positions], nodes, k)
    return "clauses" if through_clauses["recall_overall"] >= through_documents["recall_overall"] else "documents"


def reference_rankings(corpus: Corpus, base: BaseVectors | None, clauses: bool = False,
                       lexical: bool = True) -> dict[str, np.ndarray]:
    """Each reference's (queries, width) ranking: 'reference' (link-and-walk over documents), 'reference_clauses'
    (over documents and clauses, when asked and available), and with `lexical`, for corpora with a query column,
    'reference_bm25', 'reference_hybrid' and 'reference_hybrid_walk' (core/evaluation/lexical.py); empty for lookup
    runs, which have no base model to link with."""
    if base is None:
        return {}
    out = {"reference": reference_ranking(corpus, base.queries, base.docs)}
    if clauses and base.clause_vectors is not None:
        out["reference_clauses"] = reference_ranking(corpus, base.queries, base.docs, base.clause_vectors,
                                                     base.clause_owner)
    if lexical:
        out.update(lexical_rankings(corpus, base.queries, base.docs, width=out["reference"].shape[1]))
    return out


def reference_width(corpus: Corpus) -> int:
    """How many ranked documents every metric needs: the largest ancestor set, at least 10 (recall@10), and 100 where
    queries are texts of their own (the query metrics read the top 100)."""
    sizes = corpus.hierarchy.ancestors.sizes()[corpus.query_nodes]
    return int(max(sizes.max(initial=1), 10, 100 if corpus.queries is not None else 0))


def lexical_rankings(corpus: Corpus, base_queries: np.ndarray, base_docs: np.ndarray,
                     width: int | None = None) -> dict[str, np.ndarray]:
    """{'reference_bm25', 'reference_hybrid', 'reference_hybrid_walk'}: (m, width) rankings of every query by BM25
    over the nodes' texts, by reciprocal-rank fusion of BM25 with the zero-shot vectors, and by link-and-walk linking
    through that hybrid (its first hit, then that node's ancestors, then the rest of the hybrid's list); empty when the
    queries are the documents' own texts (no query column), where word overlap finds the query's own node trivially."""
    if corpus.queries is None:
        return {}
    width = min(reference_width(corpus) if width is None else width, corpus.n)
    return search_lexical_references(corpus, bm25_index(corpus.texts), corpus.query_texts(), base_queries, base_docs,
                                     width)


def search_lexical_references(corpus: Corpus, index, query_texts: list[str], base_queries: np.ndarray,
                              base_docs: np.ndarray, width: int) -> dict[str, np.ndarray]:
    """lexical_references for any query texts (with their zero-shot vectors) against a BM25 index of the corpus's
    texts (core/lexical.bm25_index): each ranking fused holds FUSION_DEPTH documents, or `width` if more."""
    depth = min(max(width, FUSION_DEPTH), corpus.n)
    lexical = bm25_search(index, corpus.n, query_texts, depth)
    _, dense = search(build_index(base_docs), base_queries, depth)
    return lexical_references(corpus.hierarchy.ancestors, lexical, dense, width)


def lexical_references(ancestors: Ancestors, lexical: np.ndarray, dense: np.ndarray, width: int) -> dict[str, np.ndarray]:
    """The three lexical references' (m, width) rankings from a BM25 ranking and a zero-shot one (each (m, depth)
    document ids, best first, -1 = none): BM25 itself, their reciprocal-rank fusion, and link-and-walk linking
    through the fusion's first hit (never -1 while the zero-shot list is full)."""
    hybrid = rank_fusion([dense, lexical], len(ancestors.ptr) - 1, max(width, lexical.shape[1]))
    walk = link_and_walk(ancestors, hybrid[:, 0], hybrid, width)
    return {"reference_bm25": lexical[:, :width], "reference_hybrid": hybrid[:, :width],
            "reference_hybrid_walk": walk}


def reference_metrics(corpus: Corpus, ranking: np.ndarray, config: EvalConfig | None = None) -> dict:
    """The metrics of a reference's ranking, with the same keys (and `heldout`) as evaluate_embeddings."""
    config = config or EvalConfig()
    nodes = corpus.query_nodes
    held = heldout_mask(len(nodes), config.heldout_fraction, config.seed)
    result = retrieval_metrics(corpus, ranking, nodes, config.recall_k)
    result["heldout"] = retrieval_metrics(corpus, ranking[held], nodes[held], config.recall_k)
    return result


def beats(candidate: dict, reference: dict) -> dict:
    """Where `candidate` is at or above `reference`, distance by distance (recall-by-distance dicts of one split)."""
    mine, theirs = candidate["recall_by_distance"], reference["recall_by_distance"]
    behind = {d: round(theirs[d] - mine.get(d, 0.0), 6) for d in theirs if mine.get(d, 0.0) < theirs[d]}
    return {"everywhere": not behind, "behind_at": behind,
            "overall_gain": candidate["recall_overall"] - reference["recall_overall"],
            "min_gain": candidate["recall_min"] - reference["recall_min"]}
