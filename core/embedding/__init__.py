"""The base model's view of a corpus: texts to unit vectors with a sentence-transformers model, cached on disk.

Owns loading the model offline, encoding with progress, the embedding cache, `BaseVectors` (queries, documents and
clauses of a corpus), the node keys (clauses) and the constructive Gaussian reference embedding.
May import: core.errors, core.atomic, core.data.
"""

MAY_IMPORT = ("core.errors", "core.atomic", "core.data")  # checked by tests/test_layout.py
