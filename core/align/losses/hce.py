"""HCE: for a query whose relevant document has root path n_0 -> n_1 -> ... -> n_L, the sum over levels of a softmax of
the query against the children of n_{l-1} (the node on the path and its siblings).

The caller assembles, for each query and level, the candidate nodes (the siblings, and at the leaf level possibly extra
random documents as further negatives) and where the positive sits among them; this function only scores. A one-level
tree (root -> all documents) makes it the full-softmax InfoNCE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hce_loss(
    queries: torch.Tensor,  # (B, d)
    node_vectors: torch.Tensor,  # (M, d) vectors of all tree nodes that appear as candidates
    candidates: torch.Tensor,  # (B, L, C) node indices into node_vectors, -1 = padding
    positive: torch.Tensor,  # (B, L) position of the path node within candidates[b, l]
    temperature: float = 0.05,
    normalize: bool = True,
) -> torch.Tensor:
    """Sum over levels, mean over queries, of the sibling-softmax cross-entropy; levels with one candidate add 0."""
    if normalize:
        queries, node_vectors = F.normalize(queries, dim=-1), F.normalize(node_vectors, dim=-1)
    valid = candidates >= 0  # (B, L, C)
    scores = queries @ node_vectors.T / temperature  # (B, M): cheaper than gathering (B, L, C, d) vectors
    logits = scores.gather(1, candidates.clamp(min=0).flatten(1)).view(candidates.shape)
    logits = logits.masked_fill(~valid, float("-inf"))
    per_level = F.cross_entropy(logits.flatten(0, 1), positive.flatten(), reduction="none")  # (B*L,)
    used = valid.flatten(0, 1).any(dim=1)
    per_level = torch.where(used, per_level, torch.zeros_like(per_level))
    return per_level.view(len(queries), -1).sum(dim=1).mean()
