"""adapter: frozen base embeddings (cached) plus a small trainable head, query and document heads shared or separate.

The head starts as the identity (its last layer is zero), so training starts from the zero-shot model.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from core.align.encoders.base import EncoderKind
from core.align.encoders.head import Head
from core.align.losses.length import length_penalty

if TYPE_CHECKING:
    from core.align.plan import RunPlan


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


def build(plan: RunPlan, device: torch.device) -> AdapterEncoder:
    c = plan.config
    return AdapterEncoder(plan.query_base, plan.base.docs, c.head, c.hidden, c.shared_head, seed=c.seed,
                          base_weight=c.base_weight, normalize=c.similarity == "cosine", length_weight=c.length_weight)


KIND = EncoderKind(build)
