"""2-D maps of embeddings with UMAP, before and after alignment, with the same parameters and seed.

Above `max_points` documents a seeded sample is mapped (the caller is told how many). Results are cached next to the
run as .npy files, so a map is computed once per run.
"""

from __future__ import annotations

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
