"""hieralign's engine: everything the app, the command line, the notebooks and the benchmarks run, with no UI.

Layers, lowest first; a subpackage imports only from the ones its own docstring names (tests/test_layout.py checks
that, and that no import cycle exists at run time):

    errors, atomic   one-line input errors; atomic file writes (imported by everything)
    data/            corpora, hierarchies, corpus files, the built-in corpora, the workspace folder
    embedding/       the base sentence-transformers model, its on-disk cache, a corpus's base vectors
    evaluation/      metrics, scoring a run's vectors, the references (link-and-walk, BM25), FAISS indexes
    discovery/       hierarchies discovered by clustering (level tree, k-means tree, HNMFk)
    align/           training: config, run plan, the loop, encoders, objectives, losses, export
    runs/            a run folder on disk: training into it, reading it back
    studio/          what the app shows: figures, UMAP maps, background tasks and training jobs
    cli, bench       `python -m core ...`: the command line over all of the above

See docs/architecture.md for the diagram and where a new method, encoder or page goes.
"""
