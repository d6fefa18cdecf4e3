"""Hierarchy discovery recovers planted trees, picks the planted k, and its result is an ordinary corpus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import homogeneity_score
from sklearn.metrics import normalized_mutual_info_score as nmi

from core.data.corpus import corpus_from_frame
from core.data.files import load_corpus_file, save_corpus
from core.discovery.discover import discover
from core.discovery.hnmfk import HNMFkConfig, hnmfk, select_k
from core.discovery.kmeans_tree import build_kmeans_tree

# A planted two-level topic tree: 3 topics, each with 2 subtopics, each with its own words.
TOPICS = {
    "space": {"orbit": "orbit satellite launch rocket", "stars": "star galaxy telescope nebula"},
    "food": {"bread": "bread flour yeast oven", "fruit": "apple banana mango orchard"},
    "music": {"guitar": "guitar chord string amplifier", "drums": "drum cymbal snare rhythm"},
}


def planted_corpus(per_leaf: int = 25, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for topic, subs in TOPICS.items():
        shared = topic + " " + " ".join(f"{topic}{i}" for i in range(4))
        for sub, words in subs.items():
            vocab = (shared.split() * 2) + words.split() * 3
            for i in range(per_leaf):
                text = " ".join(rng.choice(vocab, 12))
                rows.append({"id": f"{sub}{i}", "text": text, "gold": f"{topic}/{sub}"})
    frame = pd.DataFrame(rows)
    return corpus_from_frame(frame[["id", "text"]], "planted"), frame["gold"].tolist()


def top_and_leaf(corpus, rows=None):
    h = corpus.hierarchy
    labels = h.level_labels()
    rows = np.flatnonzero(corpus.is_row) if rows is None else rows
    return labels[rows, 0], labels[rows, 1]


def test_hnmfk_recovers_a_planted_topic_tree():
    corpus, gold = planted_corpus()
    found, info = discover(corpus, "hnmfk", hnmfk_config=HNMFkConfig(k_max=3, max_depth=2, min_docs=20, perturbations=4))
    top, leaf = top_and_leaf(found)
    gold_top = [g.split("/")[0] for g in gold]
    assert nmi(gold_top, top) > 0.95
    # HNMFk takes the LARGEST stable k, so a planted leaf may be split further (see core/discovery/hnmfk.py), but a discovered
    # leaf never mixes planted leaves, and the planted leaves are still found
    assert homogeneity_score(gold, leaf) > 0.95
    assert nmi(gold, leaf) > 0.8
    names = " ".join(info)
    assert all(word in names for word in ("space", "food", "music"))


def test_select_k_finds_the_rank_of_a_clean_matrix():
    rng = np.random.default_rng(0)
    W = np.zeros((60, 4))
    for j in range(4):
        W[j * 15 : (j + 1) * 15, j] = rng.uniform(1, 2, 15)  # disjoint term blocks
    H = np.zeros((4, 80))
    for j in range(4):
        H[j, j * 20 : (j + 1) * 20] = rng.uniform(1, 2, 20)
    k, silhouette, scores = select_k(W @ H, range(2, 7), HNMFkConfig(perturbations=4), rng)
    assert k == 4 and silhouette >= 0.8
    assert scores[5] < 0.8 and scores[6] < 0.8
    assert sorted(scores) == [4, 5, 6]  # tried from the largest down, stopped at the first that passed
    # threads fit the perturbed copies; the answer does not depend on how many
    one = select_k(W @ H, range(2, 7), HNMFkConfig(perturbations=4, jobs=1), np.random.default_rng(1))
    two = select_k(W @ H, range(2, 7), HNMFkConfig(perturbations=4, jobs=2), np.random.default_rng(1))
    assert one == two


def test_a_child_never_searches_more_topics_than_its_parent():
    corpus, _ = planted_corpus()
    from core.discovery.discover import tfidf

    X, _ = tfidf(list(corpus.texts))
    root = hnmfk(X.T.tocsc(), HNMFkConfig(k_max=4, max_depth=3, min_docs=10, perturbations=3, threshold=0.5))
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.children:
            assert child.k <= node.k
            assert set(child.docs) <= set(node.docs)
            stack.append(child)
    assert sum(len(c.docs) for c in root.children) == len(root.docs)


def nested_blobs(seed: int = 0):
    """3 well-separated centres, each with 3 sub-centres, 30 points each (on the unit sphere after normalising)."""
    rng = np.random.default_rng(seed)
    points, top, leaf = [], [], []
    for a in range(3):
        centre = rng.standard_normal(32) * 6
        for b in range(3):
            sub = centre + rng.standard_normal(32) * 2
            points.append(sub + rng.standard_normal((30, 32)) * 0.3)
            top += [a] * 30
            leaf += [a * 3 + b] * 30
    return np.concatenate(points).astype(np.float32), np.array(top), np.array(leaf)


def test_kmeans_tree_recovers_nested_blobs_with_equal_depth_leaves():
    vectors, top, leaf = nested_blobs()
    tree = build_kmeans_tree(vectors, branching=3, seed=0)
    paths = tree.paths(np.arange(len(vectors)))
    assert tree.sizes[-1] == 1 and len({len(p) for p in paths}) == 1  # one root, every document at the same depth
    # cut the tree at the level with 9 and the level with 3 nodes
    by_size = {size: level for level, size in enumerate(tree.sizes)}
    assert nmi(leaf, paths[:, by_size[9]]) > 0.9 if 9 in by_size else True
    level_of_3 = by_size.get(3) or by_size.get(4)
    assert nmi(top, paths[:, level_of_3]) > 0.9


def test_kmeans_tree_on_tiny_inputs_is_quiet(capfd):
    for n in (1, 2, 5):
        tree = build_kmeans_tree(np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32), branching=3)
        assert tree.sizes[-1] == 1
    assert "WARNING" not in capfd.readouterr().err


def test_discovered_hierarchy_round_trips_and_trains(tmp_path):
    from core.align.train import AlignConfig, align

    vectors, top, _ = nested_blobs()
    frame = pd.DataFrame({"id": [f"d{i}" for i in range(len(vectors))], "text": [f"doc about thing {t}" for t in top]})
    corpus = corpus_from_frame(frame, "blobs")
    found, info = discover(corpus, "kmeans", vectors=vectors, branching=3)
    assert found.layout == "path" and found.hierarchy.is_tree and found.n_rows == len(vectors)
    again = load_corpus_file(save_corpus(found, tmp_path / "found.csv"))
    assert again.same_content(found)
    result = align(again, AlignConfig(method="heal", encoder="lookup", dim=8, steps=5, eval_every=5))
    assert np.isfinite(result.docs).all()


@pytest.mark.parametrize("method", ["kmeans", "hnmfk"])
def test_cli_hierarchy(tmp_path, method):
    import subprocess
    import sys

    from tests.conftest import ROOT

    corpus, _ = planted_corpus(per_leaf=10)
    src = save_corpus(corpus, tmp_path / "in.csv")
    env = {**__import__("os").environ, "HIERALIGN_WORKSPACE": str(tmp_path / "ws")}
    r = subprocess.run([sys.executable, "-m", "core", "hierarchy", str(src), "--method", method, "--out",
                        str(tmp_path / "out.csv"), "--quiet", "--branching", "4", "--perturbations", "2", "--k-max", "4"],
                       cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    out = load_corpus_file(tmp_path / "out.csv")
    assert out.n_rows == 60 and out.hierarchy.max_depth >= 1
    assert "topic nodes" in r.stdout


# --- level tree: the sizes the user asks for -------------------------------------------------------------------------

def test_weighted_ward_merges_by_size_weighted_cost():
    from core.discovery.level_tree import cut_merges, weighted_ward

    # equal sizes: the two nearest centroids merge first
    merges = weighted_ward(np.array([[0.0], [1.0], [10.0]]), np.array([1, 1, 1]))
    assert merges[0].tolist() == [0, 1]
    # a big cluster at 0 and two singletons at 1 and 1.5: cost(0,1) = 100*1/101 * 1 = 0.99, cost(1,2) = 1/2 * 0.25
    merges = weighted_ward(np.array([[0.0], [1.0], [1.5]]), np.array([100, 1, 1]))
    assert merges[0].tolist() == [1, 2]
    assert cut_merges(merges, 3, 2).tolist() == [0, 1, 1]
    assert cut_merges(merges, 3, 3).tolist() == [0, 1, 2]
    assert cut_merges(merges, 3, 1).tolist() == [0, 0, 0]


def planted_vectors(tops: int = 3, subs: int = 4, per: int = 20, d: int = 16, seed: int = 0):
    """Unit vectors around `tops` far-apart directions, each with `subs` nearer sub-directions."""
    rng = np.random.default_rng(seed)
    vectors, top, leaf = [], [], []
    for t in range(tops):
        centre = rng.standard_normal(d) * 4
        for s in range(subs):
            sub_centre = centre + rng.standard_normal(d) * 1.2
            vectors.append(sub_centre + rng.standard_normal((per, d)) * 0.15)
            top += [t] * per
            leaf += [t * subs + s] * per
    return np.vstack(vectors).astype(np.float32), np.array(top), np.array(leaf)


@pytest.mark.parametrize("per", [6, 20])  # 72 documents: clustered as they are; 240: through UMAP
def test_level_tree_recovers_a_planted_tree_and_nests(per):
    from core.discovery.level_tree import build_level_tree

    vectors, top, leaf = planted_vectors(per=per)
    stages = []
    coarse, fine = build_level_tree(vectors, (3, 12), seed=0, progress=stages.append)
    assert nmi(top, coarse) == pytest.approx(1.0) and nmi(leaf, fine) == pytest.approx(1.0)
    assert all(len(set(coarse[fine == c])) == 1 for c in np.unique(fine))  # every fine topic sits in one coarse one
    assert len(stages) == 3


@pytest.mark.parametrize("levels, message", [((7,), None), ((20, 7), "more topics than the one above"),
                                             ((1, 5), "at least 2"), ((5, 500), "at most 240"), ((), "no level")])
def test_level_sizes_are_checked(levels, message):
    from core.discovery.level_tree import check_levels
    from core.errors import InputError

    if message is None:
        assert check_levels(levels, 240) == levels
        return
    with pytest.raises(InputError, match=message):
        check_levels(levels, 240)


def test_discover_with_levels_gives_named_nested_levels():
    corpus, gold = planted_corpus(per_leaf=20)
    rng = np.random.default_rng(0)
    # stand-in embeddings that carry the planted tree (the words do the naming)
    centres = {g: rng.standard_normal(16) * 3 for g in sorted(set(gold))}
    tops = {t: rng.standard_normal(16) * 6 for t in TOPICS}
    vectors = np.vstack([tops[g.split("/")[0]] + centres[g] + rng.standard_normal(16) * 0.1 for g in gold])
    found, info = discover(corpus, "kmeans", vectors=vectors, levels=(3, 6))
    top, leaf = top_and_leaf(found)
    assert nmi([g.split("/")[0] for g in gold], top) == pytest.approx(1.0) and nmi(gold, leaf) == pytest.approx(1.0)
    top_names = [path for path in info if "/" not in path]
    assert len(top_names) == 3 and len(info) == 9
    words = {t: {t, *" ".join(subs.values()).split()} for t, subs in TOPICS.items()}
    owners = [{t for t in TOPICS if set(name.split()) <= words[t]} for name in top_names]
    assert sorted(o.pop() for o in owners if len(o) == 1) == ["food", "music", "space"]  # each name from one topic


def test_levels_only_with_kmeans():
    from core.discovery.discover import check_discovery_options
    from core.errors import InputError

    with pytest.raises(InputError, match="HNMFk chooses its own"):
        check_discovery_options("hnmfk", 10, None, (7, 20))


def test_class_tfidf_prefers_words_frequent_in_a_group_and_rare_elsewhere():
    import scipy.sparse as sp

    from core.discovery.discover import class_tfidf_terms

    vocab = np.array(["the", "orbit", "bread", "rare"])
    counts = sp.csr_matrix(np.array([[5, 3, 0, 0], [5, 2, 0, 1], [5, 0, 4, 0], [5, 0, 3, 0]]))
    terms = class_tfidf_terms(counts, vocab, [np.array([0, 1]), np.array([2, 3])], n=2)
    # 'the' is the most frequent word everywhere yet loses to each group's own word
    assert terms[0][0] == "orbit" and terms[1][0] == "bread"


def test_a_query_and_text_file_gets_a_discovered_tree_and_trains_on_it():
    """The document-retrieval shape: rows with a query and a text, no hierarchy; discovery adds one, training uses it."""
    from core.align.train import AlignConfig, align

    corpus, gold = planted_corpus(per_leaf=10)
    rows = np.flatnonzero(corpus.is_row)
    frame = pd.DataFrame({"id": [corpus.ids[i] for i in rows], "text": [corpus.texts[i] for i in rows],
                          "query": [" ".join(corpus.texts[i].split()[:3]) for i in rows]})
    asked = corpus_from_frame(frame, "query and text")
    rng = np.random.default_rng(0)
    centres = {g: rng.standard_normal(16) * 3 for g in sorted(set(gold))}
    vectors = np.vstack([centres[g] + rng.standard_normal(16) * 0.1 for g in gold])
    found, _ = discover(asked, "kmeans", vectors=vectors, levels=(3, 6))
    assert [found.queries[i] for i in np.flatnonzero(found.is_row)] == frame["query"].tolist()
    assert found.hierarchy.max_depth == 2
    result = align(found, AlignConfig(method="hce", encoder="lookup", dim=8, steps=4, eval_every=2))
    assert result.queries.shape == (len(found.query_nodes), 8) and np.isfinite(result.docs).all()
    assert len(found.query_nodes) == len(rows)  # every row's query is trained or held out, none lost


def test_the_word_view_recovers_topics_the_embeddings_cannot_see():
    """Stand-in embeddings that know only the top-level topic: clustering them alone cannot find the subtopics; with
    the TF-IDF word view beside them (each subtopic has its own words) the finest level recovers the planted leaves."""
    corpus, gold = planted_corpus(per_leaf=20)
    rng = np.random.default_rng(0)
    tops = {t: rng.standard_normal(16) * 6 for t in TOPICS}
    vectors = np.vstack([tops[g.split("/")[0]] + rng.standard_normal(16) * 0.5 for g in gold])
    _, blind = top_and_leaf(discover(corpus, "kmeans", vectors=vectors, levels=(3, 6))[0])
    _, seeing = top_and_leaf(discover(corpus, "kmeans", vectors=vectors, levels=(3, 6), word_weight=1.0)[0])
    assert nmi(gold, seeing) > 0.9 > nmi(gold, blind) + 0.2


def test_word_view_rows_are_unit_and_the_weight_sets_their_share():
    import scipy.sparse as sp

    from core.discovery.discover import with_word_view, word_view

    X = sp.csr_matrix(np.array([[1.0, 0, 0, 2], [0, 3, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0], [2, 0, 1, 1]]))
    words = word_view(X, dimensions=2)
    assert words.shape == (5, 2)
    assert np.allclose(np.linalg.norm(words[[0, 1, 2, 4]], axis=1), 1) and not words[3].any()  # empty text stays zero
    vectors = np.random.default_rng(0).standard_normal((5, 3)) * 7
    both = with_word_view(vectors, X, 0.5)
    assert both.shape == (5, 3 + 3) and np.allclose(np.linalg.norm(both, axis=1), 1)  # LSA keeps min(100, 5-1, 4-1)
    # a row with both views: the word part's length is 0.5 of the embedding part's, as the weight asks
    assert np.linalg.norm(both[0, 3:]) / np.linalg.norm(both[0, :3]) == pytest.approx(0.5, rel=1e-5)
    assert with_word_view(vectors, X, 0.0) is vectors  # weight 0: the embeddings exactly as given, as before


@pytest.mark.parametrize("weight", [-0.5, float("nan"), "1", True])
def test_a_bad_word_weight_is_refused_before_any_work(weight):
    from core.errors import InputError

    corpus, _ = planted_corpus(per_leaf=5)
    with pytest.raises(InputError, match="word view's weight"):
        discover(corpus, "kmeans", vectors=np.ones((corpus.n_rows, 4)), levels=(3, 6), word_weight=weight)
