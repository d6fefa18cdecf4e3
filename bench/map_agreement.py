"""Where an alignment lives: kNN agreement of the queries and of the documents with each level, before and after.

    python bench/map_agreement.py                                  # the demo, wordnet:mammal.n.01, default run
    python bench/map_agreement.py wordnet-synonyms:mammal.n.01     # any corpus; --method/--encoder as `align`
    python bench/map_agreement.py wordnet:mammal.n.01 --method hr --encoder adapter

The Map page's numbers, computed the same way (core/studio/maps.knn_agreement: the share of each point's 10 nearest
neighbours, in the vectors themselves, with the same label at the level; the same seeded sample of at most 20,000
points), for every level of the corpus's spanning tree. The level the Map page opens on is marked.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from core.align.config import AlignConfig
from core.data.builtins import DEMO, load_corpus
from core.embedding.model import embedding_cache
from core.embedding.vectors import embed_corpus
from core.runs.alignment import run_alignment
from core.runs.folder import RunFolder
from core.studio.maps import first_informative_level, knn_agreement, sample_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEMO)
    parser.add_argument("--method", default=None)
    parser.add_argument("--encoder", default=None)
    args = parser.parse_args()
    print(f"command: python bench/map_agreement.py {' '.join(sys.argv[1:])}\n")
    corpus = load_corpus(args.corpus)
    config = AlignConfig(method=args.method, encoder=args.encoder)
    base = embed_corpus(corpus, config.model, embedding_cache(), clauses=config.resolved().uses_clauses)
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        run_alignment(corpus, config, f"{folder}/run", base)
        seconds = time.perf_counter() - t
        queries_after, docs_after = RunFolder(f"{folder}/run").vectors()
    tree = corpus.hierarchy if corpus.hierarchy.is_tree else corpus.hierarchy.spanning_tree()
    labels = tree.level_labels()
    rows = corpus.is_row.nonzero()[0]
    docs = rows[sample_rows(len(rows))]
    queries = sample_rows(len(corpus.query_nodes))
    opens = first_informative_level(labels[docs])
    resolved = config.resolved()
    print(f"{corpus.name}: {resolved.method} / {resolved.encoder}, run in {seconds:.0f} s; kNN agreement (10 neighbours)\n")
    print("| level | documents before | documents after | change (pts) | queries before | queries after | change (pts) |")
    print("|---|---|---|---|---|---|---|")
    for level in range(labels.shape[1]):
        doc_labels, query_labels = labels[docs, level], labels[corpus.query_nodes[queries], level]
        if len(set(doc_labels[doc_labels >= 0].tolist())) < 2:
            continue  # a single root (or nothing labelled) says nothing
        cells = []
        for before, after, lab in ((base.docs[docs], docs_after[docs], doc_labels),
                                   (base.queries[queries], queries_after[queries], query_labels)):
            b, a = knn_agreement(before, lab), knn_agreement(after, lab)
            cells += ["n/a"] * 3 if None in (a, b) else [f"{100 * b:.1f}", f"{100 * a:.1f}", f"{100 * (a - b):+.1f}"]
        mark = " (the Map opens here)" if level == opens else ""
        print(f"| {level}{mark} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
