from __future__ import annotations

import numpy as np
import pytest

from core.align.pseudo_queries import cloze_span, with_pseudo_queries
from core.data.builtins import load_corpus
from core.data.corpus import corpus_from_frame
from core.evaluation.live_index import LiveIndex


def test_add_search_remove_without_retraining():
    index = LiveIndex(3)
    index.add(["x", "y"], np.eye(3)[:2])
    assert index.search(np.eye(3)[:1], 1) == [["x"]]
    index.add_texts(["z"], ["third"], lambda texts: np.eye(3)[2:3])
    assert index.search(np.eye(3)[2:3], 1) == [["z"]] and len(index) == 3
    assert index.remove(["x", "missing"]) == 1
    assert index.search(np.eye(3)[:1], 3)[0][0] != "x" and len(index) == 2
    with pytest.raises(ValueError, match="already in the index"):
        index.add(["y"], np.eye(3)[:1])


def test_cloze_spans_come_from_the_text():
    rng = np.random.default_rng(0)
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    for _ in range(20):
        span = cloze_span(text, rng)
        assert span in text and 4 <= len(span.split()) <= 12
    assert cloze_span("too short", rng) == "too short"


def test_pseudo_queries_fill_only_missing_queries():
    import pandas as pd

    frame = pd.DataFrame({"id": ["a", "b"], "text": ["alpha beta gamma delta epsilon zeta eta", "b text"],
                          "query": ["", "given"], "path": ["t", "t"]})
    corpus = with_pseudo_queries(corpus_from_frame(frame, "x"))
    assert corpus.queries[1] == "given" and corpus.queries[0] in frame.text[0]
    assert corpus.queries[2] == ""  # the label node gets none
    assert len(with_pseudo_queries(load_corpus("synthetic:3x3")).query_nodes) == 13
