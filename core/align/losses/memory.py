"""The memory method's two losses (core/align/objectives/memory.py).

- code_loss: node codes with ONE global threshold (the HR paper's Theorem 3.1): a node's value vector must score
  between the threshold and 1 with the code of every ancestor (itself included), and between -threshold and the
  threshold with every other code. Positives and negatives are averaged separately, so the few ancestors weigh as much
  as the many others. The bands are what let a query mix several nodes' values and still rank like the mixture of
  their ancestor sets: with scores near 1 and 0 the mix approximates the posterior P(a is an ancestor); an open-ended
  logistic loss lets some ancestors score 20 and others 1, and the mix then ranks by those magnitudes instead
  (measured in docs/reproduction.md).
- link_loss: a query's attention over nodes should put its mass where the query's ancestors are: minus the mean log
  of the posterior P(a is an ancestor of the query's node) over the true ancestors a. Attention on a child of the
  right node still counts for that node and everything above it, so near misses cost little.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def code_loss(
    positive: torch.Tensor,  # (B, P) scores <value_u, code_a> for the ancestors a of node u
    positive_mask: torch.Tensor,  # (B, P) bool: real entries (rows are padded)
    negative: torch.Tensor,  # (B, R) scores against sampled codes
    negative_mask: torch.Tensor,  # (B, R) bool: the sampled code is not an ancestor of u
    threshold: float,
    temperature: float,
) -> torch.Tensor:
    """Balanced two-sided logistic bands: positives are pushed into [threshold, 1] (softplus((threshold - s) / T) +
    softplus((s - 1) / T)), negatives into [-threshold, threshold]; each averaged over its own entries per row, then
    over rows."""
    t = temperature
    up = (F.softplus((threshold - positive) / t) + F.softplus((positive - 1.0) / t)) * positive_mask
    down = (F.softplus((negative - threshold) / t) + F.softplus((-threshold - negative) / t)) * negative_mask
    per_row = up.sum(1) / positive_mask.sum(1).clamp(min=1) + down.sum(1) / negative_mask.sum(1).clamp(min=1)
    return per_row.mean()


def link_loss(
    probs: torch.Tensor,  # (B, k) attention of each query over its k linked nodes (rows sum to <= 1)
    member: torch.Tensor,  # (B, k, A) bool: target ancestor a is an ancestor (or self) of linked node j
    valid: torch.Tensor,  # (B, A) bool: real target ancestors (rows are padded)
    floor: float = 1e-8,
) -> torch.Tensor:
    """Minus the mean log posterior of the true ancestors: -mean_a log sum_j probs_j [a in anc(node_j)]."""
    posterior = (probs[:, :, None] * member).sum(1).clamp(min=floor)  # (B, A)
    return (-(torch.log(posterior) * valid).sum(1) / valid.sum(1).clamp(min=1)).mean()
