"""hieralign studio: `streamlit run app.py` (or `make run`). The pages live in pages/; shared helpers in ui.py."""

from __future__ import annotations

import streamlit as st

import ui

st.set_page_config(page_title="hieralign", page_icon=":material/account_tree:", layout="wide")

navigation = st.navigation([
    st.Page("pages/corpus.py", title="Corpus", icon=":material/menu_book:", default=True),
    st.Page("pages/hierarchy.py", title="Hierarchy", icon=":material/account_tree:"),
    st.Page("pages/align.py", title="Align", icon=":material/model_training:"),
    st.Page("pages/tune.py", title="Tune", icon=":material/tune:"),
    st.Page("pages/map.py", title="Map", icon=":material/scatter_plot:"),
    st.Page("pages/retrieve.py", title="Retrieve", icon=":material/search:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/monitoring:"),
])
ui.start_up()  # once per server: torch threads for shared cores, UMAP compiled in the background
ui.sidebar_status()
navigation.run()
