"""What every page shares: cached loaders, the active corpus in the session, and render helpers.

Pages stay thin scripts; everything that computes lives in `core`. Bad input is shown with st.error (the engine's
one-line message), never as a traceback.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from core.builtins import DEMO, load_corpus
from core.corpus import Corpus
from core.corpus_files import load_corpus_bytes
from core.errors import InputError
from core.jobs import TrainingJob, new_run_dir
from core.runs import FINISHED, BrokenRun, RunFolder
from core.runs import list_runs as core_list_runs
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
    """One row per run folder in the workspace, newest first; a broken run is a row that says why."""
    return pd.DataFrame([run.summary() for run in core_list_runs(workspace_dir())])


def run_folder(name: str) -> RunFolder:
    return RunFolder(workspace_dir() / "runs" / name)


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


def pick_finished_run(key: str, purpose: str) -> tuple[str, RunFolder, Corpus]:
    """A select box of finished runs and the chosen run and its corpus (from the run's own snapshot); stops the page
    with a note if there is none or the run cannot be read."""
    runs = list_runs()
    finished = runs[runs["state"].isin(FINISHED)] if not runs.empty else runs
    if finished.empty:
        st.info(f"No finished run yet: train one on the Align page, then {purpose} here.")
        st.stop()
    name = st.selectbox("Run", finished["run"].tolist(), key=key)
    run = run_folder(name)
    try:
        corpus = run.corpus
    except BrokenRun as e:
        st.error(str(e), icon=":material/error:")
        st.stop()
    return name, run, corpus
