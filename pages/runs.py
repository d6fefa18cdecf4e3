"""Runs: every run in the workspace (broken ones say why), held-out recall against zero-shot and the reference,
their curves overlaid, and downloads."""

from __future__ import annotations

import streamlit as st

import ui
from core.data.workspace import workspace_dir
from core.evaluation.reference import REFERENCE_NAMES
from core.runs.folder import FINISHED, BrokenRun
from core.studio.figures import recall_by_distance_figure

st.title("Runs")
runs = ui.list_runs()
if runs.empty:
    st.info(f"No runs yet in `{workspace_dir()}`. Start one on the Align page.")
    ui.next_step("pages/align.py", "Align: train a run")
    st.stop()
PERCENT = [c for c in runs.columns if c.startswith("held-out") and c != "held-out queries"]
table = runs.copy()
table[PERCENT] = table[PERCENT].astype(float) * 100
config = {c: st.column_config.NumberColumn(c, format="%.1f%%") for c in PERCENT}
config["held-out queries"] = st.column_config.NumberColumn("held-out queries", format="%d")
config["beats zero-shot everywhere"] = st.column_config.CheckboxColumn("beats zero-shot everywhere")
config["beats reference everywhere"] = st.column_config.CheckboxColumn(
    "beats reference everywhere", help="At or above every reference it was scored against (link-and-walk; where "
    "queries are texts of their own, also BM25, the BM25 hybrid and link-and-walk through it) at every distance "
    "(held-out)")
st.caption("Recall on held-out queries only (never trained on, never used to pick the checkpoint): overall and the "
           "minimum over distances. Broken runs are listed with the reason.")
st.dataframe(table, width="stretch", hide_index=True, key="runs_table", column_config=config)
broken = runs[runs["state"] == "broken"] if "state" in runs else runs.iloc[:0]
if len(broken):
    st.warning(f"{ui.plural(len(broken), 'run')} cannot be read: see the 'problem' column.", icon=":material/warning:")

finished = runs[runs["state"].isin(FINISHED)]["run"].tolist()
chosen = st.multiselect("Compare (held-out queries)", finished, default=finished[:2], key="runs_compare")
curves = {}
for name in chosen:
    try:
        metrics = ui.run_folder(name).metrics
    except BrokenRun:
        metrics = None
    if metrics is None:
        continue
    curves[f"{name}: after"] = metrics["after"]["heldout"]
    corpus = ui.run_folder(name).config.get("corpus", "")
    for key, label in {"before": "zero-shot", **REFERENCE_NAMES}.items():
        if metrics.get(key) and f"{corpus}: {label}" not in curves:
            curves[f"{corpus}: {label}"] = metrics[key]["heldout"]
if curves:
    st.plotly_chart(recall_by_distance_figure(curves, title="Held-out recall by distance"), width="stretch",
                    key="runs_chart")

st.subheader("Downloads")
if not finished:
    st.caption("No finished run to download from yet.")
    st.stop()
name = st.selectbox("Run", finished, key="runs_download")
run = ui.run_folder(name)
cols = st.columns(3)
try:
    cols[0].download_button("metrics.json", run.metrics_bytes(), f"{name}-metrics.json", "application/json",
                            on_click="ignore", icon=":material/download:", key="dl_metrics")
    # prepared once per run and kept: the button then has its bytes on the first click
    cols[1].download_button("embeddings (zip)", ui.embeddings_zip(name, run), f"{name}-embeddings.zip",
                            "application/zip", on_click="ignore", icon=":material/download:", key="dl_embeddings")
    if run.model_path is not None:
        # ~90 MB: zipped only when clicked (deferred), with no rerun that would drop the deferred file
        cols[2].download_button("model folder (zip)", run.zip_model, f"{name}-model.zip", "application/zip",
                                on_click="ignore", icon=":material/download:", key="dl_model")
except (BrokenRun, OSError) as e:
    st.error(f"{name}: cannot be downloaded ({e})", icon=":material/error:")
