"""Hierarchy discovery against a known hierarchy: 20 Newsgroups, side by side with BERTopic and Ward.

    python bench/discovery.py agreement [--sample 3000]   # NMI / ARI at the gold top level (7) and leaf level (20)
    python bench/discovery.py names [--sample 3000]       # node names: c-TF-IDF vs TF-IDF against the parent
    python bench/discovery.py ablation [--sample 3000]    # what each step of the --levels tree adds, three seeds
    python bench/discovery.py words [--sample 3000]       # the --levels tree with the TF-IDF word view beside the
                                                          # embeddings, on 20 Newsgroups and two WordNet subtrees
    python bench/discovery.py heal [--sample 3000]        # HEAL on the discovered HNMFk tree, scored on the GOLD tree
    python bench/discovery.py incremental                 # HCE on half the posts, the rest added without retraining
    python bench/discovery.py speed                       # k-means tree on 100k x 384; HNMFk on 5,000 documents

Needs ../shared/data/20news-bydate.tar.gz. BERTopic is a benchmark-only dependency (requirements-bench.txt); its row
is skipped, with a note, when it is not installed.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.metrics import adjusted_rand_score as ari
from sklearn.metrics import normalized_mutual_info_score as nmi

try:
    from bench.newsgroups import gold_labels, load_newsgroups  # python -m bench.discovery
except ImportError:  # python bench/discovery.py: this folder is first on the path
    from newsgroups import gold_labels, load_newsgroups
from core.discovery.discover import discover, tfidf, with_word_view
from core.discovery.hnmfk import HNMFkConfig
from core.discovery.kmeans_tree import build_kmeans_tree, spherical_kmeans
from core.discovery.level_tree import build_level_tree
from core.embedding.model import embedding_cache


def level_cut(corpus, level: int) -> np.ndarray:
    """Label of every row at `level` of its (path) hierarchy; rows above that depth keep their deepest label."""
    labels = corpus.hierarchy.level_labels()
    rows = np.flatnonzero(corpus.is_row)
    out = labels[rows, 0].copy()
    for lvl in range(1, level + 1):
        if lvl >= labels.shape[1]:
            break
        column = labels[rows, lvl]
        proper = (column >= 0) & (column != rows)
        out = np.where(proper, column, out)
    return out


def cut_bertopic(hierarchy, topics: np.ndarray, k: int) -> np.ndarray:
    """Apply BERTopic's merges (by distance) until at most k topics remain; outliers (-1) stay their own group."""
    parent = {t: t for t in set(topics.tolist()) if t >= 0}

    def find(t):
        while parent[t] != t:
            t = parent[t]
        return t

    for _, row in hierarchy.sort_values("Distance").iterrows():
        roots = {find(t) for t in parent}
        if len(roots) <= k:
            break
        members = [t for t in row["Topics"] if t in parent]
        if members:
            r0 = find(members[0])
            for t in members[1:]:
                parent[find(t)] = r0
    return np.array([find(t) if t >= 0 else -1 for t in topics])


def agreement(args) -> None:
    corpus = load_newsgroups("train", sample=args.sample, seed=0)
    gold_top, gold_leaf = gold_labels(corpus)
    texts = [corpus.texts[i] for i in np.flatnonzero(corpus.is_row)]
    t = time.perf_counter()
    vectors = embedding_cache().encode(texts)
    print(f"20 Newsgroups train, seeded sample of {len(texts):,} posts (headers stripped, first 1,000 characters), "
          f"all-MiniLM-L6-v2 embeddings ({time.perf_counter() - t:.0f} s, cached after the first run). Gold: "
          f"{len(set(gold_top))} top-level groups, {len(set(gold_leaf))} newsgroups. 'groups' = clusters at that cut.\n")
    print("| method | top: groups | top NMI | top ARI | leaf: groups | leaf NMI | leaf ARI | seconds |")
    print("|---|---|---|---|---|---|---|---|")

    def report(name, top, leaf, seconds, note=""):
        print(f"| {name} | {len(set(top))} | {nmi(gold_top, top):.3f} | {ari(gold_top, top):.3f} | {len(set(leaf))} | "
              f"{nmi(gold_leaf, leaf):.3f} | {ari(gold_leaf, leaf):.3f} | {seconds:.1f} |{note}", flush=True)

    for seed in (0, 1, 2):
        t = time.perf_counter()
        top, leaf = build_level_tree(vectors, (7, 20), seed)
        report(f"ours: --levels 7,20 (UMAP, fine k-means, Ward, refined), seed {seed}", top, leaf,
               time.perf_counter() - t)
    for b in (4, 5, 7):
        t = time.perf_counter()
        tree = build_kmeans_tree(vectors, branching=b, seed=0)
        seconds = time.perf_counter() - t
        paths = tree.paths(np.arange(len(vectors)))
        sizes = tree.sizes
        top_level = min(range(1, len(sizes) - 1), key=lambda lvl: abs(sizes[lvl] - 7))
        leaf_level = min(range(1, len(sizes) - 1), key=lambda lvl: abs(sizes[lvl] - 20))
        report(f"ours: k-means tree, b={b} (levels {'/'.join(map(str, sizes[1:-1]))})", paths[:, top_level],
               paths[:, leaf_level], seconds)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found, _ = discover(corpus, "hnmfk", hnmfk_config=HNMFkConfig(max_depth=2, k_max=10))
    seconds = time.perf_counter() - t
    report("ours: HNMFk (interactive defaults, depth 2)", level_cut(found, 0), level_cut(found, 1), seconds)
    for k_top, k_leaf in ((7, 20),):
        t = time.perf_counter()
        top = spherical_kmeans(vectors, k_top, 0)[0]
        leaf = spherical_kmeans(vectors, k_leaf, 0)[0]
        report("flat spherical k-means (k = gold counts)", top, leaf, time.perf_counter() - t)
    from scipy.cluster.hierarchy import fcluster, linkage

    t = time.perf_counter()
    tree = linkage(vectors, method="ward")
    report("Ward agglomeration (cut at gold counts)", fcluster(tree, 7, "maxclust"), fcluster(tree, 20, "maxclust"),
           time.perf_counter() - t)
    try:
        import evoc
    except ImportError:
        print("| EVoC | not installed: pip install -r requirements-bench.txt |||||||")
    else:
        t = time.perf_counter()
        model = evoc.EVoC(random_state=0)
        model.fit_predict(vectors)
        seconds = time.perf_counter() - t
        layers = model.cluster_layers_  # finest first; -1 is noise, kept as one label

        def best_layer(gold):
            return max(layers, key=lambda labels: nmi(gold, labels))

        counts = "/".join(str(len(set(layer.tolist()) - {-1})) for layer in layers)
        from importlib.metadata import version

        report(f"EVoC {version('evoc')} defaults, best layer per cut (layers {counts})",
               best_layer(gold_top), best_layer(gold_leaf), seconds, " noise counted as one label")
    try:
        from bertopic import BERTopic
    except ImportError:
        print("| BERTopic | not installed: pip install -r requirements-bench.txt |||||||")
        return
    t = time.perf_counter()
    model = BERTopic(calculate_probabilities=False, verbose=False)
    topics, _ = model.fit_transform(texts, vectors)
    hierarchy = model.hierarchical_topics(texts)
    topics = np.array(topics)
    seconds = time.perf_counter() - t
    outliers = float((topics < 0).mean())
    report("BERTopic default + hierarchical_topics (cut at gold counts)", cut_bertopic(hierarchy, topics, 7),
           cut_bertopic(hierarchy, topics, 20), seconds, f" {outliers:.0%} outliers, {len(set(topics)) - 1} topics")


def ablation(args) -> None:
    """The --levels 7,20 tree one step at a time: without UMAP, UMAP with plain Ward, unrefined, and in full."""
    from scipy.cluster.hierarchy import fcluster, linkage

    from core.discovery.level_tree import cut_merges, fine_clusters, reduce_for_clustering, weighted_ward

    corpus = load_newsgroups("train", sample=args.sample, seed=0)
    gold_top, gold_leaf = gold_labels(corpus)
    vectors = embedding_cache().encode([corpus.texts[i] for i in np.flatnonzero(corpus.is_row)])
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    print(f"The --levels 7,20 tree step by step on {len(units):,} 20 Newsgroups train posts: NMI@7 / NMI@20 per seed.\n")
    print("| variant | seed 0 | seed 1 | seed 2 |\n|---|---|---|---|")
    rows: dict[str, list[str]] = {}

    def add(name, top, leaf):
        rows.setdefault(name, []).append(f"{nmi(gold_top, top):.3f} / {nmi(gold_leaf, leaf):.3f}")

    def fine_then_ward(points, fine, seed):
        if points is units:
            assign, centres = spherical_kmeans(points, fine, seed)
            used = np.unique(assign)
            assign, centres = np.searchsorted(used, assign), centres[used]
        else:
            assign, centres = fine_clusters(points, fine, seed)
        merges = weighted_ward(centres, np.bincount(assign))
        return cut_merges(merges, len(centres), 7)[assign], cut_merges(merges, len(centres), 20)[assign]

    for seed in (0, 1, 2):
        add("no UMAP: 50 spherical k-means clusters, weighted Ward", *fine_then_ward(units, 50, seed))
        points = reduce_for_clustering(units, seed)
        tree = linkage(points, method="ward")
        add("UMAP, Ward on the posts", fcluster(tree, 7, "maxclust"), fcluster(tree, 20, "maxclust"))
        add("UMAP, 300 k-means clusters, weighted Ward (no refinement)", *fine_then_ward(points, 300, seed))
        add("full: the above, refined at 20, Ward again (core.discovery.level_tree)", *build_level_tree(vectors, (7, 20), seed))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


def names(args) -> None:
    """Names of the --levels 7,20 tree two ways, with two checks a reader can rerun: coverage (share of a node's posts
    that contain one of its name words) and exclusivity (share of name words no sibling's name uses)."""
    from core.discovery.discover import class_tfidf_terms, distinctive_terms, term_counts, tfidf

    corpus = load_newsgroups("train", sample=args.sample, seed=0)
    texts = [corpus.texts[i] for i in np.flatnonzero(corpus.is_row)]
    top, leaf = build_level_tree(embedding_cache().encode(texts), (7, 20), 0)
    X, vocab = tfidf(texts)
    counts = term_counts(texts, vocab)
    present = counts > 0
    gold_top, gold_leaf = gold_labels(corpus)
    every = np.arange(len(texts))
    rows, shown = [], {}
    for level_name, labels, parents in (("top (7)", top, np.zeros(len(texts), int)), ("leaf (20)", leaf, top)):
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        class_names = class_tfidf_terms(counts, vocab, groups)
        contrast = [distinctive_terms(X, vocab, g, every if level_name.startswith("top") else np.flatnonzero(parents == parents[g[0]]))
                    for g in groups]
        for method, names_ in (("c-TF-IDF", class_names), ("TF-IDF vs parent", contrast)):
            index = {str(t): i for i, t in enumerate(vocab)}
            coverage = np.mean([present[g][:, [index[t] for t in n]].sum(axis=1).astype(bool).mean()
                                for g, n in zip(groups, names_)])
            siblings = [np.flatnonzero(np.array([parents[h[0]] == parents[g[0]] for h in groups])) for g in groups]
            exclusive = np.mean([np.mean([not any(t in names_[j] for j in sib if j != i) for t in n])
                                 for i, (n, sib) in enumerate(zip(names_, siblings))])
            rows.append((level_name, method, coverage, exclusive))
            if level_name.startswith("top"):
                shown[method] = [(" ".join(n), max(set(gold_top[g]), key=list(gold_top[g]).count)) for g, n in zip(groups, names_)]
    print(f"Names of the --levels 7,20 tree (seed 0) over {len(texts):,} 20 Newsgroups train posts, three words each.\n")
    print("| level | naming | coverage | exclusivity |\n|---|---|---|---|")
    for level_name, method, coverage, exclusive in rows:
        print(f"| {level_name} | {method} | {coverage:.3f} | {exclusive:.3f} |")
    print("\n| most posts from (gold) | c-TF-IDF | TF-IDF vs parent |\n|---|---|---|")
    for (a, gold), (b, _) in zip(shown["c-TF-IDF"], shown["TF-IDF vs parent"]):
        print(f"| {gold} | {a} | {b} |")


def heal(args) -> None:
    from core.align.encoders import AdapterEncoder
    from core.align.train import AlignConfig, align
    from core.embedding.vectors import embed_corpus
    from core.evaluation.evaluate import EvalConfig, level_metrics

    train = load_newsgroups("train", sample=args.sample, seed=0)
    test = load_newsgroups("test", sample=args.sample // 2, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found, _ = discover(train, "hnmfk", hnmfk_config=HNMFkConfig(max_depth=2, k_max=10))
    cache = embedding_cache()
    base = embed_corpus(found, None, cache)
    test_rows = np.flatnonzero(test.is_row)
    test_base = cache.encode([test.texts[i] for i in test_rows])
    config = EvalConfig()

    def gold_levels(doc_vectors_rows: np.ndarray) -> dict:
        vectors = np.zeros((test.n, doc_vectors_rows.shape[1]), dtype=np.float32)
        vectors[test_rows] = doc_vectors_rows
        return level_metrics(test, vectors, test_rows, config)

    print(f"HEAL (adapter on all-MiniLM-L6-v2) trained on the HNMFk tree discovered from {train.n_rows:,} 20 Newsgroups "
          f"TRAIN posts (no gold labels used); scored on {len(test_rows):,} TEST posts against the GOLD newsgroup tree: "
          f"per gold level, precision@10 of a post's nearest test posts sharing its label, and kNN macro-F1.\n")
    print("| model | " + " | ".join(f"gold level {lvl} P@10 / F1" for lvl in range(3)) + " | seconds |")
    print("|---|---|---|---|---|")

    def show(name, levels, seconds):
        cells = [f"{levels[str(lvl)]['precision@10']:.3f} / {levels[str(lvl)]['knn_macro_f1']:.3f}" if str(lvl) in levels else "-"
                 for lvl in range(3)]
        print(f"| {name} | " + " | ".join(cells) + f" | {seconds:.1f} |", flush=True)

    show("zero-shot MiniLM", gold_levels(test_base), 0.0)
    for steps in (300, 1000):
        t = time.perf_counter()
        result = align(found, AlignConfig(method="heal", encoder="adapter", steps=steps, eval_every=steps // 5), base)
        encoder: AdapterEncoder = result.encoder
        show(f"HEAL on discovered tree, {steps} steps (best step {result.best_step})",
             gold_levels(encoder.transform(test_base)), time.perf_counter() - t)


def incremental(args) -> None:
    """HCE trained on half the posts, then the other half added to the index in chunks, no retraining."""
    import pandas as pd

    from core.align.pseudo_queries import with_pseudo_queries
    from core.align.train import AlignConfig, align
    from core.data.corpus import corpus_from_frame
    from core.embedding.vectors import embed_corpus
    from core.evaluation.live_index import LiveIndex

    full = with_pseudo_queries(load_newsgroups("train", sample=args.sample, seed=0), seed=0)
    rows = np.flatnonzero(full.is_row)
    rng = np.random.default_rng(0)
    order = rng.permutation(rows)
    first = np.sort(order[: len(rows) // 2])
    frame = pd.DataFrame({"id": [full.ids[i] for i in first], "text": [full.texts[i] for i in first],
                          "query": [full.queries[i] for i in first],
                          "path": [full.ids[i].split("/")[0].replace(".", "/") for i in first]})
    half = corpus_from_frame(frame, "first half")
    cache = embedding_cache()
    base = embed_corpus(half, None, cache)
    t = time.perf_counter()
    result = align(half, AlignConfig(method="hce", encoder="adapter", steps=args.steps, eval_every=max(args.steps // 5, 1)), base)
    seconds = time.perf_counter() - t
    encoder = result.encoder
    all_docs = cache.encode([full.texts[i] for i in rows])  # base vectors of every post (cached)
    all_queries = cache.encode([full.queries[i] for i in rows])
    position = {node: k for k, node in enumerate(rows)}
    print(f"HCE (adapter, {args.steps} steps, {seconds:.0f} s) trained on {len(first):,} of {len(rows):,} 20 Newsgroups "
          f"posts with cloze pseudo-queries; the rest is added to the index in chunks, without retraining. Recall@10 "
          f"of each present post's own document for its pseudo-query (up to 1,000 queries per size).\n")
    print("| documents in the index | zero-shot R@10 | HCE-aligned R@10 |\n|---|---|---|")
    steps = [len(first)] + [len(first) + (len(rows) - len(first)) * j // 4 for j in range(1, 5)]
    present_order = np.concatenate([first, np.setdiff1d(order, first, assume_unique=False)[: len(rows) - len(first)]])
    aligned_docs = encoder.transform(all_docs)
    aligned_queries = encoder.transform(all_queries, side="query")
    for size in steps:
        present = present_order[:size]
        idx = np.array([position[p] for p in present])
        sample = idx if len(idx) <= 1000 else rng.choice(idx, 1000, replace=False)
        cells = []
        for docs, queries in ((all_docs, all_queries), (aligned_docs, aligned_queries)):
            live = LiveIndex(docs.shape[1])
            live.add([str(i) for i in idx], docs[idx])
            hits = live.search(queries[sample], 10)
            cells.append(np.mean([str(q) in h for q, h in zip(sample, hits)]))
        print(f"| {size:,} | {cells[0]:.3f} | {cells[1]:.3f} |", flush=True)


def speed(args) -> None:
    print("| what | time |\n|---|---|")
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((100_000, 384)).astype(np.float32)
    t = time.perf_counter()
    tree = build_kmeans_tree(vectors, branching=10, seed=0)
    print(f"| k-means tree, 100,000 x 384 random vectors, b=10 (levels {'/'.join(map(str, tree.sizes[1:]))}) | "
          f"{time.perf_counter() - t:.1f} s |")
    t = time.perf_counter()
    build_level_tree(vectors, (7, 20), 0)
    print(f"| --levels 7,20 tree, same 100,000 x 384 vectors (UMAP fitted on 20,000, the rest transformed) | "
          f"{time.perf_counter() - t:.1f} s |", flush=True)
    corpus = load_newsgroups("train", sample=5000, seed=0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found, info = discover(corpus, "hnmfk")
    print(f"| HNMFk, 5,000 20 Newsgroups posts, interactive defaults ({len(info)} topic nodes) | "
          f"{time.perf_counter() - t:.1f} s |")


def words(args) -> None:
    """NMI with the gold tree of the --levels tree clustered on the embeddings alone and with the word view (LSA of the
    TF-IDF) beside them at several weights, three seeds each, on long posts and on short WordNet glosses."""
    from core.data.builtins import load_corpus

    def newsgroups():
        corpus = load_newsgroups("train", sample=args.sample, seed=0)
        top, leaf = gold_labels(corpus)
        return (f"20 Newsgroups train, {args.sample:,} posts", [corpus.texts[i] for i in np.flatnonzero(corpus.is_row)],
                top, leaf)

    def wordnet(spec):  # synsets at depth >= 3 under their depth-1 and depth-2 ancestors (first parent's chain)
        corpus = load_corpus(spec)
        h, depth = corpus.hierarchy, corpus.hierarchy.depth

        def at(v, d):
            while depth[v] > d:
                v = int(h.parents(v)[0])
            return v

        rows = np.flatnonzero(depth >= 3)
        return (f"{spec}, {len(rows):,} synsets at depth >= 3 (glosses)", [corpus.texts[i] for i in rows],
                np.array([at(v, 1) for v in rows]), np.array([at(v, 2) for v in rows]))

    print("The --levels tree (levels = the gold tree's group counts at two depths) clustered on all-MiniLM-L6-v2 alone "
          "(word weight 0) and on [embedding, w * word view], the word view being the TF-IDF matrix reduced to 100 "
          "dimensions (LSA). NMI against the gold groups at each depth; seeds 0, 1, 2.\n")
    print("| corpus | word weight | coarse NMI (3 seeds) | fine NMI (3 seeds) | mean coarse / fine | seconds |")
    print("|---|---|---|---|---|---|")
    for name, texts, coarse, fine in (newsgroups(), wordnet("wordnet:mammal.n.01"), wordnet("wordnet:organism.n.01")):
        vectors = embedding_cache().encode(texts)
        X, _ = tfidf(texts)
        levels = (len(set(coarse)), len(set(fine)))
        for weight in (0.0, 0.5, 0.75, 1.0):
            t = time.perf_counter()
            clustered = with_word_view(vectors, X, weight)
            scores = [[nmi(gold, found) for gold, found in zip((coarse, fine), build_level_tree(clustered, levels, seed))]
                      for seed in (0, 1, 2)]
            a, b = np.array(scores).T
            print(f"| {name} ({levels[0]} / {levels[1]} groups) | {weight:g} | {' '.join(f'{x:.3f}' for x in a)} | "
                  f"{' '.join(f'{x:.3f}' for x in b)} | {a.mean():.3f} / {b.mean():.3f} | "
                  f"{time.perf_counter() - t:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["agreement", "ablation", "names", "heal", "incremental", "speed",
                        "words"])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--sample", type=int, default=3000)
    args = parser.parse_args()
    print(f"command: python bench/discovery.py {' '.join(sys.argv[1:])}\n")
    {"agreement": agreement, "ablation": ablation, "names": names, "heal": heal, "incremental": incremental, "speed": speed,
     "words": words}[args.what](args)


if __name__ == "__main__":
    main()
