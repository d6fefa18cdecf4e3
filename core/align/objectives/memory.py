"""The memory method: Theorem 3.1 of the HR paper made soft and trained (core/align/encoders/memory.py has the encoder).

Two phases train the two halves of the memory:
- "codes" (when codes are smaller than one per node): a batch of nodes (every node of the catalogue, held-out ones included: the hierarchy and the documents
  are known at training time, only the query texts of held-out nodes are not) must score their ancestors' codes above
  one global threshold and sampled other codes below it (losses.code_loss);
- "link": then a batch of training queries must put their attention on nodes whose ancestors are the query's
  ancestors (losses.link_loss), which trains the query head. With `link_cloze`, clause keys join as pseudo-queries
  (an inverse cloze task over every node, held-out ones included: documents are known): a clause must link to its own
  node through the node's OTHER keys, so its own key and the whole document containing it are hidden from it. That is
  the skill a new phrasing needs (a name that must find its node's definition), with far more examples than the
  training queries give.
The link phase comes second and the best checkpoint is chosen on validation queries across both, so a head that
overfits the training queries (the zero-shot link is often already good) is simply not kept. Codes start from the
constructive solution (values = sums of the ancestors' Gaussian codes).
"""

from __future__ import annotations

import numpy as np
import torch

from core.align.losses import code_loss, link_loss
from core.align.objectives.base import Objective, Phase

CODE_THRESHOLD = 0.5  # ancestors' scores in [0.5, 1], the rest in [-0.5, 0.5] (losses.code_loss)
CODE_LR_FACTOR = 1.0  # codes and values take the query head's step: x10 collapsed validation recall on 19k organisms (0.90 -> 0.24 in 20 steps)


class MemoryObjective(Objective):
    name = "memory"

    def __init__(self, trainer):
        super().__init__(trainer)
        anc = self.corpus.hierarchy.ancestors
        counts = np.diff(anc.ptr)
        padded = np.full((self.corpus.n, int(counts.max(initial=1))), -1, dtype=np.int64)
        padded[np.repeat(np.arange(self.corpus.n), counts), np.arange(len(anc)) - np.repeat(anc.ptr[:-1], counts)] = anc.ancestor
        self.ancestors = torch.as_tensor(padded, device=self.device)  # (n, A) ancestors of each node, -1 padded
        keys = np.sort(anc.node.astype(np.int64) * self.corpus.n + anc.ancestor)
        self.pair_keys = torch.as_tensor(keys, device=self.device)  # sorted (node, ancestor) pair codes
        self.generator = torch.Generator(device="cpu").manual_seed(self.config.seed + 3)

    def phases(self):
        """Codes are trained only when they are smaller than one per node: orthonormal codes are exact already."""
        c = self.config
        phases = []
        if c.dim < self.corpus.n:
            phases.append(Phase("codes", c.steps, c.lr * CODE_LR_FACTOR, c.temperature, {"nodes": self.corpus.n}))
        if c.link_steps or not phases:  # a run with nothing to train still evaluates its constructed memory
            phases.append(Phase("link", c.link_steps, c.lr, c.temperature,
                                {"queries": len(self.trainer.train_positions)}))
        return phases

    def param_groups(self, phase):
        encoder = self.trainer.encoder
        if phase.name == "link":
            return [{"params": list(encoder.query_head.parameters()), "lr": phase.lr}]
        return [{"params": [encoder.values, encoder.codes], "lr": phase.lr}]

    def is_ancestor(self, node: torch.Tensor, ancestor: torch.Tensor) -> torch.Tensor:
        """Elementwise: is `ancestor` an ancestor of `node` (itself included)? Broadcasting int64 tensors."""
        key = node * self.corpus.n + ancestor
        pos = torch.searchsorted(self.pair_keys, key).clamp(max=len(self.pair_keys) - 1)
        return self.pair_keys[pos] == key

    def _codes_loss(self, temperature: float) -> torch.Tensor:
        c, enc, n = self.config, self.trainer.encoder, self.corpus.n
        nodes = torch.randint(n, (c.batch_size,), generator=self.generator).to(self.device)
        ancestors = self.ancestors[nodes]  # (B, A)
        # the codes as the index holds them: each document's soft lookup in the document memory (core/align/encoders/memory.py),
        # computed only for the rows this step reads. Training the raw codes instead ignores that mix and measurably
        # collapses validation recall on 19k WordNet organisms (0.90 -> 0.06 in 157 steps).
        values = enc.values[nodes]  # (B, dim)
        safe = ancestors.clamp(min=0)
        positive = torch.einsum("bd,bad->ba", values, enc.doc_codes(safe.reshape(-1)).view(*safe.shape, -1))
        sample = torch.randperm(n, generator=self.generator)[: c.memory_negatives].to(self.device)
        negative = values @ enc.doc_codes(sample).T  # (B, R)
        negative_mask = ~self.is_ancestor(nodes[:, None], sample[None, :])
        return code_loss(positive, ancestors >= 0, negative, negative_mask, CODE_THRESHOLD, temperature)

    def _posterior_loss(self, probs: torch.Tensor, linked: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
        """link_loss of attention `probs` on `linked` nodes (B, k) for queries of `nodes` (B,)."""
        targets = self.ancestors[nodes]  # (B, A)
        member = self.is_ancestor(linked[:, :, None], targets.clamp(min=0)[:, None, :])  # (B, k, A)
        return link_loss(probs, member, targets >= 0)

    def _link_loss(self) -> torch.Tensor:
        t, c = self.trainer, self.config
        positions = torch.as_tensor(self.rng.choice(t.train_positions, c.batch_size), device=self.device)
        probs, linked = t.encoder.link(t.encoder.base_q[positions])  # (B, k)
        return self._posterior_loss(probs, linked, torch.as_tensor(t.position_nodes, device=self.device)[positions])

    def _cloze_loss(self, count: int) -> torch.Tensor:
        """link_loss of `count` sampled clause keys used as queries, each blind to its own key and its node's document
        (key i < n is node i's whole document)."""
        enc = self.trainer.encoder
        keys = torch.as_tensor(self.rng.integers(self.corpus.n, len(enc.owner), count), device=self.device)
        owners = enc.owner[keys]
        probs, linked = enc.link(enc.keys[keys], hidden=torch.stack([keys, owners], dim=1))
        return self._posterior_loss(probs, linked, owners)

    def loss(self, phase):
        if phase.name != "link":
            return self._codes_loss(phase.temperature)
        loss = self._link_loss()
        count = round(self.config.link_cloze * self.config.batch_size)
        if count and len(self.trainer.encoder.owner) > self.corpus.n:  # clause keys exist
            loss = loss + self._cloze_loss(count)
        return loss

    @staticmethod
    def count_items(corpus, config, train_positions, position_nodes):
        return max(len(train_positions), corpus.n)
