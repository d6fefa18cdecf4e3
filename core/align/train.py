"""One training loop for every method (core/align/objectives/) and encoder (core/align/encoders/).

The loop owns what all methods share: the optimiser, validation evaluations, the best checkpoint, progress events and
stopping. What a run is given (the resolved config, the query split, the references) is fixed beforehand in its plan
(core/align/plan.py); what differs between methods (the batch, the loss, extra parameters and state, what "best"
means) lives in the method's Objective; each encoder is built by its own kind's factory. This file never asks which
method or encoder runs.

Progress goes to a plain callback (no-op by default) as dict events: {"type": "step", ...} every step and
{"type": "eval", ...} with a recall-by-distance evaluation on a fixed validation sample every `eval_every` steps, so a
chart can update live. A threading.Event stops the run cleanly; the best checkpoint is restored at the end. Seeded:
the same config on the CPU gives the same result.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from core.align.config import ENCODERS, METHODS, RECIPES, AlignConfig
from core.align.encoders import encode_all
from core.align.objectives import OBJECTIVES, Objective
from core.align.plan import RunPlan, plan_run, query_positions, split_queries
from core.data.corpus import Corpus
from core.embedding.model import pick_device
from core.embedding.vectors import BaseVectors
from core.evaluation.evaluate import EvalConfig, retrieval_metrics
from core.evaluation.index import build_index, search

__all__ = ["ENCODERS", "METHODS", "RECIPES", "AlignConfig", "AlignResult", "Trainer", "align", "split_queries",
           "steps_for_epochs"]

Event = dict
Callback = Callable[[Event], None]


def no_callback(event: Event) -> None:
    pass


@dataclass
class AlignResult:
    queries: np.ndarray  # (len(corpus.query_nodes), d) aligned query vectors
    docs: np.ndarray  # (corpus.n, d) aligned document vectors
    encoder: torch.nn.Module
    config: AlignConfig  # the resolved configuration that ran (every default filled in)
    history: list[Event] = field(default_factory=list)  # every eval event
    best_step: int = 0
    stopped: bool = False
    seconds: float = 0.0
    split: dict = field(default_factory=dict)  # sizes of train / validation / held-out query sets


class Trainer:
    """Trains one planned run; `run()` returns an AlignResult."""

    def __init__(self, plan: RunPlan, callback: Callback = no_callback, stop: threading.Event | None = None):
        self.plan, self.callback = plan, callback
        self.corpus, self.config, self.base, self.split = plan.corpus, plan.config, plan.base, plan.split
        self.train_positions, self.position_nodes = plan.train_positions, plan.position_nodes
        self.stop = stop or threading.Event()
        torch.manual_seed(self.config.seed)
        self.device = torch.device(pick_device(self.config.device))
        self.eval_config = EvalConfig(heldout_fraction=self.config.heldout_fraction, seed=self.config.seed)
        self.encoder = plan.kind.build(plan, self.device).to(self.device)
        self.objective: Objective = OBJECTIVES[self.config.method](self)
        if self.config.eval_every is None:  # about 20 validation evaluations (and checkpoint choices) per run
            total = sum(p.steps for p in self.objective.phases())
            self.config = self.objective.config = replace(self.config, eval_every=max(10, math.ceil(total / 20)))

    # --- what objectives may call ----------------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        self.callback(event)

    def validation_metrics(self) -> dict:
        """Recall by distance (and the objective's own metrics) on the fixed validation sample."""
        positions = self.split.validation
        queries, docs = encode_all(self.encoder, positions)
        nodes = self.corpus.query_nodes[positions]
        k = int(max(self.corpus.hierarchy.ancestors.sizes()[nodes].max(initial=1), 10,
                    100 if self.corpus.queries is not None else 0))
        _, retrieved = search(build_index(docs), queries, k)
        metrics = retrieval_metrics(self.corpus, retrieved, nodes, 10)
        metrics.update(self.objective.extra_metrics(docs, nodes))
        return metrics

    def validation_score(self) -> float:
        return self.objective.score(self.validation_metrics())

    def checkpoint(self) -> dict:
        return {"encoder": {k: v.detach().clone() for k, v in self.encoder.state_dict().items()},
                "objective": copy.deepcopy(self.objective.state_dict())}

    def load_checkpoint(self, state: dict) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.objective.load_state_dict(state["objective"])

    def split_sizes(self) -> dict:
        return {"train": len(self.split.train), "validation": len(self.split.validation),
                "heldout": len(self.split.heldout), "train_items": self.objective.items_per_epoch(),
                "doc_queries": self.corpus.n if self.config.doc_queries else 0,
                "validation_in_sample": self.split.in_sample}

    # --- the loop ---------------------------------------------------------------------------------------------------

    def run(self) -> AlignResult:
        c, objective = self.config, self.objective
        t0 = time.perf_counter()
        history: list[Event] = []
        best = {"score": -math.inf, "step": 0, "state": None}
        step, stopped = 0, False

        def evaluate(phase: str) -> None:
            metrics = self.validation_metrics()
            score = objective.score(metrics)
            event = {"type": "eval", "step": step, "phase": phase, "score": score,
                     "seconds": time.perf_counter() - t0, "metrics": metrics}
            history.append(event)
            if score >= best["score"]:  # ties go to the later, longer-trained state
                best.update(score=score, step=step, state=self.checkpoint())
            event["best_step"] = best["step"]
            self.emit(event)

        phases = objective.phases()
        total = sum(p.steps for p in phases)
        self.emit({"type": "start", "total_steps": total, "phases": [p.name for p in phases],
                   "split": self.split_sizes(), "config": asdict(c)})
        evaluate(phases[0].name)
        for phase in phases:
            objective.begin_phase(phase)
            optimizer = torch.optim.Adam(objective.param_groups(phase))
            self.emit({"type": "phase", "step": step, "phase": phase.name, "lr": phase.lr,
                       "temperature": phase.temperature, **phase.info})
            # a finetuned model's document bank is fresh here: every phase starts right after an evaluation
            for _ in range(phase.steps):
                if self.stop.is_set():
                    stopped = True
                    break
                self.encoder.train()
                loss = objective.loss(phase)
                if hasattr(self.encoder, "regularizer"):  # e.g. an adapter's head-length penalty
                    loss = loss + self.encoder.regularizer()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                if objective.after_step(step, total):
                    optimizer = torch.optim.Adam(objective.param_groups(phase))
                self.emit({"type": "step", "step": step, "total_steps": total, "phase": phase.name,
                           "loss": float(loss.detach()), "seconds": time.perf_counter() - t0})
                if step % c.eval_every == 0:
                    evaluate(phase.name)
            if history[-1]["step"] != step:  # end of phase, or stopped: the last state is a checkpoint candidate too
                evaluate(phase.name)
            if stopped:
                break
        if best["state"] is not None:
            self.load_checkpoint(best["state"])
        queries, docs = encode_all(self.encoder, len(self.corpus.query_nodes))
        result = AlignResult(queries, docs, self.encoder, c, history, best["step"], stopped, time.perf_counter() - t0,
                             self.split_sizes())
        self.emit({"type": "done", "step": step, "best_step": best["step"], "stopped": stopped,
                   "seconds": result.seconds})
        return result


def align(corpus: Corpus, config: AlignConfig, base: BaseVectors | tuple | None = None,
          callback: Callback = no_callback, stop: threading.Event | None = None) -> AlignResult:
    """Train `config.method` with `config.encoder` on the corpus; see plan_run and Trainer."""
    return Trainer(plan_run(corpus, config, base), callback, stop).run()


def steps_for_epochs(corpus: Corpus, config: AlignConfig, epochs: float) -> int:
    """Steps that make `epochs` passes over what the method trains on (pairs, queries, or queries and documents)."""
    config = config.resolved()
    positions, nodes = query_positions(corpus, config, split_queries(len(corpus.query_nodes), config))
    items = OBJECTIVES[config.method].count_items(corpus, config, positions, nodes)
    return max(1, math.ceil(epochs * items / config.batch_size))
