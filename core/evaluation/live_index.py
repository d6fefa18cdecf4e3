"""An aligned index that grows and shrinks without retraining: HCE's point that the tree is only a training aid.

New documents are embedded with the aligned encoder (any function from texts to vectors: the exported model's
`encode_document`, or an adapter's `transform` over base embeddings) and added under their ids; removed ids leave the
index at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import faiss
import numpy as np


class LiveIndex:
    """Exact inner-product search over documents keyed by string id."""

    def __init__(self, dim: int):
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.ids: dict[str, int] = {}  # string id -> faiss id
        self.names: dict[int, str] = {}
        self._next = 0

    def __len__(self) -> int:
        return self.index.ntotal

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        duplicate = [i for i in ids if i in self.ids]
        if duplicate:
            raise ValueError(f"already in the index: {duplicate[:3]}; remove them first to replace them")
        keys = np.arange(self._next, self._next + len(ids), dtype=np.int64)
        self._next += len(ids)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), keys)
        for name, key in zip(ids, keys.tolist()):
            self.ids[name], self.names[key] = key, name

    def add_texts(self, ids: Sequence[str], texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> None:
        self.add(ids, encode(list(texts)))

    def remove(self, ids: Sequence[str]) -> int:
        keys = np.array([self.ids.pop(i) for i in ids if i in self.ids], dtype=np.int64)
        for key in keys.tolist():
            del self.names[key]
        return int(self.index.remove_ids(keys)) if len(keys) else 0

    def search(self, queries: np.ndarray, k: int) -> list[list[str]]:
        k = min(k, len(self))
        if k == 0:
            return [[] for _ in range(len(queries))]
        _, keys = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return [[self.names[int(key)] for key in row if key >= 0] for row in keys]
