"""2-D maps of embeddings with UMAP, before and after alignment, with the same parameters and seed.

Above `max_points` documents a seeded sample is mapped (the caller is told how many). Results are cached next to the
run as .npy files, so a map is computed once per run. `build_maps` reports progress stage by stage so it can run as a
background task (core/studio/background.py); `warm_up` compiles UMAP's numba code once per process, in the background, so the
first map a user opens does not pay ~20 s of compilation.

A map is judged by a number, not by eye: `knn_agreement` is the share of each document's nearest neighbours (in the
vectors themselves, not the 2-D picture) that share its label at a level of the hierarchy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import write_npy

MAX_POINTS = 20_000  # documented cap: larger corpora are sampled to this many points


def sample_rows(n: int, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def umap_2d(vectors: np.ndarray, seed: int = 0, n_neighbors: int = 15, metric: str = "cosine") -> np.ndarray:
    """(n, 2) coordinates; tiny inputs (fewer than 5 points) fall back to PCA, which UMAP cannot embed."""
    n = len(vectors)
    if n < 5:
        centred = vectors - vectors.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        coords = centred @ vt[:2].T
        return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1]))).astype(np.float32)
    import umap

    reducer = umap.UMAP(n_neighbors=min(n_neighbors, n - 1), n_components=2, metric=metric, random_state=seed, n_jobs=1,
                        init="random" if n < 50 else "spectral")
    return reducer.fit_transform(vectors).astype(np.float32)


def cached_map(path: Path, vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """UMAP of `vectors`, computed once and kept at `path` (written atomically)."""
    path = Path(path)
    if path.exists():
        coords = np.load(path, allow_pickle=False)
        if len(coords) == len(vectors):
            return coords
    coords = umap_2d(vectors, seed)
    write_npy(path, coords)
    return coords


def knn_agreement(vectors: np.ndarray, labels: np.ndarray, k: int = 10, max_queries: int = 2_000,
                  seed: int = 0) -> float | None:
    """Mean share of each labelled point's k nearest other labelled points (cosine) that carry the same label.

    Points with label -1 (above the level, so without a label there) are left out as queries and as neighbours.
    1.0: every neighbourhood is pure; the share of the largest label is about what random vectors score. Above
    `max_queries` labelled points, a seeded sample of them is asked (their neighbours are still searched among all).
    None when fewer than two labelled points exist."""
    labels = np.asarray(labels)
    keep = np.flatnonzero(labels >= 0)
    if len(keep) < 2:
        return None
    x = np.asarray(vectors, dtype=np.float32)[keep]
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    lab = labels[keep]
    k = min(k, len(keep) - 1)
    asked = np.arange(len(keep))
    if len(asked) > max_queries:
        asked = np.sort(np.random.default_rng(seed).choice(asked, max_queries, replace=False))
    same = 0
    for start in range(0, len(asked), 1024):  # (block, n) similarities at a time: bounded memory at 20k points
        block = asked[start:start + 1024]
        sims = x[block] @ x.T
        sims[np.arange(len(block)), block] = -np.inf  # a point is not its own neighbour
        near = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        same += int((lab[near] == lab[block, None]).sum())
    return same / (len(asked) * k)


def first_informative_level(labels_by_level: np.ndarray, dominant: float = 0.5) -> int:
    """The first level (column) at which no label holds more than `dominant` of the labelled points: above it one
    colour covers most of the map and it says little (WordNet's mammals are 95% placental at level 1). Falls back to
    the first level with at least two labels, then to the last level."""
    fallback = None
    for level in range(labels_by_level.shape[1]):
        column = labels_by_level[:, level]
        _, counts = np.unique(column[column >= 0], return_counts=True)
        if len(counts) >= 2:
            if counts.max() <= dominant * counts.sum():
                return level
            fallback = level if fallback is None else fallback
    return fallback if fallback is not None else max(labels_by_level.shape[1] - 1, 0)


def map_paths(workspace: Path, run_path: Path, texts: list[str], side: str = "documents") -> tuple[Path, Path]:
    """Where the zero-shot map (shared by every run on these texts) and a run's aligned map of one side are cached
    (a corpus without a query column queries with its documents' texts, whose aligned query vectors differ)."""
    import hashlib

    key = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    after = f"map-{key}.npy" if side == "documents" else f"map-{side}-{key}.npy"
    return Path(workspace) / "cache" / "maps" / f"minilm-{key}.npy", Path(run_path) / after


@dataclass(frozen=True)
class ClusterLabel:
    """Where to write a label's name on a map: its medoid (a real point of the cluster, not an empty centroid)."""

    label: str
    x: float
    y: float
    size: int


def cluster_labels(coords: np.ndarray, labels: list[str], top: int = 25, min_size: int = 3,
                   sample: int = 400, seed: int = 0) -> list[ClusterLabel]:
    """The `top` largest labels (at least `min_size` points) with the medoid of each (of a seeded sample of `sample`
    points for big clusters), largest first."""
    labels_arr = np.asarray(labels, dtype=object)
    names, counts = np.unique(labels_arr, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rng = np.random.default_rng(seed)
    out = []
    for i in order[:top]:
        if counts[i] < min_size:
            break
        members = np.flatnonzero(labels_arr == names[i])
        if len(members) > sample:
            members = rng.choice(members, sample, replace=False)
        pts = coords[members]
        distances = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)).sum(1)
        centre = pts[int(np.argmin(distances))]
        out.append(ClusterLabel(str(names[i]), float(centre[0]), float(centre[1]), int(counts[i])))
    return out


def build_maps(jobs: list[tuple[str, Path, Callable[[], np.ndarray]]],
               progress: Callable[[str, int, int], None] | None = None) -> list[np.ndarray]:
    """Compute (or read from their caches) several maps in turn: jobs are (stage name, cache path, vectors thunk).

    The thunk is called only on a cache miss (encoding the zero-shot vectors is skipped when the map is cached)."""
    progress = progress or (lambda stage, done, total: None)
    out = []
    for i, (stage, path, vectors) in enumerate(jobs):
        progress(stage, i, len(jobs))
        coords = read_map(path)
        if coords is None:
            coords = cached_map(path, vectors())
        out.append(coords)
    progress("done", len(jobs), len(jobs))
    return out


def read_map(path: Path) -> np.ndarray | None:
    path = Path(path)
    return np.load(path, allow_pickle=False) if path.exists() else None


_warm = threading.Event()


def warm_up(background: bool = True) -> None:
    """Compile UMAP's numba functions on tiny random data, once per process.

    The first UMAP in a process otherwise spends ~20 s compiling before it starts; the app calls this at start-up in
    a daemon thread, so by the time someone opens the Map page the compiled code is there. Only the exact-neighbour
    path UMAP takes below 4,096 points is compiled (~20 s of one core): the approximate path of larger maps costs
    twice that, so a first map of a large corpus pays it once per server process instead of every start-up."""
    if _warm.is_set():
        return
    _warm.set()

    def run() -> None:
        import umap

        x = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
        umap.UMAP(n_neighbors=10, metric="cosine", random_state=0, n_jobs=1, n_epochs=20).fit_transform(x)

    if background:
        threading.Thread(target=run, name="umap-warm-up", daemon=True).start()
    else:
        run()
