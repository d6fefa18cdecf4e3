"""hieralign studio: `streamlit run app.py` (or `make run`). The pages live in pages/; shared helpers in ui.py."""

from __future__ import annotations

import streamlit as st

import ui

st.set_page_config(page_title="hieralign", page_icon="🌳", layout="wide")

navigation = st.navigation([
    st.Page("pages/corpus.py", title="Corpus", icon="📚", default=True),
    st.Page("pages/hierarchy.py", title="Hierarchy", icon="🌳"),
    st.Page("pages/align.py", title="Align", icon="🎯"),
    st.Page("pages/map.py", title="Map", icon="🗺️"),
    st.Page("pages/retrieve.py", title="Retrieve", icon="🔎"),
    st.Page("pages/runs.py", title="Runs", icon="📈"),
])
ui.sidebar_status()
navigation.run()
