"""`python -m core bench`: the engine's speed and memory targets, measured side by side and printed as a table.

- encode: core.embedding.model.encode vs plain SentenceTransformer.encode on the same texts, alternating, median of runs;
- ancestors: all (node, ancestor, distance) pairs of all WordNet nouns;
- evaluate: `python -m core evaluate wordnet:entity.n.01` with cached embeddings, in a subprocess (wall time and its
  peak resident memory). The first run encodes 164k texts to fill the cache (minutes on a CPU); that is not timed.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCH_COMMAND = "python -m core bench"


def _median_time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def bench_encode(n_texts: int, repeats: int) -> list[tuple[str, str, str]]:
    from core.data.builtins import wordnet_nouns
    from core.embedding.model import encode, load_model

    nouns = wordnet_nouns()
    rng = np.random.default_rng(0)
    texts = [nouns.texts[i] for i in rng.choice(nouns.n, n_texts, replace=False)]
    model = load_model(None, "auto")
    model.encode(texts[:64], batch_size=64)  # warm-up
    ours, theirs = [], []
    for _ in range(repeats):  # alternate so drift in machine load hits both equally
        t = time.perf_counter()
        encode(texts, model, batch_size=64)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        theirs.append(time.perf_counter() - t)
    ours_m, theirs_m = statistics.median(ours), statistics.median(theirs)
    return [
        ("encode, sentence-transformers encode", f"{n_texts / theirs_m:,.0f} texts/s", f"median of {repeats}, {n_texts} WordNet texts, batch 64, {model.device}"),
        ("encode, core.embedding.model.encode", f"{n_texts / ours_m:,.0f} texts/s", "same texts, alternating with the above"),
        ("encode throughput ratio (ours / theirs)", f"{theirs_m / ours_m:.3f}", "target >= 0.95"),
    ]


def bench_load(n_rows: int, repeats: int) -> list[tuple[str, str, str]]:
    """Load a generated CSV of n_rows with a parents column (a random DAG) and one with a path column."""
    import pandas as pd

    from core.data.files import load_corpus_file

    rng = np.random.default_rng(0)
    words = np.array("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split())
    texts = [" ".join(words[rng.integers(0, len(words), 30)]) for _ in range(n_rows)]
    parents = ["" if i < 10 else "|".join(str(p) for p in sorted(set(rng.integers(0, i, rng.integers(1, 3)).tolist())))
               for i in range(n_rows)]
    paths = [f"g{i % 20}/s{i % 300}/t{i % 3000}" for i in range(n_rows)]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for column, values in (("parents", parents), ("path", paths)):
            path = f"{folder}/{column}.csv"
            pd.DataFrame({"id": np.arange(n_rows).astype(str), "text": texts, column: values}).to_csv(path, index=False)
            seconds, corpus = _median_time(lambda p=path: load_corpus_file(p), repeats)
            rows.append((f"load a {n_rows:,}-row CSV with a {column} column", f"{seconds:.2f} s",
                         f"median of {repeats}; parse, validate, cycle check; {corpus.n:,} nodes; target < 5 s"))
    return rows


def bench_ancestors(repeats: int) -> list[tuple[str, str, str]]:
    from core.data.builtins import wordnet_nouns
    from core.data.hierarchy import Hierarchy

    h = wordnet_nouns().hierarchy

    def compute():
        fresh = Hierarchy(h.ids, h.parent_ptr, h.parent_idx)  # no cached layers or ancestors
        return fresh.ancestors

    seconds, anc = _median_time(compute, repeats)
    return [("ancestors of all WordNet nouns", f"{seconds:.3f} s", f"median of {repeats}; {h.n:,} nodes, {len(anc):,} pairs incl. self; target < 5 s")]


def bench_deep_chain(nodes: int, repeats: int) -> list[tuple[str, str, str]]:
    """`info`'s statistics on a single chain: the deepest hierarchy there is, n(n+1)/2 ancestor pairs."""
    from core.data.files import load_corpus_file

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "chain.csv")
        rows = ["id,text,parents"] + [f"n{i},node {i},{f'n{i - 1}' if i else ''}" for i in range(nodes)]
        with open(path, "w") as f:
            f.write("\n".join(rows) + "\n")
        seconds, stats = _median_time(lambda: load_corpus_file(path).stats(), repeats)
    return [(f"load + stats of a {nodes:,}-node chain", f"{seconds:.2f} s",
             f"median of {repeats}; {stats['ancestor_pairs']:,} ancestor pairs; target < 5 s")]


def bench_evaluate(corpus: str, workspace: str | None) -> list[tuple[str, str, str]]:
    from core.data.builtins import load_corpus
    from core.embedding.model import embedding_cache
    from core.embedding.vectors import embed_corpus

    c = load_corpus(corpus)
    t = time.perf_counter()
    embed_corpus(c, None, embedding_cache(workspace))  # fills the cache if needed; not part of the timing
    fill = time.perf_counter() - t
    env = dict(os.environ)
    if workspace:
        env["HIERALIGN_WORKSPACE"] = workspace
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "core", "evaluate", corpus, "--quiet", "--out", out], check=True,
                       env=env, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return [
        (f"zero-shot evaluate {corpus}, cached embeddings", f"{seconds:.1f} s", f"whole command in a subprocess; {len(c.query_nodes):,} queries x {c.n:,} documents; target < 60 s"),
        ("  peak memory of that command", f"{peak_mb:,.0f} MB", "max resident set size"),
        ("  (filling the embedding cache first)", f"{fill:.1f} s", "0 when already cached; not part of the target"),
    ]


def run_bench(quick: bool = False, workspace: str | None = None) -> list[tuple[str, str, str]]:
    import torch

    rows = []
    rows += bench_encode(256 if quick else 2048, 3 if quick else 5)
    rows += bench_load(10_000 if quick else 100_000, 3)
    rows += bench_ancestors(3 if quick else 5)
    rows += bench_deep_chain(5000, 3)
    rows += bench_evaluate("wordnet:mammal.n.01" if quick else "wordnet:entity.n.01", workspace)
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"command: {BENCH_COMMAND}{' --quick' if quick else ''}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"| {'what':<{width}} | {'result':>{vwidth}} | notes |")
    print(f"|{'-' * (width + 2)}|{'-' * (vwidth + 2)}|-------|")
    for what, value, notes in rows:
        print(f"| {what:<{width}} | {value:>{vwidth}} | {notes} |")
    return rows
