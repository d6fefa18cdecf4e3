"""Corpora and their hierarchies: the data model, reading and writing corpus files, the built-in corpora, the workspace.

Owns `Hierarchy` (a DAG with its ancestor sets), `Corpus` (one document per node, optional queries), corpus files
(CSV/TSV/JSONL/Parquet/folders), the built-ins (WordNet, synthetic trees) and the shipped WordNet file with its licence.
May import: core.errors, core.atomic.
"""

MAY_IMPORT = ("core.errors", "core.atomic")  # checked by tests/test_layout.py
