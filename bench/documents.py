"""The document side on 20 Newsgroups, every row next to its simple references, in one command.

    python bench/documents.py                           # all tables (about an hour on 2 cores once the posts are
                                                        # encoded; the first run encodes them: ~25 minutes more)
    python bench/documents.py discovery|names|heal|hce  # one table
    python bench/documents.py heal --train 3000         # a seeded sample of the train posts (the default is all 11,314)

Tables:
- discovery: NMI / ARI of discovered trees against the gold tree (7 top-level groups, 20 newsgroups), next to flat
  spherical k-means, Ward, EVoC and BERTopic (bench/discovery.py agreement);
- names: c-TF-IDF against TF-IDF-versus-parent names (bench/discovery.py names);
- heal: HEAL (adapter on all-MiniLM-L6-v2) trained on TRAIN posts with the GOLD tree, scored on held-out TEST posts
  at every gold level (precision@10 of a post's nearest test posts sharing its label, kNN macro-F1), and Subject-line
  queries against the test posts (MRR and nDCG@10, relevant = posts of the query's newsgroup). Rows: zero-shot, flat
  (SupCon on the newsgroup alone), and HEAL with each level weighting on the gold tree and on a discovered one;
- heal also has reference rows with no training loop: LDA (linear discriminant analysis) fitted on the train posts'
  newsgroups, the projection a sceptic would try first, and for the queries BM25 alone and fused with zero-shot
  MiniLM;
- hce: Subject line -> post body retrieval (train on train posts, retrieve among test posts): recall@1/5/10/20/100
  for zero-shot, flat InfoNCE, HR and HCE (adapters), flat and HCE with ICT pseudo-queries (a span cut from a
  post's body stands in for a missing subject), and HCE co-trained (its tree rebuilt as the vectors move); the
  lexical references a sceptic raises come with them: BM25 alone, and every row fused with BM25 (reciprocal-rank
  fusion), so a trained row has to beat the hybrid of zero-shot and BM25, not only zero-shot;
  `hce --encoder finetune --train 1000 --test 1000 --steps 60` finetunes the whole model instead (zero-shot, flat,
  HCE; about 18 minutes on 2 cores), and `heal --encoder finetune --train 1000 --test 1000 --steps 60 --weights
  uniform` does the same for the HEAL table (zero-shot, references, flat, HEAL; about 23 minutes).

Needs ../shared/data/20news-bydate.tar.gz (benchmarks only; the data is never copied into the project).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

try:
    from bench.newsgroups import available, load_newsgroups  # python -m bench.documents
except ImportError:  # python bench/documents.py: this folder is first on the path
    from newsgroups import available, load_newsgroups
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from core.align.pseudo_queries import with_pseudo_queries
from core.align.train import AlignConfig, align
from core.data.corpus import corpus_from_frame
from core.embedding.model import embedding_cache
from core.embedding.vectors import embed_corpus
from core.evaluation.evaluate import EvalConfig, level_metrics
from core.evaluation.index import build_index, search
from core.evaluation.lexical import bm25_ranking, rank_fusion

LEVELS = 4  # gold levels reported: comp / comp.sys / comp.sys.ibm / comp.sys.ibm.pc ...


def flat_copy(corpus):
    """The same posts under their newsgroup alone (one level): HEAL on it is SupCon on the leaves only."""
    rows = np.flatnonzero(corpus.is_row)
    frame = pd.DataFrame({"id": [corpus.ids[i] for i in rows], "text": [corpus.texts[i] for i in rows],
                          "path": [corpus.ids[i].split("/")[0] for i in rows]})
    if corpus.queries is not None:
        frame["query"] = [corpus.queries[i] for i in rows]
    return corpus_from_frame(frame, corpus.name + " (newsgroup only)")


def query_scores(query_vectors: np.ndarray, doc_vectors: np.ndarray, query_group: np.ndarray,
                 doc_group: np.ndarray, k: int = 10) -> tuple[float, float]:
    """MRR@k and nDCG@k (binary relevance: a document of the query's group) of queries against documents."""
    _, hits = search(build_index(doc_vectors), query_vectors, k)
    return ranking_scores(hits, query_group, doc_group, k)


def ranking_scores(rankings: np.ndarray, query_group: np.ndarray, doc_group: np.ndarray,
                   k: int = 10) -> tuple[float, float]:
    """MRR@k and nDCG@k of rankings (Q, >= k) of document positions (-1 = none); relevant = a document of the query's
    group."""
    hits = rankings[:, :k]
    relevant = (doc_group[hits] == query_group[:, None]) & (hits >= 0)  # (Q, k)
    first = np.where(relevant.any(axis=1), relevant.argmax(axis=1) + 1, np.inf)
    mrr = float(np.mean(1.0 / first))
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (relevant * discount).sum(axis=1)
    ideal_hits = np.minimum(np.array([(doc_group == g).sum() for g in query_group]), k)
    idcg = np.array([discount[:m].sum() for m in ideal_hits])
    return mrr, float(np.mean(dcg / np.maximum(idcg, 1e-12)))


def heal(args) -> None:
    finetune = args.encoder == "finetune"
    train = load_newsgroups("train", sample=args.train, seed=0, subjects=not args.no_train_subjects)
    test = load_newsgroups("test", sample=args.test, seed=1, subjects=True)
    cache = embedding_cache()
    test_rows = np.flatnonzero(test.is_row)
    test_base = cache.encode([test.texts[i] for i in test_rows])
    has_query = np.array([bool(test.queries[i]) for i in test_rows])
    query_base = cache.encode([test.queries[i] for i in test_rows[has_query]])
    group = np.array([test.ids[i].split("/")[0] for i in test_rows])
    config = EvalConfig()

    def row(name: str, docs: np.ndarray, queries: np.ndarray, seconds: float, note: str = "") -> None:
        vectors = np.zeros((test.n, docs.shape[1]), dtype=np.float32)
        vectors[test_rows] = docs
        levels = level_metrics(test, vectors, test_rows, config)
        cells = [f"{levels[str(lvl)]['precision@10']:.3f} / {levels[str(lvl)]['knn_macro_f1']:.3f}"
                 if str(lvl) in levels else "-" for lvl in range(LEVELS)]
        mrr, ndcg = query_scores(queries, docs, group[has_query], group)
        print(f"| {name} | " + " | ".join(cells) + f" | {mrr:.3f} | {ndcg:.3f} | {seconds:.0f} |{note}", flush=True)

    mode = (f"the whole MiniLM finetuned, batch {args.batch_size}, learning rate {args.lr}" if finetune else
            "adapter on all-MiniLM-L6-v2")
    print(f"HEAL and references: {mode} trained on {train.n_rows:,} 20 Newsgroups TRAIN posts "
          f"(gold tree), scored on {len(test_rows):,} TEST posts (seeded sample; never trained on). Per gold level: "
          f"P@10 / kNN macro-F1 of a post's 10 nearest test posts. Queries: the {has_query.sum():,} test posts' Subject "
          f"lines (replies dropped) against all test posts; relevant = same newsgroup. {args.steps} steps each"
          + ("" if finetune else f", base weight {args.base_weight}, head-length penalty {args.length_weight}") + ". " + (
              f"Batches mix the {len(train.query_nodes):,} train posts' Subject lines (each labelled with its post's "
              f"path, as HEAL's paper mixes generated questions with documents) and bodies; the checkpoint is chosen on "
              f"10% of the posts with a subject, whose subjects and bodies are never trained on"
              if train.queries is not None else
              "Batches hold bodies only; the checkpoint is chosen on a validation split (10%) of the train posts, "
              "which is never trained on") + " (the test posts are the held-out set). BM25 rows rank the test posts "
          "for the queries only (bm25s, English stopwords; fused: reciprocal-rank fusion of its up to 1,000 best with "
          "zero-shot MiniLM's 1,000, k = 60; BM25 ranks only documents sharing a word with the query).\n")
    print("| model | " + " | ".join(f"level {lvl} P@10 / F1" for lvl in range(LEVELS)) + " | MRR@10 | nDCG@10 | seconds |")
    print("|---|" + "---|" * (LEVELS + 3))
    row("zero-shot MiniLM", test_base, query_base, 0)
    test_texts = [test.texts[i] for i in test_rows]
    query_texts = [test.queries[i] for i in test_rows[has_query]]
    t = time.perf_counter()
    lexical = bm25_ranking(test_texts, query_texts, min(1000, len(test_texts)))
    lexical_seconds = time.perf_counter() - t
    _, dense = search(build_index(test_base), query_base, lexical.shape[1])
    fused = rank_fusion([dense, lexical], len(test_texts))
    for name, ranking, seconds in (("reference: BM25 alone (queries only)", lexical, lexical_seconds),
                                   ("reference: zero-shot MiniLM + BM25, fused (queries only)", fused, lexical_seconds)):
        mrr, ndcg = ranking_scores(ranking, group[has_query], group)
        print(f"| {name} | " + " | ".join(["-"] * LEVELS) + f" | {mrr:.3f} | {ndcg:.3f} | {seconds:.0f} |", flush=True)
    train_rows = np.flatnonzero(train.is_row)
    train_base = cache.encode([train.texts[i] for i in train_rows])
    t = time.perf_counter()
    lda = LinearDiscriminantAnalysis().fit(train_base, [train.ids[i].split("/")[0] for i in train_rows])

    def project(x):  # LDA's discriminant space (19-d), unit length, so the index ranks by cosine as elsewhere
        y = lda.transform(x)
        return (y / np.linalg.norm(y, axis=1, keepdims=True)).astype(np.float32)

    row("reference: LDA on the newsgroups (linear, no training loop)", project(test_base), project(query_base),
        time.perf_counter() - t)
    tag = " (finetune)" if finetune else ""
    runs = [("flat: SupCon on the newsgroup only" + tag, flat_copy(train), {})]
    for weights in args.weights.split(","):
        runs.append((f"HEAL, gold tree, {weights} level weights" + tag, train, {"heal_weights": weights}))
    if not finetune:  # discovered-tree rows only with adapters: on 2 cores a finetune row takes many minutes
        from core.discovery.discover import discover

        for word_weight in (float(w) for w in args.word_weights.split(",")):
            found, _ = discover(train, "kmeans", vectors=train_base, levels=(7, 20), word_weight=word_weight)
            view = f", words {word_weight:g}" if word_weight else ""
            for weights in args.weights.split(","):
                runs.append((f"HEAL, discovered --levels 7,20{view} tree (no gold labels), {weights} weights", found,
                             {"heal_weights": weights}))
    encoding = ({"encoder": "finetune", "batch_size": args.batch_size, "lr": args.lr} if finetune else
                {"encoder": "adapter", "base_weight": args.base_weight, "length_weight": args.length_weight})
    for name, corpus, options in runs:
        base = embed_corpus(corpus, None, cache)  # the posts are read back; only a tree's node names are encoded
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = align(corpus, AlignConfig(method="heal", steps=args.steps, eval_every=max(args.steps // 5, 1),
                                               temperature=args.temperature, heldout_fraction=0.0, **encoding,
                                               **options), base)
        seconds = time.perf_counter() - t
        docs = aligned(result, test_texts, test_base, "document")
        row(name, docs, aligned(result, query_texts, query_base, "query"), seconds, f" best step {result.best_step}")


def recall_of_rankings(rankings: np.ndarray, targets: np.ndarray, ks=(1, 5, 10, 20, 100)) -> list[float]:
    """Recall@k of each query's own document in a ranking (Q, depth) of document positions."""
    own = rankings == targets[:, None]
    return [float(own[:, :k].any(axis=1).mean()) for k in ks]


def aligned(result, texts: list[str], base: np.ndarray, side: str) -> np.ndarray:
    """Vectors of unseen texts from a run: an adapter transforms their base vectors, a finetuned model encodes them."""
    encoder = result.encoder
    if result.config.encoder == "finetune":
        encoder.model.eval()
        vectors = encoder.model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
    return encoder.transform(base, side=side)


def hce(args) -> None:
    finetune = args.encoder == "finetune"
    train = load_newsgroups("train", sample=args.train, seed=0, subjects=True)
    test = load_newsgroups("test", sample=args.test, seed=1, subjects=True)
    cache = embedding_cache()
    rows = np.flatnonzero(test.is_row)
    asked = np.array([k for k, i in enumerate(rows) if test.queries[i]])  # positions of the posts with a subject
    doc_texts = [test.texts[i] for i in rows]
    query_texts = [test.queries[rows[k]] for k in asked]
    docs, queries = cache.encode(doc_texts), cache.encode(query_texts)
    mode = (f"the whole MiniLM finetuned, batch {args.batch_size}, {args.steps} steps" if finetune else
            f"adapter on all-MiniLM-L6-v2, {args.steps} steps, base weight {args.base_weight}, head-length penalty "
            f"{args.length_weight}")
    print(f"Subject -> body on 20 Newsgroups: queries are Subject lines (replies, 'Re: ...', dropped: their wording "
          f"belongs to another post), documents are bodies without headers. Trained on {len(train.query_nodes):,} "
          f"TRAIN posts with a subject ({train.n_rows:,} posts, gold tree); scored on the {len(asked):,} TEST posts "
          f"with a subject, each query retrieving its own body among all {len(rows):,} test bodies (replies included). "
          f"{mode[0].upper() + mode[1:]}, checkpoint chosen on the validation split (10%) of the train queries."
          + ("" if finetune else " ICT rows: a train post without a subject gets a cloze span of its own body (4-12 "
             "words) as its query.") + (" 'ICT on the indexed TEST bodies' rows train on the bodies being searched, "
             "each with a cloze span of itself as its query (no subject line and no label of a test post is used), as "
             "HCE's unsupervised corpus encoder does; their checkpoint is chosen on 10% of those cloze queries."
             if args.index_ict and not finetune else "")
          + " '+ BM25, fused' rows: the row's 1,000 nearest bodies and BM25's up to 1,000 best (it ranks only bodies "
          "sharing a word with the subject), merged by reciprocal-rank fusion (k = 60), the hybrid a sceptic tries first.\n")
    print("| model | R@1 | R@5 | R@10 | R@20 | R@100 | seconds |\n|---|---|---|---|---|---|---|")

    depth = min(1000, len(doc_texts))  # each ranking fused holds this many documents
    t = time.perf_counter()
    lexical = bm25_ranking(doc_texts, query_texts, depth)
    lexical_seconds = time.perf_counter() - t

    def line(name, recalls, seconds, note=""):
        print(f"| {name} | " + " | ".join(f"{r:.3f}" for r in recalls) + f" | {seconds:.0f} |{note}", flush=True)

    def row(name, q, d, seconds, note=""):
        _, dense = search(build_index(d), q, depth)  # one search serves the row and its fused twin
        line(name, recall_of_rankings(dense, asked), seconds, note)
        line(f"{name} + BM25, fused", recall_of_rankings(rank_fusion([dense, lexical], len(doc_texts)), asked),
             seconds + lexical_seconds)

    line("reference: BM25 alone (bm25s, English stopwords)", recall_of_rankings(lexical, asked), lexical_seconds)
    row("zero-shot MiniLM", queries, docs, 0)
    cloze = with_pseudo_queries(train, seed=0)  # ICT: a post without a subject gets a span of its body as its query
    label = "finetune" if finetune else "adapter"
    runs = [(f"{m} ({label})", m, train) for m in (("flat", "hce") if finetune else ("flat", "hr", "hce"))]
    if not finetune:  # ICT and co-training rows only with adapters: on 2 cores a finetune row takes many minutes
        runs += [(f"{m} + ICT pseudo-queries (adapter)", m, cloze) for m in ("flat", "hce")]
        runs.append(("hce, co-trained: tree rebuilt from the current vectors every 100 steps (adapter)", "hce", train))
        if args.index_ict:  # HCE's own setting: a corpus encoder trained on the corpus it will search, without labels
            indexed = with_pseudo_queries(load_newsgroups("test", sample=args.test, seed=1), seed=0)
            runs += [(f"{m} + ICT on the indexed TEST bodies only (their subjects unused; adapter)", m, indexed)
                     for m in ("flat", "hce")]
    options = ({"encoder": "finetune", "batch_size": args.batch_size, "lr": args.lr} if finetune else
               {"encoder": "adapter", "base_weight": args.base_weight, "length_weight": args.length_weight})
    for name, method, corpus in runs:
        base = embed_corpus(corpus, None, cache)
        t = time.perf_counter()
        every = max(args.steps // 2 if finetune else args.steps // 5, 1)
        rebuild = {"hce_rebuild_every": 100} if "co-trained" in name else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = align(corpus, AlignConfig(method=method, steps=args.steps, eval_every=every, heldout_fraction=0.0,
                                               **options, **rebuild), base)
        q, d = aligned(result, query_texts, queries, "query"), aligned(result, doc_texts, docs, "document")
        row(name, q, d, time.perf_counter() - t, f" best step {result.best_step}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=["all", "discovery", "names", "heal", "hce"])
    parser.add_argument("--sample", type=int, default=3000, help="discovery and names: seeded sample of train posts")
    parser.add_argument("--train", type=int, default=11314, help="heal, hce: train posts (seeded sample; 11314 = all)")
    parser.add_argument("--test", type=int, default=7532, help="heal, hce: test posts (seeded sample; all 7,532)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--encoder", choices=["adapter", "finetune"], default="adapter",
                        help="heal, hce: adapter heads on the cached base vectors, or the whole model finetuned (slow on CPU)")
    parser.add_argument("--batch-size", type=int, default=32, help="--encoder finetune: queries (hce) or posts (heal) per step")
    parser.add_argument("--lr", type=float, default=2e-5, help="--encoder finetune: learning rate")
    parser.add_argument("--temperature", type=float, default=0.07)
    parser.add_argument("--base-weight", type=float, default=1.0,
                        help="heal, hce: weight of the base model's cosine kept in every score (0 = the head alone)")
    parser.add_argument("--length-weight", type=float, default=1.0,
                        help="heal, hce adapters: penalty holding |head(x)| near 1, so the base weight keeps its share "
                             "(0 = the head's length is free, as before)")
    parser.add_argument("--weights", default="paper,uniform,fine", help="HEAL level weightings to compare")
    parser.add_argument("--index-ict", action="store_true",
                        help="hce: also train flat and HCE adapters on the test bodies with cloze pseudo-queries "
                             "(HCE's unsupervised setting: the corpus searched is known, its queries are not)")
    parser.add_argument("--word-weights", default="0,0.5",
                        help="heal: discovered-tree rows clustered with each weight of the TF-IDF word view beside the "
                             "embeddings (0 = embeddings alone)")
    parser.add_argument("--no-train-subjects", action="store_true",
                        help="heal: train on post bodies alone (the train posts' Subject lines are not training queries)")
    args = parser.parse_args()
    if not available():
        sys.exit("needs ../shared/data/20news-bydate.tar.gz")
    print(f"command: python bench/documents.py {' '.join(sys.argv[1:])}\n")
    try:
        from bench import discovery
    except ImportError:
        import discovery
    if args.what in ("all", "discovery"):
        discovery.agreement(args)
        print()
    if args.what in ("all", "names"):
        discovery.names(args)
        print()
    if args.what in ("all", "heal"):
        heal(args)
        print()
    if args.what in ("all", "hce"):
        hce(args)


if __name__ == "__main__":
    main()
