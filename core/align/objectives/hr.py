"""HR (Hierarchical Retrieval paper): softmax of a query against ALL documents, target = the pair's ancestor."""

from __future__ import annotations

import torch

from core.align.losses import hr_sampled_softmax_loss, hr_softmax_loss
from core.align.objectives.pair import PairObjective


class HRObjective(PairObjective):
    name = "hr"

    def __init__(self, trainer):
        super().__init__(trainer)
        self.generator = torch.Generator().manual_seed(self.config.seed + 5)

    def loss(self, phase):
        c = self.config
        positions, targets = self.batch()
        encoder = self.trainer.encoder
        docs = encoder.docs_with_bank(targets) if hasattr(encoder, "docs_with_bank") else encoder.docs()
        queries = encoder.queries(positions)
        if c.softmax_negatives and c.softmax_negatives < len(docs):
            sampled = torch.randint(len(docs), (c.softmax_negatives,), generator=self.generator).to(self.device)
            return hr_sampled_softmax_loss(queries, docs, targets, sampled, phase.temperature, c.similarity)
        return hr_softmax_loss(queries, docs, targets, phase.temperature, c.similarity)
