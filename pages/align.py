"""Align: choose a method, train in the background, and read at a glance whether the run beat where it started and
every reference (link-and-walk; where queries are texts of their own, also BM25, the BM25 hybrid and link-and-walk
through it)."""

from __future__ import annotations

import streamlit as st

import ui
from core.align.config import ENCODERS, METHODS, RECIPES, AlignConfig
from core.align.encoders import ENCODER_KINDS
from core.embedding.model import pick_device
from core.evaluation.reference import REFERENCE_NAMES
from core.runs.folder import BrokenRun, RunFolder
from core.studio.figures import headline_numbers, loss_figure, progress_figure, training_figure

st.title("Align")
corpus = ui.active_corpus()
st.caption(f"Corpus {ui.corpus_caption(corpus)} · device: {pick_device('auto')}")
st.markdown("Train embeddings so that a query for a node finds **the node and every ancestor above it**, which plain "
            "embeddings do not: they find the node and lose its parents.")

HELP = {
    "memory": "Default. A dual encoder whose query attends over the corpus's documents (and their clauses, where the "
              "validation queries link better through them), then reads "
              "out learned node vectors that carry the hierarchy (our method; beats link-and-walk on WordNet).",
    "hr": "Softmax of a query against all documents, as in the Hierarchical Retrieval paper (with its optional "
          "pretrain-finetune recipe).",
    "flat": "In-batch contrastive learning (InfoNCE): the baseline most people would try first.",
    "heal": "Supervised contrastive loss at every level of the hierarchy, coarse levels weighted more (HEAL).",
    "hce": "Softmax over siblings down a k-means tree of the documents (Hierarchical Corpus Encoder).",
}
ENCODER_HELP = {"memory": "the memory method's own encoder", "lookup": "free vectors, no text (in-sample only)",
                "adapter": "a small head on frozen MiniLM vectors (seconds on a CPU)",
                "finetune": "the whole MiniLM model (use a GPU)"}
left, middle, right = st.columns(3)
method = left.selectbox("Method", METHODS, index=METHODS.index("memory"), key="align_method",
                        format_func=lambda m: f"{m} (default)" if m == "memory" else m,
                        help="\n\n".join(f"**{m}**: {text}" for m, text in HELP.items()))
encoders = ["memory"] if method == "memory" else [e for e in ENCODERS if e != "memory"]
encoder = middle.selectbox("Encoder", encoders, index=encoders.index("adapter") if "adapter" in encoders else 0,
                           key="align_encoder", help="\n\n".join(f"**{e}**: {t}" for e, t in ENCODER_HELP.items()))
recipe = right.selectbox("Recipe", RECIPES, key="align_recipe", disabled=method not in ("hr", "flat"),
                         help="pretrain-finetune: a second, gentle phase on far pairs only (HR paper).")
st.caption(f"**{method}**: {HELP[method]}")
defaults = AlignConfig(method=method, encoder=encoder).resolved()
with st.expander("Training settings", expanded=False):
    a, b, c, d = st.columns(4)
    if method == "memory":
        link_steps = a.number_input("Link steps", 0, 100_000, defaults.link_steps, step=50, key="align_link_steps",
                                    help="Steps that train the query's attention over the node keys.")
        steps = b.number_input("Code steps", 1, 1_000_000, defaults.steps, step=100, key="align_steps_memory",
                               placeholder="automatic", help="Steps that train the node vectors; only used above "
                               "2,048 nodes (4,096 linked through documents alone); below, the vectors are exact from "
                               "the start. Empty: set from the corpus size.")
        lr = defaults.lr
    else:
        link_steps = defaults.link_steps
        steps = a.number_input("Steps", 1, 100_000, defaults.steps, step=100, key=f"align_steps_{encoder}")
        lr = b.number_input("Learning rate", 1e-6, 1.0, defaults.lr, format="%.5f", key=f"align_lr_{encoder}")
    batch = c.number_input("Batch size", 2, 4096, defaults.batch_size, key="align_batch")
    eval_every = d.number_input("Evaluate every (steps)", 1, 10_000, defaults.eval_every, key="align_eval_every",
                                placeholder="automatic", help="Each evaluation scores the validation queries and may "
                                "become the saved model. Empty: about 20 evaluations per run.")
    dim = st.number_input("Vector size", 2, 1024, defaults.dim, key="align_dim") if encoder == "lookup" else None
    base_weight = None
    if encoder == "adapter":
        base_weight = st.number_input("Base weight", 0.0, 100.0, float(defaults.base_weight), step=0.5,
                                      key=f"align_base_weight_{method}",  # one box per method: each its own default
                                      help="Adds this much of the base model's own cosine to every score, so the "
                                      "head adds to its ranking instead of replacing it (a cosine head is held near "
                                      "unit length, so the share is real). 0: the head alone. On 20 Newsgroups "
                                      "documents, 1 lifted held-out kNN macro-F1 above the base model; the head alone "
                                      "fell below it, so HEAL and HCE default to 1 (docs/benchmarks.md).")
    heldout = st.number_input("Held-out share", 0.05, 0.9, defaults.heldout_fraction, step=0.05, key="align_heldout",
                              help="Share of the queries (of the rows, for a corpus without queries) never trained on "
                              "and scored at the end. A small corpus may want less than the default; the rest trains, "
                              "less a further 10% that picks the checkpoint.")
config = AlignConfig(method=method, encoder=encoder, recipe=recipe if method in ("hr", "flat") else "standard",
                     steps=None if steps is None else int(steps), link_steps=int(link_steps), lr=float(lr),
                     batch_size=int(batch), eval_every=None if eval_every is None else int(eval_every),
                     dim=int(dim) if dim else None, heldout_fraction=float(heldout),
                     base_weight=None if base_weight is None else float(base_weight))

EXPLAIN = ("Each line is recall by distance on validation queries (set aside, never trained on): for a query about a "
           "node, the share of the node itself (distance 0), its parent (1), grandparent (2) … found in its top "
           "results. Higher is better at every distance.")
MIN_VALIDATION = 30


def finished_summary(run: RunFolder) -> None:
    """The end-of-run story from metrics.json: held-out queries only, before -> after, against the reference(s)."""
    try:
        metrics = run.metrics
    except BrokenRun as e:
        st.error(str(e), icon=":material/error:")
        return
    if metrics is None:
        return
    before, after = metrics["before"]["heldout"], metrics["after"]["heldout"]
    held = metrics.get("split", {}).get("heldout")
    st.subheader("Result on held-out queries")
    st.caption(f"{ui.plural(held, 'held-out query', 'held-out queries') if held else 'Held-out queries'}: never "
               "trained on and never used to pick the checkpoint. Numbers are recall (%).")
    summary = metrics.get("summary", {})
    if "nothing_to_score" in summary:
        st.info(summary["nothing_to_score"].capitalize() + ".", icon=":material/info:")
        return
    ui.render_headlines(headline_numbers(after, before))
    lines = []
    compared = {"heldout_vs_zero_shot": "zero-shot MiniLM (before)",
                **{f"heldout_vs_{k}": f"the {name} reference" for k, name in REFERENCE_NAMES.items()}}
    for key, name in compared.items():
        verdict = summary.get(key)
        if verdict is None:
            continue
        if verdict["everywhere"]:
            lines.append(f":material/check_circle: **Beats {name} at every distance** "
                         f"(overall {verdict['overall_gain'] * 100:+.1f} pts).")
        else:
            gaps = ", ".join(f"{d} by {g * 100:.1f} pts" for d, g in sorted(verdict["behind_at"].items(), key=lambda x: int(x[0])))
            lines.append(f":material/cancel: **Behind {name} at distance {gaps}** "
                         f"(overall {verdict['overall_gain'] * 100:+.1f} pts).")
    st.markdown("\n\n".join(lines))
    baselines = {k: metrics[k]["heldout"] for k in ("before", *REFERENCE_NAMES) if metrics.get(k)}
    best = metrics.get("best_step", 0)
    final = [{"step": best, "best_step": best, "metrics": after}]
    st.plotly_chart(training_figure(final, baselines=baselines, queries="held-out"), width="stretch",
                    key="final_recall")
    st.caption(EXPLAIN.replace("validation queries (set aside, never trained on)", "held-out queries"))
    st.caption(f"The saved model is the best checkpoint (step {best}), chosen on validation queries; "
               f"{'the run was stopped early' if metrics.get('stopped') else 'the run finished'} "
               f"in {metrics.get('seconds', 0):.0f} s of training.")
    if "new_phrasings" in metrics:
        phrasings_summary(metrics["new_phrasings"], run.name)


def phrasings_summary(block: dict, run_name: str) -> None:
    """The new phrasings (uploaded on the Corpus page), after training next to zero-shot and every reference."""
    st.subheader("New phrasings")
    st.caption(f"{ui.plural(block['queries'], 'query', 'queries')} from {block['source']}, never trained on. Recall "
               "by distance (%): the query must find its node and every ancestor within its top-|anc| documents; "
               "MRR@10 of the node itself.")
    names = {"after": f"this run ({run_name})", "before": "zero-shot MiniLM", **REFERENCE_NAMES}
    distances = list(block["after"]["pairs_by_distance"])
    table = [{"": names[key], **{f"D{d}": round(100 * block[key]["recall_by_distance"].get(d, 0.0), 1)
                                 for d in distances},
              "overall": round(100 * block[key]["recall_overall"], 1),
              "MRR@10": round(block[key]["query_metrics"]["mrr@10"], 3)} for key in names if key in block]
    st.dataframe(table, width="stretch", hide_index=True)


def live_view() -> None:
    job = ui.current_job()
    running = job is not None and job.state in ("starting", "encoding", "running")
    start, stop, status = st.columns([1, 1, 4])
    if start.button("Start", type="primary", disabled=running, key="align_start"):
        ui.start_job(corpus, config)
        st.rerun(scope="app")  # re-draw this view as a live one (polled every second)
    if stop.button("Stop", disabled=not running, key="align_stop"):
        job.stop.set()
    phrasings = ui.active_phrasings(corpus)
    if phrasings is not None:
        st.caption(f"{ui.plural(len(phrasings), 'new phrasing')} from {phrasings.source} (Corpus page) will be scored "
                   "after training" + ("." if ENCODER_KINDS[config.resolved().encoder].reads_text else
                                       ", except by lookup tables, which cannot encode new text."))
    if job is None:
        st.info("Press **Start**: training runs in the background (this page can be left and reopened). The chart "
                "then shows, live, how far the run is above where it started and above each reference (link-and-walk; "
                "where queries are texts of their own, BM25, BM25 fused with zero-shot MiniLM, and link-and-walk "
                "through that fusion too).")
        return
    snap = job.snapshot()
    status.markdown(f"Run `{job.folder.name}`: **{snap['state']}**")
    events = list(job.events)
    baselines = next((e for e in reversed(events) if e["type"] == "baselines"), None)
    start_event = next((e for e in events if e["type"] == "start"), None)
    if snap["state"] == "encoding" and snap["encode"]:
        e = snap["encode"]
        st.progress(e["done"] / max(e["total"], 1), text=f"{e['stage']}: {e['done']:,} / {e['total']:,} (once per "
                    "corpus; cached on disk)")
    elif snap["state"] in ("starting", "encoding"):
        st.progress(0.0, text="preparing: loading the model, linking the reference …")
    if snap["total"]:
        eta = f", about {snap['eta']:.0f} s left" if snap["eta"] is not None and running else ""
        st.progress(snap["done"] / snap["total"], text=f"step {snap['done']:,} of {snap['total']:,}{eta}")
    if snap["error"]:
        st.error(snap["error"], icon=":material/error:")
    if start_event and start_event["split"].get("validation", MIN_VALIDATION) < MIN_VALIDATION \
            and not start_event["split"].get("validation_in_sample"):
        n = start_event["split"]["validation"]
        st.warning(f"Only {ui.plural(n, 'validation query', 'validation queries')}: one query more or less found moves "
                   f"the curve by {100 / n:.0f} points, so the live chart is noise. Judge the run by the held-out "
                   "numbers at the end, or use a corpus with more queries.", icon=":material/warning:")
    evals = snap["evals"]
    if evals and not running and snap["state"] in ("complete", "stopped"):
        finished_summary(RunFolder(job.folder))
        with st.expander("How training went (validation queries)", expanded=False):
            steps = [e["step"] for e in evals]
            upto = st.select_slider("Show the run at step", steps, value=steps[-1], key="align_upto") \
                if len(steps) > 1 else None
            st.plotly_chart(training_figure(evals, baselines=baselines, upto=upto), width="stretch",
                            key="history_recall")
            st.plotly_chart(progress_figure(evals, baselines), width="stretch", key="history_progress")
            if snap["losses"]:
                st.plotly_chart(loss_figure(snap["steps"], snap["losses"]), width="stretch", key="history_loss")
        return
    if evals:
        best = next((e for e in evals if e["step"] == evals[-1].get("best_step")), evals[-1])
        before = (baselines or {}).get("before") or evals[0]["metrics"]
        ui.render_headlines(headline_numbers(best["metrics"], before))
        # rebuilt only when an evaluation arrives: between them the page re-sends the same figures, which the
        # browser does not redraw, so polling costs the training next to nothing
        cache_key = (str(job.folder), len(evals), baselines is not None)
        if st.session_state.get("align_figures", (None,))[0] != cache_key:
            st.session_state["align_figures"] = (cache_key, training_figure(evals, baselines=baselines),
                                                 progress_figure(evals, baselines))
        _, recall, progress = st.session_state["align_figures"]
        st.plotly_chart(recall, width="stretch", key="live_recall")
        st.caption(EXPLAIN + f" The model kept is the best checkpoint so far (step {best['step']}), not the last step.")
        st.plotly_chart(progress, width="stretch", key="live_progress")
    if running:
        return
    if job.state == "failed":
        st.caption("The run failed: change a setting and press Start again.")


job = ui.current_job()
polling = job is not None and job.state in ("starting", "encoding", "running")


@st.fragment(run_every=1.0 if polling else None)
def live() -> None:
    live_view()
    current = ui.current_job()
    if polling and current is not None and current.state not in ("starting", "encoding", "running"):
        st.rerun(scope="app")  # the run ended: stop polling, enable Start, show the held-out summary


live()
if job is not None and job.state == "complete":
    ui.next_step("pages/map.py", "Next: Map shows the documents before and after this run")
