from __future__ import annotations

import numpy as np
import pytest

from core.builtins import load_corpus, wordnet_nouns
from core.evaluate import evaluate_embeddings
from core.gaussian import gaussian_embeddings


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


@pytest.mark.parametrize("name", ["synthetic:5000x5000", "synthetic:100000x100000", "synthetic:1000000x2"])
def test_huge_synthetic_trees_are_refused_at_once(name):
    from core.errors import InputError

    with pytest.raises(InputError, match="more than 2,000,000 nodes"):
        load_corpus(name)


def test_a_fifo_is_refused_instead_of_read(tmp_path):
    import os

    from core.errors import InputError

    fifo = tmp_path / "x.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file or folder"):
        load_corpus(fifo)
