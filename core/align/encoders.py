"""The encoder modes the training loop drives through one interface.

- lookup: one free vector per query and per document (the HR paper's setting); no text involved.
- adapter: frozen base embeddings (cached) plus a small trainable head, query and document heads shared or separate.
  The head starts as the identity (its last layer is zero), so training starts from the zero-shot model.
- finetune: the whole sentence-transformers model is trained on the texts.
- memory: a query attends over the corpus's nodes and reads out their learned values (core/align/memory.py).

Every encoder maps query positions and document ids (node indices) to vectors. A query position indexes the
encoder's query table: positions 0..m-1 are the corpus's query_nodes; with `doc_queries`, positions m..m+n-1 are
the documents of nodes 0..n-1 used as extra training queries.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from core.align.losses.length import length_penalty

HEADS = ("linear", "mlp")


class Head(nn.Module):
    """y = x + W x (linear) or y = x + W2 relu(W1 x + b1) + b2 (mlp); zero-initialised residual, so it starts as x."""

    def __init__(self, dim: int, kind: str = "mlp", hidden: int = 512):
        super().__init__()
        if kind not in HEADS:
            raise ValueError(f"unknown head {kind!r}; use one of {HEADS}")
        self.kind = kind
        if kind == "linear":
            self.linear = nn.Linear(dim, dim)
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)
        else:
            self.up = nn.Linear(dim, hidden)
            self.down = nn.Linear(hidden, dim)
            nn.init.zeros_(self.down.weight)
            nn.init.zeros_(self.down.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, dim) -> (B, dim)
        if self.kind == "linear":
            return x + self.linear(x)
        return x + self.down(F.relu(self.up(x)))


class LookupEncoder(nn.Module):
    """Free vectors; with normalize=True (cosine similarity) it returns unit vectors, so search ranks as training did."""

    mode = "lookup"

    def __init__(self, n_queries: int, n_docs: int, dim: int, seed: int = 0, init_scale: float = 1.0,
                 normalize: bool = False):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.query_table = nn.Parameter(torch.randn(n_queries, dim, generator=g) * init_scale)
        self.doc_table = nn.Parameter(torch.randn(n_docs, dim, generator=g) * init_scale)
        self.normalize = normalize

    def _out(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1) if self.normalize else x

    def queries(self, positions: torch.Tensor) -> torch.Tensor:
        return self._out(self.query_table[positions])

    def docs(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        return self._out(self.doc_table if ids is None else self.doc_table[ids])


class AdapterEncoder(nn.Module):
    """Base vectors (unit, frozen) through a head; `shared` uses one head for both sides. Outputs are unit vectors
    unless normalize=False: then a vector's length is free to grow, and documents that many queries must retrieve (a
    hierarchy's upper nodes) can score higher for everyone, which inner-product search keeps.

    With base_weight w > 0 the output is the unit vector along [head(x), sqrt(w) * x]: the score of a pair then adds
    w times the base model's cosine to the head's inner product <head(x), head(y)>, so the head learns what to add to
    the base model's ranking instead of replacing it (the base model already finds a node itself, the head has to
    add its ancestors). That holds while |head(x)| stays near 1; a head trained freely outgrew the base part on 20
    Newsgroups (w = 10 still lost most of the base model's ranking). So training adds length_weight times
    core.align.losses.length_penalty of the head outputs it produced (`regularizer`), which keeps the exported Dense layers
    exact; normalising the head's part outright cannot be exported with sentence-transformers' built-in modules.
    Without the final normalisation (dot similarity, free lengths) the base term is added exactly: no penalty then.
    """

    mode = "adapter"

    def __init__(self, base_queries: np.ndarray, base_docs: np.ndarray, head: str = "mlp", hidden: int = 512,
                 shared: bool = True, seed: int = 0, base_weight: float = 0.0, normalize: bool = True,
                 length_weight: float = 0.0):
        super().__init__()
        self.base_weight = base_weight
        self.length_weight = length_weight
        self._head_outputs: list[torch.Tensor] = []  # head outputs of training calls since the last `regularizer`
        self.normalize = normalize
        torch.manual_seed(seed)
        self.register_buffer("base_q", torch.as_tensor(base_queries, dtype=torch.float32))
        self.register_buffer("base_d", torch.as_tensor(base_docs, dtype=torch.float32))
        dim = self.base_q.shape[1]
        self.query_head = Head(dim, head, hidden)
        self.doc_head = self.query_head if shared else Head(dim, head, hidden)
        self.shared = shared

    def _out(self, head: Head, x: torch.Tensor) -> torch.Tensor:
        y = head(x)
        penalised = self.base_weight > 0 and self.normalize and self.length_weight > 0
        if penalised and self.training and torch.is_grad_enabled():
            self._head_outputs.append(y)
        if self.base_weight > 0:
            y = torch.cat([y, math.sqrt(self.base_weight) * x], dim=-1)
        return F.normalize(y, dim=-1) if self.normalize else y

    def queries(self, positions: torch.Tensor) -> torch.Tensor:
        return self._out(self.query_head, self.base_q[positions])

    def docs(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        return self._out(self.doc_head, self.base_d if ids is None else self.base_d[ids])

    def regularizer(self) -> torch.Tensor:
        """length_weight * the length penalty of the head outputs made for this step's loss (0 when none applies)."""
        outputs, self._head_outputs = self._head_outputs, []
        if not outputs:
            return torch.zeros((), device=self.base_d.device)
        return self.length_weight * length_penalty(torch.cat(outputs))

    @torch.no_grad()
    def transform(self, base_vectors: np.ndarray, side: str = "document") -> np.ndarray:
        """Aligned vectors for new texts' base embeddings (unseen documents or queries): no retraining needed."""
        head = self.doc_head if side == "document" else self.query_head
        x = torch.as_tensor(base_vectors, dtype=torch.float32, device=self.base_d.device)
        return self._out(head, x).cpu().numpy()


class FinetuneEncoder(nn.Module):
    """A sentence-transformers model trained end to end; the same model encodes both sides.

    Scoring a query against ALL documents would need every document encoded with gradients at every step, which no
    transformer affords. So documents outside the batch come from a bank of their last encodings (refreshed every
    `refresh` calls of `refresh_bank`), and only the batch's own documents carry gradients.
    """

    mode = "finetune"

    def __init__(self, model, query_texts: list[str], doc_texts: list[str], bank: np.ndarray):
        super().__init__()
        self.model = model
        self.query_texts, self.doc_texts = query_texts, doc_texts
        self.register_buffer("bank", torch.as_tensor(bank, dtype=torch.float32))

    def _encode(self, texts: list[str]) -> torch.Tensor:
        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize  # renamed in sentence-transformers 6
        features = prepare(texts)
        device = next(self.model.parameters()).device
        features = {k: v.to(device) for k, v in features.items() if isinstance(v, torch.Tensor)}
        return self.model(features)["sentence_embedding"]

    def queries(self, positions: torch.Tensor) -> torch.Tensor:
        return self._encode([self.query_texts[i] for i in positions.tolist()])

    def docs(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        if ids is None:
            return self.bank
        return self._encode([self.doc_texts[i] for i in ids.tolist()])

    def docs_with_bank(self, ids: torch.Tensor) -> torch.Tensor:
        """(N, d): the bank with the rows `ids` replaced by fresh encodings that carry gradients."""
        unique = torch.unique(ids)
        fresh = self.docs(unique)
        return self.bank.index_copy(0, unique.to(self.bank.device), fresh.to(self.bank.dtype))

    @torch.no_grad()
    def refresh_bank(self, batch_size: int = 128) -> None:
        was_training = self.model.training
        self.model.eval()
        parts = [self._encode(self.doc_texts[i : i + batch_size]) for i in range(0, len(self.doc_texts), batch_size)]
        self.bank = torch.cat(parts).to(self.bank.dtype)
        self.model.train(was_training)


@torch.no_grad()
def encode_all(encoder: nn.Module, n_queries: int | np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(query vectors, document vectors) as float32 numpy, in eval mode, batched. `n_queries` is a count (positions
    0..n-1) or the array of query positions wanted (e.g. only the validation queries)."""
    was_training = encoder.training
    encoder.eval()
    if isinstance(encoder, FinetuneEncoder):
        batch = min(batch, 256)  # transformer activations, not table lookups
    positions = torch.arange(n_queries) if np.ndim(n_queries) == 0 else torch.as_tensor(n_queries, dtype=torch.long)
    queries = torch.cat([encoder.queries(positions[i : i + batch]) for i in range(0, len(positions), batch)]
                        or [torch.zeros(0)])
    if isinstance(encoder, FinetuneEncoder):
        encoder.refresh_bank()
    docs = encoder.docs()
    encoder.train(was_training)
    return queries.float().cpu().numpy(), docs.float().cpu().numpy()
