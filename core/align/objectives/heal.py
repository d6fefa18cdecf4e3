"""HEAL: level-weighted supervised contrastive loss over the hierarchy's levels, on batches that mix training queries
and documents, each labelled with its node's path. A DAG is read through its spanning tree (each node under its first
parent), both for the labels and for the checkpoint score, so HEAL trains and selects on DAGs such as WordNet."""

from __future__ import annotations

import numpy as np
import torch

from core.align.losses import heal_loss
from core.align.losses.heal import repeat_deepest
from core.align.objectives.base import Objective
from core.errors import InputError
from core.evaluation.evaluate import level_metrics


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label arrays group the items identically (whatever the label values)."""
    pairs = len(np.unique(np.stack([a, b], axis=1), axis=0))
    return pairs == len(np.unique(a)) == len(np.unique(b))


def heal_level_labels(tree, rows: np.ndarray) -> np.ndarray:
    """(n, L) per-level labels for HEAL, coarse first, from a tree's level_labels.

    Three corrections to the raw columns, each of which skewed the level weights (measured in docs/benchmarks.md):
    a single root is a constant column and goes; a document is never its own label (its own id at its own depth
    is unique, so that level had no positives yet took a weight); and a level that groups the documents exactly as
    the level above does (a path such as comp/sys/ibm/pc/hardware repeats one grouping for three levels) is merged
    into it, so one grouping is not counted several times.
    """
    labels = tree.level_labels().copy()
    if len(tree.roots) == 1:
        labels = labels[:, 1:]
    own = labels[rows] == rows[:, None]
    labels[rows] = np.where(own, -1, labels[rows])
    filled = repeat_deepest(labels)  # only to compare groupings
    keep = [level for level in range(filled.shape[1])
            if (filled[rows, level] >= 0).any()
            and not (level > 0 and same_partition(filled[rows, level], filled[rows, level - 1]))]
    return labels[:, keep]


def trained_documents(corpus, split) -> np.ndarray:
    """The rows HEAL may put in its batches. A text encoder never sees the documents of validation or held-out query
    nodes (for a corpus without a query column that is the document itself), so the checkpoint is chosen, and the
    held-out split scored, on documents the head was not trained on. Lookup tables cannot encode an unseen document,
    so they train on every row (in-sample, as their validation is)."""
    rows = np.flatnonzero(corpus.is_row)
    if split.in_sample:
        return rows
    unseen = corpus.query_nodes[np.concatenate([split.validation, split.heldout]).astype(np.int64)]
    return np.setdiff1d(rows, unseen)


class HEALObjective(Objective):
    name = "heal"

    def __init__(self, trainer):
        super().__init__(trainer)
        self.tree = self.corpus.hierarchy.spanning_tree()
        labels = heal_level_labels(self.tree, np.flatnonzero(self.corpus.is_row))
        if labels.shape[1] == 0:
            raise InputError(self.corpus.name, "HEAL needs a hierarchy with at least one level below the root",
                             "use a corpus with parents or a path column, or discover a hierarchy first")
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.documents = trained_documents(self.corpus, trainer.split)

    def loss(self, phase):
        t, c = self.trainer, self.config
        half = c.batch_size // 2
        positions = self.rng.choice(t.train_positions, half)
        doc_ids = self.rng.choice(self.documents, c.batch_size - half)
        z = torch.cat([t.encoder.queries(torch.as_tensor(positions, device=self.device)),
                       t.encoder.docs(torch.as_tensor(doc_ids, device=self.device))])
        nodes = np.concatenate([t.position_nodes[positions], doc_ids])
        return heal_loss(z, self.labels[nodes].to(self.device), phase.temperature, c.heal_ragged, c.heal_weights)

    def extra_metrics(self, docs, nodes):
        rows = np.intersect1d(nodes, np.flatnonzero(self.corpus.is_row))
        return {"levels": level_metrics(self.corpus, docs, rows, self.trainer.eval_config, tree=self.tree)}

    def score(self, metrics):
        levels = metrics.get("levels") or {}
        if not levels:
            return metrics["recall_overall"]
        return float(np.mean([v["precision@10"] for v in levels.values()]))

    @staticmethod
    def count_items(corpus, config, train_positions, position_nodes):
        return len(train_positions) + corpus.n_rows
