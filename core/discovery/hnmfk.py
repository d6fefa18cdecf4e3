"""HNMFk: hierarchical non-negative matrix factorisation with automatic k, as HEAL uses it (methods.md, section 2).

Reimplemented from the description of LANL's T-ELF, not from its code. For a (terms x documents) TF-IDF matrix X:
- model selection: for each candidate k, fit NMF(k) on `perturbations` copies of X whose entries are
  each multiplied by U(1-eps, 1+eps); align the k columns of every copy to the first copy (greedy cosine matching);
  compute silhouettes of the aligned columns with arccos distance, for W (term weights) and for H (document weights);
  choose the LARGEST k whose minimum per-cluster silhouette reaches `threshold` for both, else the best and warn;
- recursion: hard-assign each document to the argmax of its H column, one child per non-empty cluster; stop at the
  depth limit, when k = 1, when everything lands in one cluster, or when a node has too few documents; a child never
  searches more topics than its parent chose;
- each node keeps its documents' soft memberships (column-normalised H) and its topic's term weights (the W column).

A known weakness, measured rather than hidden: with NNDSVD starts and 1.5% noise every copy converges to nearly the
same factors, so on noisy text the silhouettes stay high for most k and the rule tends to take the largest k allowed
(over-splitting; tests/test_discovery.py shows it on planted topics). `k_max` and `max_depth` bound it; init="random"
(a new seed per copy) is offered, but random starts also land in different local optima for a clean low-rank matrix,
which makes true components look unstable.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

from core.errors import InputError


@dataclass(frozen=True)
class HNMFkConfig:
    k_min: int = 2  # smallest k tried at a node
    k_max: int = 10  # largest k tried at the root (children try at most their parent's k)
    perturbations: int = 4  # perturbed copies per k (reference: about 20; fewer for interactive use)
    epsilon: float = 0.015  # multiplicative noise of a perturbation: U(1-eps, 1+eps)
    threshold: float = 0.8  # minimum per-cluster silhouette a k must reach for both W and H
    max_depth: int = 3  # levels below the root
    min_docs: int = 30  # a node with fewer documents is a leaf
    nmf_iter: int = 200  # NMF iterations per fit
    init: str = "nndsvd"  # start of the perturbed fits: "nndsvd" (the reference's) or "random" (a new seed per copy)
    seed: int = 0
    jobs: int = -1  # threads fitting the perturbed copies (-1: all cores); results do not depend on it

    def __post_init__(self):
        """Every field checked up front, one line naming the field and the fix (as AlignConfig does)."""
        def bad(name: str, need: str, example: str) -> InputError:
            return InputError(f"HNMFk option {name}={getattr(self, name)!r}", f"must be {need}", f"use e.g. {example}")

        def whole(x, low: int) -> bool:
            return isinstance(x, int) and not isinstance(x, bool) and x >= low

        for name, low, example in (("k_min", 2, "2"), ("k_max", 2, "10"), ("perturbations", 1, "4"),
                                   ("max_depth", 1, "3"), ("min_docs", 2, "30"), ("nmf_iter", 1, "200"),
                                   ("seed", 0, "0")):
            if not whole(getattr(self, name), low):
                raise bad(name, f"a whole number of at least {low}", example)
        if self.k_max < self.k_min:
            raise bad("k_max", f"at least k_min ({self.k_min})", str(max(self.k_min, 10)))
        if not (isinstance(self.jobs, int) and not isinstance(self.jobs, bool) and (self.jobs >= 1 or self.jobs == -1)):
            raise bad("jobs", "a whole number of at least 1, or -1 for all cores", "-1")
        if not (isinstance(self.epsilon, int | float) and 0 <= self.epsilon < 1):
            raise bad("epsilon", "a number in [0, 1)", "0.015")
        if not (isinstance(self.threshold, int | float) and -1 <= self.threshold <= 1):
            raise bad("threshold", "a silhouette in [-1, 1]", "0.8")
        if self.init not in ("nndsvd", "random"):
            raise bad("init", "nndsvd or random", "nndsvd")

    @classmethod
    def reference(cls, **overrides) -> HNMFkConfig:
        """The reference implementation's defaults (slower): 20 perturbations per k."""
        return cls(**{"perturbations": 20, **overrides})


@dataclass
class TopicNode:
    """One node of the discovered tree; `docs` index the corpus's documents."""

    docs: np.ndarray  # (n_node,) document indices
    depth: int
    k: int = 1  # topics chosen for the split below this node (1 = leaf)
    silhouette: float = float("nan")  # min silhouette of the chosen k
    term_weights: np.ndarray | None = None  # (terms,) the W column of this node's topic in its parent's factorisation
    membership: np.ndarray | None = None  # (n_node,) soft membership of each document in this topic
    children: list[TopicNode] = field(default_factory=list)


def _nmf(X: sp.spmatrix | np.ndarray, k: int, seed: int, iters: int, init: str = "nndsvd") -> tuple[np.ndarray, np.ndarray]:
    model = NMF(n_components=k, init=init, max_iter=iters, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    return W, model.components_  # (terms, k), (k, docs)


def _unit_columns(M: np.ndarray) -> np.ndarray:
    return M / np.maximum(np.linalg.norm(M, axis=0, keepdims=True), 1e-12)


def align_columns(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Permutation p such that other[:, p[j]] matches reference[:, j]: greedy, best cosine pair first."""
    sims = _unit_columns(reference).T @ _unit_columns(other)  # (k, k)
    k = sims.shape[0]
    perm = np.full(k, -1)
    used_ref, used_other = set(), set()
    for flat in np.argsort(-sims, axis=None):
        i, j = divmod(int(flat), k)
        if i not in used_ref and j not in used_other:
            perm[i] = j
            used_ref.add(i)
            used_other.add(j)
    return perm


def arccos_silhouettes(columns: list[np.ndarray]) -> np.ndarray:
    """Per-cluster mean silhouette of aligned columns: cluster j holds column j of every copy; distance = arccos."""
    k = columns[0].shape[1]
    X = np.concatenate([_unit_columns(c) for c in columns], axis=1).T  # (copies * k, dim)
    labels = np.tile(np.arange(k), len(columns))
    if k == 1:
        return np.ones(1)
    dist = np.arccos(np.clip(X @ X.T, -1.0, 1.0))
    sil = np.zeros(len(X))
    for i in range(len(X)):
        own = labels == labels[i]
        own[i] = False
        a = dist[i, own].mean() if own.any() else 0.0
        b = min(dist[i, labels == other].mean() for other in range(k) if other != labels[i])
        sil[i] = 0.0 if max(a, b) == 0 else (b - a) / max(a, b)
    return np.array([sil[labels == j].mean() for j in range(k)])


def _perturbed_fits(X, k: int, config: HNMFkConfig, rng: np.random.Generator) -> tuple[list, list]:
    """NMF(k) of `perturbations` noisy copies of X, fitted in parallel threads (the solver releases the GIL)."""
    from joblib import Parallel, delayed

    noises = [rng.uniform(1 - config.epsilon, 1 + config.epsilon, size=X.data.shape if sp.issparse(X) else X.shape)
              for _ in range(config.perturbations)]  # drawn up front, in order, so results do not depend on threads

    def fit(copy: int):
        Xp = X.copy()
        if sp.issparse(Xp):
            Xp.data = Xp.data * noises[copy]
        else:
            Xp = Xp * noises[copy]
        return _nmf(Xp, k, config.seed + 1000 * k + copy, config.nmf_iter, config.init)

    with warnings.catch_warnings():  # set here, around the threads: a filter set inside a thread races with the others
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = Parallel(n_jobs=config.jobs, prefer="threads")(delayed(fit)(c) for c in range(config.perturbations))
    Ws, Hs = [fits[0][0]], [fits[0][1]]
    for W, H in fits[1:]:
        perm = align_columns(Ws[0], W)
        Ws.append(W[:, perm])
        Hs.append(H[perm])
    return Ws, Hs


def select_k(X, ks: range, config: HNMFkConfig, rng: np.random.Generator) -> tuple[int, float, dict]:
    """The largest k in ks whose min silhouette (W and H) reaches the threshold; else the best one (warns).

    Candidates are tried from the largest down and the search stops at the first that passes: the same answer as
    scoring every k, with fewer fits (HNMFk's rule favours large k, so the first try often passes).
    """
    scores = {}
    for k in sorted(ks, reverse=True):
        Ws, Hs = _perturbed_fits(X, k, config, rng)
        sil_w = arccos_silhouettes(Ws).min()
        sil_h = arccos_silhouettes([h.T for h in Hs]).min()
        scores[k] = float(min(sil_w, sil_h))
        if scores[k] >= config.threshold:
            return k, scores[k], scores
    best = max(scores, key=scores.get)
    warnings.warn(f"HNMFk: no k in {list(ks)} reached silhouette {config.threshold}; using k={best} "
                  f"(silhouette {scores[best]:.2f})", stacklevel=2)
    return best, scores[best], scores


def hnmfk(
    tfidf_terms_docs,  # (terms, documents) non-negative, sparse or dense
    config: HNMFkConfig = HNMFkConfig(),
    progress: Callable[[int, int], None] | None = None,
) -> TopicNode:
    """The discovered tree; `progress(nodes done, nodes known)` is called as nodes are split."""
    X = sp.csc_matrix(tfidf_terms_docs) if sp.issparse(tfidf_terms_docs) else np.asarray(tfidf_terms_docs)
    rng = np.random.default_rng(config.seed)
    root = TopicNode(np.arange(X.shape[1]), 0)
    queue = [(root, config.k_max)]
    done = 0
    while queue:
        node, k_cap = queue.pop(0)
        done += 1
        sub = X[:, node.docs]
        if node.depth < config.max_depth and len(node.docs) >= config.min_docs and k_cap >= config.k_min:
            ks = range(config.k_min, min(k_cap, len(node.docs) - 1) + 1)
            if len(ks):
                k, sil, _ = select_k(sub, ks, config, rng)
                W, H = _nmf(sub, k, config.seed, config.nmf_iter)
                assign = H.argmax(axis=0)
                soft = H / np.maximum(H.sum(axis=0, keepdims=True), 1e-12)
                if len(np.unique(assign)) > 1:
                    node.k, node.silhouette = k, sil
                    for topic in range(k):
                        members = assign == topic
                        if members.any():
                            child = TopicNode(node.docs[members], node.depth + 1, term_weights=W[:, topic],
                                              membership=soft[topic, members])
                            node.children.append(child)
                            queue.append((child, k))
        if progress is not None:
            progress(done, done + len(queue))
    return root
