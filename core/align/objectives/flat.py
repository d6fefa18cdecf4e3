"""Flat: in-batch contrastive (InfoNCE) on the same (query, ancestor) pairs, the baseline most people would try.

With `hard_negatives` > 0 each query also meets one of its zero-shot nearest documents that is not one of its
ancestors (drawn from its `hard_negatives` nearest), the usual way to make in-batch training harder.
"""

from __future__ import annotations

import numpy as np
import torch

from core.align.losses import flat_info_nce
from core.align.objectives.pair import PairObjective
from core.align.plan import zero_shot_hard_negatives


class FlatObjective(PairObjective):
    name = "flat"

    def __init__(self, trainer):
        super().__init__(trainer)
        self.hard = None
        if self.config.hard_negatives:
            self.hard = zero_shot_hard_negatives(trainer.plan, self.config.hard_negatives)  # (positions, H), -1 padded

    def loss(self, phase):
        positions, targets = self.batch()
        encoder = self.trainer.encoder
        negatives = None
        if self.hard is not None:
            options = self.hard[positions.cpu().numpy()]
            pick = options[np.arange(len(options)), self.rng.integers(0, options.shape[1], len(options))]
            pick = np.where(pick >= 0, pick, self.rng.integers(0, self.corpus.n, len(options)))
            negatives = encoder.docs(torch.as_tensor(pick, device=self.device))
        return flat_info_nce(encoder.queries(positions), encoder.docs(targets), phase.temperature, doc_ids=targets,
                             similarity=self.config.similarity, hard_negatives=negatives)
