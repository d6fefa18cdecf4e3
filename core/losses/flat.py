"""In-batch contrastive loss (InfoNCE, a.k.a. multiple-negatives ranking): the flat baseline.

Query i's positive is document i; the other documents of the batch are its negatives. When the same document appears
twice in a batch (two queries share an ancestor), the copy is not a negative of the other query: pass `doc_ids`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flat_info_nce(
    queries: torch.Tensor,  # (B, d)
    docs: torch.Tensor,  # (B, d), docs[i] is the positive of queries[i]
    scale: float = 20.0,
    doc_ids: torch.Tensor | None = None,  # (B,) ids of the documents, to unmask duplicates
    normalize: bool = True,
) -> torch.Tensor:
    """Mean cross-entropy of each query against the batch's documents, logits = scale * similarity."""
    if normalize:
        queries, docs = F.normalize(queries, dim=-1), F.normalize(docs, dim=-1)
    logits = scale * queries @ docs.T  # (B, B)
    if doc_ids is not None:
        same = doc_ids[:, None] == doc_ids[None, :]
        same.fill_diagonal_(False)
        logits = logits.masked_fill(same, float("-inf"))
    target = torch.arange(len(queries), device=queries.device)
    return F.cross_entropy(logits, target)
