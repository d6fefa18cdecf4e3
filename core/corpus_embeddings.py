"""Query and document embeddings of a corpus from an encoder spec: a sentence-transformers model (cached on disk) or
`gaussian:D`, the constructive reference embedding of the HR paper's Theorem 3.1."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from core.corpus import Corpus
from core.embeddings import EmbeddingCache
from core.errors import InputError
from core.gaussian import gaussian_embeddings

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def embed_corpus(
    corpus: Corpus,
    model: str | None,
    cache: EmbeddingCache,
    *,
    device: str = "auto",
    seed: int = 0,
    progress: Progress = _no_progress,
) -> tuple[np.ndarray, np.ndarray]:
    """(query vectors for corpus.query_nodes, document vectors for every node), unit-normalised float32."""
    if model and model.startswith("gaussian"):
        m = re.fullmatch(r"gaussian:(\d+)", model)
        if not m or int(m[1]) < 1:
            raise InputError(f"model {model!r}", "not a reference-encoder name", "write gaussian:D with a dimension D, e.g. gaussian:256")
        return gaussian_embeddings(corpus.hierarchy.ancestors, corpus.query_nodes, corpus.n, int(m[1]), seed)
    queries = cache.encode(corpus.query_texts(), model, device=device, progress=lambda d, t: progress("encode queries", d, t))
    docs = cache.encode(list(corpus.texts), model, device=device, progress=lambda d, t: progress("encode documents", d, t))
    return queries, docs
