"""The one way every loss turns vectors into logits: similarity / temperature.

similarity = "cosine": the vectors are unit-normalised first (the usual sentence-embedding setting);
similarity = "dot": raw inner products, so vector lengths are free and count (the HR paper's lookup tables).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SIMILARITIES = ("cosine", "dot")


def similarity_logits(queries: torch.Tensor, docs: torch.Tensor, temperature: float, similarity: str = "cosine") -> torch.Tensor:
    """(B, N) logits of queries (B, d) against documents (N, d)."""
    if similarity == "cosine":
        queries, docs = F.normalize(queries, dim=-1), F.normalize(docs, dim=-1)
    elif similarity != "dot":
        raise ValueError(f"unknown similarity {similarity!r}; use one of {SIMILARITIES}")
    return queries @ docs.T / temperature
