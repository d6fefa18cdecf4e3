"""Hierarchies discovered by clustering, for corpora that do not give one.

Owns `discover` (a corpus file with a discovered `path`), the `--levels` tree, the bottom-up k-means tree (also HCE's
training tree) and HNMFk, and the naming of topics.
May import: core.errors, core.atomic, core.data.
"""

MAY_IMPORT = ("core.errors", "core.atomic", "core.data")  # checked by tests/test_layout.py
