"""Scoring vectors against the hierarchy: metrics, the evaluation of a run, the references every run stands beside.

Owns the metrics (recall by distance, kNN macro-F1, query metrics), `evaluate_embeddings`, link-and-walk and the
lexical references (BM25, the hybrid), and FAISS indexes (static and live). Knows nothing of training.
May import: core.errors, core.atomic, core.data, core.embedding.
"""

MAY_IMPORT = ("core.errors", "core.atomic", "core.data", "core.embedding")  # checked by tests/test_layout.py
