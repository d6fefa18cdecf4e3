"""lookup: one free vector per query and per document (the HR paper's setting); no text involved.

Lookup tables cannot encode an unseen query, so every query trains and validation is an in-sample sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.align.encoders.base import EncoderKind

if TYPE_CHECKING:
    from core.align.plan import RunPlan


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


def build(plan: RunPlan, device: torch.device) -> LookupEncoder:
    c, corpus = plan.config, plan.corpus
    return LookupEncoder(len(corpus.query_nodes), corpus.n, c.dim, seed=c.seed, normalize=c.similarity == "cosine")


KIND = EncoderKind(build, reads_text=False)
