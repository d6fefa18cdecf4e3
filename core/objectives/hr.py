"""HR (Hierarchical Retrieval paper): softmax of a query against ALL documents, target = the pair's ancestor."""

from __future__ import annotations

from core.losses import hr_softmax_loss
from core.objectives.pair import PairObjective


class HRObjective(PairObjective):
    name = "hr"

    def loss(self, phase):
        positions, targets = self.batch()
        encoder = self.trainer.encoder
        docs = encoder.docs_with_bank(targets) if hasattr(encoder, "docs_with_bank") else encoder.docs()
        return hr_softmax_loss(encoder.queries(positions), docs, targets, phase.temperature, self.config.similarity)
