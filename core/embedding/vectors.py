"""Query and document embeddings of a corpus from an encoder spec: a sentence-transformers model (cached on disk) or
`gaussian:D`, the constructive reference embedding of the HR paper's Theorem 3.1."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.data.corpus import Corpus
from core.embedding.gaussian import gaussian_embeddings
from core.embedding.model import EmbeddingCache
from core.embedding.node_keys import node_keys
from core.errors import InputError

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class BaseVectors:
    """The frozen base model's view of a corpus: what text encoders start from and the references use."""

    queries: np.ndarray  # (m, D) unit vectors of corpus.query_texts()
    docs: np.ndarray  # (n, D) unit vectors of every node's document
    clause_vectors: np.ndarray | None = None  # (K, D) unit vectors of the documents' clauses (core/embedding/node_keys.py)
    clause_owner: np.ndarray | None = None  # (K,) node of each clause

    def __iter__(self):  # unpacks as the (queries, docs) pair older code expects
        return iter((self.queries, self.docs))


def embed_corpus(
    corpus: Corpus,
    model: str | None,
    cache: EmbeddingCache,
    *,
    device: str = "auto",
    seed: int = 0,
    clauses: bool = False,
    progress: Progress = _no_progress,
) -> BaseVectors:
    """Unit-normalised float32 vectors of the queries (corpus.query_nodes), every document, and optionally clauses."""
    if model and model.startswith("gaussian"):
        m = re.fullmatch(r"gaussian:(\d+)", model)
        if not m or int(m[1]) < 1:
            raise InputError(f"model {model!r}", "not a reference-encoder name", "write gaussian:D with a dimension D, e.g. gaussian:256")
        return BaseVectors(*gaussian_embeddings(corpus.hierarchy.ancestors, corpus.query_nodes, corpus.n, int(m[1]), seed))
    docs = cache.encode(list(corpus.texts), model, device=device, progress=lambda d, t: progress("encode documents", d, t))
    vectors = owner = None
    if clauses:
        keys = node_keys(corpus.texts, "clauses")
        extra = list(keys.texts[corpus.n:])
        vectors = cache.encode(extra, model, device=device, progress=lambda d, t: progress("encode clauses", d, t)) \
            if extra else np.zeros((0, docs.shape[1]), dtype=np.float32)
        owner = keys.owner[corpus.n:]
    texts = corpus.query_texts()  # a query that is also a document or clause (a WordNet lemma) is read back, not encoded
    queries = cache.encode(texts, model, device=device, progress=lambda d, t: progress("encode queries", d, t)) \
        if texts else np.zeros((0, docs.shape[1]), dtype=np.float32)
    return BaseVectors(queries, docs, vectors, owner)
