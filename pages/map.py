"""Map: UMAP of the documents before (zero-shot MiniLM) and after alignment, side by side, coloured by a level."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

import ui
from core.figures import map_figure
from core.maps import MAX_POINTS, cached_map, sample_rows
from core.workspace import embedding_cache, workspace_dir

st.title("Map")
name, run, corpus = ui.pick_finished_run("map_run", "map it")
docs_after = run.vectors()[1]
rows = np.flatnonzero(corpus.is_row)
shown = rows[sample_rows(len(rows))]
if len(rows) > MAX_POINTS:
    st.info(f"{len(rows):,} documents: the maps show a seeded sample of {MAX_POINTS:,}.")
tree = corpus.hierarchy if corpus.hierarchy.is_tree else corpus.hierarchy.spanning_tree()
labels_by_level = tree.level_labels()
level = st.slider("Colour by level", 0, max(labels_by_level.shape[1] - 1, 0), min(1, labels_by_level.shape[1] - 1),
                  key="map_level") if labels_by_level.shape[1] > 1 else 0
colour = [corpus.texts[a] if a >= 0 else "(above this level)" for a in labels_by_level[shown, level]]
hover = [corpus.texts[i][:120] for i in shown]

with st.spinner("UMAP (once per run; cached on disk)…"):
    texts = [corpus.texts[i] for i in shown]
    before_vectors = embedding_cache().encode(texts)
    key = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
    before = cached_map(workspace_dir() / "cache" / "maps" / f"minilm-{key}.npy", before_vectors)
    after = cached_map(run.path / f"map-{key}.npy", docs_after[shown])
left, right = st.columns(2)
with left:
    st.plotly_chart(map_figure(before, colour, hover, "Before: zero-shot all-MiniLM-L6-v2"), width="stretch",
                    key="map_before")
with right:
    event = st.plotly_chart(map_figure(after, colour, hover, f"After: {name}"), width="stretch", key="map_after",
                            on_select="rerun", selection_mode=("lasso", "box"))
selected = [p["customdata"] for p in (event.selection.points if event and event.selection else [])]
if selected:
    st.subheader(f"{len(selected)} selected documents")
    st.dataframe({"id": [corpus.ids[shown[i]] for i in selected], "text": [corpus.texts[shown[i]] for i in selected]},
                 width="stretch", hide_index=True)
