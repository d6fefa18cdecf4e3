"""HCE's tree: agglomerative spherical k-means, bottom-up, over unit document vectors.

Level 0 holds the N documents; level 1 clusters them into ceil(N/b) centroids; level 2 clusters those centroids into
ceil(k1/b); and so on until one root. Every document is a leaf at the same depth. FAISS does the clustering, with its
minimum-points warnings switched off since small levels are expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import faiss
import numpy as np


@dataclass(frozen=True)
class KMeansTree:
    """parent[l][i]: the node of level l+1 that item i of level l belongs to; the last level is the single root."""

    parent: tuple[np.ndarray, ...]  # L arrays; parent[l] has one entry per node of level l
    centroids: tuple[np.ndarray, ...]  # centroids[l]: (size of level l+1, d) unit vectors

    @property
    def sizes(self) -> list[int]:
        """Number of nodes per level, documents first, root (1) last."""
        return [len(p) for p in self.parent] + [1]

    @property
    def depth(self) -> int:
        return len(self.parent)

    def paths(self, docs: np.ndarray) -> np.ndarray:
        """(len(docs), depth+1): node index at every level for each document, level 0 first, root last."""
        out = np.zeros((len(docs), self.depth + 1), dtype=np.int64)
        out[:, 0] = docs
        for level, parent in enumerate(self.parent):
            out[:, level + 1] = parent[out[:, level]]
        return out

    def children(self, level: int) -> list[np.ndarray]:
        """For each node of level `level` (>= 1), its children at level-1."""
        parent = self.parent[level - 1]
        order = np.argsort(parent, kind="stable")
        bounds = np.searchsorted(parent[order], np.arange(self.sizes[level] + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(self.sizes[level])]


def spherical_kmeans(vectors: np.ndarray, k: int, seed: int = 0, niter: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(assignment (n,), unit centroids (k, d)); k is capped at n."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    k = max(1, min(k, n))
    if k == 1:
        centroid = vectors.mean(axis=0, keepdims=True)
        return np.zeros(n, dtype=np.int64), centroid / max(np.linalg.norm(centroid), 1e-12)
    km = faiss.Kmeans(d, k, niter=niter, spherical=True, seed=seed, verbose=False, min_points_per_centroid=1,
                      max_points_per_centroid=100_000)
    km.train(vectors)
    _, assign = km.index.search(vectors, 1)
    return assign[:, 0].astype(np.int64), km.centroids.copy()


def build_kmeans_tree(vectors: np.ndarray, branching: int = 10, seed: int = 0, niter: int = 20) -> KMeansTree:
    """Bottom-up tree with fan-in about `branching` at every level."""
    if branching < 2:
        raise ValueError("branching must be at least 2")
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    parents, centroids = [], []
    level = units.astype(np.float32)
    while True:
        k = math.ceil(len(level) / branching)
        assign, cents = spherical_kmeans(level, k, seed, niter)
        parents.append(assign)
        centroids.append(cents)
        if len(cents) == 1:
            break
        level = cents
    return KMeansTree(tuple(parents), tuple(centroids))
