"""The memory encoder: a dual encoder that carries the hierarchy in a fixed memory derived from the corpus.

The HR paper's Theorem 3.1 builds a query's vector as the sum of the vectors of its relevant documents. A text query
does not know its node, so it attends over every node first, and reads out a mixture of their learned values:

    query(q) = [sum_k softmax_k(<head(x_q), key_k> / link_temperature) * value[owner(k)],  sqrt(w) * x_q]
    doc(t)   = [sum_u softmax_u(<x_t, x_u> / doc_temperature) * code[u],                  sqrt(w) * x_t]

x are the frozen base model's unit embeddings; keys are the embeddings of every node's document (and, with clause
keys, of its clauses: core/embedding/node_keys.py), each owned by its node; values and codes are one learned vector per node,
trained so that <value_u, code_a> clears one global threshold exactly when a is an ancestor of u (itself included).
A query's score for document a is then close to the posterior probability that a is an ancestor of the query's node,
which is what top-|anc| retrieval should rank by. A corpus document finds itself in the document memory (its own
embedding matches its key exactly), so its vector is its code; a new document gets the codes of the nodes it resembles.
The last part adds w times the base model's own cosine to every score (w = base_weight, small): documents the posterior
cannot tell apart (all the ancestors of two candidate nodes score 1) are ordered by plain similarity, which puts the
query's own node first.

Everything after the base model is Dense layers and softmaxes, so the model exports as a sentence-transformers folder
of built-in modules (core/align/export.py). Documents go into a plain inner-product index.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn as nn

from core.align.encoders.base import EncoderKind
from core.align.encoders.head import Head
from core.evaluation.reference import better_link_keys

if TYPE_CHECKING:
    from core.align.config import AlignConfig
    from core.align.plan import RunPlan, SettleInputs

# default code size: one orthonormal code per node (the exact posterior) up to EXACT_CODES_UP_TO nodes, and beyond that
# while the query read-out, one row of codes per key (keys x nodes), stays within EXACT_READOUT_CELLS (64 MB of float32:
# 4,096 nodes linked through their documents alone; on 3,038 20 Newsgroups nodes exact codes beat learned ones,
# docs/reproduction.md) ...
EXACT_CODES_UP_TO = 2048
EXACT_READOUT_CELLS = 4096 * 4096
LEARNED_CODE_DIM = 256  # ... and learned codes of this size above it (a 19k-node index at one code per node is 1.5 GB)
DOC_TEMPERATURE = 0.01  # a corpus document's own key scores 1.0; others rarely above 0.95, so it keeps > 99% mass
TRAIN_TOP_KEYS = 32  # training attends over each query's 32 best keys (the rest carry ~0 mass at temperature 0.02)
TOP_DOCS = 32  # a corpus document's weights on its 32 nearest documents (the rest of its softmax is ~0: see doc_mix)


class MemoryEncoder(nn.Module):
    """Query head + key memory + per-node values (queries); document memory + per-node codes (documents)."""

    mode = "memory"

    def __init__(
        self,
        base_queries: np.ndarray,  # (m, D) unit embeddings of the query texts (and of doc-queries, if any)
        base_docs: np.ndarray,  # (n, D) unit embeddings of every node's document
        key_vectors: np.ndarray,  # (K, D) unit embeddings of the keys; the first n are base_docs
        key_owner: np.ndarray,  # (K,) node of each key
        initial_values: np.ndarray,  # (n, dim) start of the values (e.g. the sums of the ancestors' codes)
        initial_codes: np.ndarray,  # (n, dim) start of the codes
        head: str = "mlp",
        hidden: int = 512,
        link_temperature: float = 0.02,
        doc_temperature: float = DOC_TEMPERATURE,
        base_weight: float = 0.0,
    ):
        super().__init__()
        self.link_temperature, self.doc_temperature, self.base_weight = link_temperature, doc_temperature, base_weight
        self.register_buffer("base_q", torch.as_tensor(base_queries, dtype=torch.float32))
        self.register_buffer("base_d", torch.as_tensor(base_docs, dtype=torch.float32))
        self.register_buffer("keys", torch.as_tensor(key_vectors, dtype=torch.float32))
        self.register_buffer("owner", torch.as_tensor(key_owner, dtype=torch.long))
        self.query_head = Head(self.base_q.shape[1], head, hidden)
        self.values = nn.Parameter(torch.as_tensor(initial_values, dtype=torch.float32).clone())
        self.codes = nn.Parameter(torch.as_tensor(initial_codes, dtype=torch.float32).clone())
        self._doc_mix: tuple[torch.Tensor, torch.Tensor] | None = None

    # --- queries -----------------------------------------------------------------------------------------------------

    def link_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K) attention logits of base query vectors x (B, D) over every key. The head starts as the identity on
        unit vectors; its output is not renormalised, so training may sharpen or soften a query's attention."""
        return self.query_head(x) @ self.keys.T / self.link_temperature

    def link(self, x: torch.Tensor, top: int = TRAIN_TOP_KEYS,
             hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(probs (B, top), nodes (B, top)): attention over the best `top` keys, renormalised, and their nodes.
        `hidden` (B, H) key indices a row may not attend to (they take no mass)."""
        logits = self.link_logits(x)
        if hidden is not None:
            logits[torch.arange(len(x), device=logits.device)[:, None], hidden] = -torch.inf
        logits, keys = logits.topk(min(top, len(self.owner)), dim=1)
        return torch.softmax(logits, dim=1), self.owner[keys]

    def read_out(self, x: torch.Tensor) -> torch.Tensor:
        """(B, dim) query vectors: exact (full softmax over every key) when not training, top keys when training."""
        if self.training:
            probs, nodes = self.link(x)
            return torch.einsum("bk,bkd->bd", probs, self.values[nodes])
        key_values = self.values[self.owner]  # (K, dim)
        return torch.cat([torch.softmax(self.link_logits(x[i : i + 512]), dim=1) @ key_values
                          for i in range(0, len(x), 512)])

    def with_base(self, memory_part: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """[memory part, sqrt(base_weight) * x]: the inner product then adds base_weight * <x_q, x_d>."""
        if self.base_weight <= 0:
            return memory_part
        return torch.cat([memory_part, math.sqrt(self.base_weight) * x], dim=-1)

    def queries(self, positions: torch.Tensor) -> torch.Tensor:
        x = self.base_q[positions]
        return self.with_base(self.read_out(x), x)

    # --- documents ---------------------------------------------------------------------------------------------------

    def doc_weights(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n) each text's attention over the node documents (full softmax)."""
        return torch.softmax(x @ self.base_d.T / self.doc_temperature, dim=1)

    def doc_mix(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(weights, neighbours), each (n, TOP_DOCS): every corpus document's largest softmax weights over the
        document memory and the documents they fall on. Computed once (base vectors do not train). The weights are
        the full softmax's own values, not renormalised: what is dropped is the mass beyond the 32 nearest
        documents, about exp(-(s_1 - s_33) / 0.01) each, so a corpus document's vector equals the exported model's to
        float precision while costing (n, 32) instead of (n, n) per use."""
        if self._doc_mix is None:
            with torch.no_grad():
                top = min(TOP_DOCS, len(self.base_d))
                weights, neighbours = [], []
                for i in range(0, len(self.base_d), 1024):
                    logits = self.base_d[i : i + 1024] @ self.base_d.T / self.doc_temperature
                    values, idx = logits.topk(top, dim=1)
                    weights.append(torch.exp(values - torch.logsumexp(logits, dim=1, keepdim=True)))
                    neighbours.append(idx)
                self._doc_mix = (torch.cat(weights), torch.cat(neighbours))
        return self._doc_mix

    def doc_codes(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        """(n or B, dim) the code part of corpus documents' vectors: their soft lookup in the document memory."""
        weights, neighbours = self.doc_mix()
        if ids is not None:
            weights, neighbours = weights[ids], neighbours[ids]
        return torch.einsum("bk,bkd->bd", weights, self.codes[neighbours])

    def docs(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        return self.with_base(self.doc_codes(ids), self.base_d if ids is None else self.base_d[ids])

    @torch.no_grad()
    def transform(self, base_vectors: np.ndarray, side: str = "document") -> np.ndarray:
        """Aligned vectors of new texts from their base embeddings (unseen documents or queries), no retraining."""
        was_training = self.training
        self.eval()
        x = torch.as_tensor(base_vectors, dtype=torch.float32, device=self.base_d.device)
        if side == "query":
            out = self.with_base(self.read_out(x), x)
        else:
            out = self.with_base(torch.cat([self.doc_weights(x[i : i + 1024]) @ self.codes for i in range(0, len(x), 1024)]), x)
        self.train(was_training)
        return out.cpu().numpy()


MIN_CODE_STEPS = 300  # small corpora with learned codes still get enough steps (5 passes over 1,182 nodes are 24)
CODE_EPOCHS = 5  # learned codes: passes over the nodes (19k WordNet organisms: validation recall plateaus after ~3)


def default_code_dim(n_nodes: int, n_keys: int | None = None) -> int:
    """One code per node (exact) for small corpora, or where the read-out (n_keys x n_nodes; keys default to one per
    node) stays small enough; else LEARNED_CODE_DIM learned codes."""
    keys = n_nodes if n_keys is None else n_keys
    exact = n_nodes <= EXACT_CODES_UP_TO or keys * n_nodes <= EXACT_READOUT_CELLS
    return n_nodes if exact else LEARNED_CODE_DIM


def default_code_steps(n_nodes: int, batch_size: int) -> int:
    """Steps of the code phase: CODE_EPOCHS passes over the nodes (measured to converge on 19k WordNet organisms)."""
    return max(MIN_CODE_STEPS, math.ceil(CODE_EPOCHS * n_nodes / batch_size))


def initial_codes(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """(n, dim) unit codes to start from: orthonormal when dim >= n (then <sum of ancestors' codes, code_a> is exactly
    1 for ancestors and 0 for the rest, and the memory scores the exact posterior before any training); otherwise
    random Gaussian directions, Theorem 3.1's codes, which training then separates."""
    gaussian = np.random.default_rng(seed).standard_normal((max(n, dim), dim))
    if dim >= n:
        q, _ = np.linalg.qr(gaussian)  # (dim, dim) orthonormal columns
        return np.ascontiguousarray(q[:n], dtype=np.float32)
    codes = gaussian[:n].astype(np.float32)
    return codes / np.linalg.norm(codes, axis=1, keepdims=True)


def ancestor_sums(node: np.ndarray, ancestor: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(n, dim) the sum of the codes of every node's ancestors (itself included): Theorem 3.1's query vectors."""
    out = np.zeros_like(codes)
    np.add.at(out, node, codes[ancestor])
    return out


def settle(inputs: SettleInputs) -> AlignConfig:
    """The keys chosen on validation queries (recorded in config.json), then the code size and steps sized from them."""
    c, corpus, base = inputs.config, inputs.corpus, inputs.base
    if c.memory_keys == "auto":  # no clauses, nothing to compare: documents
        has_clauses = base.clause_vectors is not None and len(base.clause_vectors)
        c = replace(c, memory_keys=better_link_keys(corpus, inputs.references, inputs.split.validation)
                    if has_clauses else "documents")
    n_keys = corpus.n + (len(base.clause_vectors) if c.memory_keys == "clauses" and base.clause_vectors is not None
                         else 0)
    return replace(c, dim=c.dim or default_code_dim(corpus.n, n_keys),
                   steps=c.steps or default_code_steps(corpus.n, c.batch_size))


def build(plan: RunPlan, device: torch.device) -> MemoryEncoder:
    c, corpus, b = plan.config, plan.corpus, plan.base
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
    return MemoryEncoder(plan.query_base, b.docs, keys, owner, values, codes, c.head, c.hidden, c.link_temperature,
                         base_weight=c.base_weight)


KIND = EncoderKind(build, settle=settle)
