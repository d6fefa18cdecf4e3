"""Hierarchy: use the corpus's own hierarchy or discover one; browse it; inspect and search its nodes."""

from __future__ import annotations

import numpy as np
import streamlit as st

import ui
from core.figures import hierarchy_figure

st.title("Hierarchy")
corpus = ui.active_corpus()
st.caption(f"Corpus `{corpus.name}`")

with st.expander("Discover a hierarchy instead", expanded=False):
    method = st.radio("Method", ["kmeans", "hnmfk"], horizontal=True, key="discover_method",
                      help="kmeans: HCE's bottom-up spherical k-means tree over MiniLM embeddings (seconds). "
                      "hnmfk: HEAL's hierarchical NMF on TF-IDF with automatic k (minutes on thousands of documents).")
    a, b = st.columns(2)
    branching = a.number_input("Branching (kmeans)", 2, 100, 10, key="discover_branching")
    depth = b.number_input("Depth (levels below the root)", 1, 6, 2, key="discover_depth")
    if st.button("Discover", key="discover_go"):
        with st.spinner(f"Discovering with {method}…"):
            found = ui.discover_hierarchy(corpus, method, int(branching), int(depth))
        ui.set_active(found)
        corpus = found
        st.success(f"Discovered {found.n - found.n_rows:,} topic nodes; this is now the active corpus.")

ui.render_stats(corpus)
h = corpus.hierarchy
left, right = st.columns([1, 1])
kind = left.radio("View", ["sunburst", "treemap", "icicle"], horizontal=True, key="h_kind")
max_depth = right.slider("Depth shown", 1, 8, 3, key="h_depth")
figure, trimmed = hierarchy_figure(corpus, kind, max_depth=max_depth)
if trimmed.trimmed:
    st.info(f"Showing {len(trimmed.nodes):,} of {corpus.n:,} nodes, down to depth {trimmed.depth}.")
st.plotly_chart(figure, width="stretch", key="h_chart")

st.subheader("Nodes")
needle = st.text_input("Search nodes by name or id", key="h_search")
inner = np.flatnonzero(h.child_count > 0)
candidates = inner if not needle else np.array(
    [i for i in range(h.n) if needle.lower() in h.ids[i].lower() or needle.lower() in corpus.texts[i][:80].lower()],
    dtype=int)
if len(candidates) == 0:
    st.warning(f"No node matches {needle!r}.")
    st.stop()
sizes = h.subtree_size
candidates = candidates[np.argsort(-sizes[candidates], kind="stable")][:500]
choice = st.selectbox("Node", [h.ids[i] for i in candidates], key="h_node",
                      format_func=lambda node_id: f"{node_id} ({sizes[h.index[node_id]]:,} below)")
v = h.index[choice]
anc, _ = h.spanning_tree().ancestors.of(v)
st.markdown(f"**{corpus.texts[v][:200]}**")
st.write(f"Path: `{' / '.join(h.ids[a] for a in anc[::-1])}` · depth {int(h.depth[v])} · "
         f"{int(sizes[v]):,} nodes below (itself included) · {len(h.children(v)):,} children")
below = h.descendants(v)
docs = below[corpus.is_row[below]][:20]
st.dataframe({"id": [h.ids[i] for i in docs], "text": [corpus.texts[i][:160] for i in docs]}, width="stretch",
             hide_index=True)
