"""Tune: an Optuna study searches a method's settings in the background, scored on validation queries only; a live
table and best-so-far line while it runs, Optuna's figures after, and "Train the best" makes a normal run."""

from __future__ import annotations

import streamlit as st

import ui
from core.align.config import ENCODERS, METHODS, AlignConfig, search_space
from core.runs.folder import corpus_hash
from core.studio.figures import tuning_figure
from core.tuning import TuneSettings, study_config, trials_frame
from core.tuning.study import PRUNERS, best_trial

st.title("Tune")
corpus = ui.active_corpus()
st.caption(f"Corpus {ui.corpus_caption(corpus)}")
st.markdown("Let **Optuna** search a method's settings. Every trial trains a run and is scored on the **validation** "
            "queries, the ones that pick a run's checkpoint; a trial trailing the others is stopped early (pruned). "
            "Held-out queries are scored only when you train the best settings, so they never choose anything.")

left, middle, right = st.columns(3)
method = left.selectbox("Method", METHODS, index=METHODS.index("hr"), key="tune_method")
encoders = ["memory"] if method == "memory" else [e for e in ENCODERS if e != "memory"]
encoder = middle.selectbox("Encoder", encoders, index=encoders.index("adapter") if "adapter" in encoders else 0,
                           key="tune_encoder")
pruner = right.selectbox("Pruner", PRUNERS, key="tune_pruner",
                         help="median: stop a trial whose best validation score so far is below the median of earlier "
                         "trials at the same step; halving: successive halving; none: every trial runs to its end.")
space = search_space(method, encoder)
st.caption("Searched: " + ", ".join(f"`{name}`" for name in space) + " (ranges around the defaults; "
           "docs/tuning.md lists them).")
a, b, c = st.columns(3)
budget = a.radio("Budget", ("trials", "minutes"), horizontal=True, key="tune_budget",
                 help="trials: until the study holds this many finished trials (a study resumed later counts the "
                 "ones it already has); minutes: as many as fit.")
trials = int(b.number_input("Finished trials", 1, 10_000, 30, key="tune_trials", disabled=budget != "trials"))
minutes = float(c.number_input("Minutes", 0.5, 600.0, 5.0, step=0.5, key="tune_minutes", disabled=budget != "minutes"))
resolved = AlignConfig(method=method, encoder=encoder).resolved()
automatic = f"{corpus.name} {resolved.method}/{resolved.encoder}"
name = st.text_input("Study", "", placeholder=automatic, key="tune_study",
                     help=f"Empty: {automatic}. Starting a study that exists resumes it (same corpus and method only)."
                     ).strip() or automatic
url = ui.studies_url()
st.caption(f"Studies are kept in `{url}`. To watch them in optuna-dashboard as well (optional; "
           f"`pip install optuna-dashboard`): `optuna-dashboard {url}`")


def render_study(study, running: bool) -> None:
    frame = trials_frame(study)
    done = int(frame["state"].isin(["complete", "pruned"]).sum()) if len(frame) else 0
    best = best_trial(study)
    cols = st.columns(3)
    cols[0].metric("Finished trials", f"{done:,}")
    cols[1].metric("Pruned", f"{int((frame['state'] == 'pruned').sum()) if len(frame) else 0:,}")
    cols[2].metric("Best validation score", "–" if best is None else f"{best.value:.3f}",
                   delta=None if best is None or not len(frame) or frame["validation"].iloc[0] is None
                   or frame["note"].iloc[0] != "defaults" or frame["state"].iloc[0] != "complete"
                   else f"{best.value - frame['validation'].iloc[0]:+.3f} vs the defaults")
    if len(frame):
        st.plotly_chart(tuning_figure(frame), width="stretch", key="tune_best_line")
        st.dataframe(frame, width="stretch", hide_index=True, key="tune_table")
    if best is not None:
        st.markdown(f"**Best: trial {best.number}** · " + ", ".join(
            f"`{k}` = {v:.4g}" if isinstance(v, float) else f"`{k}` = {v}" for k, v in best.params.items()))
    if running or best is None:
        return
    optuna_figures(study)
    made_for = study.user_attrs.get("hieralign", {})
    if made_for.get("corpus_hash") != corpus_hash(corpus):
        st.info(f"This study was made for the corpus {made_for.get('corpus', '(unknown)')}: open that corpus on the "
                "Corpus page to train its best settings.", icon=":material/info:")
        return
    if st.button("Train the best", type="primary", key="tune_train_best",
                 help="A normal run with the best trial's settings, scored on held-out queries at the end."):
        ui.start_job(corpus, study_config(study, best.params))
        st.session_state["tune_trained"] = True
    if st.session_state.get("tune_trained") and ui.current_job() is not None:
        st.success(f"Training run `{ui.current_job().folder.name}` started with the best settings.",
                   icon=":material/check_circle:")
        ui.next_step("pages/align.py", "Watch it on the Align page")


def optuna_figures(study) -> None:
    import optuna.visualization as vis

    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    tabs = st.tabs(["Optimisation history", "Parameter importances", "Parallel coordinates", "Slice"])
    plots = [vis.plot_optimization_history, vis.plot_param_importances, vis.plot_parallel_coordinate, vis.plot_slice]
    for tab, plot, key in zip(tabs, plots, ("history", "importances", "parallel", "slice"), strict=True):
        with tab:
            if key == "importances" and len(complete) < 3:
                st.info("Parameter importances need at least three complete trials.", icon=":material/info:")
                continue
            try:
                st.plotly_chart(plot(study), width="stretch", key=f"tune_{key}")
            except (ValueError, RuntimeError) as e:  # e.g. every complete trial has the same options
                st.info(f"Not drawable yet: {e}", icon=":material/info:")


def live_view() -> None:
    job = ui.current_tuning()
    running = job is not None and job.state in ("starting", "encoding", "running")
    start, stop, status = st.columns([1, 1, 4])
    if start.button("Start", type="primary", disabled=running or not name, key="tune_start"):
        settings = TuneSettings(trials=trials if budget == "trials" else 1_000_000,
                                timeout=minutes * 60 if budget == "minutes" else None, study=name, pruner=pruner,
                                workspace=str(ui.workspace_dir()), storage=url)
        ui.start_tuning(corpus, method, encoder, settings)
        st.session_state.pop("tune_trained", None)
        st.rerun(scope="app")
    if stop.button("Stop", disabled=not running, key="tune_stop", help="Ends the running trial; finished ones stay."):
        job.stop.set()
    shown = job.settings.study if job is not None else name
    if job is not None:
        snap = job.snapshot()
        status.markdown(f"Study `{shown}`: **{snap['state']}**")
        if snap["error"]:
            st.error(snap["error"], icon=":material/error:")
        if snap["state"] == "encoding":
            st.progress(0.0, text="embedding the corpus with the base model (once; cached on disk) …")
        if snap["trial"] and running:
            t = snap["trial"]
            st.progress(t["step"] / max(t["total"], 1), text=f"trial {t['number']}: step {t['step']:,} of "
                        f"{t['total']:,}")
    study = ui.load_study(url, shown)
    if study is None:
        if job is None:
            st.info("Press **Start**: the study runs in the background (this page can be left and reopened).",
                    icon=":material/info:")
        return
    render_study(study, running)


job = ui.current_tuning()
polling = job is not None and job.state in ("starting", "encoding", "running")


@st.fragment(run_every=1.0 if polling else None)
def live() -> None:
    live_view()
    current = ui.current_tuning()
    if polling and current is not None and current.state not in ("starting", "encoding", "running"):
        st.rerun(scope="app")  # the study ended: stop polling, show Optuna's figures and "Train the best"


live()
