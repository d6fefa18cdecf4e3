"""A training run on disk: one folder that is readable at every moment, even if the process is killed.

    status.json     state: incomplete (written first, with pid and host) -> complete | stopped | failed (with the error)
    config.json     the resolved AlignConfig (every default filled in), the corpus name and hash, the split sizes
    corpus.parquet  a snapshot of the corpus, so the run opens after a restart whatever happened to its source
    metrics.jsonl   one line per validation evaluation (appended as training goes)
    metrics.json    before (zero-shot), after, each reference (core/evaluation/reference.py) and summary; each with evaluate's keys
    queries.npy     aligned query vectors, one per corpus.query_nodes (ids in query_ids.json)
    docs.npy        aligned document vectors, one per node (ids in doc_ids.json)
    index.faiss     FAISS inner-product index over docs.npy
    model/          the sentence-transformers folder (text encoders; lookup tables have no text model)

Every file is written to a temporary name and renamed into place. `RunFolder` is the one reader: the pages and the
command line ask it for a run's config, metrics, vectors, corpus and model, and never name a file themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np

from core.align.config import AlignConfig
from core.data.corpus import Corpus
from core.errors import InputError
from core.evaluation.reference import REFERENCE_NAMES

FINISHED = ("complete", "stopped")
EMBEDDING_FILES = ("queries.npy", "docs.npy", "query_ids.json", "doc_ids.json", "index.faiss")


def zip_paths(root: Path, paths: list[Path]) -> bytes:
    """Files under `root` as zip bytes, named by their path relative to root."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


class BrokenRun(Exception):
    """A run folder that cannot be read (a missing or damaged file); the message says which."""


def corpus_hash(corpus: Corpus) -> str:
    """A fingerprint of the corpus content (ids, texts, queries, links): changes when any of them changes."""
    h = hashlib.sha256()
    for part in (corpus.ids, corpus.texts, corpus.queries or ()):
        for text in part:
            h.update(text.encode("utf-8"))
            h.update(b"\0")
        h.update(b"\1")
    h.update(corpus.hierarchy.parent_ptr.tobytes())
    h.update(corpus.hierarchy.parent_idx.tobytes())
    return h.hexdigest()[:16]


def compact(metrics: dict) -> dict:
    """The recall-by-distance part of an evaluation, for metrics.jsonl and live charts."""
    keys = ("recall_by_distance", "pairs_by_distance", "recall_overall", "recall_min", "query_metrics", "levels")
    return {k: metrics[k] for k in keys if k in metrics}


def process_alive(pid: int | None, host: str | None) -> bool | None:
    """Whether the process that wrote a status is still running; None when that cannot be told (another host)."""
    if pid is None or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunFolder:
    """The one reader (and writer) of a run folder."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    def _json(self, name: str):
        path = self.path / name
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise BrokenRun(f"{self.name}: {name} is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BrokenRun(f"{self.name}: {name} is damaged ({e})") from None

    # --- reading ------------------------------------------------------------------------------------------------------

    @property
    def status(self) -> dict:
        """status.json, with state 'interrupted' for an incomplete run whose process is gone, 'missing' if absent."""
        try:
            status = self._json("status.json")
        except BrokenRun as e:
            return {"state": "missing" if "missing" in str(e) else "broken", "error": str(e)}
        if status.get("state") == "incomplete" and process_alive(status.get("pid"), status.get("host")) is False:
            status = {**status, "state": "interrupted"}
        return status

    @property
    def state(self) -> str:
        return self.status.get("state", "broken")

    @property
    def config(self) -> dict:
        return self._json("config.json")

    @property
    def align_config(self) -> AlignConfig:
        return AlignConfig(**self.config["align"])

    @property
    def metrics(self) -> dict | None:
        """metrics.json of a finished run, None while it trains."""
        return self._json("metrics.json") if (self.path / "metrics.json").exists() else None

    @property
    def history(self) -> list[dict]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        lines = []
        for line in path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by a kill: what came before is good
        return lines

    @property
    def doc_ids(self) -> list[str]:
        return self._json("doc_ids.json")

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(aligned query vectors, aligned document vectors)."""
        try:
            return (np.load(self.path / "queries.npy", allow_pickle=False),
                    np.load(self.path / "docs.npy", allow_pickle=False))
        except (FileNotFoundError, ValueError) as e:
            raise BrokenRun(f"{self.name}: the vectors cannot be read ({e})") from None

    @cached_property
    def corpus(self) -> Corpus:
        """The corpus the run trained on, from its snapshot; checked against the run's document ids."""
        from core.data.files import load_corpus_file

        snapshot = self.path / "corpus.parquet"
        if not snapshot.exists():
            raise BrokenRun(f"{self.name}: no corpus snapshot (a run from an older version): retrain it")
        try:
            loaded = load_corpus_file(snapshot)
        except InputError as e:
            raise BrokenRun(f"{self.name}: the corpus snapshot cannot be read ({e})") from None
        name = self.config.get("corpus", snapshot.name)
        corpus = Corpus(name, loaded.hierarchy, loaded.texts, loaded.queries, loaded.is_row, loaded.layout)
        if list(corpus.ids) != self.doc_ids:
            raise BrokenRun(f"{self.name}: the corpus snapshot does not match the run's document ids")
        return corpus

    @property
    def model_path(self) -> Path | None:
        path = self.path / "model"
        return path if path.is_dir() else None

    def index(self) -> faiss.Index:
        return faiss.read_index(str(self.path / "index.faiss"))

    def has_vectors(self) -> bool:
        return (self.path / "docs.npy").exists()

    def metrics_bytes(self) -> bytes:
        return (self.path / "metrics.json").read_bytes()

    def zip_embeddings(self) -> bytes:
        """The aligned vectors, their ids and the FAISS index, as zip bytes (for a download)."""
        return zip_paths(self.path, [self.path / n for n in EMBEDDING_FILES if (self.path / n).exists()])

    def zip_model(self) -> bytes:
        """The sentence-transformers folder as zip bytes (about 90 MB for MiniLM: build it only when asked)."""
        if self.model_path is None:
            raise BrokenRun(f"{self.name}: this run has no text model (lookup tables)")
        return zip_paths(self.model_path, sorted(p for p in self.model_path.rglob("*") if p.is_file()))

    def summary(self) -> dict:
        """One row for a table of runs; a broken run says why instead of raising."""
        row = {"run": self.name, "state": self.state}
        try:
            config = self.config
        except BrokenRun as e:
            return {**row, "state": "broken", "problem": str(e)}
        align = config.get("align", {})
        row.update(corpus=config.get("corpus"), method=align.get("method"), encoder=align.get("encoder"),
                   recipe=align.get("recipe"))
        try:
            metrics = self.metrics or {}
        except BrokenRun as e:
            return {**row, "state": "broken", "problem": str(e)}
        held = {k: (metrics.get(k) or {}).get("heldout", {}) for k in ("before", "after", *REFERENCE_NAMES)}
        names = {"before": "held-out before", "after": "held-out after",
                 **{k: f"held-out {name}" for k, name in REFERENCE_NAMES.items()}}
        # a column per reference the run was scored against (the lexical ones only where queries are texts)
        row.update({names[k]: v.get("recall_overall") for k, v in held.items() if v or k in ("before", "after")})
        row["held-out min before"] = held["before"].get("recall_min")
        row["held-out min after"] = held["after"].get("recall_min")
        summary = metrics.get("summary") or {}
        verdict = summary.get("heldout_vs_zero_shot")
        row["beats zero-shot everywhere"] = None if verdict is None else verdict["everywhere"]
        references = [v for k, v in summary.items() if k.startswith("heldout_vs_reference")]
        row["beats reference everywhere"] = None if not references else all(v["everywhere"] for v in references)
        row["held-out queries"] = (metrics.get("split") or {}).get("heldout")
        return row


def list_runs(workspace: str | os.PathLike) -> list[RunFolder]:
    """Every run folder under <workspace>/runs, newest first (hidden temporary folders skipped)."""
    root = Path(workspace) / "runs"
    if not root.is_dir():
        return []
    return [RunFolder(p) for p in sorted(root.iterdir(), reverse=True) if p.is_dir() and not p.name.startswith(".")]


def prepare_out(out: str | os.PathLike, overwrite: bool = False, create: bool = True) -> Path:
    """Check (and create) a run folder before training: one InputError line when it cannot be used. With
    create=False only the checks run, nothing is written (a tuning study checks --out before its search)."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {out}", "is an existing file, not a folder", "name a new folder for the run")
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise InputError(f"--out {out}", "is a folder that already holds files (another run's?)",
                             "name a new folder, or pass --overwrite to replace its contents")
        if not (folder / "status.json").exists() and not (folder / "config.json").exists():
            raise InputError(f"--out {out}", "holds files that are not a run's, so --overwrite will not delete them",
                             "name a new folder for the run")
        if not create:
            return folder
        shutil.rmtree(folder)
    if not create:
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise InputError(f"--out {out}", f"cannot be written ({e.strerror or e})",
                         "pick a folder you can write to") from None
    return folder


def read_status(folder: str | os.PathLike) -> dict:
    return RunFolder(folder).status
