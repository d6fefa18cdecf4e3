"""A run's plan: everything fixed before the first step, computed once and handed to the training loop.

`plan_run` resolves the configuration (every default, then what the encoder settles from the data, such as the memory's
keys and code size), splits the queries, lists the training positions, and computes the references' rankings: the
memory chooses its keys from them, and run_alignment scores the finished run beside them. The Trainer
(core/align/train.py) trains what the plan says.

Query split (text encoders): the evaluation's held-out 20% of queries is never trained on; a further
`validation_fraction` is set aside for checkpoint selection; the rest trains. An encoder that reads no text (lookup
tables) cannot encode an unseen query, so then every query trains and validation is an in-sample sample (the HR
paper's setting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.align.config import AlignConfig
from core.align.encoders import ENCODER_KINDS, EncoderKind
from core.data.corpus import Corpus
from core.embedding.vectors import BaseVectors
from core.errors import InputError
from core.evaluation.evaluate import heldout_mask
from core.evaluation.index import build_index, search
from core.evaluation.reference import reference_rankings


@dataclass(frozen=True)
class QuerySplit:
    train: np.ndarray  # query positions trained on
    validation: np.ndarray  # query positions used to pick the checkpoint (fixed sample)
    heldout: np.ndarray  # query positions never trained on
    in_sample: bool = False  # validation drawn from the trained queries (an encoder that reads no text)


@dataclass(frozen=True)
class SettleInputs:
    """What an encoder may read to settle its data-dependent settings (EncoderKind.settle)."""

    config: AlignConfig  # resolved: every None option has its method's and encoder's default
    corpus: Corpus
    base: BaseVectors | None
    split: QuerySplit
    references: dict[str, np.ndarray]  # reference name -> (m, width) ranking of every query


@dataclass(frozen=True)
class RunPlan:
    corpus: Corpus
    config: AlignConfig  # resolved, and settled by the encoder (what config.json records)
    base: BaseVectors | None  # the frozen base model's vectors (None for an encoder that reads no text)
    split: QuerySplit
    train_positions: np.ndarray  # (P,) query positions trained on (with doc_queries, documents as m..m+n-1)
    position_nodes: np.ndarray  # (m [+ n],) the node of every query position
    references: dict[str, np.ndarray]  # reference name -> (m, width) ranking of every query (core/evaluation/reference.py)

    @property
    def kind(self) -> EncoderKind:
        return ENCODER_KINDS[self.config.encoder]

    @property
    def query_base(self) -> np.ndarray:
        """(m [+ n], D) base vectors of every query position: the queries, then with doc_queries the documents."""
        b = self.base
        return np.concatenate([b.queries, b.docs]) if self.config.doc_queries else b.queries


def split_queries(n_queries: int, config: AlignConfig) -> QuerySplit:
    config = config.resolved()
    held = heldout_mask(n_queries, config.heldout_fraction, config.seed)
    rng = np.random.default_rng(config.seed + 1)
    if not ENCODER_KINDS[config.encoder].reads_text:
        train = np.arange(n_queries)
        validation = np.sort(rng.choice(train, min(config.eval_queries, len(train)), replace=False))
        return QuerySplit(train, validation, np.flatnonzero(held), in_sample=True)
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


def require_hierarchy(corpus: Corpus) -> None:
    """InputError unless some node has a parent: with no hierarchy there is nothing to align with, and every score
    against a reference would compare equal nothings."""
    if not len(corpus.hierarchy.parent_idx):
        raise InputError(corpus.name, f"has no hierarchy: all {corpus.n:,} nodes are roots, with no parents to align with",
                         f"discover one first: python -m core hierarchy {corpus.name} --levels 7,20 --out with_topics.csv "
                         "(or the Hierarchy page), then align that file")


def plan_run(corpus: Corpus, config: AlignConfig, base: BaseVectors | tuple | None = None, *,
             lexical_references: bool = False, references: dict[str, np.ndarray] | None = None) -> RunPlan:
    """The plan of training `config` on `corpus` from `base`; `lexical_references` adds BM25 and the hybrid to the
    references (run_alignment scores every run beside them; the loop itself needs only link-and-walk). `references`
    reuses rankings computed for the same corpus and base (a tuning study plans many runs on one corpus)."""
    config = config.resolved()
    require_hierarchy(corpus)
    kind = ENCODER_KINDS[config.encoder]
    base = as_base_vectors(base)
    if kind.reads_text and base is None:
        raise ValueError("text encoders need the base model's (query, document) embeddings")
    split = split_queries(len(corpus.query_nodes), config)
    if references is None:
        references = reference_rankings(corpus, base, clauses=config.uses_clauses, lexical=lexical_references)
    config = kind.settle(SettleInputs(config, corpus, base, split, references))
    train_positions, position_nodes = query_positions(corpus, config, split)
    return RunPlan(corpus, config, base, split, train_positions, position_nodes, references)


def zero_shot_hard_negatives(plan: RunPlan, count: int) -> np.ndarray:
    """(positions, count) each query position's nearest zero-shot documents that are not its ancestors (-1 pads)."""
    corpus = plan.corpus
    anc = corpus.hierarchy.ancestors
    width = min(corpus.n, count + int(anc.sizes().max()))
    _, near = search(build_index(plan.base.docs), plan.query_base, width)
    nodes = plan.position_nodes
    keys = np.sort(anc.node.astype(np.int64) * corpus.n + anc.ancestor)
    pair = nodes[:, None] * corpus.n + near
    pos = np.minimum(np.searchsorted(keys, pair), len(keys) - 1)
    near = np.where(keys[pos] == pair, -1, near)
    order = np.argsort(near < 0, axis=1, kind="stable")  # real negatives first, in zero-shot order
    return np.take_along_axis(near, order, axis=1)[:, :count]
