"""finetune: the whole sentence-transformers model is trained on the texts."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn

from core.align.encoders.base import EncoderKind

if TYPE_CHECKING:
    from core.align.plan import RunPlan


class FinetuneEncoder(nn.Module):
    """A sentence-transformers model trained end to end; the same model encodes both sides.

    Scoring a query against ALL documents would need every document encoded with gradients at every step, which no
    transformer affords. So documents outside the batch come from a bank of their last encodings (refreshed every
    `refresh` calls of `refresh_bank`), and only the batch's own documents carry gradients.
    """

    mode = "finetune"
    eval_batch = 256  # encode_all: transformer activations, not table lookups

    def __init__(self, model, query_texts: list[str], doc_texts: list[str], bank: np.ndarray):
        super().__init__()
        self.model = model
        self.query_texts, self.doc_texts = query_texts, doc_texts
        self.register_buffer("bank", torch.as_tensor(bank, dtype=torch.float32))

    def _encode(self, texts: list[str]) -> torch.Tensor:
        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize  # renamed in sentence-transformers 6
        features = prepare(texts)
        device = next(self.model.parameters()).device
        features = {k: v.to(device) for k, v in features.items() if isinstance(v, torch.Tensor)}
        return self.model(features)["sentence_embedding"]

    def queries(self, positions: torch.Tensor) -> torch.Tensor:
        return self._encode([self.query_texts[i] for i in positions.tolist()])

    def docs(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        if ids is None:
            return self.bank
        return self._encode([self.doc_texts[i] for i in ids.tolist()])

    def docs_with_bank(self, ids: torch.Tensor) -> torch.Tensor:
        """(N, d): the bank with the rows `ids` replaced by fresh encodings that carry gradients."""
        unique = torch.unique(ids)
        fresh = self.docs(unique)
        return self.bank.index_copy(0, unique.to(self.bank.device), fresh.to(self.bank.dtype))

    @torch.no_grad()
    def encode_texts(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """(q, d) vectors of any texts (new phrasings) with the trained model, in eval mode."""
        was_training = self.model.training
        self.model.eval()
        parts = [self._encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        self.model.train(was_training)
        return torch.cat(parts).float().cpu().numpy() if parts else np.zeros((0, self.bank.shape[1]), np.float32)

    @torch.no_grad()
    def refresh_bank(self, batch_size: int = 128) -> None:
        was_training = self.model.training
        self.model.eval()
        parts = [self._encode(self.doc_texts[i : i + batch_size]) for i in range(0, len(self.doc_texts), batch_size)]
        self.bank = torch.cat(parts).to(self.bank.dtype)
        self.model.train(was_training)


def build(plan: RunPlan, device: torch.device) -> FinetuneEncoder:
    from core.embedding.model import load_model

    c, corpus = plan.config, plan.corpus
    model = copy.deepcopy(load_model(c.model, str(device)))
    texts = corpus.query_texts() + (list(corpus.texts) if c.doc_queries else [])
    return FinetuneEncoder(model, texts, list(corpus.texts), plan.base.docs)


KIND = EncoderKind(build)
