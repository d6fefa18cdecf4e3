"""One training loop for every method (flat, hr, heal, hce) and encoder mode (lookup, adapter, finetune).

Progress goes to a plain callback (no-op by default) as dict events: {"type": "step", ...} every step and
{"type": "eval", ...} with a recall-by-distance evaluation on a fixed validation sample every `eval_every` steps, so a
chart can update live. A threading.Event stops the run cleanly; the best checkpoint (by the validation metric) is kept
and restored at the end. Seeded: the same config on the CPU gives the same result.

Query split (adapter and finetune): the evaluation's held-out 20% of queries is never trained on; a further
`validation_fraction` of queries is set aside for checkpoint selection; the rest trains. Lookup tables cannot encode an
unseen query, so in lookup mode every query trains and validation is an in-sample sample (the HR paper's setting).
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from core.corpus import Corpus
from core.encoders import AdapterEncoder, FinetuneEncoder, LookupEncoder, encode_all
from core.errors import InputError
from core.evaluate import EvalConfig, heldout_mask, level_metrics, retrieval_metrics
from core.index import build_index, search
from core.kmeans_tree import KMeansTree, build_kmeans_tree
from core.losses import flat_info_nce, hce_loss, heal_loss, hr_softmax_loss
from core.pairs import Pairs, PairSampler, pair_probabilities, training_pairs

METHODS = ("flat", "hr", "heal", "hce")
ENCODERS = ("lookup", "adapter", "finetune")
RECIPES = ("standard", "pretrain-finetune")

Event = dict
Callback = Callable[[Event], None]


def _no_callback(event: Event) -> None:
    pass


@dataclass(frozen=True)
class AlignConfig:
    method: str = "hr"  # flat | hr | heal | hce
    encoder: str = "adapter"  # lookup | adapter | finetune
    recipe: str = "standard"  # standard | pretrain-finetune (a second phase on far pairs only; hr and flat)
    model: str | None = None  # base sentence-transformers model for adapter/finetune (None: bundled MiniLM)
    dim: int = 64  # lookup: vector size (adapter and finetune keep the model's size)
    head: str = "mlp"  # adapter head: linear | mlp (residual, starts as the identity)
    hidden: int = 512  # adapter mlp hidden width
    shared_head: bool = True  # adapter: one head for queries and documents (False: separate heads)
    base_weight: float = 0.0  # adapter: weight of the frozen base model's cosine added to the score (0 = none)
    normalize: bool = True  # adapter: unit-length outputs (False: lengths are learned; use temperature_mode divide)
    steps: int = 2000  # optimiser steps of the (pre)training phase
    batch_size: int = 256  # pairs (hr, flat, hce) or items (heal) per step
    lr: float = 1e-3  # Adam learning rate of the (pre)training phase
    temperature: float = 20.0  # hr: T of the (pre)training phase
    temperature_mode: str = "scale"  # hr: 'scale' = T * cosine, 'divide' = dot / T (see core/losses/hr.py)
    sampler: str = "pairs"  # hr/flat pair distribution: pairs | query | weights:w0,w1,... (core/pairs.py)
    far_threshold: int = 2  # pretrain-finetune: pairs at this distance or more are 'far'
    finetune_steps: int | None = None  # pretrain-finetune: steps of the far phase (None: same as `steps`)
    finetune_lr_factor: float = 1e-3  # pretrain-finetune: far-phase lr = lr * this (paper: 1/1000)
    finetune_temperature: float = 500.0  # pretrain-finetune: far-phase temperature (paper: 500)
    self_pair_weight: float = 0.0  # hr/flat: extra sampling mass on (query, its own node) pairs, 0 = none
    flat_scale: float = 20.0  # flat: logit scale of the in-batch softmax
    heal_tau: float = 0.07  # heal: SupCon temperature (paper: 0.07)
    heal_ragged: str = "repeat"  # heal: paths ending early repeat their deepest label, or 'drop'
    hce_tau: float = 0.05  # hce: softmax temperature
    hce_branching: int = 10  # hce: k-means tree fan-in
    hce_memory_levels: int = 1  # hce: top levels below the root whose vectors are trainable memory
    hce_random_negatives: int = 32  # hce: random documents added to the leaf level's siblings
    hce_rebuild_every: int = 0  # hce co-training: re-encode and rebuild the tree every N steps (0 = never)
    eval_every: int = 100  # steps between validation evaluations (and checkpoint choices)
    eval_queries: int = 1000  # size of the fixed validation sample
    validation_fraction: float = 0.1  # share of queries set aside for checkpoint selection (adapter, finetune)
    heldout_fraction: float = 0.2  # share of queries never trained on (the evaluation's held-out split)
    seed: int = 0  # seeds the split, the initialisation and the sampler
    device: str = "auto"  # auto | cpu | cuda | mps

    def validate(self) -> None:
        for name, value, allowed in (("method", self.method, METHODS), ("encoder", self.encoder, ENCODERS),
                                     ("recipe", self.recipe, RECIPES), ("temperature_mode", self.temperature_mode, ("scale", "divide")),
                                     ("head", self.head, ("linear", "mlp")), ("heal_ragged", self.heal_ragged, ("repeat", "drop"))):
            if value not in allowed:
                raise InputError(f"--{name.replace('_', '-')} {value!r}", "not a known choice", f"use one of {', '.join(allowed)}")
        if self.steps < 1 or self.batch_size < 2:
            raise InputError("training options", "steps must be >= 1 and batch size >= 2", "raise --steps or --batch-size")


@dataclass
class AlignResult:
    queries: np.ndarray  # (len(corpus.query_nodes), d) aligned query vectors
    docs: np.ndarray  # (corpus.n, d) aligned document vectors
    encoder: torch.nn.Module
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
    if config.encoder == "lookup":
        train = np.arange(n_queries)
        validation = np.sort(rng.choice(train, min(config.eval_queries, len(train)), replace=False))
        return QuerySplit(train, validation, np.flatnonzero(held))
    rest = rng.permutation(np.flatnonzero(~held))
    n_val = min(max(1, int(round(n_queries * config.validation_fraction))), len(rest) - 1, config.eval_queries)
    return QuerySplit(np.sort(rest[n_val:]), np.sort(rest[:n_val]), np.flatnonzero(held))


def pick_device(requested: str) -> torch.device:
    from core.embeddings import pick_device as pick

    return torch.device(pick(requested))


class Trainer:
    """Holds what one run needs; `run()` trains and returns an AlignResult."""

    def __init__(self, corpus: Corpus, config: AlignConfig, base: tuple[np.ndarray, np.ndarray] | None = None,
                 callback: Callback = _no_callback, stop: threading.Event | None = None):
        config.validate()
        if config.encoder != "lookup" and base is None:
            raise ValueError("adapter and finetune modes need the base (query, document) embeddings")
        self.corpus, self.config, self.callback = corpus, config, callback
        self.stop = stop or threading.Event()
        torch.manual_seed(config.seed)
        self.device = pick_device(config.device)
        self.query_nodes = corpus.query_nodes
        self.split = split_queries(len(self.query_nodes), config)
        self.encoder = self._make_encoder(base).to(self.device)
        self.pairs = training_pairs(corpus.hierarchy.ancestors, self.query_nodes, self.split.train)
        self.rng = np.random.default_rng(config.seed + 2)
        self.eval_config = EvalConfig(heldout_fraction=config.heldout_fraction, seed=config.seed)
        if config.method == "heal":
            self._setup_heal()
        if config.method == "hce":
            self._setup_hce(base)

    # --- set-up -----------------------------------------------------------------------------------------------------

    def _make_encoder(self, base) -> torch.nn.Module:
        c = self.config
        if c.encoder == "lookup":
            return LookupEncoder(len(self.query_nodes), self.corpus.n, c.dim, seed=c.seed)
        if c.encoder == "adapter":
            return AdapterEncoder(base[0], base[1], c.head, c.hidden, c.shared_head, seed=c.seed, base_weight=c.base_weight,
                                  normalize=c.normalize)
        from core.embeddings import load_model

        model = copy.deepcopy(load_model(c.model, str(self.device)))
        return FinetuneEncoder(model, self.corpus.query_texts(), list(self.corpus.texts), base[1])

    def _setup_heal(self) -> None:
        tree = self.corpus.hierarchy if self.corpus.hierarchy.is_tree else self.corpus.hierarchy.spanning_tree()
        labels = tree.level_labels()
        if len(tree.roots) == 1:
            labels = labels[:, 1:]  # a single root is a constant label
        if labels.shape[1] == 0:
            raise InputError(self.corpus.name, "HEAL needs a hierarchy with at least one level below the root",
                             "use a corpus with parents or a path column, or discover a hierarchy first")
        self.heal_labels = torch.as_tensor(labels, dtype=torch.long)
        self.heal_docs = np.flatnonzero(self.corpus.is_row)

    def _setup_hce(self, base) -> None:
        with torch.no_grad():
            start_docs = self.encoder.docs().detach().cpu().numpy() if base is None else base[1]
        self._build_tree(start_docs)
        self._tree_trial = None  # (validation score when the current tree was built, state to go back to)

    def _build_tree(self, doc_vectors: np.ndarray) -> None:
        """HCE's tree over the given document vectors; the top levels' vectors become trainable memory."""
        c = self.config
        self.tree: KMeansTree = build_kmeans_tree(doc_vectors, c.hce_branching, c.seed)
        sizes = self.tree.sizes  # documents first, root last
        self.hce_offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.hce_padded = {}  # level -> (nodes of level, most children) children at level-1, -1 padded
        for level in range(1, len(sizes)):
            kids = self.tree.children(level)
            padded = np.full((len(kids), max(1, max(map(len, kids)))), -1, dtype=np.int64)
            for i, k in enumerate(kids):
                padded[i, : len(k)] = k
            self.hce_padded[level] = padded
        self.hce_doc_parent = self.tree.parent[0]
        top = len(sizes) - 2  # the level just below the root
        memory_levels = [lvl for lvl in range(top, max(top - c.hce_memory_levels, 0), -1)]
        self.hce_memory = torch.nn.ParameterDict({
            str(lvl): torch.nn.Parameter(torch.as_tensor(self.tree.centroids[lvl - 1], dtype=torch.float32, device=self.device))
            for lvl in memory_levels
        })
        # doc -> node at every level, for centroids of encoded descendants
        self.hce_paths = torch.as_tensor(self.tree.paths(np.arange(self.corpus.n)), device=self.device)

    def _co_train_score(self) -> float:
        return self.selection_score(self.validation_metrics())

    _TREE_ATTRS = ("tree", "hce_offsets", "hce_padded", "hce_doc_parent", "hce_memory", "hce_paths")

    def _co_train(self, step: int) -> bool:
        """HCE co-training at an epoch boundary: judge the tree on trial, then rebuild from the current vectors.

        A rebuilt tree is kept only if validation did not get worse while training with it; otherwise the previous
        tree and the parameters from before the trial come back. Returns True when parameters changed identity
        (the optimiser must be rebuilt)."""
        score = self._co_train_score()
        if self._tree_trial is not None:
            before, state = self._tree_trial
            kept = score >= before
            event = {"type": "tree", "step": step, "kept": kept, "before": before, "after": score}
            if not kept:
                for name in self._TREE_ATTRS:
                    setattr(self, name, state[name])
                self._load_state(state["params"])
                score = event["restored"] = self._co_train_score()
            self.callback(event)
        state = {name: copy.deepcopy(getattr(self, name)) for name in self._TREE_ATTRS}
        state["params"] = copy.deepcopy(self._state())
        self._tree_trial = (score, state)
        with torch.no_grad():
            self._build_tree(self.encoder.docs().detach().cpu().numpy())
        self.callback({"type": "tree", "step": step, "rebuilt": True, "levels": self.tree.sizes})
        return True

    # --- one step per method ---------------------------------------------------------------------------------------

    def _pair_batch(self, sampler: PairSampler) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        idx = sampler.sample(self.config.batch_size)
        q = torch.as_tensor(sampler.pairs.query[idx], device=self.device)
        d = torch.as_tensor(sampler.pairs.doc[idx], device=self.device)
        return q, d, idx

    def _all_docs(self, batch_docs: torch.Tensor) -> torch.Tensor:
        if isinstance(self.encoder, FinetuneEncoder):
            return self.encoder.docs_with_bank(batch_docs)
        return self.encoder.docs()

    def step_loss(self, sampler: PairSampler | None, temperature: float) -> torch.Tensor:
        c = self.config
        if c.method == "hr":
            q_rows, targets, _ = self._pair_batch(sampler)
            return hr_softmax_loss(self.encoder.queries(q_rows), self._all_docs(targets), targets, temperature,
                                   c.temperature_mode)
        if c.method == "flat":
            q_rows, targets, _ = self._pair_batch(sampler)
            return flat_info_nce(self.encoder.queries(q_rows), self.encoder.docs(targets), c.flat_scale, doc_ids=targets)
        if c.method == "heal":
            return self._heal_loss()
        return self._hce_loss()

    def _heal_loss(self) -> torch.Tensor:
        half = self.config.batch_size // 2
        q_rows = self.rng.choice(self.split.train, half)
        d_nodes = self.rng.choice(self.heal_docs, self.config.batch_size - half)
        z = torch.cat([self.encoder.queries(torch.as_tensor(q_rows, device=self.device)),
                       self.encoder.docs(torch.as_tensor(d_nodes, device=self.device))])
        nodes = np.concatenate([self.query_nodes[q_rows], d_nodes])
        return heal_loss(z, self.heal_labels[nodes].to(self.device), self.config.heal_tau, self.config.heal_ragged)

    def _hce_node_vectors(self) -> torch.Tensor:
        """(total nodes, d): documents as encoded now, then every level's node vectors, root last."""
        docs = self.encoder.docs()
        parts = [docs]
        for level in range(1, len(self.tree.sizes)):
            key = str(level)
            if key in self.hce_memory:
                parts.append(self.hce_memory[key])
                continue
            size = self.tree.sizes[level]
            sums = torch.zeros(size, docs.shape[1], device=docs.device, dtype=docs.dtype).index_add(0, self.hce_paths[:, level], docs)
            counts = torch.bincount(self.hce_paths[:, level], minlength=size).clamp(min=1)
            parts.append(sums / counts[:, None])
        return torch.cat(parts)

    def _hce_loss(self) -> torch.Tensor:
        """Candidates per level: all children of the path node one level up (padded); at the document level also
        random documents from other clusters."""
        c = self.config
        rows = self.rng.choice(self.split.train, c.batch_size)
        paths = self.tree.paths(self.query_nodes[rows])  # (B, depth+1); HCE's positive is the query's own document
        blocks, positives = [], []
        for level in range(self.tree.depth - 1, -1, -1):  # from just below the root down to the documents
            kids = self.hce_padded[level + 1][paths[:, level + 1]]  # (B, C_level) node ids at `level`, -1 padded
            positives.append(np.argmax(kids == paths[:, level][:, None], axis=1))
            cand = np.where(kids >= 0, kids + self.hce_offsets[level], -1)
            if level == 0 and c.hce_random_negatives:
                extra = self.rng.integers(0, self.corpus.n, (c.batch_size, c.hce_random_negatives))
                same_cluster = self.hce_doc_parent[extra] == paths[:, 1][:, None]
                cand = np.concatenate([cand, np.where(same_cluster, -1, extra)], axis=1)
            blocks.append(cand)
        width = max(b.shape[1] for b in blocks)
        candidates = np.stack([np.pad(b, ((0, 0), (0, width - b.shape[1])), constant_values=-1) for b in blocks], axis=1)
        queries = self.encoder.queries(torch.as_tensor(rows, device=self.device))
        return hce_loss(queries, self._hce_node_vectors(), torch.as_tensor(candidates, device=self.device),
                        torch.as_tensor(np.stack(positives, axis=1), device=self.device), c.hce_tau)

    # --- evaluation and checkpoints ---------------------------------------------------------------------------------

    def validation_metrics(self) -> dict:
        """Recall by distance (and the method's own metric) on the fixed validation sample."""
        queries, docs = encode_all(self.encoder, len(self.query_nodes))
        rows = self.split.validation
        nodes = self.query_nodes[rows]
        k = int(max(self.corpus.hierarchy.ancestors.sizes()[nodes].max(initial=1), 10,
                    100 if self.corpus.queries is not None else 0))
        _, retrieved = search(build_index(docs), queries[rows], k)
        metrics = retrieval_metrics(self.corpus, retrieved, nodes, 10)
        if self.config.method == "heal" and self.corpus.hierarchy.is_tree:
            levels = level_metrics(self.corpus, docs, np.intersect1d(nodes, np.flatnonzero(self.corpus.is_row)), self.eval_config)
            metrics["levels"] = levels
        return metrics

    def selection_score(self, metrics: dict) -> float:
        """What 'best checkpoint' means per method: hierarchy recall for hr/flat, the method's own aim otherwise."""
        if self.config.method == "heal" and metrics.get("levels"):
            return float(np.mean([v["precision@10"] for v in metrics["levels"].values()]))
        if self.config.method == "hce" and "query_metrics" in metrics:
            return metrics["query_metrics"]["recall@10"]
        return metrics["recall_overall"]

    def _params(self) -> list[torch.nn.Parameter]:
        params = list(self.encoder.parameters())
        if self.config.method == "hce":
            params += list(self.hce_memory.parameters())
        return [p for p in params if p.requires_grad]

    def _phases(self) -> list[dict]:
        c = self.config
        phases = [{"name": "pretrain" if c.recipe == "pretrain-finetune" else "train", "steps": c.steps, "lr": c.lr,
                   "temperature": c.temperature, "pairs": self.pairs}]
        if c.recipe == "pretrain-finetune":
            if c.method not in ("hr", "flat"):
                raise InputError(f"--recipe {c.recipe}", f"the far-pair finetune applies to pair methods, not {c.method}",
                                 "use --method hr or flat with pretrain-finetune, or --recipe standard")
            far = self.pairs.subset(self.pairs.distance >= c.far_threshold)
            if len(far) == 0:
                raise InputError(f"--far-threshold {c.far_threshold}", "no training pair is that far apart",
                                 "lower --far-threshold")
            phases.append({"name": "finetune", "steps": c.finetune_steps or c.steps, "lr": c.lr * c.finetune_lr_factor,
                           "temperature": c.finetune_temperature, "pairs": far})
        return phases

    def _sampler(self, pairs: Pairs, phase: str) -> PairSampler:
        scheme = self.config.sampler if phase != "finetune" else "pairs"
        probs = pair_probabilities(pairs, scheme)
        if self.config.self_pair_weight > 0 and phase != "finetune":
            self_mass = (pairs.distance == 0).astype(float)
            probs = (1 - self.config.self_pair_weight) * probs + self.config.self_pair_weight * self_mass / self_mass.sum()
        return PairSampler(pairs, probs, self.config.seed + (0 if phase != "finetune" else 7))

    def run(self) -> AlignResult:
        c = self.config
        t0 = time.perf_counter()
        history: list[Event] = []
        best = {"score": -math.inf, "step": 0, "state": None}
        step = 0
        stopped = False

        def evaluate(phase: str) -> None:
            metrics = self.validation_metrics()
            score = self.selection_score(metrics)
            event = {"type": "eval", "step": step, "phase": phase, "score": score, "seconds": time.perf_counter() - t0,
                     "metrics": metrics}
            history.append(event)
            if score > best["score"]:
                best.update(score=score, step=step, state=copy.deepcopy(self._state()))
            self.callback(event)

        phases = self._phases()
        total = sum(p["steps"] for p in phases)
        self.callback({"type": "start", "total_steps": total, "phases": [p["name"] for p in phases],
                       "split": self.split_sizes()})
        evaluate(phases[0]["name"])
        for phase in phases:
            sampler = self._sampler(phase["pairs"], phase["name"]) if c.method in ("hr", "flat") else None
            optimizer = torch.optim.Adam(self._params(), lr=phase["lr"])
            self.callback({"type": "phase", "step": step, "phase": phase["name"], "lr": phase["lr"],
                           "temperature": phase["temperature"], "pairs": len(phase["pairs"])})
            if isinstance(self.encoder, FinetuneEncoder):
                self.encoder.refresh_bank()
            for _ in range(phase["steps"]):
                if self.stop.is_set():
                    stopped = True
                    break
                self.encoder.train()
                loss = self.step_loss(sampler, phase["temperature"])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                if c.method == "hce" and c.hce_rebuild_every and step % c.hce_rebuild_every == 0 and step < total:
                    self._co_train(step)
                    optimizer = torch.optim.Adam(self._params(), lr=phase["lr"])
                self.callback({"type": "step", "step": step, "total_steps": total, "phase": phase["name"],
                               "loss": float(loss.detach()), "seconds": time.perf_counter() - t0})
                if step % c.eval_every == 0:
                    evaluate(phase["name"])
            if history[-1]["step"] != step:  # end of phase, or stopped: the last state is a checkpoint candidate too
                evaluate(phase["name"])
            if stopped:
                break
        if best["state"] is not None:
            self._load_state(best["state"])
        queries, docs = encode_all(self.encoder, len(self.query_nodes))
        result = AlignResult(queries, docs, self.encoder, history, best["step"], stopped, time.perf_counter() - t0,
                             self.split_sizes())
        self.callback({"type": "done", "step": step, "best_step": best["step"], "stopped": stopped,
                       "seconds": result.seconds})
        return result

    def split_sizes(self) -> dict:
        return {"train": len(self.split.train), "validation": len(self.split.validation),
                "heldout": len(self.split.heldout), "train_pairs": len(self.pairs),
                "validation_in_sample": self.config.encoder == "lookup"}

    def _state(self) -> dict:
        state = {"encoder": {k: v.detach().clone() for k, v in self.encoder.state_dict().items()}}
        if self.config.method == "hce":
            state["memory"] = {k: v.detach().clone() for k, v in self.hce_memory.state_dict().items()}
        return state

    def _load_state(self, state: dict) -> None:
        self.encoder.load_state_dict(state["encoder"])
        if "memory" in state:
            self.hce_memory.load_state_dict(state["memory"])


def align(corpus: Corpus, config: AlignConfig, base: tuple[np.ndarray, np.ndarray] | None = None,
          callback: Callback = _no_callback, stop: threading.Event | None = None) -> AlignResult:
    """Train `config.method` with `config.encoder` on the corpus; see Trainer."""
    return Trainer(corpus, config, base, callback, stop).run()


def steps_for_epochs(corpus: Corpus, config: AlignConfig, epochs: float) -> int:
    """Steps that make `epochs` passes over the training pairs (hr, flat, hce) or items (heal) at the batch size."""
    split = split_queries(len(corpus.query_nodes), config)
    if config.method in ("hr", "flat"):
        items = len(training_pairs(corpus.hierarchy.ancestors, corpus.query_nodes, split.train))
    else:
        items = len(split.train) + (corpus.n_rows if config.method == "heal" else 0)
    return max(1, math.ceil(epochs * items / config.batch_size))
