"""How much of the base model's score a finished memory run should keep: recall by distance at other base weights.

    python -m core align wordnet:organism.n.01 --out runs/organism     # any memory run (its own base_weight > 0)
    python bench/base_weight.py runs/organism

A memory run's vectors are [memory part, sqrt(w) * base vector] (core/align/encoders/memory.py), so every score is
<memory part> + w * <base cosine>, and other weights can be scored without retraining: the base parts are rescaled.
Rows on the run's VALIDATION queries (what a default may be chosen on) and on its held-out queries (reported only).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from core.align.train import split_queries
from core.evaluation.index import build_index, search
from core.evaluation.metrics import recall_by_distance
from core.runs.folder import RunFolder

WEIGHTS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished memory run folder")
    args = parser.parse_args()
    run = RunFolder(args.run)
    config = run.align_config
    if config.method != "memory" or not config.base_weight:
        sys.exit(f"{args.run}: needs a memory run with base_weight > 0 (this one: {config.method}, "
                 f"base_weight {config.base_weight})")
    corpus = run.corpus
    queries, docs = run.vectors()
    cut = config.dim  # the memory part's width: the code size (resolved in the run's config)
    split = split_queries(len(corpus.query_nodes), config)
    print(f"command: python bench/base_weight.py {args.run}\n")
    print(f"{corpus.name}: run trained with base_weight {config.base_weight}; recall in %\n")
    distances = sorted({int(d) for d in run.metrics["after"]["heldout"]["pairs_by_distance"]})
    print("| queries | w | " + " | ".join(f"D{d}" for d in distances) + " | overall | min |")
    print("|---" * (len(distances) + 4) + "|")
    scale = 1.0 / np.sqrt(config.base_weight)
    for label, positions in (("validation", split.validation), ("held-out", split.heldout)):
        nodes = corpus.query_nodes[positions]
        k = int(corpus.hierarchy.ancestors.sizes()[nodes].max())
        q_mem, d_mem = queries[positions, :cut], docs[:, :cut]
        q_base, d_base = queries[positions, cut:] * scale, docs[:, cut:] * scale
        for w in WEIGHTS:
            _, ids = search(build_index(np.hstack([d_mem, d_base])), np.hstack([q_mem, w * q_base]), k)
            r = recall_by_distance(ids, nodes, corpus.hierarchy.ancestors)
            cells = [f"{100 * r['recall_by_distance'].get(str(d), float('nan')):.1f}" for d in distances]
            print(f"| {label} | {w:g} | " + " | ".join(cells) + f" | {100 * r['recall_overall']:.1f} | "
                  f"{100 * r['recall_min']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
