"""What the studio shows and runs in the background, with no UI library: figures, maps, tasks and training jobs.

Owns the plotly figures (live training chart, recall by distance, maps), UMAP maps with kNN agreement, background
tasks with progress, and training and tuning jobs that a page polls. Never imports streamlit.
May import: core.errors, core.atomic, core.data, core.embedding, core.evaluation, core.discovery, core.align, core.runs, core.tuning.
"""

MAY_IMPORT = ("core.errors", "core.atomic", "core.data", "core.embedding", "core.evaluation", "core.discovery", "core.align", "core.runs", "core.tuning")  # checked by tests/test_layout.py
