"""Align: choose a method, an encoder and a recipe; train in the background and watch recall by distance live."""

from __future__ import annotations

import streamlit as st

import ui
from core.embeddings import pick_device
from core.figures import loss_figure, training_figure
from core.train import ENCODERS, METHODS, RECIPES, AlignConfig

st.title("Align")
corpus = ui.active_corpus()
st.caption(f"Corpus `{corpus.name}`: {corpus.n:,} nodes, {len(corpus.query_nodes):,} queries · device: "
           f"{pick_device('auto')}")

HELP = {
    "flat": "In-batch contrastive (InfoNCE): the baseline most people would try.",
    "hr": "Softmax of a query against ALL documents (Hierarchical Retrieval paper).",
    "heal": "Supervised contrastive at every level of the hierarchy, coarse levels weighted more (HEAL).",
    "hce": "Softmax over siblings down a k-means tree of the documents (Hierarchical Corpus Encoder).",
}
left, middle, right = st.columns(3)
method = left.selectbox("Method", METHODS, index=METHODS.index("hr"), key="align_method", help=" ".join(HELP.values()))
encoder = middle.selectbox("Encoder", ENCODERS, index=ENCODERS.index("adapter"), key="align_encoder",
                           help="lookup: free vectors (no text). adapter: a small head on frozen MiniLM vectors "
                           "(seconds on a CPU). finetune: the whole model (use a GPU).")
recipe = right.selectbox("Recipe", RECIPES, key="align_recipe", disabled=method not in ("hr", "flat"),
                         help="pretrain-finetune: a second, gentle phase on far pairs only (HR paper).")
st.caption(HELP[method])
a, b, c, d = st.columns(4)
steps = a.number_input("Steps", 10, 100_000, 600 if encoder != "lookup" else 2000, step=100, key=f"align_steps_{encoder}")
lr = b.number_input("Learning rate", 1e-6, 1.0, 1e-3 if encoder != "lookup" else 0.05, format="%.5f", key=f"align_lr_{encoder}")
batch = c.number_input("Batch size", 2, 4096, 256, key="align_batch")
eval_every = d.number_input("Evaluate every (steps)", 1, 10_000, 20, key="align_eval_every",
                            help="Each evaluation adds a line to the chart (recall by distance on validation queries).")
dim = st.number_input("Vector size (lookup)", 2, 1024, 16, key="align_dim") if encoder == "lookup" else 64

job = ui.current_job()
running = job is not None and job.state in ("starting", "encoding", "running")
start, stop = st.columns(2)
if start.button("Start", type="primary", disabled=running, key="align_start"):
    config = AlignConfig(method=method, encoder=encoder, recipe=recipe if method in ("hr", "flat") else "standard",
                         steps=int(steps), lr=float(lr), batch_size=int(batch), eval_every=int(eval_every), dim=int(dim))
    job = ui.start_job(corpus, config)
    running = True
if stop.button("Stop", disabled=not running, key="align_stop"):
    job.stop.set()


@st.fragment(run_every=1.0)
def live_progress() -> None:
    job = ui.current_job()
    if job is None:
        st.info("Pick a method and press Start. Training runs in the background; this page can be left and reopened.")
        return
    snap = job.snapshot()
    st.write(f"Run `{job.folder.name}`: **{snap['state']}**")
    if snap["state"] == "encoding" and snap["encode"]:
        e = snap["encode"]
        st.progress(e["done"] / max(e["total"], 1), text=f"{e['stage']}: {e['done']:,} / {e['total']:,}")
    if snap["total"]:
        eta = f", about {snap['eta']:.0f} s left" if snap["eta"] is not None and snap["state"] == "running" else ""
        st.progress(snap["done"] / snap["total"], text=f"step {snap['done']:,} of {snap['total']:,}{eta}")
    if snap["error"]:
        st.error(snap["error"])
    if snap["evals"]:
        st.plotly_chart(training_figure(snap["evals"]), width="stretch", key="live_recall")
        last = snap["evals"][-1]["metrics"]
        st.caption(f"Latest validation: overall recall {last['recall_overall']:.1%}, minimum over distances "
                   f"{last['recall_min']:.1%}")
    if snap["losses"]:
        st.plotly_chart(loss_figure(snap["steps"], snap["losses"]), width="stretch", key="live_loss")


live_progress()
