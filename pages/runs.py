"""Runs: every run in the workspace, their recall-by-distance curves overlaid, and downloads."""

from __future__ import annotations

import streamlit as st

import ui
from core.figures import recall_by_distance_figure
from core.runs import FINISHED
from core.workspace import workspace_dir

st.title("Runs")
runs = ui.list_runs()
if runs.empty:
    st.info(f"No runs yet in `{workspace_dir()}`. Start one on the Align page.")
    st.stop()
st.dataframe(runs, width="stretch", hide_index=True, key="runs_table")
chosen = st.multiselect("Compare", runs["run"].tolist(), default=runs["run"].tolist()[:2], key="runs_compare")
split = st.radio("Queries", ["held-out", "all"], horizontal=True, key="runs_split")
curves = {}
for name in chosen:
    try:
        metrics = ui.run_folder(name).metrics
    except ui.BrokenRun:
        metrics = None
    if metrics is None:
        continue
    for when in ("before", "after"):
        m = metrics[when]["heldout"] if split == "held-out" else metrics[when]
        curves[f"{name} ({when})"] = m
if curves:
    st.plotly_chart(recall_by_distance_figure(curves), width="stretch", key="runs_chart")
name = st.selectbox("Download from run", runs["run"].tolist(), key="runs_download")
run = ui.run_folder(name)
cols = st.columns(3)
if run.state in FINISHED:
    cols[0].download_button("metrics.json", run.metrics_bytes(), f"{name}-metrics.json")
    # zipped only when clicked: a model folder is ~90 MB and must not slow every visit to this page
    cols[1].download_button("embeddings (zip)", run.zip_embeddings, f"{name}-embeddings.zip")
    if run.model_path is not None:
        cols[2].download_button("model folder (zip)", run.zip_model, f"{name}-model.zip")
else:
    st.caption(f"Run `{name}` is {run.state}: nothing to download.")
