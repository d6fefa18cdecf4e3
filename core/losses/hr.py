"""The HR paper's loss: softmax cross-entropy of a query against ALL documents, the target being the relevant document
of the sampled (query, ancestor) pair.

The paper's T divides raw dot products of lookup-table vectors (similarity "dot", T = 20, then 500 in the far phase).
With unit vectors (similarity "cosine") dividing by 20 would make the softmax nearly flat, so text encoders use a small
temperature such as 0.05. Both readings are options (methods are compared in docs/reproduction.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.losses.similarity import similarity_logits


def hr_softmax_loss(
    queries: torch.Tensor,  # (B, d)
    docs: torch.Tensor,  # (N, d) every document
    targets: torch.Tensor,  # (B,) index of each query's relevant document
    temperature: float = 20.0,
    similarity: str = "dot",
    weights: torch.Tensor | None = None,  # (B,) optional per-pair weights
) -> torch.Tensor:
    """Mean (or weighted mean) cross-entropy over the full document set."""
    losses = F.cross_entropy(similarity_logits(queries, docs, temperature, similarity), targets, reduction="none")  # (B,)
    if weights is None:
        return losses.mean()
    return (losses * weights).sum() / weights.sum()
