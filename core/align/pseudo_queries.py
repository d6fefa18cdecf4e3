"""Inverse Cloze Task pseudo-queries: a span cut from each document stands in for a query (HCE's unsupervised
variant; HEAL's stand-in for LLM-written questions). Results say when queries are pseudo-queries."""

from __future__ import annotations

import numpy as np

from core.data.corpus import Corpus


def cloze_span(text: str, rng: np.random.Generator, min_words: int = 4, max_words: int = 12) -> str:
    """A random run of min_words..max_words consecutive words (the whole text if shorter)."""
    words = text.split()
    if len(words) <= min_words:
        return text
    length = int(rng.integers(min_words, min(max_words, len(words)) + 1))
    start = int(rng.integers(0, len(words) - length + 1))
    return " ".join(words[start : start + length])


def with_pseudo_queries(corpus: Corpus, seed: int = 0) -> Corpus:
    """The corpus with a query for every row: its own query where it has one, else a cloze span of its text."""
    rng = np.random.default_rng(seed)
    queries = []
    for i in range(corpus.n):
        given = corpus.queries[i] if corpus.queries is not None else ""
        queries.append(given or (cloze_span(corpus.texts[i], rng) if corpus.is_row[i] else ""))
    return Corpus(f"{corpus.name} (cloze queries)", corpus.hierarchy, corpus.texts, tuple(queries), corpus.is_row,
                  corpus.layout)
