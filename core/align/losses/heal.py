"""HEAL: a supervised contrastive (SupCon) loss at every level of a label hierarchy, weighted toward coarse levels.

For level l of L (0 = coarsest), lambda_l = 2^(L-l-1) / (2^L - 1) (they sum to 1; 4/7, 2/7, 1/7 for L = 3). The positives
of anchor i at level l are the other batch items with the same label at level l (labels are node ids, so equal labels
mean equal path prefixes). Anchors without a positive at a level are skipped there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LEVEL_WEIGHTS = ("paper", "uniform", "fine")


def heal_weights(levels: int, scheme: str = "paper") -> torch.Tensor:
    """(L,) level weights summing to 1: the paper's lambda_l = 2^(L-l-1) / (2^L - 1) (coarse levels count most),
    'uniform' 1/L, or 'fine' (the paper's reversed: the finest level counts most)."""
    if scheme not in LEVEL_WEIGHTS:
        raise ValueError(f"unknown level weights {scheme!r}; use one of {LEVEL_WEIGHTS}")
    if scheme == "uniform":
        return torch.full((levels,), 1.0 / levels)
    exponents = torch.arange(levels - 1, -1, -1, dtype=torch.float64)
    weights = (2.0**exponents / (2.0**levels - 1)).float()
    return weights.flip(0) if scheme == "fine" else weights


def repeat_deepest(labels):
    """(n, L) labels, numpy or torch, where a path that ends early (-1) repeats its deepest label below it."""
    filled = labels.clone() if isinstance(labels, torch.Tensor) else labels.copy()
    for level in range(1, filled.shape[1]):
        missing = filled[:, level] < 0
        filled[missing, level] = filled[missing, level - 1]
    return filled


def supcon_loss(z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07, normalize: bool = True) -> torch.Tensor:
    """Supervised contrastive loss over a batch z (B, d) with labels (B,); label -1 means 'no label' (never positive).

    L_i = -(1/|P(i)|) sum_{p in P(i)} log( exp(z_i.z_p/T) / sum_{a != i} exp(z_i.z_a/T) ) with T the temperature, averaged over anchors
    that have at least one positive. Returns 0 (with a gradient path) when no anchor has one.
    """
    if normalize:
        z = F.normalize(z, dim=-1)
    sims = z @ z.T / temperature  # (B, B)
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    log_prob = sims - torch.logsumexp(sims.masked_fill(eye, float("-inf")), dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~eye & (labels[:, None] >= 0)
    counts = positive.sum(dim=1)
    has = counts > 0
    if not has.any():
        return z.sum() * 0.0
    per_anchor = -(log_prob * positive).sum(dim=1)[has] / counts[has]
    return per_anchor.mean()


def heal_loss(
    z: torch.Tensor,  # (B, d)
    level_labels: torch.Tensor,  # (B, L) label of each item at each level, coarse to fine; -1 = none
    temperature: float = 0.07,
    ragged: str = "repeat",  # items whose path ends early: "repeat" their deepest label, or "drop" them there
    weights: str = "paper",  # level weights: "paper", "uniform" or "fine" (see heal_weights)
) -> torch.Tensor:
    """Sum over levels of lambda_l * SupCon at level l."""
    labels = level_labels
    if ragged == "repeat":
        labels = repeat_deepest(labels)
    elif ragged != "drop":
        raise ValueError(f"unknown ragged option {ragged!r}; use 'repeat' or 'drop'")
    lam = heal_weights(labels.shape[1], weights).to(z.device)
    return sum(lam[level] * supcon_loss(z, labels[:, level], temperature) for level in range(labels.shape[1]))
