"""Scoring new phrasings (core/data/phrasings.py): queries no run trained on, each naming the node it should find.

The same metrics as any held-out query (recall by distance; MRR, nDCG and recall@k of the node itself), next to the
same references: link-and-walk (through documents, and through clauses where the run links through them), BM25, the
BM25 + zero-shot hybrid and link-and-walk through it. A phrasing is a text of its own, so the lexical references always
apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.data.corpus import Corpus
from core.evaluation.evaluate import retrieval_metrics
from core.evaluation.index import build_index, search
from core.evaluation.lexical import bm25_index
from core.evaluation.metrics import query_metrics, target_ranks
from core.evaluation.reference import beats, reference_ranking, search_lexical_references

if TYPE_CHECKING:
    from core.data.phrasings import Phrasings
    from core.embedding.vectors import BaseVectors

RECALL_K = 10


def phrasing_width(corpus: Corpus, nodes: np.ndarray) -> int:
    """Ranked documents every metric needs: the largest ancestor set, recall@10, and the top 100 for MRR / recall@100."""
    return int(min(max(corpus.hierarchy.ancestors.sizes()[nodes].max(initial=1), RECALL_K, 100), corpus.n))


def ranking_metrics(corpus: Corpus, ranking: np.ndarray, nodes: np.ndarray) -> dict:
    """The held-out queries' metrics (retrieval_metrics) of a (q, width) ranking, and always the node's own rank
    metrics: a phrasing is a query text of its own even where the corpus has no query column."""
    out = retrieval_metrics(corpus, ranking, nodes, RECALL_K)
    if "query_metrics" not in out:
        out["query_metrics"] = query_metrics(target_ranks(ranking[:, :100], nodes))
    return out


def phrasing_references(corpus: Corpus, phrasings: Phrasings, vectors: np.ndarray, base: BaseVectors,
                        clauses: bool = False) -> dict[str, np.ndarray]:
    """Each reference's (q, width) ranking of the phrasings, from their zero-shot `vectors` (q, D)."""
    width = phrasing_width(corpus, phrasings.nodes)
    out = {"reference": reference_ranking(corpus, vectors, base.docs, width=width)}
    if clauses and base.clause_vectors is not None:
        out["reference_clauses"] = reference_ranking(corpus, vectors, base.docs, base.clause_vectors, base.clause_owner,
                                                     width=width)
    out.update(search_lexical_references(corpus, bm25_index(corpus.texts), list(phrasings.texts), vectors, base.docs,
                                         width))
    return out


def score_phrasings(corpus: Corpus, phrasings: Phrasings, zero_shot: np.ndarray, base: BaseVectors,
                    aligned: tuple[np.ndarray, np.ndarray] | None = None, clauses: bool = False) -> dict:
    """metrics.json's `new_phrasings`: `before` (zero-shot), each reference, and with `aligned` (query vectors of the
    phrasings, document vectors) `after` and a summary of where it stands against each."""
    nodes, width = phrasings.nodes, phrasing_width(corpus, phrasings.nodes)
    _, before = search(build_index(base.docs), zero_shot, width)
    out = {"source": phrasings.source, "queries": len(phrasings), "before": ranking_metrics(corpus, before, nodes)}
    for name, ranking in phrasing_references(corpus, phrasings, zero_shot, base, clauses).items():
        out[name] = ranking_metrics(corpus, ranking, nodes)
    if aligned is not None:
        _, after = search(build_index(aligned[1]), aligned[0], width)
        out["after"] = ranking_metrics(corpus, after, nodes)
        out["summary"] = {f"vs_{name}": beats(out["after"], out[name]) for name in out
                          if name == "before" or name.startswith("reference")}
    return out
