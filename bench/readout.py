"""What the memory method's read-out does with an uncertain link: the default trained once, re-scored at other link
temperatures and base weights (no retraining), held-out recall by distance.

    python bench/readout.py                                   # wordnet-synonyms:mammal.n.01 (about a minute)
    python bench/readout.py wordnet:mammal.n.01

A query's score for document a is the attention-weighted share of its candidate nodes that have a as an ancestor
(the posterior that a is an ancestor of the query's node), plus base_weight times the base cosine. Along one chain
that share can only grow towards the root, so when the link is split between candidates the node itself is the
lowest-scored document of its own chain, and the first that top-|anc(v)| cuts. The table shows whether a sharper or
softer link, or more or less of the base score, brings it back.
"""

from __future__ import annotations

import argparse
import sys

from core.align.config import AlignConfig
from core.align.encoders import encode_all
from core.align.train import align
from core.data.builtins import load_corpus
from core.embedding.model import embedding_cache
from core.embedding.vectors import embed_corpus
from core.evaluation.evaluate import EvalConfig, evaluate_embeddings

TEMPERATURES = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08)
BASE_WEIGHTS = (0.0, 0.1, 0.3, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default="wordnet-synonyms:mammal.n.01")
    args = parser.parse_args()
    print(f"command: python bench/readout.py {' '.join(sys.argv[1:])}\n")
    corpus = load_corpus(args.corpus)
    base = embed_corpus(corpus, None, embedding_cache(), clauses=True)
    result = align(corpus, AlignConfig(), base)
    encoder, config = result.encoder, result.config
    print(f"{corpus.name}: the default (keys: {config.memory_keys}, link temperature {config.link_temperature}, "
          f"base weight {config.base_weight}), best checkpoint at step {result.best_step}\n")
    rows = []
    for label, attribute, values in (("link temperature", "link_temperature", TEMPERATURES),
                                     ("base weight", "base_weight", BASE_WEIGHTS)):
        trained = getattr(encoder, attribute)
        for value in values:
            setattr(encoder, attribute, value)
            held = evaluate_embeddings(corpus, *encode_all(encoder, len(corpus.query_nodes)), EvalConfig())["heldout"]
            rows.append((f"{label} {value}" + (" (trained with)" if value == trained else ""), held))
        setattr(encoder, attribute, trained)
    distances = sorted(rows[0][1]["recall_by_distance"], key=int)
    print("| read-out | " + " | ".join(f"D{d}" for d in distances) + " | overall |")
    print("|---" * (len(distances) + 2) + "|")
    for label, held in rows:
        r = held["recall_by_distance"]
        print(f"| {label} | " + " | ".join(f"{100 * r[d]:.1f}" for d in distances) +
              f" | {100 * held['recall_overall']:.1f} |")


if __name__ == "__main__":
    main()
