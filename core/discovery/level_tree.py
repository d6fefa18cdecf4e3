"""A topic tree with the level sizes the user asks for (e.g. about 7 topics, then about 20), each level as good as a
flat clustering of that size.

Why not the bottom-up k-means tree: merging k-means centroids level by level in the raw 384-d space scored below a flat
k-means of the same size on 20 Newsgroups (docs/benchmarks.md). What works better, measured there:
1. reduce the unit document vectors with UMAP (5 dimensions, cosine, 30 neighbours): the neighbourhood graph
   separates topics that overlap in the raw space;
2. over-cluster the reduced points with k-means (`fine` clusters, a few hundred);
3. merge the fine clusters with Ward's criterion weighted by their sizes (Lance-Williams updates) down to the finest
   level asked for;
4. refine that level with a few k-means passes over the documents (each moves to its nearest cluster centre), then
   merge the refined clusters with Ward again: every coarser level is a cut of that dendrogram, so levels nest by
   construction. UMAP is the step that pays; the refinement changed NMI by under 0.01 on 20 Newsgroups
   (`python bench/discovery.py ablation`) and stays as a cheap guarantee that members sit nearest their own centre.
UMAP keeps neighbourhoods, not the layout between far-apart groups: on well-separated planted data its coarse merges
can pair unrelated clusters. So the coarser levels are also merged from the finest level's centres in the original
(cosine) space, and that version is taken when its mean cosine to the cluster centre is more than COARSE_MARGIN
higher (on 20 Newsgroups the two are within 0.3% of each other and the UMAP merges score better against the gold
tree; on the planted tree of tests/test_discovery.py the original-space merges win by 27%).
Large corpora fit UMAP on a seeded sample and place the rest with UMAP's transform.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import faiss
import numpy as np

from core.errors import InputError

UMAP_DIMENSIONS = 5  # reduced dimensions clustered (UMAP's usual choice for clustering)
UMAP_NEIGHBOURS = 30  # neighbourhood size of the UMAP graph
UMAP_MIN_ROWS = 100  # below this many documents the vectors are clustered as they are
UMAP_FIT_ROWS = 20_000  # UMAP is fitted on at most this many documents; the rest are transformed
MAX_FINE = 1000  # fine clusters at most (Ward on them is quadratic in memory)
REFINE_PASSES = 10  # k-means passes over the documents at the finest level
COARSE_MARGIN = 0.01  # relative gain in mean cosine that makes the original-space merges replace UMAP's


def check_levels(levels, rows: int | None = None) -> tuple[int, ...]:
    """Level sizes, coarse to fine, as whole numbers that grow and fit the corpus; else one InputError saying why."""
    where = f"levels {','.join(map(str, levels)) if isinstance(levels, list | tuple) else levels}"
    if not isinstance(levels, list | tuple) or not levels:
        raise InputError(where, "no level sizes given", "give topic counts coarse to fine, e.g. 7,20")
    if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 2 for k in levels):
        raise InputError(where, "every level needs a whole number of at least 2 topics", "e.g. 7,20")
    if any(b <= a for a, b in zip(levels, levels[1:])):
        raise InputError(where, "each level must have more topics than the one above it", "e.g. 7,20")
    limit = MAX_FINE if rows is None else min(rows, MAX_FINE)
    if levels[-1] > limit:
        why = f"{MAX_FINE} topics at most" if rows is None else f"{rows:,} documents, {MAX_FINE} topics at most"
        raise InputError(where, f"the finest level asks for {levels[-1]} topics but at most {limit} are possible ({why})",
                         "ask for fewer topics at the finest level")
    return tuple(int(k) for k in levels)


def parse_levels(text: str, rows: int | None = None) -> tuple[int, ...]:
    """'7, 20' -> (7, 20), checked against the corpus's row count when given; else one InputError naming the option."""
    try:
        levels = tuple(int(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise InputError(f"--levels {text}", "not a comma-separated list of whole numbers", "write e.g. 7,20") from None
    return check_levels(levels, rows)


def reduce_for_clustering(units: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n, 5) UMAP coordinates of unit vectors (n, d); small corpora come back unchanged."""
    n = len(units)
    if n < UMAP_MIN_ROWS:
        return units.astype(np.float32)
    import umap  # imported here: it compiles with numba on first use

    model = umap.UMAP(n_components=UMAP_DIMENSIONS, n_neighbors=min(UMAP_NEIGHBOURS, n - 1), min_dist=0.0,
                      metric="cosine", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by setting random_state": seeded runs are one thread
        if n <= UMAP_FIT_ROWS:
            return model.fit_transform(units).astype(np.float32)
        fit = np.sort(np.random.default_rng(seed).choice(n, UMAP_FIT_ROWS, replace=False))
        model.fit(units[fit])
        out = np.empty((n, UMAP_DIMENSIONS), dtype=np.float32)
        out[fit] = model.embedding_
        rest = np.setdiff1d(np.arange(n), fit)
        out[rest] = model.transform(units[rest])
        return out


def weighted_ward(centroids: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Merge order of clusters with the given centroids (K, d) and sizes (K,) by Ward's criterion.

    Returns (K-1, 2): merge m joins clusters a and b (the survivor keeps index a). Ward's cost of merging A and B is
    |A||B| / (|A|+|B|) * ||c_A - c_B||^2, the growth of the within-cluster sum of squares; Lance-Williams updates it.
    """
    n = sizes.astype(np.float64).copy()
    c = centroids.astype(np.float64)
    sq = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)  # (K, K)
    cost = sq * (n[:, None] * n[None, :]) / (n[:, None] + n[None, :])
    np.fill_diagonal(cost, np.inf)
    merges = np.zeros((len(c) - 1, 2), dtype=np.int64)
    for m in range(len(c) - 1):
        a, b = np.unravel_index(np.argmin(cost), cost.shape)
        a, b = min(a, b), max(a, b)
        merges[m] = a, b
        joined = ((n + n[a]) * cost[a] + (n + n[b]) * cost[b] - n * cost[a, b]) / (n + n[a] + n[b])
        cost[a], cost[:, a] = joined, joined
        cost[a, a] = np.inf
        cost[b], cost[:, b] = np.inf, np.inf
        n[a] += n[b]
    return merges


def cut_merges(merges: np.ndarray, clusters: int, k: int) -> np.ndarray:
    """(clusters,) group 0..k-1 of each original cluster after applying merges until k groups remain."""
    owner = np.arange(clusters)
    for a, b in merges[: clusters - k]:
        owner[owner == b] = a
    return np.unique(owner, return_inverse=True)[1]


def refine(points: np.ndarray, assign: np.ndarray, passes: int = REFINE_PASSES) -> np.ndarray:
    """k-means passes from a given assignment (n,); keeps the input when a cluster would empty."""
    k = int(assign.max()) + 1
    for _ in range(passes):
        centres, _ = _centres(points, assign)  # every cluster is non-empty: a pass that would empty one stops below
        index = faiss.IndexFlatL2(points.shape[1])
        index.add(centres.astype(np.float32))
        moved = index.search(points, 1)[1][:, 0]
        if len(np.unique(moved)) < k:
            break
        if np.array_equal(moved, assign):
            break
        assign = moved
    return assign


def fine_clusters(points: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k-means (Euclidean) of points (n, d): assignment (n,) numbered 0..m-1 and the m centroids of the non-empty
    clusters (k-means can leave a centroid empty, so m <= k)."""
    points = np.ascontiguousarray(points, dtype=np.float32)
    km = faiss.Kmeans(points.shape[1], k, niter=25, seed=seed, verbose=False, min_points_per_centroid=1,
                      max_points_per_centroid=100_000)
    km.train(points)
    assign = km.index.search(points, 1)[1][:, 0]
    used = np.unique(assign)
    return np.searchsorted(used, assign), km.centroids[used]


def _centres(points: np.ndarray, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.bincount(assign)
    centres = np.zeros((len(sizes), points.shape[1]), dtype=np.float64)
    np.add.at(centres, assign, points)
    return centres / sizes[:, None], sizes


def build_level_tree(
    vectors: np.ndarray,  # (n, d) document embeddings
    levels: tuple[int, ...],  # topics per level, coarse to fine, e.g. (7, 20)
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[np.ndarray]:
    """One (n,) label array per level, coarse first; every label of level l+1 lies inside one label of level l."""
    levels = check_levels(levels, len(vectors))
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    say = progress or (lambda stage: None)
    say("reducing with UMAP")
    points = np.ascontiguousarray(reduce_for_clustering(units, seed))
    fine = min(len(points), MAX_FINE, max(300, 3 * levels[-1]))
    say(f"{fine} fine clusters")
    assign, centroids = fine_clusters(points, fine, seed)
    if levels[-1] > len(centroids):
        raise InputError(f"levels {','.join(map(str, levels))}",
                         f"only {len(centroids)} distinct groups could be formed", "ask for fewer topics at the finest level")
    say("merging with Ward")
    finest = refine(points, cut_merges(weighted_ward(centroids, np.bincount(assign)), len(centroids), levels[-1])[assign])
    reduced = weighted_ward(*_centres(points, finest))
    original = weighted_ward(*_centres(units, finest))
    out = [cut_merges(reduced, levels[-1], k)[finest] for k in levels[:-1]]
    for i, k in enumerate(levels[:-1]):
        alternative = cut_merges(original, levels[-1], k)[finest]
        if mean_cosine(units, alternative) > (1 + COARSE_MARGIN) * mean_cosine(units, out[i]):
            out[i] = alternative
    # the levels must still nest: a level chosen from the other dendrogram is re-derived from the finer one below it
    out.append(finest)
    for i in range(len(out) - 2, -1, -1):
        out[i] = _nest(out[i], out[i + 1])
    return out


def mean_cosine(units: np.ndarray, assign: np.ndarray) -> float:
    """Mean cosine of unit vectors (n, d) to their cluster's mean direction: spherical k-means' objective."""
    centres, _ = _centres(units, assign)
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return float((units * centres[assign]).sum(axis=1).mean())


def _nest(coarse: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """`coarse` adjusted so each fine cluster lies in one coarse cluster: the coarse label most of its members have."""
    out = coarse.copy()
    for c in np.unique(fine):
        members = fine == c
        out[members] = np.bincount(coarse[members]).argmax()
    return np.unique(out, return_inverse=True)[1]
