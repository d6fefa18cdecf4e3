"""Corpus: pick the built-in demo, a built-in name, an uploaded file or a local path; see its shape and hierarchy."""

from __future__ import annotations

import streamlit as st

import ui
from core.data.builtins import BUILTIN_EXAMPLES, DEMO
from core.data.workspace import DATA_ROOT_VAR, data_roots, serves_only_this_machine
from core.studio.figures import hierarchy_figure

st.title("Corpus")
# a local path reads files on the server: offered only when the server answers this machine alone, and then only under
# the data roots (core/data/workspace.py)
local = serves_only_this_machine(st.get_option("server.address"))
sources = ["Built-in", "Upload a file", "Local path"] if local else ["Built-in", "Upload a file"]
source = st.radio("Source", sources, horizontal=True, key="corpus_source")

corpus = None
if source == "Built-in":
    left, right = st.columns(2)
    chosen = left.selectbox("Built-in corpus", BUILTIN_EXAMPLES, index=BUILTIN_EXAMPLES.index(DEMO), key="builtin_spec")
    typed = right.text_input("Or type a built-in name", key="builtin_typed", placeholder="wordnet:dog.n.01",
                             help="wordnet:<synset> is the WordNet 3.0 noun subtree under that synset (WordNet's "
                             "synset names, e.g. whale.n.02); wordnet-synonyms:<synset> the same subtree queried by "
                             "synonyms its documents do not contain (new phrasings); icd10cm:demo 2,092 ICD-10-CM "
                             "diagnosis codes under chapter / block / category (the document-side demo: align it with "
                             "HEAL); synthetic:HxW a perfect tree of height H and width W.")
    corpus = ui.load_spec(typed.strip() or chosen)
    source = f"builtin:{typed.strip() or chosen}"
elif source == "Upload a file":
    uploaded = st.file_uploader("Corpus file", type=["csv", "tsv", "jsonl", "ndjson", "parquet", "gz"], key="upload",
                                help="Columns: id, text, optional query, and parents (ids separated by |) or path "
                                "(labels separated by /). Without parents, id may be left out (rows are numbered).")
    corpus = ui.load_upload(uploaded) if uploaded is not None else None
    source = f"upload:{uploaded.file_id}" if uploaded is not None else ""
else:
    path = st.text_input("File or folder on this machine", key="local_path",
                         help="A corpus file, or a folder of text files whose sub-folders are their labels, under "
                         f"{' or '.join(str(r) for r in data_roots())} (set {DATA_ROOT_VAR} to change).")
    corpus = ui.load_local_path(path) if path.strip() else None
    source = f"path:{path.strip()}"

if corpus is None:
    st.stop()

picked = corpus
corpus = ui.choose_corpus(source, picked)  # a hierarchy discovered for this pick stays active until another pick
if ui.discovered_note():
    note, back = st.columns([4, 1])
    note.info(f"Active: a hierarchy discovered for this corpus ({ui.discovered_note()}) on the Hierarchy page. It stays "
              "active until you pick another corpus.", icon=":material/account_tree:")
    if back.button("Use its own hierarchy", key="corpus_own_hierarchy"):
        ui.set_active(picked)
        st.rerun()
st.subheader(corpus.name)
ui.render_stats(corpus)

left, right = st.columns([1, 1])
kind = left.radio("View", ["sunburst", "treemap", "icicle"], horizontal=True, key="tree_kind")
depth = right.slider("Depth shown", 1, 8, ui.DEFAULT_DEPTH, key="tree_depth")
figure, trimmed = hierarchy_figure(corpus, kind, max_depth=depth)
if trimmed.trimmed:
    st.info(f"Large tree: showing {len(trimmed.nodes):,} of {corpus.n:,} nodes, down to depth {trimmed.depth}. "
            "Deeper nodes are counted in their ancestor's size.")
if trimmed.dag:
    st.caption("Nodes with several parents are drawn under their first parent.")
st.plotly_chart(figure, width="stretch", key="hierarchy_chart")

with st.expander("New phrasings (optional): queries to score that no run trains on"):
    st.caption("A file of id,query rows (CSV, TSV, JSONL or Parquet): other names, synonyms or questions for nodes of "
               "this corpus. Every run started on this corpus scores them after training, next to zero-shot MiniLM "
               "and every reference; they are never trained on and never pick a checkpoint.")
    phrasings_file = st.file_uploader("Phrasings file", type=["csv", "tsv", "jsonl", "ndjson", "parquet", "gz"],
                                      key="phrasings_upload")
    phrasings = ui.load_phrasings_upload(phrasings_file, corpus) if phrasings_file is not None else \
        ui.active_phrasings(corpus)
    if phrasings is not None:
        st.success(f"{ui.plural(len(phrasings), 'new phrasing')} of {ui.plural(len(set(phrasings.nodes.tolist())), 'node')}"
                   f" from {phrasings.source}: scored by every run started on this corpus.",
                   icon=":material/check_circle:")

st.subheader("Sample rows")
st.dataframe(ui.sample_rows(corpus), width="stretch", hide_index=True)
ui.next_step("pages/hierarchy.py", "Next: Hierarchy to browse it, or Align to train on it")
