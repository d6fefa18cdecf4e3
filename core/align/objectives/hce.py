"""HCE (Hierarchical Corpus Encoder): a query's softmax over the siblings at every level of a bottom-up k-means tree
of the documents, top levels as trainable memory, deeper internal nodes as centroids of their encoded documents.

Co-training (`hce_rebuild_every`): at each boundary the current tree is judged by validation; then a new tree is built
from the current document vectors and trained on. A new tree is kept only if validation did not drop while training
with it; otherwise the previous tree and the parameters from before the trial come back.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from core.align.losses import hce_loss
from core.align.objectives.base import Objective
from core.discovery.kmeans_tree import KMeansTree, build_kmeans_tree


class HCETree:
    """A k-means tree prepared for the loss: per-level children (padded), trainable top levels, document paths."""

    def __init__(self, doc_vectors: np.ndarray, branching: int, memory_levels: int, seed: int, device):
        self.tree: KMeansTree = build_kmeans_tree(doc_vectors, branching, seed)
        sizes = self.tree.sizes  # documents first, root last
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.padded = {}  # level -> (nodes of level, most children) children at level-1, -1 padded
        for level in range(1, len(sizes)):
            kids = self.tree.children(level)
            padded = np.full((len(kids), max(1, max(map(len, kids)))), -1, dtype=np.int64)
            for i, k in enumerate(kids):
                padded[i, : len(k)] = k
            self.padded[level] = padded
        self.doc_parent = self.tree.parent[0]
        top = len(sizes) - 2  # the level just below the root
        self.memory = torch.nn.ParameterDict({
            str(level): torch.nn.Parameter(torch.as_tensor(self.tree.centroids[level - 1], dtype=torch.float32,
                                                           device=device))
            for level in range(top, max(top - memory_levels, 0), -1)
        })
        self.paths = torch.as_tensor(self.tree.paths(np.arange(len(doc_vectors))), device=device)  # doc -> node per level


class HCEObjective(Objective):
    name = "hce"

    def __init__(self, trainer):
        super().__init__(trainer)
        with torch.no_grad():  # the encoder's own output space: with a base weight an adapter's vectors are wider
            start = trainer.encoder.docs().detach().cpu().numpy()
        self.hce = self._build(start)
        self.trial = None  # (validation score when the current tree was built, state to go back to)

    def _build(self, doc_vectors: np.ndarray) -> HCETree:
        c = self.config
        return HCETree(doc_vectors, c.hce_branching, c.hce_memory_levels, c.seed, self.device)

    def parameters(self):
        return list(self.hce.memory.parameters())

    def _node_vectors(self) -> torch.Tensor:
        """(total nodes, d): documents as encoded now, then every level's node vectors, root last."""
        docs = self.trainer.encoder.docs()
        parts = [docs]
        for level in range(1, len(self.hce.tree.sizes)):
            if str(level) in self.hce.memory:
                parts.append(self.hce.memory[str(level)])
                continue
            size, column = self.hce.tree.sizes[level], self.hce.paths[:, level]
            sums = torch.zeros(size, docs.shape[1], device=docs.device, dtype=docs.dtype).index_add(0, column, docs)
            parts.append(sums / torch.bincount(column, minlength=size).clamp(min=1)[:, None])
        return torch.cat(parts)

    def loss(self, phase):
        """Candidates per level: all children of the path node one level up (padded); at the document level also
        random documents from other clusters."""
        c, t, tree = self.config, self.trainer, self.hce
        positions = self.rng.choice(t.train_positions, c.batch_size)
        paths = tree.tree.paths(t.position_nodes[positions])  # (B, depth+1); the positive is the query's own document
        blocks, positives = [], []
        for level in range(tree.tree.depth - 1, -1, -1):  # from just below the root down to the documents
            kids = tree.padded[level + 1][paths[:, level + 1]]  # (B, C_level) node ids at `level`, -1 padded
            positives.append(np.argmax(kids == paths[:, level][:, None], axis=1))
            cand = np.where(kids >= 0, kids + tree.offsets[level], -1)
            if level == 0 and c.hce_random_negatives:
                extra = self.rng.integers(0, self.corpus.n, (c.batch_size, c.hce_random_negatives))
                same_cluster = tree.doc_parent[extra] == paths[:, 1][:, None]
                cand = np.concatenate([cand, np.where(same_cluster, -1, extra)], axis=1)
            blocks.append(cand)
        width = max(b.shape[1] for b in blocks)
        candidates = np.stack([np.pad(b, ((0, 0), (0, width - b.shape[1])), constant_values=-1) for b in blocks], axis=1)
        queries = t.encoder.queries(torch.as_tensor(positions, device=self.device))
        return hce_loss(queries, self._node_vectors(), torch.as_tensor(candidates, device=self.device),
                        torch.as_tensor(np.stack(positives, axis=1), device=self.device), phase.temperature)

    def score(self, metrics):
        """HCE's aim is a query's own document: recall@10 of it where the corpus has queries."""
        if "query_metrics" in metrics:
            return metrics["query_metrics"]["recall@10"]
        return metrics["recall_overall"]

    def state_dict(self):
        return {"memory": {k: v.detach().clone() for k, v in self.hce.memory.state_dict().items()}}

    def load_state_dict(self, state):
        self.hce.memory.load_state_dict(state["memory"])

    def after_step(self, step, total):
        every = self.config.hce_rebuild_every
        if not every or step % every or step >= total:
            return False
        t = self.trainer
        score = t.validation_score()
        if self.trial is not None:
            before, saved = self.trial
            kept = score >= before
            event = {"type": "tree", "step": step, "kept": kept, "before": before, "after": score}
            if not kept:
                self.hce = saved["tree"]
                t.load_checkpoint(saved["params"])
                score = event["restored"] = t.validation_score()
            t.emit(event)
        self.trial = (score, {"tree": copy.deepcopy(self.hce), "params": t.checkpoint()})
        with torch.no_grad():
            self.hce = self._build(t.encoder.docs().detach().cpu().numpy())
        t.emit({"type": "tree", "step": step, "rebuilt": True, "levels": self.hce.tree.sizes})
        return True
