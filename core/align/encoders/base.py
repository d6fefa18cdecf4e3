"""What every encoder provides: one interface the loop drives, and the kind that says how the encoder is built.

Every encoder maps query positions and document ids (node indices) to vectors: `queries(positions)` (B, d) and
`docs(ids=None)` (n or B, d). A query position indexes the encoder's query table: positions 0..m-1 are the corpus's
query_nodes; with `doc_queries`, positions m..m+n-1 are the documents of nodes 0..n-1 used as extra training queries.
An encoder may also define `regularizer()` (added to every loss), `transform(base_vectors, side)` (new texts) and
`refresh_bank()` (called before its documents are read whole).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn

if TYPE_CHECKING:
    from core.align.config import AlignConfig
    from core.align.plan import RunPlan, SettleInputs


def keep_config(inputs: SettleInputs) -> AlignConfig:
    return inputs.config


@dataclass(frozen=True)
class EncoderKind:
    """How one encoder mode is built; the loop and the plan ask this instead of the mode's name."""

    build: Callable[[RunPlan, torch.device], nn.Module]  # the encoder for a planned run (on `device` if it loads a model)
    reads_text: bool = True  # encodes texts through the base model: needs base vectors, can score unseen queries
    settle: Callable[[SettleInputs], AlignConfig] = keep_config  # fills settings that depend on the data and split


@torch.no_grad()
def encode_all(encoder: nn.Module, n_queries: int | np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(query vectors, document vectors) as float32 numpy, in eval mode, batched. `n_queries` is a count (positions
    0..n-1) or the array of query positions wanted (e.g. only the validation queries)."""
    was_training = encoder.training
    encoder.eval()
    batch = min(batch, getattr(encoder, "eval_batch", batch))
    positions = torch.arange(n_queries) if np.ndim(n_queries) == 0 else torch.as_tensor(n_queries, dtype=torch.long)
    queries = torch.cat([encoder.queries(positions[i : i + batch]) for i in range(0, len(positions), batch)]
                        or [torch.zeros(0)])
    if hasattr(encoder, "refresh_bank"):  # documents come from a bank of encodings: make it current first
        encoder.refresh_bank()
    docs = encoder.docs()
    encoder.train(was_training)
    return queries.float().cpu().numpy(), docs.float().cpu().numpy()


@torch.no_grad()
def encode_new_queries(encoder: nn.Module, texts: list[str], base_vectors: np.ndarray) -> np.ndarray:
    """(q, d) aligned vectors of query texts the encoder never saw (new phrasings), from their texts or, for encoders
    over frozen base vectors, their base embeddings (q, D). Encoders without text (lookup tables) cannot."""
    if hasattr(encoder, "encode_texts"):
        return encoder.encode_texts(texts)
    if hasattr(encoder, "transform"):
        return encoder.transform(base_vectors, side="query")
    raise ValueError(f"a {type(encoder).__name__} has no text side, so it cannot encode new phrasings")
