"""In-batch contrastive loss (InfoNCE, a.k.a. multiple-negatives ranking): the flat baseline.

Query i's positive is document i; the other documents of the batch (and any extra hard negatives) are its negatives.
When the same document appears twice in a batch (two queries share an ancestor), the copy is not a negative of the
other query: pass `doc_ids`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.align.losses.similarity import similarity_logits


def flat_info_nce(
    queries: torch.Tensor,  # (B, d)
    docs: torch.Tensor,  # (B, d), docs[i] is the positive of queries[i]
    temperature: float = 0.05,
    doc_ids: torch.Tensor | None = None,  # (B,) ids of the documents, to unmask duplicates
    similarity: str = "cosine",
    hard_negatives: torch.Tensor | None = None,  # (B, d) one extra negative per query, scored by every query
) -> torch.Tensor:
    """Mean cross-entropy of each query against the batch's documents, logits = similarity / temperature."""
    candidates = docs if hard_negatives is None else torch.cat([docs, hard_negatives])
    logits = similarity_logits(queries, candidates, temperature, similarity)  # (B, B) or (B, 2B)
    if doc_ids is not None:
        same = doc_ids[:, None] == doc_ids[None, :]
        same.fill_diagonal_(False)
        if hard_negatives is not None:
            same = torch.cat([same, torch.zeros_like(same)], dim=1)
        logits = logits.masked_fill(same, float("-inf"))
    target = torch.arange(len(queries), device=queries.device)
    return F.cross_entropy(logits, target)
