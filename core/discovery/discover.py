"""Discover a hierarchy for a corpus's documents and return it as an ordinary corpus (a `path` column).

Two methods: HNMFk on TF-IDF (HEAL's) and the agglomerative spherical k-means tree over embeddings (HCE's), or the
`levels` tree over them; the k-means methods can cluster the TF-IDF's LSA beside the embeddings (`word_weight`). Every
discovered node gets a readable name from its most distinctive terms, which becomes its label (and so its text), so
ancestor retrieval, HEAL and HR all work on the discovered tree like on a given one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from core.data.corpus import Corpus, corpus_from_frame
from core.discovery.hnmfk import HNMFkConfig, TopicNode, hnmfk
from core.discovery.kmeans_tree import KMeansTree, build_kmeans_tree
from core.discovery.level_tree import build_level_tree, check_levels
from core.errors import InputError

METHODS = ("hnmfk", "kmeans")
WORD_VIEW_DIMENSIONS = 100  # LSA dimensions of the TF-IDF word view appended to the embeddings before clustering


@dataclass(frozen=True)
class NodeInfo:
    """What the app shows about a discovered node."""

    name: str  # short readable name (top terms), unique among siblings
    terms: tuple[str, ...]  # most distinctive terms
    central: tuple[int, ...]  # most central documents (row indices)
    size: int  # documents below


def tfidf(texts: list[str], max_features: int = 5000) -> tuple[sp.csr_matrix, np.ndarray]:
    """(documents x terms) TF-IDF with English stop words removed, and the vocabulary."""
    min_df = 2 if len(texts) >= 20 else 1
    vectorizer = TfidfVectorizer(max_features=max_features, stop_words="english", min_df=min_df, max_df=0.7,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b", sublinear_tf=True)
    try:
        X = vectorizer.fit_transform(texts)
    except ValueError:  # every word a stop word or too rare
        vectorizer = TfidfVectorizer(max_features=max_features, token_pattern=r"(?u)\b\w+\b")
        X = vectorizer.fit_transform(texts)
    return X.tocsr(), vectorizer.get_feature_names_out()


def word_view(X: sp.csr_matrix, dimensions: int = WORD_VIEW_DIMENSIONS, seed: int = 0) -> np.ndarray:
    """(documents, <= dimensions) unit rows: the TF-IDF matrix reduced by truncated SVD (LSA), the words' own view of
    the documents. Fewer dimensions where the matrix has fewer terms or documents; an all-zero row stays zero."""
    from sklearn.decomposition import TruncatedSVD

    k = min(dimensions, X.shape[0] - 1, X.shape[1] - 1)
    if k < 1:
        return np.zeros((X.shape[0], 0), dtype=np.float32)
    reduced = TruncatedSVD(k, random_state=seed).fit_transform(X)
    return (reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def with_word_view(vectors: np.ndarray, X: sp.csr_matrix, weight: float, seed: int = 0) -> np.ndarray:
    """Unit rows of [embedding, weight * word view]: what the k-means methods cluster when words are asked to count;
    at weight 0 the vectors exactly as given (what they clustered before the word view existed).

    Why: a tree clustered from the embeddings alone only repeats what the embedding already knows; the words see
    differences an embedding blurs (names, jargon). On long 20 Newsgroups posts weights 0.5-0.75 lifted the level
    tree's agreement with the gold tree (NMI@20 0.636 -> 0.654-0.655); on one-line WordNet glosses they lowered it, so
    the default stays 0 (docs/benchmarks.md, "Clustering the words too")."""
    if weight == 0:
        return vectors
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    both = np.hstack([units, weight * word_view(X, seed=seed)])
    return (both / np.maximum(np.linalg.norm(both, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def distinctive_terms(X: sp.csr_matrix, vocab: np.ndarray, members: np.ndarray, context: np.ndarray, n: int = 3) -> list[str]:
    """Terms whose mean TF-IDF in `members` most exceeds their mean in `context` (the parent's documents)."""
    inside = np.asarray(X[members].mean(axis=0)).ravel()
    around = np.asarray(X[context].mean(axis=0)).ravel()
    score = inside - around
    top = np.argsort(-score)[:n]
    return [str(vocab[t]) for t in top if inside[t] > 0] or [str(vocab[int(np.argmax(inside))])]


def class_tfidf_terms(counts: sp.csr_matrix, vocab: np.ndarray, level_groups: list[np.ndarray], n: int = 3) -> list[list[str]]:
    """Top terms of every group by class-based TF-IDF (c-TF-IDF, as BERTopic names topics).

    Each group's documents are joined into one class document; a term scores its frequency in the class (normalised
    by the class's length) times log(1 + A / f), with A the mean class length in words and f the term's count over
    all classes: frequent in this group, rare across the level.
    """
    per_class = np.vstack([np.asarray(counts[members].sum(axis=0)).ravel() for members in level_groups])  # (G, terms)
    tf = per_class / np.maximum(per_class.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(per_class.sum(axis=1).mean() / np.maximum(per_class.sum(axis=0), 1))
    score = tf * idf
    out = []
    for g in range(len(level_groups)):
        top = np.argsort(-score[g])[:n]
        out.append([str(vocab[t]) for t in top if per_class[g, t] > 0] or [str(vocab[int(np.argmax(per_class[g]))])])
    return out


def term_counts(texts: list[str], vocab: np.ndarray) -> sp.csr_matrix:
    """(documents x terms) raw counts over a fixed vocabulary (the TF-IDF's)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(vocabulary=list(vocab), token_pattern=r"(?u)\b\w+\b", lowercase=True)
    return vectorizer.transform(texts).tocsr()


# Node names: each group's TF-IDF contrast with its parent (default), or c-TF-IDF across the level's groups. On 20
# Newsgroups c-TF-IDF named most top-level topics after quoting residue ('edu writes article'); the contrast names read
# as topics ('god jesus christian', 'team game season'): bench/discovery.py names.
NAMINGS = ("tfidf", "ctfidf")


def _central(vectors: np.ndarray | None, X: sp.csr_matrix, members: np.ndarray, n: int = 3) -> tuple[int, ...]:
    source = vectors[members] if vectors is not None else X[members].toarray()
    centroid = source.mean(axis=0)
    order = np.argsort(-(source @ centroid))[:n]
    return tuple(int(members[i]) for i in order)


def _unique(name: str, taken: set[str]) -> str:
    out, i = name, 2
    while out in taken:
        out, i = f"{name} ({i})", i + 1
    taken.add(out)
    return out


def paths_from_groups(groups: list[list[np.ndarray]], X, vocab, vectors=None, counts: sp.csr_matrix | None = None,
                      ) -> tuple[list[str], dict[str, NodeInfo]]:
    """groups[level] = list of member arrays (coarse first), each a subset of one group of the level above.

    Names: c-TF-IDF over each level's groups when `counts` (raw term counts) are given, else each group's TF-IDF
    contrast with its parent. Returns the label path of every document and NodeInfo by path.
    """
    n = X.shape[0]
    paths = [""] * n
    info: dict[str, NodeInfo] = {}
    previous_paths: list[str] = [""]
    previous_members = [np.arange(n)]
    for level_groups in groups:
        owner = np.full(n, -1)
        for g, members in enumerate(previous_members):
            owner[members] = g
        taken: dict[int, set[str]] = {}
        level_paths = []
        class_terms = class_tfidf_terms(counts, vocab, level_groups) if counts is not None else None
        for g, members in enumerate(level_groups):
            parent = int(owner[members[0]])
            terms = class_terms[g] if class_terms is not None else distinctive_terms(X, vocab, members, previous_members[parent])
            name = _unique(" ".join(terms).replace("/", " "), taken.setdefault(parent, set()))
            path = f"{previous_paths[parent]}/{name}" if previous_paths[parent] else name
            info[path] = NodeInfo(name, tuple(terms), _central(vectors, X, members), len(members))
            level_paths.append(path)
            for d in members:
                paths[d] = path
        previous_paths, previous_members = level_paths, level_groups
    return paths, info


def _groups_from_topic_tree(root: TopicNode) -> list[list[np.ndarray]]:
    """Levels of the HNMFk tree; a leaf above the deepest level is carried down so each level covers all documents."""
    levels: list[list[np.ndarray]] = []
    frontier = [root]
    while any(node.children for node in frontier):
        nxt = []
        for node in frontier:
            nxt.extend(node.children if node.children else [node])
        levels.append([node.docs for node in nxt])
        frontier = nxt
    return levels


def _dedupe_carried(groups: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Drop a group that repeats its parent exactly (a leaf carried down) so paths do not stutter."""
    out = []
    previous = [np.arange(0)]
    for level in groups:
        prev_keys = {tuple(p.tolist()) for p in previous}
        out.append([g for g in level if tuple(g.tolist()) not in prev_keys] or level)
        previous = level
    return out


def _groups_from_kmeans(tree: KMeansTree, depth: int | None) -> list[list[np.ndarray]]:
    """Levels of the k-means tree below the root, coarse first; `depth` keeps only the top levels."""
    paths = tree.paths(np.arange(tree.sizes[0]))  # (N, depth+1): doc, level-1 cluster, ..., root
    levels = []
    for level in range(tree.depth - 1, 0, -1):  # skip the root (constant) and level 0 (the documents)
        column = paths[:, level]
        levels.append([np.flatnonzero(column == c) for c in np.unique(column)])
    if depth is not None:
        levels = levels[:depth]
    return levels


def _groups_from_levels(labels: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Label arrays per level (nested) as member arrays per level, coarse first."""
    return [[np.flatnonzero(column == c) for c in np.unique(column)] for column in labels]


def check_discovery_options(method: str, branching: int, depth: int | None, levels: tuple[int, ...] | None = None,
                            rows: int | None = None) -> None:
    """Refuse options that cannot make a hierarchy before any work (a branching of 1 never splits; depth 0 is flat)."""
    if method not in ("kmeans", "hnmfk"):
        raise InputError(f"--method {method}", "unknown discovery method", "use kmeans or hnmfk")
    if levels is not None:
        if method != "kmeans":
            raise InputError(f"--levels with --method {method}", "HNMFk chooses its own topic counts",
                             "use --method kmeans with --levels, or leave --levels out")
        check_levels(levels, rows)
    if not isinstance(branching, int) or branching < 2:
        raise InputError(f"--branching {branching}", "a tree needs at least 2 children per node",
                         "give a whole number of at least 2, e.g. 10")
    if depth is not None and (not isinstance(depth, int) or depth < 1):
        raise InputError(f"--depth {depth}", "a hierarchy needs at least one level below the root",
                         "give a whole number of at least 1, or leave it out for the default")


def check_word_weight(weight: float, method: str = "kmeans") -> None:
    """Refuse a word-view weight that is not a finite number >= 0 (a negative one would push similar words apart), or
    one given to HNMFk, which clusters the words alone (it would be ignored)."""
    if not isinstance(weight, int | float) or isinstance(weight, bool) or not np.isfinite(weight) or weight < 0:
        raise InputError(f"--word-weight {weight}", "the word view's weight must be a number of at least 0",
                         "give e.g. 0.5, or 0 to cluster the embeddings alone")
    if weight and method != "kmeans":
        raise InputError(f"--word-weight with --method {method}", "HNMFk clusters the words alone already",
                         "use --method kmeans with --word-weight, or leave --word-weight out")


def discover(
    corpus: Corpus,
    method: str = "kmeans",
    *,
    vectors: np.ndarray | None = None,  # (rows, d) document embeddings, needed by kmeans
    branching: int = 10,
    depth: int | None = None,
    levels: tuple[int, ...] | None = None,  # kmeans: topics per level, coarse to fine (e.g. (7, 20)); else HCE's tree
    hnmfk_config: HNMFkConfig | None = None,
    naming: str = "tfidf",  # node names: TF-IDF against the parent ("tfidf") or c-TF-IDF across the level ("ctfidf")
    word_weight: float = 0.0,  # kmeans: weight of the TF-IDF word view clustered beside the embeddings (0 = none)
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Corpus, dict[str, NodeInfo]]:
    """The corpus's rows under a discovered hierarchy (path layout), and a NodeInfo per discovered node."""
    rows = np.flatnonzero(corpus.is_row)
    check_discovery_options(method, branching, depth, levels, len(rows))
    if naming not in NAMINGS:
        raise ValueError(f"unknown naming {naming!r}; use one of {NAMINGS}")
    check_word_weight(word_weight, method)
    texts = [corpus.texts[i] for i in rows]
    X, vocab = tfidf(texts)
    if method == "hnmfk":
        config = hnmfk_config or HNMFkConfig(seed=seed, **({"max_depth": depth} if depth is not None else {}))
        groups = _dedupe_carried(_groups_from_topic_tree(hnmfk(X.T.tocsc(), config, progress)))
    elif method == "kmeans":
        if vectors is None:
            raise ValueError("the k-means tree needs document embeddings")
        clustered = with_word_view(vectors, X, word_weight, seed)
        if levels is not None:
            stages = iter(range(3))  # build_level_tree reports three stages: UMAP, fine clusters, Ward
            report = None if progress is None else (lambda stage: progress(next(stages, 2), 3))
            groups = _groups_from_levels(build_level_tree(clustered, tuple(levels), seed, report))
        else:
            groups = _groups_from_kmeans(build_kmeans_tree(clustered, branching, seed), depth)
        if progress is not None:
            progress(1, 1)
    else:
        raise ValueError(f"unknown discovery method {method!r}; use one of {METHODS}")
    counts = term_counts(texts, vocab) if naming == "ctfidf" else None
    paths, info = paths_from_groups(groups, X, vocab, vectors, counts)
    frame = {"id": [corpus.ids[i] for i in rows], "text": texts}
    if corpus.queries is not None:
        frame["query"] = [corpus.queries[i] for i in rows]
    frame["path"] = paths
    discovered = corpus_from_frame(pd.DataFrame(frame), f"{corpus.name} ({method} hierarchy)")
    return discovered, info
