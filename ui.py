"""What every page shares: cached loaders, the active corpus in the session, and render helpers.

Pages stay thin scripts; everything that computes lives in `core`. Bad input is shown with st.error (the engine's
one-line message), never as a traceback.
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pandas as pd
import streamlit as st

from core.align.train import AlignConfig
from core.data.builtins import DEMO, builtin_name, load_corpus
from core.data.corpus import Corpus
from core.data.files import load_corpus_bytes
from core.data.workspace import workspace_dir
from core.embedding.model import embedding_cache
from core.errors import InputError
from core.runs.folder import FINISHED, BrokenRun, RunFolder, corpus_hash
from core.runs.folder import list_runs as core_list_runs
from core.studio.background import Task, run_task
from core.studio.jobs import TrainingJob, TuningJob, new_run_dir

ACTIVE = "active_corpus"  # session key: the Corpus the pages work on
SOURCE = "active_source"  # session key: what the Corpus page picked to get it ("builtin:...", "upload:...", "path:...")
DISCOVERED = "active_discovered"  # session key: how the active corpus's hierarchy was discovered, if it was
JOB = "job_folder"  # session key: the run folder of this session's current training job
PHRASINGS = "active_phrasings"  # session key: (fingerprint of the corpus they name nodes of, new phrasings)
DEFAULT_DEPTH = 3  # levels the Corpus and Hierarchy pages draw at first


@st.cache_resource(show_spinner="Loading corpus…", max_entries=8)
def cached_corpus(spec: str) -> Corpus:
    """A built-in or a path, loaded once per process (the corpus caches its ancestors and depths itself)."""
    return load_corpus(spec)


@st.cache_resource(show_spinner="Reading upload…", max_entries=4)
def _cached_upload(name: str, digest: str, _data: bytes) -> Corpus:
    return load_corpus_bytes(name, _data)


def load_spec(spec: str) -> Corpus | None:
    """A built-in by name (never a path: that box is open to every browser), or the error shown in place."""
    try:
        return cached_corpus(builtin_name(spec))
    except InputError as e:
        st.error(str(e), icon=":material/error:")
        return None


def load_local_path(text: str) -> Corpus | None:
    """A corpus by path, only under the data roots; errors shown in place."""
    from core.data.workspace import allowed_local_path

    try:
        return cached_corpus(str(allowed_local_path(text)))
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


def load_phrasings_upload(uploaded, corpus: Corpus):
    """The uploaded new-phrasings file checked against `corpus`, made active for it; None (error shown) if refused."""
    from core.data.phrasings import load_phrasings_bytes

    try:
        phrasings = load_phrasings_bytes(uploaded.name, uploaded.getvalue(), corpus)
    except InputError as e:
        st.error(str(e), icon=":material/error:")
        return None
    st.session_state[PHRASINGS] = (corpus_hash(corpus), phrasings)
    return phrasings


def active_phrasings(corpus: Corpus):
    """The new phrasings uploaded for this very corpus (a discovered hierarchy or another pick drops them)."""
    owner, phrasings = st.session_state.get(PHRASINGS, (None, None))
    return phrasings if phrasings is not None and owner == corpus_hash(corpus) else None


def active_corpus() -> Corpus:
    """The corpus picked on the Corpus page; the built-in demo until one is picked."""
    if ACTIVE not in st.session_state:
        st.session_state[ACTIVE] = cached_corpus(DEMO)
        st.session_state[SOURCE] = f"builtin:{DEMO}"
    return st.session_state[ACTIVE]


def set_active(corpus: Corpus, discovered: str | None = None) -> None:
    """Make `corpus` the one every page works on; `discovered` says how its hierarchy was found (None: its own)."""
    st.session_state[ACTIVE] = corpus
    st.session_state[DISCOVERED] = discovered


def choose_corpus(source: str, corpus: Corpus) -> Corpus:
    """What the Corpus page calls with the corpus its widgets picked (`source` names the pick).

    A new pick becomes the active corpus (and the page re-runs so the sidebar says so at once). The same pick keeps
    whatever is active for it: a hierarchy discovered for this corpus stays until the user picks another corpus."""
    active_corpus()
    if st.session_state.get(SOURCE) != source:
        st.session_state[SOURCE] = source
        previous = st.session_state.get(ACTIVE)
        set_active(corpus)
        if previous is not None and previous.name != corpus.name:
            st.rerun()
    return st.session_state[ACTIVE]


def discovered_note() -> str | None:
    """'kmeans, 7 then 20 topics' when the active hierarchy was discovered, else None."""
    return st.session_state.get(DISCOVERED)


def corpus_caption(corpus: Corpus) -> str:
    """One line naming the active corpus and where its hierarchy comes from (the pages' captions and the sidebar)."""
    found = discovered_note()
    origin = f"hierarchy discovered ({found})" if found else "its own hierarchy"
    return f"`{corpus.name}`: {plural(corpus.n, 'node')}, {plural(len(corpus.query_nodes), 'query', 'queries')}, {origin}"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {words or word + 's'}"


def sidebar_status() -> None:
    corpus = st.session_state.get(ACTIVE)
    with st.sidebar:
        st.caption("Active corpus")
        if corpus is None:
            st.write(f"`{DEMO}` (the built-in demo)")
        else:
            st.write(corpus_caption(corpus))
        st.caption("New here? Corpus → Hierarchy → Align (press Start) → Map and Retrieve show what changed.")


def next_step(page: str, label: str, icon: str = ":material/arrow_forward:") -> None:
    """A link to the page a new user should visit next, at the bottom of a page."""
    st.divider()
    st.page_link(page, label=label, icon=icon)


def render_stats(corpus: Corpus) -> None:
    stats = corpus.stats()
    cols = st.columns(6)
    for col, (label, key) in zip(cols, [("Nodes", "nodes"), ("Documents", "documents"), ("Queries", "queries"),
                                        ("Roots", "roots"), ("Max depth", "max_depth"), ("Ancestor pairs", "ancestor_pairs")]):
        col.metric(label, f"{stats[key]:,}")
    notes = []
    if stats["label_nodes"]:
        notes.append(f"{plural(stats['label_nodes'], 'label node')} made from the `path` column")
    if stats["multi_parent_nodes"]:
        notes.append(f"{plural(stats['multi_parent_nodes'], 'node has', 'nodes have')} several parents (a DAG)")
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
    job = TrainingJob(corpus, config, folder, workspace=workspace_dir(), phrasings=active_phrasings(corpus)).start()
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


def pick_finished_run(key: str, purpose: str) -> tuple[str, RunFolder, Corpus]:
    """A select box of finished runs (the newest complete one first chosen) and the chosen run and its corpus (from
    the run's own snapshot); stops the page with a note if there is none or the run cannot be read."""
    runs = list_runs()
    finished = runs[runs["state"].isin(FINISHED)] if not runs.empty else runs
    if finished.empty:
        st.info(f"No finished run yet: train one on the Align page, then {purpose} here.")
        next_step("pages/align.py", "Align: train a run")
        st.stop()
    names = finished["run"].tolist()
    complete = [i for i, state in enumerate(finished["state"]) if state == "complete"]
    labels = dict(zip(names, [f"{n} ({state}, {corpus})" for n, state, corpus in
                              zip(names, finished["state"], finished.get("corpus", [""] * len(names)))]))
    name = st.selectbox("Run", names, index=complete[0] if complete else 0, key=key, format_func=labels.get)
    run = run_folder(name)
    try:
        corpus = run.corpus
    except BrokenRun as e:
        st.error(str(e), icon=":material/error:")
        st.stop()
    return name, run, corpus


# --- background tasks (discovery, maps) ------------------------------------------------------------------------------


@st.cache_resource
def _tasks() -> dict[str, Task]:
    """Every background task this server process started, by id (kept across page switches and reruns)."""
    return {}


def start_task(slot: str, name: str, work) -> Task:
    """Start `work(progress)` in the background as this session's task in `slot` (one per slot and session)."""
    task = run_task(name, work)
    task_id = uuid.uuid4().hex
    _tasks()[task_id] = task
    st.session_state[f"task_{slot}"] = task_id
    return task


def current_task(slot: str) -> Task | None:
    task_id = st.session_state.get(f"task_{slot}")
    return _tasks().get(task_id) if task_id else None


def forget_task(slot: str) -> None:
    task_id = st.session_state.pop(f"task_{slot}", None)
    if task_id:
        _tasks().pop(task_id, None)


def render_task(task: Task) -> None:
    """A progress bar with the task's stage and its seconds so far (or its error in one line)."""
    snap = task.snapshot()
    if snap["state"] == "failed":
        st.error(snap["error"], icon=":material/error:")
        return
    fraction = snap["done"] / snap["total"] if snap["total"] else 0.0
    count = f": {snap['done']:,} / {snap['total']:,}" if snap["total"] > 1 else ""
    st.progress(min(fraction, 1.0), text=f"{task.name}: {snap['stage'] or 'starting'}{count} · {snap['seconds']:.0f} s")


def discover_work(corpus: Corpus, method: str, depth: int, branching: int = 10, levels: tuple[int, ...] | None = None,
                  word_weight: float = 0.0):
    """The work of discovering a hierarchy, for start_task: kmeans embeds the rows with the cached MiniLM first (and
    clusters the TF-IDF word view beside them when word_weight > 0)."""
    def work(progress) -> Corpus:
        from core.discovery.discover import discover
        from core.discovery.hnmfk import HNMFkConfig

        vectors = None
        if method == "kmeans":
            rows = np.flatnonzero(corpus.is_row)
            vectors = embedding_cache().encode([corpus.texts[i] for i in rows],
                                               progress=lambda d, t: progress("embedding the documents", d, t))
        options = {"levels": levels} if levels else {"branching": branching, "depth": depth}
        found, _ = discover(corpus, method, vectors=vectors, hnmfk_config=HNMFkConfig(max_depth=depth),
                            word_weight=word_weight, progress=lambda d, t: progress(f"{method} clustering", d, t),
                            **options)
        return found

    return work


@st.cache_resource
def start_up() -> bool:
    """Once per server process: torch gets half the cores (the server and the browser need the rest; see
    core.embedding.model.limit_threads); then, in one background thread, MiniLM is loaded (Start does not wait for it)
    and UMAP's numba code compiles (the first Map is then quick)."""
    import threading

    from core.embedding.model import limit_threads, shared_model
    from core.studio.maps import warm_up

    limit_threads()

    def warm() -> None:
        shared_model(None, "auto")
        warm_up(background=False)

    threading.Thread(target=warm, name="studio-warm-up", daemon=True).start()
    return True


def render_headlines(cards: list[dict]) -> None:
    """Headline cards: each number before -> after, and the change in percentage points."""
    for col, card in zip(st.columns(len(cards)), cards):
        col.metric(card["label"], f"{card['before']:.1%} → {card['after']:.1%}", f"{card['delta'] * 100:+.1f} pts",
                   border=True)


@st.cache_data(show_spinner="Measuring neighbourhoods…", max_entries=64)
def _knn_agreements(name: str, side: str, digest: str, _run: RunFolder, _shown: np.ndarray, _column: np.ndarray):
    from core.studio.maps import knn_agreement

    corpus = _run.corpus
    if side == "queries":
        every = corpus.query_texts()
        texts, after = [every[i] for i in _shown], _run.vectors()[0][_shown]
    else:
        texts, after = [corpus.texts[i] for i in _shown], _run.vectors()[1][_shown]
    return knn_agreement(embedding_cache().encode(texts), _column), knn_agreement(after, _column)


def knn_agreements(name: str, run: RunFolder, side: str, shown: np.ndarray, column: tuple[int, ...]) -> tuple:
    """(before, after) kNN agreement of the shown queries or documents (positions in the run's query or document
    vectors) with one level's labels; cached per run, side and level."""
    labels = np.asarray(column, dtype=np.int64)
    digest = hashlib.sha256(labels.tobytes() + np.asarray(shown).tobytes()).hexdigest()
    return _knn_agreements(name, side, digest, run, np.asarray(shown), labels)


@st.cache_resource(show_spinner="Embedding the run's corpus with the base model (cached on disk)…", max_entries=4)
def base_vectors(name: str, _run: RunFolder):
    """The base model's vectors of a run's corpus (with clause keys when the run linked through them): what the
    before and reference columns of Retrieve search."""
    from core.embedding.vectors import embed_corpus

    config = _run.align_config
    return embed_corpus(_run.corpus, config.model, embedding_cache(), clauses=config.uses_clauses)


@st.cache_resource(show_spinner="Indexing the run's documents for BM25…", max_entries=4)
def bm25_index(name: str, _run: RunFolder):
    """The run's documents in a BM25 index (the lexical references of Retrieve), built once per run."""
    from core.evaluation.lexical import bm25_index as build

    return build(list(_run.corpus.texts))


@st.cache_resource(show_spinner="Loading the base model…", max_entries=2)
def _base_model(model: str | None):
    from core.embedding.model import load_model

    return load_model(model, "cpu")


def encode_base(texts: list[str], model: str | None = None) -> np.ndarray:
    """Zero-shot unit vectors of new texts (a typed query) by the run's base model (default all-MiniLM-L6-v2), the
    model its corpus vectors came from."""
    if model and model.startswith("gaussian"):
        model = None  # a constructive reference embedding has no text encoder
    return np.asarray(_base_model(model).encode(texts, normalize_embeddings=True), dtype=np.float32)


@st.cache_data(show_spinner="Zipping the embeddings…", max_entries=4)
def _embeddings_zip(name: str, stamp: float, _run: RunFolder) -> bytes:
    return _run.zip_embeddings()


def embeddings_zip(name: str, run: RunFolder) -> bytes:
    """The run's vectors, ids and index as zip bytes, made once per run (a few MB): ready on the first click."""
    stamp = max((p.stat().st_mtime for p in run.path.iterdir()), default=0.0)
    return _embeddings_zip(name, stamp, run)


# --- tuning studies (core/tuning/) ------------------------------------------------------------------------------------

TUNING = "tuning_job"


@st.cache_resource
def _tunings() -> dict[str, TuningJob]:
    """Every study this server process is running or ran, by study name."""
    return {}


def start_tuning(corpus: Corpus, method: str, encoder: str | None, settings) -> TuningJob:
    job = TuningJob(corpus, method, encoder, settings, workspace=workspace_dir()).start()
    _tunings()[settings.study] = job
    st.session_state[TUNING] = settings.study
    return job


def current_tuning() -> TuningJob | None:
    name = st.session_state.get(TUNING)
    return _tunings().get(name) if name else None


def studies_url() -> str:
    from core.tuning import default_storage_url

    return default_storage_url(workspace_dir())


@st.cache_resource(show_spinner=False, max_entries=4)
def _storage(url: str):
    from core.tuning import open_storage

    return open_storage(url)


def study_names(url: str) -> list[str]:
    import optuna

    return [s.study_name for s in optuna.get_all_study_summaries(_storage(url), include_best_trial=False)]


def load_study(url: str, name: str):
    """The study as the storage holds it now (None when it does not exist yet)."""
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=_storage(url))
    except KeyError:
        return None
