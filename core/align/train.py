"""One training loop for every method (core/align/objectives/) and encoder mode (lookup, adapter, finetune, memory).

The loop owns what all methods share: the query split, the optimiser, validation evaluations, the best checkpoint,
progress events and stopping. What differs between methods (the batch, the loss, extra parameters and state, what
"best" means) lives in the method's Objective; this file never asks which method runs.

Progress goes to a plain callback (no-op by default) as dict events: {"type": "step", ...} every step and
{"type": "eval", ...} with a recall-by-distance evaluation on a fixed validation sample every `eval_every` steps, so a
chart can update live. A threading.Event stops the run cleanly; the best checkpoint is restored at the end. Seeded:
the same config on the CPU gives the same result.

Query split (text encoders): the evaluation's held-out 20% of queries is never trained on; a further
`validation_fraction` is set aside for checkpoint selection; the rest trains. Lookup tables cannot encode an unseen
query, so in lookup mode every query trains and validation is an in-sample sample (the HR paper's setting).
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
from core.align.encoders import AdapterEncoder, FinetuneEncoder, LookupEncoder, encode_all
from core.align.memory import MemoryEncoder, ancestor_sums, default_code_dim, default_code_steps, initial_codes
from core.align.objectives import OBJECTIVES, Objective
from core.data.corpus import Corpus
from core.embedding.model import pick_device
from core.embedding.vectors import BaseVectors
from core.evaluation.evaluate import EvalConfig, heldout_mask, retrieval_metrics
from core.evaluation.index import build_index, search
from core.evaluation.reference import better_link_keys

__all__ = ["ENCODERS", "METHODS", "RECIPES", "AlignConfig", "AlignResult", "Trainer", "align", "split_queries"]

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


@dataclass(frozen=True)
class QuerySplit:
    train: np.ndarray  # query positions trained on
    validation: np.ndarray  # query positions used to pick the checkpoint (fixed sample)
    heldout: np.ndarray  # query positions never trained on


def split_queries(n_queries: int, config: AlignConfig) -> QuerySplit:
    held = heldout_mask(n_queries, config.heldout_fraction, config.seed)
    rng = np.random.default_rng(config.seed + 1)
    if (config.encoder or "") == "lookup":
        train = np.arange(n_queries)
        validation = np.sort(rng.choice(train, min(config.eval_queries, len(train)), replace=False))
        return QuerySplit(train, validation, np.flatnonzero(held))
    rest = rng.permutation(np.flatnonzero(~held))
    n_val = min(max(1, int(round(n_queries * config.validation_fraction))), len(rest) - 1, config.eval_queries)
    return QuerySplit(np.sort(rest[n_val:]), np.sort(rest[:n_val]), np.flatnonzero(held))


def query_positions(corpus: Corpus, config: AlignConfig, split: QuerySplit) -> tuple[np.ndarray, np.ndarray]:
    """(training query positions, node of every position): the corpus's queries, then with doc_queries every node's
    document as a further training query (positions m..m+n-1, always trained: documents are known)."""
    nodes = corpus.query_nodes.astype(np.int64)
    if not config.doc_queries:
        return split.train, nodes
    m = len(nodes)
    return np.concatenate([split.train, m + np.arange(corpus.n)]), np.concatenate([nodes, np.arange(corpus.n)])


def as_base_vectors(base) -> BaseVectors | None:
    """Accept BaseVectors or a plain (queries, docs) pair."""
    if base is None or isinstance(base, BaseVectors):
        return base
    return BaseVectors(np.asarray(base[0]), np.asarray(base[1]))


class Trainer:
    """Holds what one run needs; `run()` trains and returns an AlignResult."""

    def __init__(self, corpus: Corpus, config: AlignConfig, base: BaseVectors | tuple | None = None,
                 callback: Callback = no_callback, stop: threading.Event | None = None):
        config = config.resolved()
        self.base = as_base_vectors(base)
        if config.encoder != "lookup" and self.base is None:
            raise ValueError("text encoders need the base model's (query, document) embeddings")
        self.corpus, self.callback = corpus, callback
        self.stop = stop or threading.Event()
        torch.manual_seed(config.seed)
        self.device = torch.device(pick_device(config.device))
        self.split = split_queries(len(corpus.query_nodes), config)
        if config.encoder == "memory":  # keys chosen on validation (recorded in config.json), codes sized from them
            if config.memory_keys == "auto":
                config = replace(config, memory_keys=better_link_keys(corpus, self.base, self.split.validation))
            n_keys = corpus.n + (len(self.base.clause_vectors) if config.memory_keys == "clauses"
                                 and self.base.clause_vectors is not None else 0)
            config = replace(config, dim=config.dim or default_code_dim(corpus.n, n_keys),
                             steps=config.steps or default_code_steps(corpus.n, config.batch_size))
        self.config = config
        self.train_positions, self.position_nodes = query_positions(corpus, config, self.split)
        self.eval_config = EvalConfig(heldout_fraction=config.heldout_fraction, seed=config.seed)
        self.encoder = self._make_encoder().to(self.device)
        self.objective: Objective = OBJECTIVES[config.method](self)
        if config.eval_every is None:  # about 20 validation evaluations (and checkpoint choices) per run
            total = sum(p.steps for p in self.objective.phases())
            self.config = self.objective.config = replace(self.config, eval_every=max(10, math.ceil(total / 20)))

    # --- set-up -----------------------------------------------------------------------------------------------------

    def _query_base(self) -> np.ndarray:
        b = self.base
        return np.concatenate([b.queries, b.docs]) if self.config.doc_queries else b.queries

    def _make_encoder(self) -> torch.nn.Module:
        c, corpus = self.config, self.corpus
        if c.encoder == "lookup":
            return LookupEncoder(len(corpus.query_nodes), corpus.n, c.dim, seed=c.seed, normalize=c.similarity == "cosine")
        if c.encoder == "adapter":
            return AdapterEncoder(self._query_base(), self.base.docs, c.head, c.hidden, c.shared_head, seed=c.seed,
                                  base_weight=c.base_weight, normalize=c.similarity == "cosine",
                                  length_weight=c.length_weight)
        if c.encoder == "memory":
            return self._make_memory()
        from core.embedding.model import load_model

        model = copy.deepcopy(load_model(c.model, str(self.device)))
        texts = corpus.query_texts() + (list(corpus.texts) if c.doc_queries else [])
        return FinetuneEncoder(model, texts, list(corpus.texts), self.base.docs)

    def _make_memory(self) -> MemoryEncoder:
        c, corpus, b = self.config, self.corpus, self.base
        keys, owner = b.docs, np.arange(corpus.n)
        if c.memory_keys == "clauses":
            if b.clause_vectors is None:
                raise ValueError("the memory method with clause keys needs clause embeddings: "
                                 "embed_corpus(..., clauses=True), or memory_keys='documents'")
            keys, owner = np.concatenate([b.docs, b.clause_vectors]), np.concatenate([owner, b.clause_owner])
        torch.manual_seed(c.seed)
        codes = initial_codes(corpus.n, c.dim, c.seed)
        anc = corpus.hierarchy.ancestors
        values = ancestor_sums(anc.node, anc.ancestor, codes)
        return MemoryEncoder(self._query_base(), b.docs, keys, owner, values, codes, c.head, c.hidden,
                             c.link_temperature, base_weight=c.base_weight)

    def zero_shot_hard_negatives(self, count: int) -> np.ndarray:
        """(positions, count) each query position's nearest zero-shot documents that are not its ancestors (-1 pads)."""
        anc = self.corpus.hierarchy.ancestors
        width = min(self.corpus.n, count + int(anc.sizes().max()))
        _, near = search(build_index(self.base.docs), self._query_base(), width)
        nodes = self.position_nodes
        keys = np.sort(anc.node.astype(np.int64) * self.corpus.n + anc.ancestor)
        pair = nodes[:, None] * self.corpus.n + near
        pos = np.minimum(np.searchsorted(keys, pair), len(keys) - 1)
        near = np.where(keys[pos] == pair, -1, near)
        order = np.argsort(near < 0, axis=1, kind="stable")  # real negatives first, in zero-shot order
        return np.take_along_axis(near, order, axis=1)[:, :count]

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
                "validation_in_sample": self.config.encoder == "lookup"}

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
    """Train `config.method` with `config.encoder` on the corpus; see Trainer."""
    return Trainer(corpus, config, base, callback, stop).run()


def steps_for_epochs(corpus: Corpus, config: AlignConfig, epochs: float) -> int:
    """Steps that make `epochs` passes over what the method trains on (pairs, queries, or queries and documents)."""
    config = config.resolved()
    positions, nodes = query_positions(corpus, config, split_queries(len(corpus.query_nodes), config))
    items = OBJECTIVES[config.method].count_items(corpus, config, positions, nodes)
    return max(1, math.ceil(epochs * items / config.batch_size))
