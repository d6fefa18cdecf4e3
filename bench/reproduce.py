"""Reproduction runs for the alignment engine; prints markdown tables for docs/reproduction.md.

    python bench/reproduce.py synthetic      # HR lookup tables on synthetic:4x5 (seconds)
    python bench/reproduce.py mammal         # HR lookup tables on wordnet:mammal.n.01, d = 4, 8, 16, 64 (about a minute)
    python bench/reproduce.py nouns --dims 32 64 --steps 20000   # all WordNet nouns, lookup (long on a CPU)
    python bench/reproduce.py softmax-speed  # one full-softmax step over all nouns: plain vs blocked vs sampled
    python bench/reproduce.py speed          # adapter epoch over 10k documents
    python bench/reproduce.py finetune-speed # finetune mode vs sentence-transformers' trainer (pip install -r requirements-bench.txt)

Every number comes from core.align.train / core.evaluation.evaluate, the same code the CLI and the app run.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np

from core.align.plan import plan_run
from core.align.train import AlignConfig, Trainer, align
from core.data.builtins import load_corpus
from core.evaluation.evaluate import EvalConfig, evaluate_embeddings


def row(name: str, metrics: dict, seconds: float, max_d: int, extra: str = "") -> str:
    r = metrics["recall_by_distance"]
    cells = [f"{100 * r[str(d)]:.1f}" if str(d) in r else "" for d in range(max_d + 1)]
    return f"| {name} | " + " | ".join(cells) + f" | {100 * metrics['recall_overall']:.1f} | {100 * metrics['recall_min']:.1f} | {seconds:.1f} |{extra}"


def timed_row(name: str, corpus, config: AlignConfig, max_d: int, base=None) -> str:
    """Train, evaluate on all queries, and format one table row with the wall-clock seconds it took."""
    t = time.perf_counter()
    r = align(corpus, config, base)
    return row(name, evaluate_embeddings(corpus, r.queries, r.docs), time.perf_counter() - t, max_d)


def header(max_d: int, first: str = "run") -> str:
    ds = " | ".join(f"D{d}" for d in range(max_d + 1))
    return f"| {first} | {ds} | overall | min | seconds |\n|" + "---|" * (max_d + 5)


def synthetic(args) -> None:
    corpus = load_corpus("synthetic:4x5")
    print(f"synthetic:4x5 (156 nodes), HR loss, lookup tables, Adam lr {args.lr}, batch 256, {args.steps} pretrain "
          f"+ {args.steps} finetune steps, temperature T=20 dividing raw dot products, far phase T=500, far = distance >= 2,"
          f" regular sampler weights:0.85,0.1,0.04,0.01 (distance 0/1/2/3). Recall on all queries (lookup = in-sample).\n")
    print(header(3))
    for dim in args.dims:
        base = AlignConfig(method="hr", encoder="lookup", dim=dim, steps=args.steps, lr=args.lr, temperature=20,
                           similarity="dot", sampler="weights:0.85,0.1,0.04,0.01", far_threshold=2,
                           far_temperature=500, eval_every=50, eval_queries=156)
        for sampler in ("weights:0.85,0.1,0.04,0.01", "pairs"):
            label = "regular" if sampler != "pairs" else "uniform over pairs"
            print(timed_row(f"d={dim} standard, {label}", corpus, replace(base, sampler=sampler), 3), flush=True)
        for factor in (1e-3, 1e-2, 1e-1):
            config = replace(base, recipe="pretrain-finetune", far_lr_factor=factor)
            print(timed_row(f"d={dim} pretrain-finetune, lr x {factor:g}", corpus, config, 3), flush=True)


def mammal(args) -> None:
    corpus = load_corpus("wordnet:mammal.n.01")
    print(f"wordnet:mammal.n.01 (1,182 nodes, 7,724 pairs), HR loss, lookup tables, Adam lr {args.lr}, batch 256, "
          f"{args.steps} steps per phase, T=20 dividing raw dot products, sampler uniform over pairs; "
          f"pretrain-finetune: far = distance >= {args.far}, lr x 0.01, T=500. Recall on all queries (in-sample).\n")
    print(header(9))
    t_all = time.perf_counter()
    for dim in args.dims:
        config = AlignConfig(method="hr", encoder="lookup", dim=dim, steps=args.steps, lr=args.lr, temperature=20,
                             similarity="dot", sampler="pairs", far_threshold=args.far, far_lr_factor=1e-2,
                             far_temperature=500, eval_every=100, eval_queries=1182)
        for recipe in ("standard", "pretrain-finetune"):
            print(timed_row(f"d={dim} {recipe}", corpus, replace(config, recipe=recipe), 9), flush=True)
    print(f"\nwhole grid: {time.perf_counter() - t_all:.1f} s")


def nouns(args) -> None:
    """One pretrain-finetune run per dimension: the model at the end of pretraining is the 'standard' row (what plain
    training gives after the same steps), the best checkpoint after the far phase the 'pretrain-finetune' row."""
    from core.align.encoders import encode_all

    corpus = load_corpus(args.corpus)
    softmax = f"sampled softmax over {args.negatives:,} documents" if args.negatives else "full softmax"
    print(f"{corpus.name} ({corpus.n:,} nodes, {len(corpus.hierarchy.ancestors):,} pairs incl. self), HR loss, lookup "
          f"tables, {softmax}, Adam lr {args.lr}, batch {args.batch}, {args.steps} pretrain + {args.finetune_steps} far "
          f"steps, T=20 dividing raw dot products, sampler uniform over pairs, far = distance >= {args.far}, far lr x "
          f"{args.factor:g}, T=500. Recall on all queries (lookup tables: in-sample, as in the paper).\n")
    print(header(8))
    for dim in args.dims:
        config = AlignConfig(method="hr", encoder="lookup", dim=dim, steps=args.steps, lr=args.lr, temperature=20,
                             similarity="dot", sampler="pairs", far_threshold=args.far, recipe="pretrain-finetune",
                             far_steps=args.finetune_steps, far_lr_factor=args.factor, far_temperature=500,
                             batch_size=args.batch, eval_every=args.eval_every, eval_queries=2000,
                             softmax_negatives=args.negatives)
        run = {"started": time.perf_counter()}

        def report(event: dict, dim=dim, run=run) -> None:  # print as it goes: a run cut short still reports
            if event["type"] == "eval":
                print(row(f"d={dim} {event['phase']} step {event['step']} (validation sample)", event["metrics"],
                          event["seconds"], 8), flush=True)
            if event["type"] == "phase" and event["phase"] == "far":  # end of pretraining = standard training
                queries, docs = encode_all(run["trainer"].encoder, len(corpus.query_nodes))
                m = evaluate_embeddings(corpus, queries, docs, EvalConfig())
                print(row(f"**d={dim} standard (end of pretraining, all queries)**", m,
                          time.perf_counter() - run["started"], 8), flush=True)

        run["trainer"] = Trainer(plan_run(corpus, config), callback=report)
        result = run["trainer"].run()
        m = evaluate_embeddings(corpus, result.queries, result.docs, EvalConfig())
        print(row(f"**d={dim} pretrain-finetune (best checkpoint, all queries)**", m,
                  time.perf_counter() - run["started"], 8), flush=True)


def softmax_speed(args) -> None:
    """One HR step's loss + backward over every WordNet noun: the plain (B, N) computation, the blocked one the
    engine uses, and a sampled softmax; median of `repeats` timings after two warm-up steps."""
    import torch
    import torch.nn.functional as F

    from core.align.losses import hr_sampled_softmax_loss
    from core.align.losses.full_softmax import blocked_softmax_cross_entropy

    n, d, batch = 82_115, 64, args.batch
    torch.manual_seed(0)
    docs = torch.randn(n, d, requires_grad=True)
    queries = torch.randn(batch, d, requires_grad=True)
    targets = torch.randint(n, (batch,))
    sampled = torch.randint(n, (8192,))
    variants = {
        "plain full softmax (F.cross_entropy on the (B, N) logits)": lambda: F.cross_entropy(queries @ docs.T / 20, targets),
        "blocked full softmax (core/align/losses/full_softmax.py)": lambda: blocked_softmax_cross_entropy(queries, docs, targets, 20.0),
        "sampled softmax, 8,192 documents": lambda: hr_sampled_softmax_loss(queries, docs, targets, sampled, 20.0, "dot"),
    }
    print(f"{n:,} documents, d = {d}, batch {batch}, {torch.get_num_threads()} threads; median of {args.repeats}\n")
    print("| loss | seconds per step (forward + backward) | vs plain |\n|---|---|---|")
    plain = None
    for name, loss in variants.items():
        for _ in range(2):
            loss().backward()
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            loss().backward()
            times.append(time.perf_counter() - t)
        median = float(np.median(times))
        plain = plain or median
        print(f"| {name} | {median:.3f} | {plain / median:.2f}x |", flush=True)


def speed(args) -> None:
    """An adapter 'epoch' = one pass over the corpus's documents in batches (ceil(N / batch) steps); every HR step
    scores its queries against ALL N documents, so the head runs over all of them each step."""
    import torch

    rng = np.random.default_rng(0)
    corpus = load_corpus("wordnet:person.n.01")
    n = corpus.n
    base = (rng.standard_normal((len(corpus.query_nodes), 384)).astype(np.float32),
            rng.standard_normal((n, 384)).astype(np.float32))
    base = tuple(b / np.linalg.norm(b, axis=1, keepdims=True) for b in base)
    print(f"threads: {torch.get_num_threads()}; wordnet:person.n.01, {n:,} documents; batch 256; random base vectors "
          f"(speed only)\n")
    print("| method, head | steps (one pass over the documents) | seconds |\n|---|---|---|")
    steps = int(np.ceil(n / 256))
    for method in ("hr", "flat", "heal", "hce"):
        for head in ("mlp", "linear"):
            config = AlignConfig(method=method, encoder="adapter", head=head, steps=steps, eval_every=10**9)
            trainer = Trainer(plan_run(corpus, config, base))
            events = []
            trainer.callback = events.append
            trainer.run()
            step_seconds = [e["seconds"] for e in events if e["type"] == "step"]
            seconds = step_seconds[-1] - step_seconds[0] + (step_seconds[1] - step_seconds[0])
            print(f"| {method}, {head} | {steps} | {seconds:.1f} |", flush=True)


def finetune_speed(args) -> None:
    """Finetune mode (flat loss = in-batch softmax) vs sentence-transformers' own trainer with
    MultipleNegativesRankingLoss, same model, pairs and batch size; seconds per step, alternating runs."""
    import copy
    import tempfile

    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    from core.embedding.model import embedding_cache, load_model
    from core.embedding.vectors import embed_corpus

    corpus = load_corpus("wordnet:mammal.n.01")
    base = embed_corpus(corpus, None, embedding_cache())
    steps, batch = args.steps, 32
    config = AlignConfig(method="flat", encoder="finetune", steps=steps, batch_size=batch, eval_every=10**9,
                         eval_queries=10, sampler="pairs")
    trainer = Trainer(plan_run(corpus, config, base))
    pairs = trainer.objective.pairs
    rng = np.random.default_rng(0)
    take = rng.choice(len(pairs), steps * batch)
    queries = corpus.query_texts()
    data = Dataset.from_dict({"anchor": [queries[pairs.query[i]] for i in take],
                              "positive": [corpus.texts[pairs.doc[i]] for i in take]})
    ours, theirs = [], []
    for _ in range(args.repeats):
        events = []
        trainer = Trainer(plan_run(corpus, config, base), callback=events.append)
        trainer.run()
        times = [e["seconds"] for e in events if e["type"] == "step"]
        ours.append((times[-1] - times[0]) / (len(times) - 1))
        model = copy.deepcopy(load_model(None, "cpu"))
        with tempfile.TemporaryDirectory() as out:
            st_args = SentenceTransformerTrainingArguments(output_dir=out, per_device_train_batch_size=batch, max_steps=steps,
                                                           learning_rate=1e-3, save_strategy="no", report_to=[],
                                                           logging_steps=10**6, use_cpu=True, dataloader_drop_last=True)
            st = SentenceTransformerTrainer(model=model, args=st_args, train_dataset=data,
                                            loss=MultipleNegativesRankingLoss(model))
            theirs.append(st.train().metrics["train_runtime"] / steps)
    o, t = float(np.median(ours)), float(np.median(theirs))
    print(f"wordnet:mammal.n.01 query-ancestor pairs, all-MiniLM-L6-v2, batch {batch}, {steps} steps, median of "
          f"{args.repeats} alternating runs, CPU\n")
    print("| trainer | seconds per step |\n|---|---|")
    print(f"| hieralign finetune mode, flat loss | {o:.3f} |")
    print(f"| sentence-transformers trainer, MultipleNegativesRankingLoss | {t:.3f} |")
    print(f"| ratio (theirs / ours; >= 0.9 means within 10%) | {t / o:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["synthetic", "mammal", "nouns", "speed", "finetune-speed",
                                         "softmax-speed"])
    parser.add_argument("--negatives", type=int, default=0, help="nouns: sampled softmax over this many documents")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--dims", type=int, nargs="+")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--finetune-steps", type=int, default=5000)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--far", type=int)
    parser.add_argument("--factor", type=float, default=1e-2)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--corpus", default=None)
    args = parser.parse_args()
    defaults = {"synthetic": dict(dims=[3, 8, 16], steps=3000, lr=0.05, far=2),
                "mammal": dict(dims=[4, 8, 16, 64], steps=1500, lr=0.05, far=4),
                "nouns": dict(dims=[32, 64], steps=20000, lr=0.02, far=5),
                "speed": dict(dims=None, steps=None, lr=None, far=None),
                "finetune-speed": dict(dims=None, steps=20, lr=None, far=None),
                "softmax-speed": dict(dims=None, steps=None, lr=None, far=None, repeats=5)}[args.what]
    args.corpus = args.corpus or ("wordnet:entity.n.01" if args.what == "nouns" else "wordnet:mammal.n.01")
    defaults.setdefault("repeats", 3)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    print(f"command: python bench/reproduce.py {' '.join(sys.argv[1:])}\n")
    {"synthetic": synthetic, "mammal": mammal, "nouns": nouns, "speed": speed,
     "finetune-speed": finetune_speed, "softmax-speed": softmax_speed}[args.what](args)


if __name__ == "__main__":
    main()
