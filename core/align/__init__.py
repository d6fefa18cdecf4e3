"""Training hierarchy-aligned encoders: what a run is asked to do, what it is given, and the loop that trains it.

Owns `AlignConfig` (config.py), the run plan (plan.py: the resolved config, the query split and the references,
computed once), the training loop (train.py), the encoders (encoders/: one factory per encoder), the methods
(objectives/: one file per method) and their pure losses (losses/), training pairs and pseudo-queries, and the export
to a sentence-transformers folder.
May import: core.errors, core.atomic, core.data, core.embedding, core.evaluation, core.discovery.
"""

MAY_IMPORT = ("core.errors", "core.atomic", "core.data", "core.embedding", "core.evaluation", "core.discovery")  # checked by tests/test_layout.py
