"""A training run on disk: a folder that is readable at every moment, and the one function that trains into it.

Owns the run folder's layout and its one reader (folder.py) and `run_alignment` (alignment.py), which trains, scores
the result next to zero-shot and every reference on held-out queries, and writes everything atomically.
May import: core.errors, core.atomic, core.data, core.embedding, core.evaluation, core.align.
"""

MAY_IMPORT = ("core.errors", "core.atomic", "core.data", "core.embedding", "core.evaluation", "core.align")  # checked by tests/test_layout.py
