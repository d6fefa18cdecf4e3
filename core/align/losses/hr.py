"""The HR paper's loss: softmax cross-entropy of a query against ALL documents, the target being the relevant document
of the sampled (query, ancestor) pair.

The paper's T divides raw dot products of lookup-table vectors (similarity "dot", T = 20, then 500 in the far phase).
With unit vectors (similarity "cosine") dividing by 20 would make the softmax nearly flat, so text encoders use a small
temperature such as 0.05. Both readings are options (methods are compared in docs/reproduction.md).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from core.align.losses.full_softmax import BLOCK, blocked_softmax_cross_entropy
from core.align.losses.similarity import similarity_logits


def hr_softmax_loss(
    queries: torch.Tensor,  # (B, d)
    docs: torch.Tensor,  # (N, d) every document
    targets: torch.Tensor,  # (B,) index of each query's relevant document
    temperature: float = 20.0,
    similarity: str = "dot",
    weights: torch.Tensor | None = None,  # (B,) optional per-pair weights
) -> torch.Tensor:
    """Mean (or weighted mean) cross-entropy over the full document set; large sets go through the blocked
    computation (core/align/losses/full_softmax.py), which gives the same value and gradients with less memory traffic."""
    if weights is None and len(docs) > 2 * BLOCK:
        if similarity == "cosine":
            queries, docs = F.normalize(queries, dim=-1), F.normalize(docs, dim=-1)
        elif similarity != "dot":
            raise ValueError(f"unknown similarity {similarity!r}")
        return blocked_softmax_cross_entropy(queries, docs, targets, temperature)
    losses = F.cross_entropy(similarity_logits(queries, docs, temperature, similarity), targets, reduction="none")  # (B,)
    if weights is None:
        return losses.mean()
    return (losses * weights).sum() / weights.sum()


def hr_sampled_softmax_loss(
    queries: torch.Tensor,  # (B, d)
    docs: torch.Tensor,  # (N, d) every document
    targets: torch.Tensor,  # (B,) index of each query's relevant document
    sampled: torch.Tensor,  # (S,) documents drawn uniformly at random, shared by the batch
    temperature: float = 20.0,
    similarity: str = "dot",
) -> torch.Tensor:
    """Sampled softmax: the target against S uniformly drawn documents instead of all N. Each sampled logit gets
    log(N / S) added, so the sampled sum estimates the full partition function; a draw that is the query's own
    target is masked out."""
    n = len(docs)
    logits_pos = similarity_logits(queries, docs[targets], temperature, similarity).diagonal()  # (B,)
    logits_neg = similarity_logits(queries, docs[sampled], temperature, similarity)  # (B, S)
    logits_neg = logits_neg + math.log(n / len(sampled))
    logits_neg = logits_neg.masked_fill(sampled[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([logits_pos[:, None], logits_neg], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(queries), dtype=torch.long, device=queries.device))
