"""Hierarchy: use the corpus's own hierarchy or discover one; browse it (breadcrumb, children, search); inspect nodes."""

from __future__ import annotations

import numpy as np
import streamlit as st

import ui
from core.discovery.level_tree import parse_levels
from core.errors import InputError
from core.studio.figures import hierarchy_figure

st.title("Hierarchy")
corpus = ui.active_corpus()
st.caption(f"Corpus {ui.corpus_caption(corpus)}")

# --- discovery, in the background --------------------------------------------------------------------------------------
task = ui.current_task("discover")
with st.expander("Discover a hierarchy instead", expanded=task is not None and task.running):
    method = st.radio("Method", ["kmeans", "hnmfk"], horizontal=True, key="discover_method",
                      help="kmeans: HCE's spherical k-means tree over MiniLM embeddings (seconds). "
                      "hnmfk: HEAL's hierarchical NMF on TF-IDF with automatic k (minutes on thousands of documents).")
    a, b = st.columns(2)
    levels = None
    if method == "kmeans":
        typed = a.text_input("Topics per level, coarse to fine", "7, 20", key="discover_levels",
                             help="About 7 topics, then about 20 below them: each level as good as a flat clustering "
                             "of its size (UMAP, k-means, Ward). Leave empty for HCE's bottom-up tree by branching.")
        try:
            levels = parse_levels(typed, corpus.n_rows) if typed.strip() else None
        except InputError as error:
            st.error(str(error), icon=":material/error:")
            levels = ()
        depth = len(levels or (1,))
    words = 0.0
    if method == "kmeans":
        words = b.number_input("Weight of the words", 0.0, 2.0, 0.0, 0.25, key="discover_words",
                               help="0: cluster the embeddings alone. Above 0: the documents' TF-IDF (reduced to 100 "
                               "dimensions) is clustered beside them with this weight. 0.5-0.75 helped on long posts "
                               "(20 Newsgroups) and hurt on one-line texts (WordNet glosses).")
    if method != "kmeans" or levels is None:
        a.number_input("Branching (kmeans)", 2, 100, 10, key="discover_branching", disabled=method != "kmeans",
                       help="Documents per cluster at the bottom, clusters per cluster above.")
        depth = (a if method == "kmeans" else b).number_input("Levels below the root", 1, 6, 2, key="discover_depth")
    running = task is not None and task.running
    if st.button("Discover", key="discover_go", disabled=running or levels == ()):
        work = ui.discover_work(corpus, method, int(depth), int(st.session_state.get("discover_branching", 10)),
                                levels or None, float(words))
        ui.start_task("discover", f"Discovering with {method}", work)
        st.rerun()

    @st.fragment(run_every=1.0 if running else None)
    def discovery_progress() -> None:
        current = ui.current_task("discover")
        if current is None:
            return
        if current.running:
            ui.render_task(current)
            return
        if current.state == "done":
            found = current.result
            ui.forget_task("discover")
            described = f"{method}, " + (" then ".join(map(str, levels)) + " topics" if levels else f"{int(depth)} levels") \
                + (f", words weighted {words:g}" if words else "")
            ui.set_active(found, discovered=described)
            st.session_state["discover_message"] = (f"Discovered {ui.plural(found.n - found.n_rows, 'topic node')} in "
                                                    f"{current.snapshot()['seconds']:.1f} s; this is now the active "
                                                    "corpus (until you pick another on the Corpus page).")
            for key in ("h_focus", "h_node", "h_picked", "h_search", "h_last_search"):  # the previous hierarchy's
                st.session_state.pop(key, None)
            st.rerun(scope="app")  # sidebar, caption and chart show the new hierarchy at once
        elif running:
            st.rerun(scope="app")  # failed: stop polling; the error stays shown below
        else:
            ui.render_task(current)

    discovery_progress()
if "discover_message" in st.session_state:
    st.success(st.session_state.pop("discover_message"), icon=":material/check_circle:")

ui.render_stats(corpus)
h = corpus.hierarchy
tree = h.spanning_tree()
sizes = tree.subtree_size

# --- search first (its box is drawn below the chart, but a new search moves the chart to the best match) ---------------
needle = st.session_state.get("h_search", "").strip()
low = needle.lower()
if not needle:
    candidates = np.flatnonzero(h.child_count > 0)
    candidates = candidates[np.argsort(-sizes[candidates], kind="stable")][:500]
else:
    matches = [i for i in range(h.n) if low in h.ids[i].lower() or low in corpus.texts[i][:80].lower()]
    # best first: the id itself (or WordNet's "whale.n.…"), then ids that start with it, then the largest subtrees
    matches.sort(key=lambda i: (not (h.ids[i].lower() == low or h.ids[i].lower().startswith(low + ".")),
                                not h.ids[i].lower().startswith(low), -int(sizes[i])))
    candidates = np.asarray(matches[:500], dtype=int)


def focus_on(node: int) -> None:
    """Zoom the chart to a node's parent, so the node is drawn (in red) among its siblings."""
    parents = tree.parents(node)
    st.session_state["h_focus"] = int(parents[0]) if len(parents) else None
    st.session_state["h_picked"] = True  # from now on the chosen node is drawn in red


if needle != st.session_state.get("h_last_search", ""):
    st.session_state["h_last_search"] = needle
    if len(candidates):
        st.session_state["h_node"] = h.ids[candidates[0]]
        focus_on(int(candidates[0]))

# --- what the chart shows: focus (breadcrumb), highlight (the chosen node) ----------------------------------------------
if st.session_state.get("h_focus") is not None and st.session_state["h_focus"] >= h.n:
    st.session_state.pop("h_focus")  # a node of another hierarchy
focus = st.session_state.get("h_focus")


def set_focus(node: int | None) -> None:
    st.session_state["h_focus"] = node


left, right = st.columns([1, 1])
kind = left.radio("View", ["sunburst", "treemap", "icicle"], horizontal=True, key="h_kind")
max_depth = right.slider("Depth shown", 1, 8, ui.DEFAULT_DEPTH, key="h_depth")

crumbs = [] if focus is None else list(tree.ancestors.of(focus)[0][::-1])
with st.container(horizontal=True, gap="small"):
    st.button("All", key="crumb_top", on_click=set_focus, args=(None,), icon=":material/home:",
              disabled=focus is None, help="Show the whole hierarchy")
    for i, node in enumerate(crumbs[-8:]):
        st.button(f"› {h.ids[node][:28]}", key=f"crumb_{i}", on_click=set_focus, args=(int(node),),
                  disabled=node == focus, help=corpus.texts[node][:160], type="tertiary")

selected_id = st.session_state.get("h_node") if st.session_state.get("h_picked") else None
highlight = h.index.get(selected_id) if selected_id else None
if highlight is not None and h.parent_count[highlight] == 0:
    highlight = None  # a root: nothing to point at
figure, trimmed = hierarchy_figure(corpus, kind, max_depth=max_depth, root=focus, highlight=highlight)
if trimmed.trimmed:
    st.caption(f"Showing {trimmed.nodes.size:,} of {ui.plural(int(sizes[focus]) if focus is not None else h.n, 'node')}"
               f", down to {trimmed.depth} levels below the top; deeper nodes count in their ancestor's size. Click a "
               "segment to show what is below it (its centre goes back up); the path above and 'Go down to' below move the "
               "view too.")


chart_key = f"h_chart_{focus}"  # a new chart (and selection) per view


def on_chart_click() -> None:
    """A click on a segment: show what is below it (a leaf: show it among its siblings); the centre goes up."""
    points = st.session_state[chart_key].selection.points
    v = h.index.get(points[0].get("id")) if points else None
    if v is None:
        return
    if v == focus:
        parents = tree.parents(v)
        set_focus(int(parents[0]) if len(parents) else None)
    elif h.child_count[v] > 0:
        set_focus(int(v))
    else:
        focus_on(int(v))
    st.session_state["h_node"] = h.ids[v]
    st.session_state["h_picked"] = True


st.plotly_chart(figure, width="stretch", key=chart_key, on_select=on_chart_click, selection_mode="points")

children = h.children(focus) if focus is not None else h.roots
children = children[np.argsort(-sizes[children], kind="stable")]
if len(children) and len(children) <= 2_000:
    st.selectbox("Go down to", [None, *children.tolist()], key=f"h_down_{focus}",
                 format_func=lambda v: "(pick a child to show below it)" if v is None
                 else f"{h.ids[v]} ({ui.plural(int(sizes[v]), 'node')})",
                 on_change=lambda: set_focus(st.session_state[f"h_down_{focus}"]))

# --- nodes: search, inspect ------------------------------------------------------------------------------------------
st.subheader("Nodes")
st.text_input("Search nodes by name or id", key="h_search",
              help="The best match is chosen and drawn in red in the chart, which zooms to its parent.")
if len(candidates) == 0:
    st.warning(f"No node matches {needle!r}.")
    st.stop()
options = [h.ids[i] for i in candidates]
if st.session_state.get("h_node") in h.index and st.session_state.get("h_picked") and \
        st.session_state["h_node"] not in options:
    options.insert(0, st.session_state["h_node"])  # picked in the chart: a leaf, or outside the search
if st.session_state.get("h_node") not in options:
    st.session_state.pop("h_node", None)
choice = st.selectbox("Node", options, key="h_node",
                      on_change=lambda: focus_on(h.index[st.session_state["h_node"]]),
                      format_func=lambda node_id: f"{node_id} ({ui.plural(int(sizes[h.index[node_id]]), 'node')} "
                      "below, itself included)")
v = h.index[choice]
anc, _ = tree.ancestors.of(v)
st.markdown(f"**{corpus.texts[v][:200]}**")
st.write(f"Path: `{' / '.join(h.ids[a] for a in anc[::-1])}` · depth {int(h.depth[v])} · "
         f"{ui.plural(int(sizes[v]), 'node')} below (itself included) · {ui.plural(len(h.children(v)), 'child', 'children')}")
below = h.descendants(v)
docs = below[corpus.is_row[below]][:20]
st.dataframe({"id": [h.ids[i] for i in docs], "text": [corpus.texts[i][:160] for i in docs]}, width="stretch",
             hide_index=True)
ui.next_step("pages/align.py", "Next: Align trains embeddings that follow this hierarchy")
