"""Retrieve: a query's top-k before (zero-shot MiniLM) and after alignment, with each hit's path and distance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import ui
from core.embeddings import load_model
from core.index import build_index, search
from core.workspace import embedding_cache

st.title("Retrieve")
name, run, corpus = ui.pick_finished_run("retrieve_run", "query it")
query_texts = corpus.query_texts()
left, right = st.columns([2, 1])
typed = left.text_input("Query", key="retrieve_query", placeholder=query_texts[0] if query_texts else "")
picked = right.selectbox("or one of the corpus's queries", ["", *query_texts[:5000]], key="retrieve_pick")
query = typed.strip() or picked
k = st.slider("Top k", 1, 50, 10, key="retrieve_k")
if not query:
    st.stop()

positions = {text: pos for pos, text in enumerate(query_texts)}
node = int(corpus.query_nodes[positions[query]]) if query in positions else None
h = corpus.hierarchy
distance = dict(zip(*map(np.ndarray.tolist, h.ancestors.of(node)))) if node is not None else {}
tree = h.spanning_tree()


def path_of(i: int) -> str:
    anc, _ = tree.ancestors.of(i)
    return " / ".join(h.ids[a] for a in anc[::-1])


def hits_table(ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [h.ids[i] for i in ids],
        "text": [corpus.texts[i][:120] for i in ids],
        "path": [path_of(int(i)) for i in ids],
        "distance": [str(distance[i]) if i in distance else ("not an ancestor" if node is not None else "?") for i in ids],
    })


cache = embedding_cache()
base_docs = cache.encode(list(corpus.texts))
base_query = load_model(None, "auto").encode([query], normalize_embeddings=True)
_, before_ids = search(build_index(base_docs), base_query, k)

queries_after, docs_after = run.vectors()
if run.model_path is not None:
    model = ui.cached_run_model(str(run.model_path))
    encode = getattr(model, "encode_query", model.encode)
    after_query = encode([query])
elif node is not None:  # lookup tables: only the corpus's own queries have vectors
    after_query = queries_after[[positions[query]]]
else:
    after_query = None

if node is not None:
    st.caption(f"Query node `{h.ids[node]}`: its {len(distance)} relevant documents are itself and its ancestors.")
cols = st.columns(2)
cols[0].subheader("Before (zero-shot)")
cols[0].dataframe(hits_table(before_ids[0]), width="stretch", hide_index=True)
cols[1].subheader(f"After ({name})")
if after_query is None:
    cols[1].info("This run learned lookup tables: only the corpus's own queries have vectors. Pick one on the right.")
else:
    _, after_ids = search(build_index(docs_after), after_query, k)
    cols[1].dataframe(hits_table(after_ids[0]), width="stretch", hide_index=True)
