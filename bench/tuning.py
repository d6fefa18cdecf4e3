"""Does a tuning study pay? The defaults against the study's best, both scored once on held-out queries after the search.

    python bench/tuning.py                       # mammal (hr adapter), then mammal synonyms (hr adapter)
    python bench/tuning.py mammal --trials 30 --timeout 300
    python bench/tuning.py synonyms --method flat
    python bench/tuning.py --spaces              # every method's and encoder's search space, as a table

Per corpus: train the defaults; run a fresh study (median pruning, validation queries only, SQLite in a temporary
folder) of --trials finished trials within --timeout seconds; train the best trial's configuration; score both runs
on the held-out queries (seeded 20%, never trained on, never read by the study). The table reports the study's
trials (complete / pruned), its wall time, and held-out recall by distance (the HR paper's metric: overall, distance 0,
the minimum) for the defaults and the best. Base embeddings come from the on-disk cache and are shared by every trial.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from core.align.config import AlignConfig
from core.data.builtins import load_corpus
from core.embedding.model import embedding_cache
from core.embedding.vectors import embed_corpus
from core.runs.alignment import run_alignment
from core.tuning import TuneSettings, tune

CORPORA = {"mammal": "wordnet:mammal.n.01", "synonyms": "wordnet-synonyms:mammal.n.01"}


def heldout(folder: Path) -> dict:
    after = json.loads((folder / "metrics.json").read_text())["after"]["heldout"]
    return {"overall": after["recall_overall"], "d0": after["recall_by_distance"]["0"], "min": after["recall_min"]}


def bench(name: str, method: str, encoder: str, trials: int, timeout: float, root: Path) -> dict:
    corpus = load_corpus(CORPORA[name])
    base = embed_corpus(corpus, None, embedding_cache())
    defaults = AlignConfig(method=method, encoder=encoder)
    run_alignment(corpus, defaults, root / f"{name}-defaults", base)
    t0 = time.perf_counter()
    result = tune(corpus, method, TuneSettings(trials=trials, timeout=timeout, storage=f"sqlite:///{root / 'studies.db'}",
                                               study=name), encoder=encoder, base=base)
    seconds = time.perf_counter() - t0
    states = [t.state.name for t in result.study.trials]
    run_alignment(corpus, result.best_config, root / f"{name}-best", base)
    defaults_trial = next(t for t in result.study.trials if t.user_attrs.get("note") == "defaults")
    return {"corpus": CORPORA[name], "method": f"{method}/{encoder}", "seconds": seconds,
            "complete": states.count("COMPLETE"), "pruned": states.count("PRUNED"),
            "val_defaults": defaults_trial.value, "val_best": result.best_value,
            "defaults": heldout(root / f"{name}-defaults"), "best": heldout(root / f"{name}-best"),
            "best_config": {k: getattr(result.best_config, k) for k in result.study.best_trial.params}}


def print_spaces() -> None:
    from core.align.config import ENCODERS, METHODS, search_space
    from core.errors import InputError

    print("| method | encoder | searched options (range; log = sampled on a log scale; if = only when) |")
    print("|---|---|---|")
    for method in METHODS:
        for encoder in ENCODERS:
            try:
                AlignConfig(method=method, encoder=encoder).validate()
            except InputError:
                continue
            parts = []
            for name, d in search_space(method, encoder).items():
                what = (" / ".join(map(str, d.choices)) if d.kind == "choice"
                        else f"{d.low:g}-{d.high:g}" + (" log" if d.log else "") + (f" step {d.step}" if d.step and
                                                                                   d.step > 1 else ""))
                parts.append(f"`{name}` {what}" + (f" (if {d.when[0]} {'/'.join(map(str, d.when[1]))})" if d.when else ""))
            print(f"| {method} | {encoder} | {'; '.join(parts)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", default=list(CORPORA), help=f"any of {', '.join(CORPORA)}")
    parser.add_argument("--method", default="hr")
    parser.add_argument("--encoder", default="adapter")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--spaces", action="store_true", help="print every search space and stop")
    args = parser.parse_args()
    if args.spaces:
        print_spaces()
        return
    unknown = [c for c in args.corpora if c not in CORPORA]
    if unknown:
        parser.error(f"unknown corpus {unknown[0]!r}: use any of {', '.join(CORPORA)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.corpora:
            rows.append(bench(name, args.method, args.encoder, args.trials, args.timeout, Path(tmp)))
    print(f"command: python bench/tuning.py {' '.join(args.corpora)} --method {args.method} --encoder {args.encoder} "
          f"--trials {args.trials} --timeout {args.timeout:g}")
    print("| corpus | method | trials complete / pruned | study s | validation: defaults / best | "
          "held-out overall: defaults / best | held-out D0: defaults / best | held-out min: defaults / best |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        d, b = r["defaults"], r["best"]
        print(f"| {r['corpus']} | {r['method']} | {r['complete']} / {r['pruned']} | {r['seconds']:.0f} | "
              f"{r['val_defaults']:.3f} / {r['val_best']:.3f} | {100 * d['overall']:.1f} / {100 * b['overall']:.1f} "
              f"({100 * (b['overall'] - d['overall']):+.1f}) | {100 * d['d0']:.1f} / {100 * b['d0']:.1f} | "
              f"{100 * d['min']:.1f} / {100 * b['min']:.1f} |")
    for r in rows:
        print(f"best options, {r['corpus']}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                       for k, v in r["best_config"].items()))


if __name__ == "__main__":
    main()
