"""Train and record one run: the run folder (core/runs/folder.py) filled as training goes, then scored.

`run_alignment` writes status.json first, then the corpus snapshot and the resolved config, logs every validation
evaluation to metrics.jsonl, and at the end writes the vectors, the index, the exported model and metrics.json with the
run scored next to zero-shot and every reference on held-out queries. An exception marks the run failed.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import asdict

import faiss
import numpy as np

from core.align.config import AlignConfig
from core.align.encoders import encode_new_queries
from core.align.export import export_encoder
from core.align.plan import as_base_vectors, plan_run
from core.align.train import AlignResult, Callback, Trainer, no_callback
from core.atomic import atomic_write, write_json, write_npy
from core.data.corpus import Corpus
from core.data.phrasings import Phrasings
from core.embedding.vectors import BaseVectors
from core.evaluation.evaluate import EvalConfig, evaluate_embeddings, retrieval_metrics
from core.evaluation.index import build_index, search
from core.evaluation.phrasings import score_phrasings
from core.evaluation.reference import beats, reference_metrics
from core.runs.folder import compact, corpus_hash, prepare_out


def run_alignment(
    corpus: Corpus,
    config: AlignConfig,
    out: str | os.PathLike,
    base: BaseVectors | tuple | None = None,
    callback: Callback = no_callback,
    stop: threading.Event | None = None,
    overwrite: bool = False,
    phrasings: Phrasings | None = None,
    phrasing_vectors: np.ndarray | None = None,
) -> AlignResult:
    """Train and write the run folder; an exception marks the run failed (and is re-raised).

    Options are checked and the folder prepared before anything is written, so a bad option leaves no folder. With
    `phrasings` (new phrasings of the corpus's nodes, never trained on) and their base vectors `phrasing_vectors`,
    metrics.json also scores them after training next to zero-shot and every reference (`new_phrasings`)."""
    config = config.resolved()
    if phrasings is not None and (phrasing_vectors is None or len(phrasing_vectors) != len(phrasings)):
        raise ValueError("new phrasings need their base vectors, one per phrasing")
    folder = prepare_out(out, overwrite)
    base = as_base_vectors(base)
    started = time.time()
    write_json(folder / "status.json", {"state": "incomplete", "started": started, "pid": os.getpid(),
                                        "host": socket.gethostname()})
    metrics_log = folder / "metrics.jsonl"
    metrics_log.write_text("")
    try:
        from core.data.files import save_corpus

        save_corpus(corpus, folder / "corpus.parquet")
        plan = plan_run(corpus, config, base, lexical_references=True)  # the split and references, once
        trainer = Trainer(plan, stop=stop)
        write_json(folder / "config.json", {"corpus": corpus.name, "corpus_hash": corpus_hash(corpus),
                                            "align": asdict(trainer.config), "split": trainer.split_sizes()})

        def log_and_forward(event: dict) -> None:
            if event["type"] == "eval":
                line = {k: v for k, v in event.items() if k != "metrics"} | compact(event["metrics"])
                with open(metrics_log, "a") as f:  # one short line per evaluation: appends are all-or-nothing here
                    f.write(json.dumps(line) + "\n")
            callback(event)

        trainer.callback = log_and_forward
        eval_config = EvalConfig(heldout_fraction=config.heldout_fraction, seed=config.seed)
        rankings = plan.references
        references = {name: reference_metrics(corpus, ranking, eval_config) for name, ranking in rankings.items()}
        from core.align.encoders import encode_all

        start = (base.queries, base.docs) if base is not None else encode_all(trainer.encoder, len(corpus.query_nodes))
        before = evaluate_embeddings(corpus, *start, eval_config)
        # the live chart compares validation curves with the same queries' zero-shot and reference recall
        validation = trainer.split.validation
        nodes = corpus.query_nodes[validation]
        width = rankings["reference"].shape[1] if rankings else max(10, int(corpus.hierarchy.ancestors.sizes().max()))
        _, zero_shot = search(build_index(start[1]), start[0][validation], width)
        callback({"type": "baselines", "split": "validation",
                  "before": compact(retrieval_metrics(corpus, zero_shot, nodes, 10)),
                  **{name: compact(retrieval_metrics(corpus, ranking[validation], nodes, 10))
                     for name, ranking in rankings.items()}})
        result = trainer.run()
        after = evaluate_embeddings(corpus, result.queries, result.docs, eval_config)
        write_npy(folder / "queries.npy", result.queries)
        write_npy(folder / "docs.npy", result.docs)
        write_json(folder / "query_ids.json", [corpus.ids[i] for i in corpus.query_nodes])
        write_json(folder / "doc_ids.json", list(corpus.ids))
        index = build_index(result.docs)
        atomic_write(folder / "index.faiss", lambda tmp: faiss.write_index(index, tmp))
        model_path = None
        if plan.kind.reads_text:
            from core.embedding.model import load_model

            model_path = export_encoder(result.encoder, folder / "model", load_model(config.model, "cpu"))
        extra = {}
        if phrasings is not None:
            aligned = encode_new_queries(result.encoder, list(phrasings.texts), phrasing_vectors)
            extra["new_phrasings"] = score_phrasings(corpus, phrasings, phrasing_vectors, base, (aligned, result.docs),
                                                     clauses=config.uses_clauses)
        write_json(folder / "metrics.json", {"before": before, "after": after, **references, **extra,
                                             "summary": run_summary(before, after, references),
                                             "best_step": result.best_step, "stopped": result.stopped,
                                             "seconds": round(result.seconds, 2), "split": result.split})
        write_json(folder / "status.json", {"state": "stopped" if result.stopped else "complete", "started": started,
                                            "finished": time.time(), "pid": os.getpid(), "host": socket.gethostname(),
                                            "model": str(model_path) if model_path else None})
        return result
    except BaseException as e:
        write_json(folder / "status.json", {"state": "failed", "started": started, "finished": time.time(),
                                            "error": f"{type(e).__name__}: {e}"})
        raise


NOTHING_TO_SCORE = "no held-out queries, so there was nothing to score: no verdict either way"


def run_summary(before: dict, after: dict, references: dict) -> dict:
    """Plain answers: did the run beat zero-shot and every reference at every distance, on held-out queries? With no
    held-out (query, ancestor) pair there is no evidence, and the summary says so instead of a verdict."""
    if not sum(after["heldout"].get("pairs_by_distance", {}).values()):
        return {"nothing_to_score": NOTHING_TO_SCORE, "beats_every_reference_everywhere": None}
    out = {"heldout_vs_zero_shot": beats(after["heldout"], before["heldout"])}
    for name, metrics in references.items():
        out[f"heldout_vs_{name}"] = beats(after["heldout"], metrics["heldout"])
    verdicts = [v["everywhere"] for k, v in out.items() if k.startswith("heldout_vs_reference")]
    out["beats_every_reference_everywhere"] = bool(verdicts) and all(verdicts)
    return out
