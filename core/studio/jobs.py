"""Training in a background thread, for the app (and anyone else who wants to poll instead of block).

A job runs `run_alignment` into its own run folder under `<workspace>/runs/`, named by time, method and a random
suffix so two sessions never write the same folder. The job keeps every event the trainer reports; a UI polls
`job.snapshot()` and sets `job.stop` to end the run cleanly.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.align.train import AlignConfig
from core.data.corpus import Corpus
from core.data.phrasings import Phrasings


def new_run_dir(workspace: Path, config: AlignConfig) -> Path:
    """A new, empty run folder under <workspace>/runs; created here (exist_ok=False), so two sessions never share one."""
    root = Path(workspace) / "runs"
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        resolved = config.resolved()
        folder = root / f"{stamp}-{resolved.method}-{resolved.encoder}-{uuid.uuid4().hex[:6]}"
        try:
            folder.mkdir(exist_ok=False)
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder under {root}")


@dataclass
class TrainingJob:
    corpus: Corpus
    config: AlignConfig
    folder: Path
    base: tuple[np.ndarray, np.ndarray] | None = None  # encoded in the thread when a text encoder needs it
    workspace: Path | None = None  # where the embedding cache lives (default: the run folder's workspace)
    phrasings: Phrasings | None = None  # new phrasings to score after training (text encoders only)
    events: list[dict] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    state: str = "starting"  # starting | encoding | running | complete | stopped | failed
    error: str | None = None
    started: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> TrainingJob:
        self._thread = threading.Thread(target=self._run, name=f"train-{self.folder.name}", daemon=True)
        self._thread.start()
        return self

    def _on_event(self, event: dict) -> None:
        with self._lock:
            self.events.append(event)
            if event["type"] == "start":
                self.state = "running"

    def _run(self) -> None:
        from core.align.encoders import ENCODER_KINDS
        from core.runs.alignment import run_alignment

        try:
            config = self.config.resolved()
            if self.base is None and ENCODER_KINDS[config.encoder].reads_text:  # text encoders start from base vectors
                from core.embedding.model import embedding_cache
                from core.embedding.vectors import embed_corpus

                self.state = "encoding"
                self.base = embed_corpus(self.corpus, config.model, embedding_cache(self.workspace), device=config.device,
                                         clauses=config.uses_clauses,
                                         progress=lambda stage, d, t: self._on_event({"type": "encode", "stage": stage,
                                                                                      "done": d, "total": t}))
            phrasings = self.phrasings if ENCODER_KINDS[config.encoder].reads_text else None
            vectors = None
            if phrasings is not None:
                from core.embedding.model import embedding_cache

                vectors = embedding_cache(self.workspace).encode(list(phrasings.texts), config.model,
                                                                 device=config.device)
            result = run_alignment(self.corpus, self.config, self.folder, self.base, callback=self._on_event,
                                   stop=self.stop, phrasings=phrasings, phrasing_vectors=vectors)
            self.state = "stopped" if result.stopped else "complete"
        except Exception as e:  # shown to the user; the run folder is marked failed by run_alignment
            self.state, self.error = "failed", f"{type(e).__name__}: {e}"

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> dict:
        """A consistent copy of progress so far: steps and losses, evaluation events, totals, an ETA."""
        with self._lock:
            events = list(self.events)
        steps = [e for e in events if e["type"] == "step"]
        evals = [e for e in events if e["type"] == "eval"]
        total = next((e["total_steps"] for e in events if e["type"] == "start"), None)
        done = steps[-1]["step"] if steps else 0
        elapsed = steps[-1]["seconds"] if steps else 0.0
        eta = elapsed / done * (total - done) if steps and total else None
        encode = next((e for e in reversed(events) if e["type"] == "encode"), None)
        return {"state": self.state, "encode": encode, "error": self.error, "total": total, "done": done, "eta": eta,
                "steps": [e["step"] for e in steps], "losses": [e["loss"] for e in steps], "evals": evals,
                "folder": str(self.folder)}


@dataclass
class TuningJob:
    """A tuning study (core/tuning/) in a background thread; the trials live in the storage, so a page reads the table
    from there, and this object only carries progress: the running trial's last step, the ended trials, the state."""

    corpus: Corpus
    method: str
    encoder: str | None
    settings: object  # core.tuning.TuneSettings
    fixed: dict = field(default_factory=dict)
    workspace: Path | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    state: str = "starting"  # starting | encoding | running | complete | stopped | failed
    error: str | None = None
    study_name: str | None = None
    best_config: AlignConfig | None = None
    trial: dict | None = None  # the running trial: {"number", "step", "total"}
    ended: list[dict] = field(default_factory=list)  # {"type": "trial", ...} events, in order
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> TuningJob:
        self._thread = threading.Thread(target=self._run, name="tune", daemon=True)
        self._thread.start()
        return self

    def _on_event(self, event: dict) -> None:
        with self._lock:
            if event["type"] == "trial":
                self.ended.append(event)
                self.trial = None
            elif event["type"] == "start":
                self.state = "running"
                self.trial = {"number": event["trial"], "step": 0, "total": event["total_steps"]}
            elif event["type"] == "step" and self.trial is not None:
                self.trial["step"] = event["step"]

    def _run(self) -> None:
        from core.align.encoders import ENCODER_KINDS
        from core.tuning import tune

        try:
            config = AlignConfig(method=self.method, encoder=self.encoder).resolved()
            base = None
            if ENCODER_KINDS[config.encoder].reads_text:
                from core.embedding.model import embedding_cache
                from core.embedding.vectors import embed_corpus

                self.state = "encoding"
                base = embed_corpus(self.corpus, self.fixed.get("model"), embedding_cache(self.workspace),
                                    clauses=config.uses_clauses)
            result = tune(self.corpus, self.method, self.settings, encoder=self.encoder, fixed=self.fixed, base=base,
                          callback=self._on_event, stop=self.stop)
            self.study_name, self.best_config = result.study.study_name, result.best_config
            self.state = "stopped" if result.stopped else "complete"
        except Exception as e:  # shown to the user; every finished trial stays in the storage
            self.state, self.error = "failed", f"{type(e).__name__}: {e}"

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> dict:
        with self._lock:
            return {"state": self.state, "error": self.error, "trial": dict(self.trial) if self.trial else None,
                    "ended": list(self.ended)}
