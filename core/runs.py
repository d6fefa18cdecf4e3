"""A training run on disk: one folder that is readable at every moment, even if the process is killed.

    status.json     state: incomplete (written first) -> complete | stopped | failed (with the error)
    config.json     the AlignConfig, the corpus, the split sizes
    metrics.jsonl   one line per validation evaluation (appended as training goes)
    metrics.json    before (zero-shot or initial) and after, each with evaluate's keys, heldout included
    queries.npy     aligned query vectors, one per corpus.query_nodes (ids in query_ids.json)
    docs.npy        aligned document vectors, one per node (ids in doc_ids.json)
    index.faiss     FAISS inner-product index over docs.npy
    model/          the sentence-transformers folder (adapter and finetune; lookup tables have no text model)

Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np

from core.atomic import atomic_write, write_json, write_npy
from core.corpus import Corpus
from core.evaluate import EvalConfig, evaluate_embeddings
from core.export import export_encoder
from core.index import build_index
from core.train import AlignConfig, AlignResult, Callback, Trainer, _no_callback


def read_status(folder: Path) -> dict:
    path = Path(folder) / "status.json"
    return json.loads(path.read_text()) if path.exists() else {"state": "missing"}


def compact(metrics: dict) -> dict:
    """The recall-by-distance part of an evaluation, for metrics.jsonl and live charts."""
    keys = ("recall_by_distance", "pairs_by_distance", "recall_overall", "recall_min", "query_metrics", "levels")
    return {k: metrics[k] for k in keys if k in metrics}


def run_alignment(
    corpus: Corpus,
    config: AlignConfig,
    out: str | os.PathLike,
    base: tuple[np.ndarray, np.ndarray] | None = None,
    callback: Callback = _no_callback,
    stop: threading.Event | None = None,
) -> AlignResult:
    """Train and write the run folder; an exception marks the run failed (and is re-raised)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.time()
    write_json(folder / "status.json", {"state": "incomplete", "started": started, "pid": os.getpid()})
    metrics_log = folder / "metrics.jsonl"
    metrics_log.write_text("")
    try:
        trainer = Trainer(corpus, config, base, stop=stop)
        write_json(folder / "config.json", {"corpus": corpus.name, "align": asdict(config), "split": trainer.split_sizes()})

        def log_and_forward(event: dict) -> None:
            if event["type"] == "eval":
                line = {k: v for k, v in event.items() if k != "metrics"} | compact(event["metrics"])
                with open(metrics_log, "a") as f:  # one short line per evaluation: appends are all-or-nothing here
                    f.write(json.dumps(line) + "\n")
            callback(event)

        trainer.callback = log_and_forward
        eval_config = EvalConfig(heldout_fraction=config.heldout_fraction, seed=config.seed)
        from core.encoders import encode_all

        before = evaluate_embeddings(corpus, *encode_all(trainer.encoder, len(corpus.query_nodes)), eval_config)
        result = trainer.run()
        after = evaluate_embeddings(corpus, result.queries, result.docs, eval_config)
        write_npy(folder / "queries.npy", result.queries)
        write_npy(folder / "docs.npy", result.docs)
        write_json(folder / "query_ids.json", [corpus.ids[i] for i in corpus.query_nodes])
        write_json(folder / "doc_ids.json", list(corpus.ids))
        index = build_index(result.docs)
        atomic_write(folder / "index.faiss", lambda tmp: faiss.write_index(index, tmp))
        model_path = None
        if config.encoder != "lookup":
            from core.embeddings import load_model

            model_path = export_encoder(result.encoder, folder / "model", load_model(config.model, "cpu"))
        write_json(folder / "metrics.json", {"before": before, "after": after, "best_step": result.best_step,
                                             "stopped": result.stopped, "seconds": round(result.seconds, 2),
                                             "split": result.split})
        write_json(folder / "status.json", {"state": "stopped" if result.stopped else "complete", "started": started,
                                            "finished": time.time(), "model": str(model_path) if model_path else None})
        return result
    except BaseException as e:
        write_json(folder / "status.json", {"state": "failed", "started": started, "finished": time.time(),
                                            "error": f"{type(e).__name__}: {e}"})
        raise
