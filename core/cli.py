"""`python -m core`: the engine from the command line (info, evaluate, export, align, tune, hierarchy, bench).

Bad input ends with one line on stderr starting with `error:` and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.atomic import write_json
from core.data.builtins import load_corpus
from core.errors import InputError


class ProgressBars:
    """A tqdm bar per stage, fed by the engine's plain (stage, done, total) callbacks."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="", leave=False, file=sys.stderr)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def stage(self, name: str):
        return lambda done, total: self(name, done, total)


def format_recall_table(metrics: dict) -> str:
    """Distance rows with pairs, recall (all queries), recall@k and held-out recall; overall and min at the end."""
    held = metrics.get("heldout", {})
    k = metrics["recall_at_k"]["k"]
    lines = [f"{'distance':>8} {'pairs':>9} {'recall':>7} {f'R@{k}':>7} {'heldout':>8}"]
    for d, pairs in metrics["pairs_by_distance"].items():
        held_r = held.get("recall_by_distance", {}).get(d)
        lines.append(f"{d:>8} {pairs:>9} {metrics['recall_by_distance'][d]:>7.1%} "
                     f"{metrics['recall_at_k']['recall_by_distance'][d]:>7.1%} "
                     f"{'-' if held_r is None else f'{held_r:.1%}':>8}")
    for key, name in (("recall_overall", "overall"), ("recall_min", "min")):
        held_v = held.get(key)
        lines.append(f"{name:>8} {sum(metrics['pairs_by_distance'].values()) if key == 'recall_overall' else '':>9} "
                     f"{metrics[key]:>7.1%} {metrics['recall_at_k'][key]:>7.1%} "
                     f"{'-' if held_v is None else f'{held_v:.1%}':>8}")
    if "query_metrics" in metrics:
        lines.append("query's own row: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics["query_metrics"].items()))
    for level, values in metrics.get("levels", {}).items():
        lines.append(f"level {level} ({values['labels']} labels): " + ", ".join(
            f"{k} {v:.3f}" for k, v in values.items() if isinstance(v, float)))
    return "\n".join(lines)


def cmd_info(args) -> int:
    corpus = load_corpus(args.corpus)
    stats = corpus.stats()
    if args.json:
        print(json.dumps(stats))
    else:
        width = max(map(len, stats))
        for key, value in stats.items():
            print(f"{key:<{width}}  {value:,}" if isinstance(value, int) and not isinstance(value, bool) else f"{key:<{width}}  {value}")
    return 0


def cmd_evaluate(args) -> int:
    from core.embedding.model import embedding_cache
    from core.embedding.vectors import embed_corpus
    from core.evaluation.evaluate import EvalConfig, evaluate_embeddings

    bars = ProgressBars(not args.quiet)
    corpus = load_corpus(args.corpus)
    phrasings = None
    if args.queries:
        from core.data.phrasings import load_phrasings

        if (args.model or "").startswith("gaussian"):
            raise InputError(f"--queries with --model {args.model}", "the Gaussian reference embedding encodes no text",
                             "drop --queries, or evaluate a text model")
        phrasings = load_phrasings(args.queries, corpus)  # checked before anything is encoded
    config = EvalConfig(heldout_fraction=args.heldout, seed=args.seed, index=args.index)
    t0 = time.perf_counter()
    queries, docs = embed_corpus(corpus, args.model, embedding_cache(args.workspace), device=args.device,
                                 seed=args.seed, progress=bars)
    t1 = time.perf_counter()
    metrics = evaluate_embeddings(corpus, queries, docs, config, progress=bars.stage("search"))
    if not (args.model or "").startswith("gaussian"):
        from core.evaluation.reference import reference_metrics, reference_ranking

        metrics["reference"] = reference_metrics(corpus, reference_ranking(corpus, queries, docs), config)
    if phrasings is not None:
        from core.embedding.vectors import BaseVectors
        from core.evaluation.phrasings import score_phrasings

        vectors = embedding_cache(args.workspace).encode(list(phrasings.texts), args.model, device=args.device)
        metrics["new_phrasings"] = score_phrasings(corpus, phrasings, vectors, BaseVectors(queries, docs))
    t2 = time.perf_counter()
    metrics.update(corpus=corpus.name, model=args.model or "all-MiniLM-L6-v2",
                   seconds={"embed": round(t1 - t0, 2), "evaluate": round(t2 - t1, 2)})
    # a document is a row's text (as `info` counts them); a path corpus's label nodes are searched too, as nodes
    labels = corpus.n - corpus.n_rows
    print(f"{corpus.name}: {len(corpus.query_nodes):,} queries ({metrics['heldout']['queries']:,} held out), "
          f"{corpus.n_rows:,} documents" + (f" and {labels:,} label nodes" if labels else "")
          + f", model {metrics['model']}")
    print(format_recall_table(metrics))
    if "reference" in metrics:
        print("held-out queries, zero-shot next to the link-and-walk reference:")
        print(format_comparison({"zero-shot": metrics["heldout"], "link-and-walk": metrics["reference"]["heldout"]}))
    if phrasings is not None:
        print_phrasings(metrics["new_phrasings"])
    print(f"embed {t1 - t0:.1f} s, evaluate {t2 - t1:.1f} s")
    if args.out:
        path = Path(args.out) / "metrics.json"
        write_json(path, metrics)
        print(f"wrote {path}")
    return 0


def cmd_export(args) -> int:
    from core.data.files import save_corpus

    corpus = load_corpus(args.corpus)
    path = save_corpus(corpus, args.out)
    print(f"wrote {corpus.n_rows:,} rows of {corpus.name} to {path}")
    return 0


def format_comparison(columns: dict[str, dict]) -> str:
    """Recall by distance of several evaluations side by side (one split), overall and min at the end."""
    names = list(columns)
    first = columns[names[0]]
    widths = [max(9, len(n) + 1) for n in names]
    lines = [f"{'distance':>8} {'pairs':>8} " + " ".join(f"{n:>{w}}" for n, w in zip(names, widths))]
    for d, pairs in first["pairs_by_distance"].items():
        cells = [f"{columns[n]['recall_by_distance'].get(d, float('nan')):>{w}.1%}" for n, w in zip(names, widths)]
        lines.append(f"{d:>8} {pairs:>8} " + " ".join(cells))
    for key, label in (("recall_overall", "overall"), ("recall_min", "min")):
        lines.append(f"{label:>8} {'':>8} " + " ".join(f"{columns[n][key]:>{w}.1%}" for n, w in zip(names, widths)))
    return "\n".join(lines)


def verdict_lines(summary: dict) -> list[str]:
    """One plain sentence per comparison of a run's held-out recall."""
    from core.evaluation.reference import REFERENCE_NAMES

    if "nothing_to_score" in summary:
        return [f"held-out: {summary['nothing_to_score']}"]
    out = []
    for key, verdict in summary.items():
        if not key.startswith("heldout_vs_"):
            continue
        name = key.removeprefix("heldout_vs_")
        name = f"the {REFERENCE_NAMES[name]} reference" if name in REFERENCE_NAMES else name.replace("_", " ")
        if verdict["everywhere"]:
            out.append(f"held-out: at or above {name} at every distance (overall {verdict['overall_gain']:+.1%})")
        else:
            behind = ", ".join(f"distance {d} by {gap:.1%}" for d, gap in verdict["behind_at"].items())
            out.append(f"held-out: BELOW {name} at {behind} (overall {verdict['overall_gain']:+.1%})")
    return out


class StopOnInterrupt:
    """The first Ctrl-C asks the run to stop (best checkpoint kept, every file written, status 'stopped'), as the app's
    Stop button does; a second Ctrl-C aborts."""

    def __init__(self, stop):
        self.stop, self.previous = stop, None

    def __enter__(self):
        import signal

        def handler(signum, frame):
            if self.stop.is_set():
                raise KeyboardInterrupt
            self.stop.set()
            print("\nstopping: keeping the best checkpoint and writing the run (Ctrl-C again to abort)", file=sys.stderr)

        self.previous = signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        import signal

        signal.signal(signal.SIGINT, self.previous)
        return False


def cmd_align(args) -> int:
    import threading
    from dataclasses import fields, replace

    from core.align.config import AlignConfig
    from core.align.encoders import ENCODER_KINDS
    from core.align.plan import require_hierarchy
    from core.align.train import steps_for_epochs
    from core.embedding.model import embedding_cache
    from core.embedding.vectors import embed_corpus
    from core.runs.alignment import run_alignment
    from core.runs.folder import prepare_out

    values = {f.name: getattr(args, f.name) for f in fields(AlignConfig) if getattr(args, f.name, None) is not None}
    config = AlignConfig(**values).resolved()  # every option checked before anything is loaded or written
    prepare_out(args.out, args.overwrite)
    corpus = load_corpus(args.corpus)
    require_hierarchy(corpus)  # before any model is loaded
    phrasings = None
    if args.queries:
        from core.data.phrasings import load_phrasings

        if not ENCODER_KINDS[config.encoder].reads_text:
            raise InputError(f"--queries with --encoder {config.encoder}", "lookup tables cannot encode new text",
                             "drop --queries, or pick a text encoder (adapter, finetune, memory)")
        phrasings = load_phrasings(args.queries, corpus)
    if args.epochs is not None:
        if args.epochs <= 0:
            raise InputError(f"--epochs {args.epochs}", "must be a positive number", "give e.g. --epochs 2")
        config = replace(config, steps=steps_for_epochs(corpus, config, args.epochs))
    bars = ProgressBars(not args.quiet)
    stop = threading.Event()
    with StopOnInterrupt(stop):
        base = None
        if ENCODER_KINDS[config.encoder].reads_text:
            base = embed_corpus(corpus, config.model, embedding_cache(args.workspace), device=config.device,
                                clauses=config.uses_clauses, progress=bars)
        phrasing_vectors = None if phrasings is None else embedding_cache(args.workspace).encode(
            list(phrasings.texts), config.model, device=config.device)
        from tqdm import tqdm

        bar = tqdm(total=1, desc=f"{config.method}/{config.encoder}", unit="step", file=sys.stderr, disable=args.quiet)
        last = {"overall": None}

        def on_event(event: dict) -> None:
            if event["type"] == "start":
                bar.reset(total=event["total_steps"])
            elif event["type"] == "step":
                bar.update(event["step"] - bar.n)
                bar.set_postfix(loss=f"{event['loss']:.3f}", val=last["overall"], phase=event["phase"], refresh=False)
            elif event["type"] == "eval":
                last["overall"] = f"{event['metrics']['recall_overall']:.3f}"

        result = run_alignment(corpus, config, args.out, base, callback=on_event, stop=stop, overwrite=True,
                               phrasings=phrasings, phrasing_vectors=phrasing_vectors)
        bar.close()
    print_run(corpus, config, result, args.out)
    return 0


def print_run(corpus, config, result, out) -> None:
    """The finished run's held-out table next to zero-shot and every reference, its verdicts, and where it went."""
    from core.align.encoders import ENCODER_KINDS

    metrics = json.loads((Path(out) / "metrics.json").read_text())
    split = result.split
    print(f"{corpus.name}: {config.method}, {config.encoder}, {config.recipe}; {split['train']:,} training queries, "
          f"{split['validation']:,} validation, {split['heldout']:,} held out"
          + (" (lookup tables: held-out queries are untrained, so validation is in-sample)" if split["validation_in_sample"] else ""))
    split_key = "all queries (in-sample)" if split["validation_in_sample"] else "held-out queries"
    columns = {"zero-shot" if ENCODER_KINDS[config.encoder].reads_text else "before": metrics["before"], "after": metrics["after"]}
    from core.evaluation.reference import REFERENCE_NAMES

    columns.update({name: metrics[key] for key, name in REFERENCE_NAMES.items() if key in metrics})
    pick = (lambda m: m) if split["validation_in_sample"] else (lambda m: m["heldout"])
    print(f"recall by distance, {split_key}:")
    print(format_comparison({k: pick(v) for k, v in columns.items()}))
    for line in [] if split["validation_in_sample"] else verdict_lines(metrics["summary"]):
        print(line)
    if "new_phrasings" in metrics:
        print_phrasings(metrics["new_phrasings"])
    print(f"{result.seconds:.1f} s, best checkpoint at step {result.best_step}" + (", stopped early" if result.stopped else ""))
    print(f"wrote {out}")


def cmd_tune(args) -> int:
    """Search a method's options with an Optuna study, print its trials and the best options; with --out, train the
    best into a run folder whose held-out queries are scored then, once."""
    import threading
    from dataclasses import fields

    from core.align.config import AlignConfig
    from core.align.encoders import ENCODER_KINDS
    from core.runs.folder import prepare_out
    from core.tuning.study import TuneSettings, base_config, fit_to_corpus, searched_dimensions, trials_frame, tune

    if args.method is None:
        raise InputError("tune", "needs the method to tune", "add --method memory, hr, flat, heal or hce")
    skip = {"method", "encoder"}
    fixed = {f.name: getattr(args, f.name) for f in fields(AlignConfig)
             if f.name not in skip and getattr(args, f.name, None) is not None}
    settings = TuneSettings(trials=args.trials, timeout=args.timeout, storage=args.storage, study=args.study,
                            seed=args.seed or 0, pruner=args.pruner, workspace=args.workspace).validate()
    config = base_config(args.method, args.encoder, fixed)  # every option checked, nothing loaded or written yet
    searched_dimensions(config, fixed)
    if args.out:
        prepare_out(args.out, args.overwrite, create=False)
    corpus = load_corpus(args.corpus)
    from core.align.plan import require_hierarchy

    require_hierarchy(corpus)
    fit_to_corpus(searched_dimensions(config, fixed), corpus)
    from core.tuning.storage import open_storage

    open_storage(settings.storage, settings.workspace)  # an unreachable storage fails here, before any encoding
    base = None
    if ENCODER_KINDS[config.encoder].reads_text:
        from core.embedding.model import embedding_cache
        from core.embedding.vectors import embed_corpus

        base = embed_corpus(corpus, config.model, embedding_cache(args.workspace), device=config.device,
                            clauses=config.uses_clauses, progress=ProgressBars(not args.quiet))

    def on_event(event: dict) -> None:
        if event["type"] == "trial" and not args.quiet:
            value = "" if event["value"] is None else f" {event['value']:.4f}"
            best = "" if event["best_value"] is None else f"; best {event['best_value']:.4f} (#{event['best_number']})"
            note = f" [{event['note']}]" if event.get("note") else ""
            print(f"trial {event['number']}: {event['state'].lower()}{value}{note}; {event['finished']} finished{best}; "
                  f"{event['seconds']:.0f} s", file=sys.stderr)

    stop = threading.Event()
    with StopOnInterrupt(stop):
        result = tune(corpus, args.method, settings, encoder=args.encoder, fixed=fixed, base=base,
                      callback=on_event, stop=stop)
    frame = trials_frame(result.study)
    print(f"study {result.study.study_name!r}: {result.finished} finished trials of {settings.trials} asked, "
          f"{result.seconds:.0f} s in this call" + (" (stopped before the end)" if result.stopped else ""))
    if len(frame):
        with __import__("pandas").option_context("display.width", 200, "display.max_columns", 40):
            print(frame.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if result.best_config is None:
        print("no trial completed yet: nothing to report", file=sys.stderr)
        return 1
    best = max((t for t in result.study.trials if t.value is not None and t.state.name == "COMPLETE"),
               key=lambda t: (t.value, -t.number))
    print(f"best: trial {best.number}, validation score {best.value:.4f} ({config.method}'s checkpoint score)")
    for name, value in best.params.items():
        print(f"  --{name.replace('_', '-')} {value}")
    if args.out:
        from core.runs.alignment import run_alignment

        run = run_alignment(corpus, result.best_config, args.out, base, overwrite=args.overwrite)
        print_run(corpus, run.config, run, args.out)
    return 0


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One --option per AlignConfig field, with its comment as help, so every knob is reachable and recorded."""
    import re
    from dataclasses import fields

    from core.align.config import AlignConfig

    source = Path(__file__).with_name("align").joinpath("config.py").read_text()
    for f in fields(AlignConfig):
        match = re.search(rf"^    {f.name}: .*?# (.*)$", source, re.M)
        help_text = (match[1] if match else "") + ("" if f.default is None else f" (default {f.default})")
        flag = "--" + f.name.replace("_", "-")
        kind = str(f.type)
        if "bool" in kind:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(flag, type=int if "int" in kind else float if "float" in kind else str, default=None,
                                help=help_text)


def cmd_hierarchy(args) -> int:
    import numpy as np

    from core.data.files import save_corpus
    from core.discovery.discover import check_discovery_options, check_word_weight, discover
    from core.discovery.hnmfk import HNMFkConfig
    from core.discovery.level_tree import parse_levels

    levels = parse_levels(args.levels) if args.levels is not None else None
    check_discovery_options(args.method, args.branching, args.depth, levels)  # before any loading, encoding or writing
    check_word_weight(args.word_weight, args.method)
    corpus = load_corpus(args.corpus)
    bars = ProgressBars(not args.quiet)
    vectors = None
    if args.method == "kmeans":
        from core.embedding.model import embedding_cache

        rows = np.flatnonzero(corpus.is_row)
        texts = [corpus.texts[i] for i in rows]
        vectors = embedding_cache(args.workspace).encode(texts, args.model, device=args.device,
                                                         progress=bars.stage("encode documents"))
    config = None
    if args.method == "hnmfk":
        base = HNMFkConfig.reference if args.reference else HNMFkConfig
        overrides = {"seed": args.seed}
        if args.depth is not None:
            overrides["max_depth"] = args.depth
        if args.perturbations is not None:
            overrides["perturbations"] = args.perturbations
        if args.k_max is not None:
            overrides["k_max"] = args.k_max
        config = base(**overrides)
    t = time.perf_counter()
    discovered, info = discover(corpus, args.method, vectors=vectors, branching=args.branching, depth=args.depth,
                                levels=levels, naming=args.naming, hnmfk_config=config, word_weight=args.word_weight,
                                seed=args.seed, progress=bars.stage("split nodes"))
    seconds = time.perf_counter() - t
    save_corpus(discovered, args.out)
    h = discovered.hierarchy
    per_level = np.bincount(h.depth[~discovered.is_row], minlength=h.max_depth) if h.n > discovered.n_rows else []
    print(f"{corpus.name}: {args.method} hierarchy over {discovered.n_rows:,} documents in {seconds:.1f} s: "
          f"{h.n - discovered.n_rows:,} topic nodes, levels {' / '.join(str(int(c)) for c in per_level)}")
    for path, node in sorted(info.items(), key=lambda kv: -kv[1].size):
        if "/" not in path:
            print(f"  {node.size:>7,}  {path}")
    print(f"wrote {args.out}")
    return 0


def cmd_bench(args) -> int:
    from core.bench import run_bench

    run_bench(quick=args.quick, workspace=args.workspace)
    return 0


QUERIES_HELP = ("a file of id,query rows (CSV, TSV, JSONL or Parquet): new phrasings of the corpus's nodes, never "
                "trained on, scored like held-out queries next to zero-shot and every reference")


def print_phrasings(block: dict) -> None:
    """The new-phrasings table: recall by distance of every column the block holds, and the node's own MRR@10."""
    from core.evaluation.reference import REFERENCE_NAMES

    names = {"before": "zero-shot", "after": "after", **REFERENCE_NAMES}
    columns = {names[k]: block[k] for k in names if k in block}
    print(f"new phrasings ({block['source']}, {block['queries']:,} queries, never trained on):")
    print(format_comparison(columns))
    print("MRR@10 of the query's own node: " + ", ".join(
        f"{name} {m['query_metrics']['mrr@10']:.3f}" for name, m in columns.items()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="hieralign: align text embeddings with a hierarchy")
    sub = parser.add_subparsers(dest="command", required=True)
    corpus_help = ("a corpus file or folder, or a built-in: wordnet:<synset> (e.g. wordnet:mammal.n.01), "
                   "wordnet-synonyms:<synset> (queried by synonyms), synthetic:HxW")

    p = sub.add_parser("info", help="counts and shape of a corpus")
    p.add_argument("corpus", help=corpus_help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("evaluate", help="zero-shot recall by distance and other metrics of a model on a corpus")
    p.add_argument("corpus", help=corpus_help)
    p.add_argument("--model", default=None, help="sentence-transformers folder or hub name (default: bundled "
                   "all-MiniLM-L6-v2), or gaussian:D for the HR paper's constructive reference embedding")
    p.add_argument("--out", help="folder to write metrics.json into")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    p.add_argument("--heldout", type=float, default=0.2, help="share of queries in the held-out split (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split (default 0)")
    p.add_argument("--index", choices=("exact", "hnsw"), default="exact", help="FAISS index (default exact)")
    p.add_argument("--queries", default=None, help=QUERIES_HELP)
    p.add_argument("--workspace", help="where caches live (default ./workspace or $HIERALIGN_WORKSPACE)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="write a corpus (built-ins included) as a corpus file")
    p.add_argument("corpus", help=corpus_help)
    p.add_argument("--out", required=True, help="file to write: .csv, .tsv, .jsonl or .parquet (text formats may end .gz)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("align", help="train hierarchy-aligned embeddings and write a run folder")
    p.add_argument("corpus", help=corpus_help)
    p.add_argument("--out", required=True, help="run folder to write (new or empty)")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--epochs", type=float, default=None, help="passes over the training pairs; sets --steps")
    p.add_argument("--queries", default=None, help=QUERIES_HELP)
    p.add_argument("--workspace", help="where caches live (default ./workspace or $HIERALIGN_WORKSPACE)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_options(p)
    p.set_defaults(func=cmd_align)

    p = sub.add_parser("tune", help="search a method's options with an Optuna study, scored on validation queries only")
    p.add_argument("corpus", help=corpus_help)
    p.add_argument("--trials", type=int, required=True, help="finished trials (complete or pruned) the study should "
                   "hold; a rerun resumes it, a second worker shares it")
    p.add_argument("--timeout", type=float, default=None, help="most seconds of searching in this call")
    p.add_argument("--storage", default=None, help="SQLAlchemy URL of the study storage (default "
                   "sqlite:///<workspace>/studies.db; postgresql://... for workers on several machines)")
    p.add_argument("--study", default=None, help="study name (default '<corpus> <method>/<encoder>')")
    p.add_argument("--pruner", choices=("median", "halving", "none"), default="median",
                   help="stops trials whose validation score trails: median (default), successive halving, or none")
    p.add_argument("--out", default=None, help="train the best configuration into this run folder, scored on held-out "
                   "queries once, at the end")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--workspace", help="where caches and the default study storage live (default ./workspace)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_config_options(p)  # an option given is fixed for every trial, and left out of the search
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("hierarchy", help="discover a hierarchy (HNMFk or k-means tree) and write the corpus with it")
    p.add_argument("corpus", help=corpus_help)
    p.add_argument("--method", choices=("hnmfk", "kmeans"), default="kmeans", help="discovery method (default kmeans)")
    p.add_argument("--out", required=True, help="corpus file to write (with a path column)")
    p.add_argument("--branching", type=int, default=10, help="kmeans: fan-in per level (default 10)")
    p.add_argument("--depth", type=int, default=None, help="levels below the root to keep (hnmfk default 3)")
    p.add_argument("--naming", choices=("tfidf", "ctfidf"), default="tfidf",
                   help="node names: TF-IDF against the parent (default) or class-based TF-IDF across the level")
    p.add_argument("--levels", default=None,
                   help="kmeans: topics per level, coarse to fine, e.g. 7,20 (UMAP, fine k-means, Ward; each level "
                   "as good as a flat clustering of its size); without it, HCE's bottom-up tree by --branching")
    p.add_argument("--word-weight", type=float, default=0.0,
                   help="kmeans: cluster the documents' words too (TF-IDF reduced to 100 dimensions, this weight beside "
                   "the unit embedding; default 0, the embeddings alone). 0.5-0.75 lifted agreement with the gold tree "
                   "on long posts (20 Newsgroups) and lowered it on one-line glosses (WordNet): docs/benchmarks.md")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--perturbations", type=int, default=None, help="hnmfk: perturbed copies per k (default 4; reference 20)")
    p.add_argument("--k-max", type=int, default=None, help="hnmfk: largest k tried at the root (default 10)")
    p.add_argument("--reference", action="store_true", help="hnmfk: the reference implementation's defaults (slower)")
    p.add_argument("--model", default=None, help="kmeans: embedding model (default bundled all-MiniLM-L6-v2)")
    p.add_argument("--device", default="auto")
    p.add_argument("--workspace", help="where caches live (default ./workspace or $HIERALIGN_WORKSPACE)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_hierarchy)

    p = sub.add_parser("bench", help="benchmarks: encode throughput, ancestors, zero-shot evaluation of all nouns")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--workspace", help="where caches live (default ./workspace or $HIERALIGN_WORKSPACE)")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
