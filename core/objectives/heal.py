"""HEAL: level-weighted supervised contrastive loss over the hierarchy's levels, on batches that mix training queries
and documents, each labelled with its node's path. A DAG is read through its spanning tree (each node under its first
parent), both for the labels and for the checkpoint score, so HEAL trains and selects on DAGs such as WordNet."""

from __future__ import annotations

import numpy as np
import torch

from core.errors import InputError
from core.evaluate import level_metrics
from core.losses import heal_loss
from core.objectives.base import Objective


class HEALObjective(Objective):
    name = "heal"

    def __init__(self, trainer):
        super().__init__(trainer)
        self.tree = self.corpus.hierarchy.spanning_tree()
        labels = self.tree.level_labels()
        if len(self.tree.roots) == 1:
            labels = labels[:, 1:]  # a single root is a constant label
        if labels.shape[1] == 0:
            raise InputError(self.corpus.name, "HEAL needs a hierarchy with at least one level below the root",
                             "use a corpus with parents or a path column, or discover a hierarchy first")
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.documents = np.flatnonzero(self.corpus.is_row)

    def loss(self, phase):
        t, c = self.trainer, self.config
        half = c.batch_size // 2
        positions = self.rng.choice(t.train_positions, half)
        doc_ids = self.rng.choice(self.documents, c.batch_size - half)
        z = torch.cat([t.encoder.queries(torch.as_tensor(positions, device=self.device)),
                       t.encoder.docs(torch.as_tensor(doc_ids, device=self.device))])
        nodes = np.concatenate([t.position_nodes[positions], doc_ids])
        return heal_loss(z, self.labels[nodes].to(self.device), phase.temperature, c.heal_ragged)

    def extra_metrics(self, docs, nodes):
        rows = np.intersect1d(nodes, self.documents)
        return {"levels": level_metrics(self.corpus, docs, rows, self.trainer.eval_config, tree=self.tree)}

    def score(self, metrics):
        levels = metrics.get("levels") or {}
        if not levels:
            return metrics["recall_overall"]
        return float(np.mean([v["precision@10"] for v in levels.values()]))

    @staticmethod
    def count_items(corpus, config, train_positions, position_nodes):
        return len(train_positions) + corpus.n_rows
