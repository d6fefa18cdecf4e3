"""Map: the documents before (zero-shot MiniLM) and after alignment, side by side, coloured and named by a level, with
a number for how well each map's neighbourhoods agree with that level."""

from __future__ import annotations

import numpy as np
import streamlit as st

import ui
from core.data.workspace import workspace_dir
from core.embedding.model import embedding_cache
from core.studio.figures import UNLABELLED, label_colours, map_figure, short_name
from core.studio.maps import MAX_POINTS, build_maps, first_informative_level, map_paths, read_map, sample_rows

st.title("Map")
name, run, corpus = ui.pick_finished_run("map_run", "map it")
rows = np.flatnonzero(corpus.is_row)
shown = rows[sample_rows(len(rows))]
if len(rows) > MAX_POINTS:
    st.info(f"{len(rows):,} documents: the maps show a seeded sample of {MAX_POINTS:,}.")
tree = corpus.hierarchy if corpus.hierarchy.is_tree else corpus.hierarchy.spanning_tree()
labels_by_level = tree.level_labels()[shown]
levels = list(range(labels_by_level.shape[1]))
counts = {lv: len(np.unique(labels_by_level[:, lv][labels_by_level[:, lv] >= 0])) for lv in levels}
level = st.select_slider("Colour by level", levels, value=first_informative_level(labels_by_level), key="map_level",
                         format_func=lambda lv: f"level {lv} ({ui.plural(counts[lv], 'label')})",
                         disabled=len(levels) < 2, help="Level 0 is the top of the hierarchy; each document takes the "
                         "colour of its ancestor at the chosen level. It starts at the first level where no label "
                         "covers more than half the documents.")
texts = [corpus.texts[i] for i in shown]
before_path, after_path = map_paths(workspace_dir(), run.path, texts)
before, after = read_map(before_path), read_map(after_path)

if before is None or after is None:
    slot = f"map:{name}:{after_path.name}"
    task = ui.current_task(slot)
    if task is None:
        docs_after = run.vectors()[1][shown]

        def work(progress):
            encode = lambda: embedding_cache().encode(texts, progress=lambda d, t: progress(  # noqa: E731
                "encoding the documents with zero-shot MiniLM", d, t))
            return build_maps([("UMAP of the zero-shot vectors", before_path, encode),
                               ("UMAP of the aligned vectors", after_path, lambda: docs_after)], progress)

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
hover = [corpus.texts[i][:120] for i in shown]
agreement = ui.knn_agreements(name, run, shown, tuple(column.tolist()))
left, right = st.columns(2)
KNN_HELP = ("Share of each document's 10 nearest neighbours, in the vectors themselves (not the 2-D picture), that "
            "have the same label at this level. Higher: neighbourhoods follow the hierarchy.")
with left:
    st.markdown("**Before**: zero-shot all-MiniLM-L6-v2")
    st.metric(f"kNN agreement at level {level}", "n/a" if agreement[0] is None else f"{agreement[0]:.1%}",
              help=KNN_HELP)
    st.plotly_chart(map_figure(before, colour, hover, colours=colours), width="stretch", key="map_before")
with right:
    st.markdown(f"**After**: `{name}`")
    delta = None if None in agreement else f"{(agreement[1] - agreement[0]) * 100:+.1f} pts"
    st.metric(f"kNN agreement at level {level}", "n/a" if agreement[1] is None else f"{agreement[1]:.1%}", delta,
              help=KNN_HELP)
    event = st.plotly_chart(map_figure(after, colour, hover, colours=colours), width="stretch", key="map_after",
                            on_select="rerun", selection_mode=("lasso", "box"))
st.caption("Names sit on their clusters (the 25 largest labels at this level); the same node has the same colour on "
           "both maps. Lasso or box-select points on the right-hand map to list them.")
selected = [p["customdata"] for p in (event.selection.points if event and event.selection else [])]
if selected:
    st.subheader(f"{ui.plural(len(selected), 'selected document')}")
    st.dataframe({"id": [corpus.ids[shown[i]] for i in selected], "text": [corpus.texts[shown[i]] for i in selected]},
                 width="stretch", hide_index=True)
ui.next_step("pages/retrieve.py", "Next: Retrieve shows what a query finds before and after")
