"""What every page shares: cached loaders, the active corpus in the session, and render helpers.

Pages stay thin scripts; everything that computes lives in `core`. Bad input is shown with st.error (the engine's
one-line message), never as a traceback.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.builtins import DEMO, load_corpus
from core.corpus import Corpus
from core.corpus_files import load_corpus_bytes
from core.errors import InputError
from core.jobs import TrainingJob, new_run_dir
from core.runs import read_status
from core.train import AlignConfig
from core.workspace import embedding_cache, workspace_dir

ACTIVE = "active_corpus"  # session key: the Corpus the pages work on
JOB = "job_folder"  # session key: the run folder of this session's current training job


@st.cache_resource(show_spinner="Loading corpus…", max_entries=8)
def cached_corpus(spec: str) -> Corpus:
    """A built-in or a path, loaded once per process (the corpus caches its ancestors and depths itself)."""
    return load_corpus(spec)


@st.cache_resource(show_spinner="Reading upload…", max_entries=4)
def _cached_upload(name: str, digest: str, _data: bytes) -> Corpus:
    return load_corpus_bytes(name, _data)


def load_spec(spec: str) -> Corpus | None:
    """Load or show the error in place."""
    try:
        return cached_corpus(spec.strip())
    except InputError as e:
        st.error(str(e), icon=":material/error:")
        return None


def load_upload(uploaded) -> Corpus | None:
    data = uploaded.getvalue()
    try:
        return _cached_upload(uploaded.name, hashlib.sha256(data).hexdigest(), data)
    except InputError as e:
        st.error(str(e), icon=":material/error:")
        return None


def active_corpus() -> Corpus:
    """The corpus picked on the Corpus page; the built-in demo until one is picked."""
    if ACTIVE not in st.session_state:
        st.session_state[ACTIVE] = cached_corpus(DEMO)
    return st.session_state[ACTIVE]


def set_active(corpus: Corpus) -> None:
    st.session_state[ACTIVE] = corpus


def sidebar_status() -> None:
    corpus = st.session_state.get(ACTIVE)
    with st.sidebar:
        st.caption("Active corpus")
        if corpus is None:
            st.write(f"`{DEMO}` (default)")
        else:
            st.write(f"`{corpus.name}`: {corpus.n:,} nodes, depth {corpus.hierarchy.max_depth}")


def render_stats(corpus: Corpus) -> None:
    stats = corpus.stats()
    cols = st.columns(6)
    for col, (label, key) in zip(cols, [("Nodes", "nodes"), ("Documents", "documents"), ("Queries", "queries"),
                                        ("Roots", "roots"), ("Max depth", "max_depth"), ("Ancestor pairs", "ancestor_pairs")]):
        col.metric(label, f"{stats[key]:,}")
    notes = []
    if stats["label_nodes"]:
        notes.append(f"{stats['label_nodes']:,} label nodes made from the `path` column")
    if stats["multi_parent_nodes"]:
        notes.append(f"{stats['multi_parent_nodes']:,} nodes have several parents (a DAG)")
    notes.append("a tree" if stats["is_tree"] else "not a tree")
    st.caption(" · ".join(notes))


def sample_rows(corpus: Corpus, n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A seeded sample of rows with their parents and depth, in corpus order."""
    rows = np.flatnonzero(corpus.is_row)
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    h = corpus.hierarchy
    frame = {
        "id": [h.ids[i] for i in rows],
        "text": [corpus.texts[i] for i in rows],
        "parents": [" | ".join(h.ids[p] for p in h.parents(i)) for i in rows],
        "depth": h.depth[rows],
    }
    if corpus.queries is not None:
        frame["query"] = [corpus.queries[i] for i in rows]
    return pd.DataFrame(frame)


# --- training jobs and runs ------------------------------------------------------------------------------------------


@st.cache_resource
def _jobs() -> dict[str, TrainingJob]:
    """Every job this server process started, by run folder (kept across page switches and reruns)."""
    return {}


def start_job(corpus: Corpus, config: AlignConfig) -> TrainingJob:
    folder = new_run_dir(workspace_dir(), config)
    job = TrainingJob(corpus, config, folder, workspace=workspace_dir()).start()
    _jobs()[str(folder)] = job
    st.session_state[JOB] = str(folder)
    return job


def current_job() -> TrainingJob | None:
    folder = st.session_state.get(JOB)
    return _jobs().get(folder) if folder else None


def list_runs() -> pd.DataFrame:
    """One row per run folder in the workspace, newest first."""
    rows = []
    for folder in sorted((workspace_dir() / "runs").glob("*"), reverse=True):
        config_path = folder / "config.json"
        if not config_path.exists():
            continue
        config = json.loads(config_path.read_text())
        status = read_status(folder)
        metrics = json.loads((folder / "metrics.json").read_text()) if (folder / "metrics.json").exists() else {}
        align = config.get("align", {})
        after, before = metrics.get("after", {}), metrics.get("before", {})
        rows.append({
            "run": folder.name, "corpus": config.get("corpus"), "method": align.get("method"),
            "encoder": align.get("encoder"), "recipe": align.get("recipe"), "state": status.get("state"),
            "overall before": before.get("recall_overall"), "overall after": after.get("recall_overall"),
            "held-out after": after.get("heldout", {}).get("recall_overall"),
        })
    return pd.DataFrame(rows)


def run_metrics(name: str) -> dict | None:
    path = workspace_dir() / "runs" / name / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def zip_folder(folder: Path) -> bytes:
    """The folder as zip bytes, for a download button."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_folder_files(folder: Path, names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            if (folder / name).exists():
                archive.write(folder / name, name)
    return buffer.getvalue()


@st.cache_resource(show_spinner="Loading the run's model…", max_entries=2)
def cached_run_model(path: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


def discover_hierarchy(corpus: Corpus, method: str, branching: int, depth: int) -> Corpus:
    """The corpus under a discovered hierarchy (kmeans embeds its rows with the cached MiniLM first)."""
    from core.discovery import discover
    from core.hnmfk import HNMFkConfig

    vectors = None
    if method == "kmeans":
        rows = np.flatnonzero(corpus.is_row)
        vectors = embedding_cache().encode([corpus.texts[i] for i in rows])
    found, _ = discover(corpus, method, vectors=vectors, branching=branching, depth=depth,
                        hnmfk_config=HNMFkConfig(max_depth=depth))
    return found


def pick_finished_run(key: str, purpose: str) -> tuple[str, Path, Corpus]:
    """A select box of finished runs and the chosen run's folder and corpus; stops the page (with a note) if none."""
    runs = list_runs()
    finished = runs[runs["state"].isin(["complete", "stopped"])] if not runs.empty else runs
    if finished.empty:
        st.info(f"No finished run yet: train one on the Align page, then {purpose} here.")
        st.stop()
    name = st.selectbox("Run", finished["run"].tolist(), key=key)
    corpus = load_spec(finished.set_index("run").loc[name, "corpus"])
    if corpus is None:
        st.stop()
    return name, workspace_dir() / "runs" / name, corpus
