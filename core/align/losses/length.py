"""A penalty on vector lengths: mean of (|v|^2 - 1)^2 over the batch.

An adapter with a base weight w scores a pair by the cosine of [head(x), sqrt(w) x]. That equals
(<head(x), head(y)> + w cos(x, y)) / (norms), so w is the base model's share of the score only while |head(x)| stays
near 1; a head trained freely grows its outputs and drowns the base part (on 20 Newsgroups, w = 10 still lost most of
the base model's ranking). Penalising the length during training keeps w's meaning, and the trained function stays a
plain head, so the exported model (Dense layers) computes exactly what training scored. Normalising the head's part
outright would do the same but no built-in sentence-transformers module normalises part of a vector.
"""

from __future__ import annotations

import torch


def length_penalty(vectors: torch.Tensor) -> torch.Tensor:  # (B, d) -> scalar
    """0 when every row has unit length; grows with the squared deviation of the squared length from 1."""
    return ((vectors.pow(2).sum(dim=-1) - 1.0) ** 2).mean()
