"""Map: the queries or the documents before (zero-shot MiniLM) and after alignment, side by side, coloured and named by
a level, with a number for how well each map's neighbourhoods agree with that level. An asymmetric encoder (the memory
method) carries the hierarchy in its queries and keeps the documents' neighbourhoods, so both sides are measured and
the map opens on the side that changed more."""

from __future__ import annotations

import numpy as np
import streamlit as st

import ui
from core.data.workspace import workspace_dir
from core.embedding.model import embedding_cache
from core.studio.figures import UNLABELLED, label_colours, map_figure, short_name
from core.studio.maps import MAX_POINTS, build_maps, first_informative_level, map_paths, read_map, sample_rows

SIDES = ("queries", "documents")

st.title("Map")
name, run, corpus = ui.pick_finished_run("map_run", "map it")
tree = corpus.hierarchy if corpus.hierarchy.is_tree else corpus.hierarchy.spanning_tree()
node_labels = tree.level_labels()  # (n, levels) each node's ancestor at every level, -1 above its own
rows = np.flatnonzero(corpus.is_row)
points = {"documents": rows[sample_rows(len(rows))]}  # a side's points: positions in its vectors ...
nodes = {"documents": points["documents"]}  # ... and the node of each
texts = {"documents": [corpus.texts[i] for i in points["documents"]]}
query_nodes = corpus.query_nodes
if len(query_nodes):
    points["queries"] = sample_rows(len(query_nodes))
    nodes["queries"] = query_nodes[points["queries"]]
    all_queries = corpus.query_texts()
    texts["queries"] = [all_queries[i] for i in points["queries"]]
points = {side: points[side] for side in SIDES if side in points}  # queries first, where there are any
levels = list(range(node_labels.shape[1]))
shown_labels = node_labels[nodes["documents"]]
counts = {lv: len(np.unique(shown_labels[:, lv][shown_labels[:, lv] >= 0])) for lv in levels}
level = st.select_slider("Colour by level", levels, value=first_informative_level(shown_labels), key="map_level",
                         format_func=lambda lv: f"level {lv} ({ui.plural(counts[lv], 'label')})",
                         disabled=len(levels) < 2, help="Level 0 is the top of the hierarchy; each point takes the "
                         "colour of its node's ancestor at the chosen level. It starts at the first level where no "
                         "label covers more than half the documents.")
KNN_HELP = ("Share of each point's 10 nearest neighbours, in the vectors themselves (not the 2-D picture), that "
            "have the same label at this level. Higher: neighbourhoods follow the hierarchy.")
agreement = {side: ui.knn_agreements(name, run, side, points[side], tuple(node_labels[nodes[side], level].tolist()))
             for side in points}
change = {side: None if None in a else a[1] - a[0] for side, a in agreement.items()}
for col, side in zip(st.columns(len(points)), points):
    a = agreement[side]
    col.metric(f"{side.capitalize()}: kNN agreement at level {level}",
               "n/a" if change[side] is None else f"{a[0]:.1%} → {a[1]:.1%}",
               None if change[side] is None else f"{change[side] * 100:+.1f} pts", border=True, help=KNN_HELP)
# the side where the alignment lives; ties go to the documents, what the index holds (a corpus with no query column
# uses its documents as queries, so both sides change alike)
moved = max(reversed(list(points)), key=lambda s: abs(change[s] or 0.0))
side = st.segmented_control("Side", list(points), default=moved, key="map_side", format_func=str.capitalize,
                            help="Which vectors to map: the queries (what a user types) or the documents (what the "
                            "index holds). It opens on the side whose neighbourhoods changed more.") or moved
if len(points) > 1 and change[side] is not None and abs(change[side]) < abs(change[moved]):
    st.caption(f"The {moved} changed more ({change[moved] * 100:+.1f} pts against {change[side] * 100:+.1f}).")
shown = points[side]
if len(shown) < (len(rows) if side == "documents" else len(query_nodes)):
    st.info(f"{len(rows) if side == 'documents' else len(query_nodes):,} {side}: the maps show a seeded sample of "
            f"{MAX_POINTS:,}.")
labels_by_level = node_labels[nodes[side]]
before_path, after_path = map_paths(workspace_dir(), run.path, texts)
before, after = read_map(before_path), read_map(after_path)

if before is None or after is None:
    slot = f"map:{name}:{after_path.name}"
    task = ui.current_task(slot)
    if task is None:
        aligned = run.vectors()[0 if side == "queries" else 1][shown]
        side_texts = texts[side]

        def work(progress):
            encode = lambda: embedding_cache().encode(side_texts, progress=lambda d, t: progress(  # noqa: E731
                f"encoding the {side} with zero-shot MiniLM", d, t))
            return build_maps([(f"UMAP of the zero-shot {side}", before_path, encode),
                               (f"UMAP of the aligned {side}", after_path, lambda: aligned)], progress)

        task = ui.start_task(slot, "Map", work)

    @st.fragment(run_every=1.0)
    def wait_for_maps() -> None:
        current = ui.current_task(slot)
        if current is not None and not current.running:
            if current.state == "done":
                ui.forget_task(slot)
            st.rerun(scope="app")
        ui.render_task(current)
        st.caption("Computed once per run (UMAP, the same seed for both), then read from disk.")

    if task.state == "failed":
        ui.render_task(task)
        ui.forget_task(slot)
        st.stop()
    wait_for_maps()
    st.stop()

column = labels_by_level[:, level]
colour = [short_name(corpus, a) if a >= 0 else UNLABELLED for a in column]
colours = label_colours(colour)  # one colour per node, the same on both maps
hover = [text[:120] for text in texts[side]]
agreement = agreement[side]
left, right = st.columns(2)
with left:
    st.markdown(f"**Before**: zero-shot all-MiniLM-L6-v2, {side}")
    st.metric(f"kNN agreement at level {level}", "n/a" if agreement[0] is None else f"{agreement[0]:.1%}",
              help=KNN_HELP)
    st.plotly_chart(map_figure(before, colour, hover, colours=colours), width="stretch", key="map_before")
with right:
    st.markdown(f"**After**: `{name}`, {side}")
    delta = None if None in agreement else f"{(agreement[1] - agreement[0]) * 100:+.1f} pts"
    st.metric(f"kNN agreement at level {level}", "n/a" if agreement[1] is None else f"{agreement[1]:.1%}", delta,
              help=KNN_HELP)
    event = st.plotly_chart(map_figure(after, colour, hover, colours=colours), width="stretch", key="map_after",
                            on_select="rerun", selection_mode=("lasso", "box"))
st.caption("Names sit on their clusters (the 25 largest labels at this level); the same node has the same colour on "
           "both maps. Lasso or box-select points on the right-hand map to list them.")
selected = [p["customdata"] for p in (event.selection.points if event and event.selection else [])]
if selected:
    st.subheader(f"{ui.plural(len(selected), 'selected ' + side[:-1])}")
    picked = nodes[side][selected]
    st.dataframe({"id": [corpus.ids[i] for i in picked], side[:-1]: [texts[side][i] for i in selected]},
                 width="stretch", hide_index=True)
ui.next_step("pages/retrieve.py", "Next: Retrieve shows what a query finds before and after")
