"""Methods trained on (query, ancestor) pairs: flat and hr. They share the pair sampler and the pretrain-finetune
recipe (a second phase on far pairs only, with its own learning rate and temperature)."""

from __future__ import annotations

from core.align.objectives.base import Objective, Phase
from core.align.pairs import Pairs, PairSampler, pair_probabilities, training_pairs
from core.errors import InputError


class PairObjective(Objective):
    def __init__(self, trainer):
        super().__init__(trainer)
        t = trainer
        self.pairs: Pairs = training_pairs(t.corpus.hierarchy.ancestors, t.position_nodes, t.train_positions)
        self.sampler: PairSampler | None = None

    def phases(self) -> list[Phase]:
        c = self.config
        if c.recipe != "pretrain-finetune":
            return [Phase("train", c.steps, c.lr, c.temperature, {"pairs": len(self.pairs)})]
        far = self.pairs.subset(self.pairs.distance >= c.far_threshold)
        if len(far) == 0:
            raise InputError(f"--far-threshold {c.far_threshold}", "no training pair is that far apart",
                             "lower --far-threshold")
        return [Phase("pretrain", c.steps, c.lr, c.temperature, {"pairs": len(self.pairs)}),
                Phase("far", c.far_steps or c.steps, c.lr * c.far_lr_factor, c.far_temperature,
                      {"pairs": len(far), "far_threshold": c.far_threshold})]

    def begin_phase(self, phase: Phase) -> None:
        c = self.config
        if phase.name == "far":
            pairs = self.pairs.subset(self.pairs.distance >= c.far_threshold)
            self.sampler = PairSampler(pairs, pair_probabilities(pairs, "pairs"), c.seed + 7)
            return
        probs = pair_probabilities(self.pairs, c.sampler)
        if c.self_pair_weight > 0:
            own = (self.pairs.distance == 0).astype(float)
            probs = (1 - c.self_pair_weight) * probs + c.self_pair_weight * own / own.sum()
        self.sampler = PairSampler(self.pairs, probs, c.seed)

    def batch(self):
        """(query positions, document ids) of a freshly sampled batch, as tensors on the device."""
        import torch

        idx = self.sampler.sample(self.config.batch_size)
        positions = torch.as_tensor(self.sampler.pairs.query[idx], device=self.device)
        docs = torch.as_tensor(self.sampler.pairs.doc[idx], device=self.device)
        return positions, docs

    @staticmethod
    def count_items(corpus, config, train_positions, position_nodes) -> int:
        return len(training_pairs(corpus.hierarchy.ancestors, position_nodes, train_positions))
