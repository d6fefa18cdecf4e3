from __future__ import annotations

import re

import numpy as np
import pytest

from core.data.builtins import load_corpus, wordnet_nouns
from core.embedding.gaussian import gaussian_embeddings
from core.evaluation.evaluate import evaluate_embeddings


def test_all_wordnet_nouns():
    nouns = wordnet_nouns()
    stats = nouns.stats()
    assert stats["nodes"] == 82_115
    assert stats["ancestor_pairs"] == 825_356  # 743,241 pairs excluding self, as in the HR paper's table
    assert stats["roots"] == 1 and nouns.ids[nouns.hierarchy.roots[0]] == "entity.n.01"
    assert load_corpus("wordnet:entity.n.01") is nouns


def test_wordnet_subtree_and_texts():
    mammal = load_corpus("wordnet:mammal.n.01")
    assert mammal.n == 1_182
    h = mammal.hierarchy
    assert h.ids[h.roots[0]] == "mammal.n.01" and len(h.roots) == 1
    dog = h.index["dog.n.01"]
    assert mammal.queries[dog] == "dog"
    assert mammal.texts[dog].startswith("dog, domestic dog, Canis familiaris: a member of the genus Canis")
    # dog.n.01's other parent, domestic_animal.n.01, lies outside the subtree and is dropped
    assert [h.ids[p] for p in h.parents(dog)] == ["canine.n.02"]


@pytest.mark.parametrize("height, width, nodes", [(4, 5, 156), (3, 3, 13), (1, 7, 1)])
def test_synthetic_trees(height, width, nodes):
    c = load_corpus(f"synthetic:{height}x{width}")
    assert c.n == nodes
    assert c.hierarchy.is_tree and c.hierarchy.max_depth == height - 1
    assert (c.hierarchy.child_count[c.hierarchy.child_count > 0] == width).all()


def test_constructive_embedding_scores_perfect_recall_at_d256():
    c = load_corpus("synthetic:4x5")
    for seed in range(3):
        queries, docs = gaussian_embeddings(c.hierarchy.ancestors, c.query_nodes, c.n, 256, seed)
        m = evaluate_embeddings(c, queries, docs)
        assert m["recall_overall"] == 1.0 and m["recall_min"] == 1.0
        assert m["heldout"]["recall_overall"] == 1.0


def test_constructive_embedding_degrades_at_low_dimension():
    c = load_corpus("synthetic:4x5")
    queries, docs = gaussian_embeddings(c.hierarchy.ancestors, c.query_nodes, c.n, 8, 0)
    assert evaluate_embeddings(c, queries, docs)["recall_overall"] < 0.9
    assert np.allclose(np.linalg.norm(queries, axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("name, words", [
    ("synthetic:5000x5000", "more than 2,000,000 nodes"),
    ("synthetic:100000x100000", "more than 2,000,000 nodes"),
    ("synthetic:1000000x2", "more than 2,000,000 nodes"),
    ("synthetic:2x" + "9" * 5000, "more than 2,000,000 nodes"),  # beyond int()'s 4,300 digits
    ("synthetic:1000000x1", "more than 25,000,000 (node, ancestor) pairs"),  # a chain: few nodes, 5 * 10^11 pairs
    ("synthetic:7071x1", "more than 25,000,000 (node, ancestor) pairs"),
])
def test_huge_synthetic_trees_are_refused_at_once(name, words):
    import time

    from core.errors import InputError

    start = time.perf_counter()
    with pytest.raises(InputError, match=re.escape(words)) as refused:
        load_corpus(name)
    assert time.perf_counter() - start < 1  # arithmetic, not building
    assert len(str(refused.value)) < 300  # one readable line, even for a 5,000-digit name


def test_synthetic_sizes_are_counted_exactly_below_the_limits():
    from core.data.builtins import synthetic_size

    assert synthetic_size(4, 5) == (156, 1 + 2 * 5 + 3 * 25 + 4 * 125)
    assert synthetic_size(7070, 1) == (7070, 7070 * 7071 // 2)
    assert synthetic_size(1, 10**12) == (1, 1)  # a lone root, however wide
    assert synthetic_size(2, 1_999_999) == (2_000_000, 1 + 2 * 1_999_999)


@pytest.mark.parametrize("typed", ["/etc/passwd", "secret.csv", "data/x.jsonl", "C:/x.csv", "http://x/y.csv", " "])
def test_the_built_in_name_box_never_takes_a_path(typed):
    from core.data.builtins import builtin_name
    from core.errors import InputError

    with pytest.raises(InputError, match="not a built-in corpus name"):
        builtin_name(typed)
    assert builtin_name(" synthetic:3x3 ") == "synthetic:3x3" and builtin_name("wordnet:dog.n.01") == "wordnet:dog.n.01"


def test_a_fifo_is_refused_instead_of_read(tmp_path):
    import os

    from core.errors import InputError

    fifo = tmp_path / "x.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file or folder"):
        load_corpus(fifo)
