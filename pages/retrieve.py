"""Retrieve: a query's top-k before (zero-shot MiniLM), after alignment, and by the link-and-walk reference, side by
side, each hit with its distance from the query's node and its path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import ui
from core.evaluate import heldout_mask
from core.index import build_index, search
from core.reference import reference_ranking

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
if not query:
    st.stop()

positions = {text: pos for pos, text in enumerate(query_texts)}
node = int(corpus.query_nodes[positions[query]]) if query in positions else None
h = corpus.hierarchy
tree = h.spanning_tree()
distance = dict(zip(*map(np.ndarray.tolist, h.ancestors.of(node)))) if node is not None else {}
single_root = len(h.roots) == 1


def short(i: int) -> str:
    """A node's name: its id for a corpus row, its label for a label node made from a `path`."""
    return h.ids[i] if corpus.is_row[i] else corpus.texts[i]


def path_of(i: int) -> list[str]:
    """The hit's path from the top (the one root left out: it is on every path) down to the hit itself."""
    anc, _ = tree.ancestors.of(i)
    chain = [short(a) for a in anc[::-1]]
    return chain[1:] if single_root and len(chain) > 1 else chain


def hits_table(ids: np.ndarray) -> pd.DataFrame:
    ids = [int(i) for i in ids if i >= 0]
    return pd.DataFrame({
        "#": range(1, len(ids) + 1),
        "hit": [short(i) if corpus.is_row[i] and len(h.ids[i]) <= 30 else corpus.texts[i][:40] for i in ids],
        "distance": [("0 · itself" if distance[i] == 0 else str(distance[i])) if i in distance else "" for i in ids],
        "path": [path_of(i) for i in ids],
        "text": [corpus.texts[i][:160] for i in ids],
    })


COLUMNS = {
    "#": st.column_config.NumberColumn("#", width=30),
    "hit": st.column_config.TextColumn("hit", width="medium"),
    "distance": st.column_config.TextColumn("distance", width="small",
                                            help="Hops from the query's node up to this hit; empty: not an ancestor"),
    "path": st.column_config.ListColumn("path (top → hit)", width="large"),
    "text": st.column_config.TextColumn("text", width="large"),
}


def show(column, title: str, ids: np.ndarray | None, help_text: str) -> None:
    column.markdown(f"**{title}**", help=help_text)
    if ids is None:
        return
    table = hits_table(ids)
    if node is not None:
        found = sum(1 for i in ids if i in distance)
        column.caption(f"found {found} of {ui.plural(len(distance), 'relevant document')} "
                       f"(the node and its ancestors)")
    column.dataframe(table, width="stretch", hide_index=True, column_config=COLUMNS, key=f"hits_{title[:6]}")


base = ui.base_vectors(name, run)
base_query = ui.encode_base([query])
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
reference_ids = reference_ranking(corpus, base_query, base.docs, base.clause_vectors, base.clause_owner, width=k)[0]

if node is not None:
    st.caption(f"Query node `{short(node)}`: its {ui.plural(len(distance), 'relevant document')} are itself and its "
               f"ancestors. Path: {' › '.join(short(a) for a in tree.ancestors.of(node)[0][::-1])}")
else:
    st.caption("A new query (not one of the corpus's): no node of its own, so no distances.")
cols = st.columns(3)
show(cols[0], "Before (zero-shot)", before_ids[0], "all-MiniLM-L6-v2 with no training: nearest documents by cosine.")
show(cols[1], f"After ({config.method})", None if after_ids is None else after_ids[0],
     f"The aligned model of run {name}: nearest documents in its index.")
if after_ids is None:
    cols[1].info("This run learned lookup tables: only the corpus's own queries have vectors. Pick one on the right.")
show(cols[2], "Reference (link-and-walk)", reference_ids,
     "Links the query to its nearest document" + (" or clause" if base.clause_vectors is not None else "") +
     ", lists that node and its ancestors from the hierarchy, then zero-shot neighbours. It needs the hierarchy at "
     "query time; an aligned dual encoder does not.")
ui.next_step("pages/runs.py", "Next: Runs compares every run and has the downloads")
