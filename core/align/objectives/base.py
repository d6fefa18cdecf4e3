"""What every training method provides to the one training loop (core/align/train.py).

An objective owns its batch, its loss, its extra parameters and state, and its checkpoint score. The run's plan
(core/align/plan.py) fixes the query split and the references; the loop owns the optimiser, evaluation, checkpoints,
progress events and stopping, and never asks which method runs. `self.trainer.plan` is the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from core.align.train import Trainer


@dataclass(frozen=True)
class Phase:
    """A stretch of training with its own step count, learning rate and temperature (pretrain-finetune has two)."""

    name: str  # "train", or "pretrain" and "far" for the pretrain-finetune recipe
    steps: int
    lr: float
    temperature: float
    info: dict = field(default_factory=dict)  # reported with the phase event (e.g. how many pairs it trains on)


class Objective:
    """A training method. Subclasses implement `loss`; the rest has defaults that fit most methods."""

    name = "objective"

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        self.config = trainer.config
        self.corpus = trainer.corpus
        self.device = trainer.device
        self.rng = np.random.default_rng(trainer.config.seed + 2)

    def phases(self) -> list[Phase]:
        c = self.config
        return [Phase("train", c.steps, c.lr, c.temperature)]

    def begin_phase(self, phase: Phase) -> None:
        """Called before a phase's first step (e.g. to build that phase's pair sampler)."""

    def loss(self, phase: Phase) -> torch.Tensor:
        """The loss of one freshly drawn batch."""
        raise NotImplementedError

    def param_groups(self, phase: Phase) -> list[dict]:
        """Optimiser parameter groups: the encoder's trainable parameters and the objective's own, at the phase lr."""
        params = [p for p in self.trainer.encoder.parameters() if p.requires_grad] + self.parameters()
        return [{"params": params, "lr": phase.lr}]

    def parameters(self) -> list[torch.nn.Parameter]:
        """Trainable parameters the objective adds (e.g. HCE's memory levels)."""
        return []

    def score(self, metrics: dict) -> float:
        """What 'best checkpoint' means: by default overall recall by distance on the validation queries."""
        return metrics["recall_overall"]

    def extra_metrics(self, docs: np.ndarray, nodes: np.ndarray) -> dict:
        """Metrics the objective needs beyond recall by distance (merged into every validation evaluation)."""
        return {}

    def state_dict(self) -> dict:
        """Objective state a checkpoint must restore, beyond the encoder's parameters."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def after_step(self, step: int, total: int) -> bool:
        """Hook after every optimiser step; return True when parameters changed identity (rebuild the optimiser)."""
        return False

    def items_per_epoch(self) -> int:
        t = self.trainer
        return self.count_items(t.corpus, t.config, t.train_positions, t.position_nodes)

    @staticmethod
    def count_items(corpus, config, train_positions, position_nodes) -> int:
        """What one pass over the training data counts (for --epochs), known before any model is built."""
        return len(train_positions)
