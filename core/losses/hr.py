"""The HR paper's loss: softmax cross-entropy of a query against ALL documents, the target being the relevant document
of the sampled (query, ancestor) pair.

What the temperature means is not stated in the paper (methods.md), so it is an explicit choice:
- mode="divide": logits = <q, x> / T on raw (unnormalised) vectors, the usual reading of "temperature T";
  vector norms are free, so T only sets the scale the model starts from.
- mode="scale": logits = T * cos(q, x) on unit vectors; T acts as an inverse temperature, as in most
  sentence-embedding losses (there, dividing unit vectors by 20 would make the softmax nearly flat).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TEMPERATURE_MODES = ("divide", "scale")


def hr_logits(queries: torch.Tensor, docs: torch.Tensor, temperature: float, mode: str = "divide") -> torch.Tensor:
    """(B, N) logits of queries (B, d) against all documents (N, d)."""
    if mode == "divide":
        return queries @ docs.T / temperature
    if mode == "scale":
        return temperature * F.normalize(queries, dim=-1) @ F.normalize(docs, dim=-1).T
    raise ValueError(f"unknown temperature mode {mode!r}; use one of {TEMPERATURE_MODES}")


def hr_softmax_loss(
    queries: torch.Tensor,  # (B, d)
    docs: torch.Tensor,  # (N, d) every document
    targets: torch.Tensor,  # (B,) index of each query's relevant document
    temperature: float = 20.0,
    mode: str = "divide",
    weights: torch.Tensor | None = None,  # (B,) optional per-pair weights
) -> torch.Tensor:
    """Mean (or weighted mean) cross-entropy over the full document set."""
    losses = F.cross_entropy(hr_logits(queries, docs, temperature, mode), targets, reduction="none")  # (B,)
    if weights is None:
        return losses.mean()
    return (losses * weights).sum() / weights.sum()
