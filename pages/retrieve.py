"""Retrieve: a query's top-k before (zero-shot MiniLM), after alignment, and by a reference (link-and-walk; where
queries are texts of their own, also BM25, the BM25 hybrid and link-and-walk through it), side by side, each hit with
its distance from the query's node and its path."""

from __future__ import annotations

import numpy as np
import streamlit as st

import ui
from core.evaluation.evaluate import heldout_mask
from core.evaluation.index import build_index, search
from core.evaluation.lexical import FUSION_DEPTH
from core.evaluation.reference import REFERENCE_NAMES, reference_ranking, search_lexical_references
from core.studio.figures import short_name

st.title("Retrieve")
name, run, corpus = ui.pick_finished_run("retrieve_run", "query it")
query_texts = corpus.query_texts()
config = run.align_config
held = heldout_mask(len(query_texts), config.heldout_fraction, config.seed)
first_held = int(np.flatnonzero(held)[0]) if held.any() else None
left, right = st.columns([1, 1])
options = ["", *query_texts[:5000]]
held_text = {q for q, h in zip(query_texts[:5000], held[:5000]) if h}
picked = right.selectbox("or one of the corpus's queries", options, key="retrieve_pick",
                         index=first_held + 1 if first_held is not None and first_held < 5000 else 0,
                         format_func=lambda q: f"{q} (held out: never trained on)" if q in held_text else q)
typed = left.text_input("Query", key="retrieve_query", placeholder="type any text, or pick a query on the right")
query = typed.strip() or picked
k = st.slider("Top k", 1, 50, 10, key="retrieve_k")
references = ["reference"] + (["reference_hybrid_walk", "reference_hybrid", "reference_bm25"]
                              if corpus.queries is not None else [])
reference = st.radio("Reference", references, format_func=REFERENCE_NAMES.get, horizontal=True,
                     key="retrieve_reference", help="The simple method the run is measured against. Where queries "
                     "are texts of their own, word overlap (BM25), its fusion with zero-shot MiniLM and "
                     "link-and-walk through that fusion join link-and-walk.") if len(references) > 1 else "reference"
if not query:
    st.stop()

positions = {text: pos for pos, text in enumerate(query_texts)}
node = int(corpus.query_nodes[positions[query]]) if query in positions else None
h = corpus.hierarchy
tree = h.spanning_tree()
distance = dict(zip(*map(np.ndarray.tolist, h.ancestors.of(node)))) if node is not None else {}
single_root = len(h.roots) == 1


def md(text: str) -> str:
    """Text shown literally in markdown (ids such as toy_terrier.n.01 must not turn italic)."""
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~:$" else c for c in text)


def path_of(i: int) -> str:
    """Where a hit sits: its ancestors from the top down (the one root left out: it is on every path)."""
    anc, _ = tree.ancestors.of(i)
    chain = [short_name(corpus, a) for a in anc[:0:-1]]  # top first, the hit itself left out
    if single_root and chain:
        chain = chain[1:]
    return " › ".join(chain) if chain else "top of the hierarchy"


def hit_lines(ids: np.ndarray) -> str:
    """One entry per hit: rank, name, its distance from the query's node as a badge (relevant hits only), and its
    path on a second, wrapping line, so nothing sits off-screen in a third of the page."""
    lines = []
    for rank, i in enumerate((int(i) for i in ids if i >= 0), start=1):
        badge = ""
        if i in distance:
            badge = " :green-badge[itself]" if distance[i] == 0 else f" :green-badge[distance {distance[i]}]"
        lines.append(f"**{rank}.** {md(short_name(corpus, i))}{badge}  \n:gray[{md(path_of(i))}]")
    return "\n\n".join(lines)


def show(column, title: str, ids: np.ndarray | None, help_text: str) -> None:
    column.markdown(f"**{title}**", help=help_text)
    if ids is None:
        return
    if node is not None:
        found = sum(1 for i in ids if i in distance)
        column.caption(f"found {found} of {ui.plural(len(distance), 'relevant document')} "
                       f"(the node and its ancestors) in the top {k}")
    if not any(i >= 0 for i in ids):
        column.caption("No hits: BM25 lists only documents that share a word with the query.")
        return
    column.markdown(hit_lines(ids), help=None)


base = ui.base_vectors(name, run)
base_query = ui.encode_base([query], config.model)
_, before_ids = search(build_index(base.docs), base_query, k)

queries_after, docs_after = run.vectors()
after_ids = None
if run.model_path is not None:
    model = ui.cached_run_model(str(run.model_path))
    encode = getattr(model, "encode_query", model.encode)
    after_query = np.asarray(encode([query]), dtype=np.float32)
    _, after_ids = search(build_index(docs_after), after_query, k)
elif node is not None:  # lookup tables: only the corpus's own queries have vectors
    _, after_ids = search(build_index(docs_after), queries_after[[positions[query]]], k)
if reference == "reference":
    reference_ids = reference_ranking(corpus, base_query, base.docs, base.clause_vectors, base.clause_owner,
                                      width=k)[0]
else:
    reference_ids = search_lexical_references(corpus, ui.bm25_index(name, run), [query], base_query, base.docs,
                                              min(k, corpus.n))[reference][0]

if node is not None:
    st.markdown(f"Query node **{md(short_name(corpus, node))}**: its {ui.plural(len(distance), 'relevant document')} "
                f"are itself and its ancestors: :gray[{md(' › '.join(short_name(corpus, a) for a in tree.ancestors.of(node)[0][::-1]))}]")
    st.caption("This query was held out: the run never trained on it." if held[positions[query]]
               else "This query was one the run trained on (pick one marked held out to see generalisation).")
else:
    st.caption("A new query (not one of the corpus's): no node of its own, so no distances.")
cols = st.columns(3)
show(cols[0], "Before (zero-shot)", before_ids[0], "all-MiniLM-L6-v2 with no training: nearest documents by cosine.")
show(cols[1], f"After ({config.method})", None if after_ids is None else after_ids[0],
     f"The aligned model of run {name}: nearest documents in its index.")
if after_ids is None:
    cols[1].info("This run learned lookup tables: only the corpus's own queries have vectors. Pick one on the right.")
REFERENCE_HELP = {
    "reference": "Links the query to its nearest document" + (" or clause" if base.clause_vectors is not None else "")
                 + ", lists that node and its ancestors from the hierarchy, then zero-shot neighbours. It needs the "
                 "hierarchy at query time; an aligned dual encoder does not.",
    "reference_bm25": "Word overlap: BM25 over the documents' texts (English stopwords left out). Lists only "
                      "documents that share a word with the query.",
    "reference_hybrid": f"Zero-shot MiniLM's and BM25's top {FUSION_DEPTH} merged by reciprocal-rank fusion "
                        "(k = 60): the hybrid a sceptic tries first, with no training at all.",
    "reference_hybrid_walk": "Link-and-walk linking through the BM25 hybrid: its first hit, then that node's ancestors "
                             "from the hierarchy, then the rest of the hybrid's list.",
}
show(cols[2], f"Reference ({REFERENCE_NAMES[reference]})", reference_ids, REFERENCE_HELP[reference])
ui.next_step("pages/runs.py", "Next: Runs compares every run and has the downloads")
