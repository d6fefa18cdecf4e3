"""The texts a query can be linked to a node by: the node's whole document and, optionally, its clauses.

A sentence embedding of a whole document is dominated by its longest part. A short query that names a node ("giant
kangaroo") matches the clause of the document that names it better than the whole document ("giant kangaroo, great
grey kangaroo, Macropus giganteus: large greyish-brown kangaroo of grasslands of Australia"). Splitting documents into
clauses at punctuation and keeping every clause as a further key of its node is the multi-vector document
representation many retrieval systems use. The memory method links queries through these keys, and the link-and-walk
reference can use the same keys, so a comparison never gives one side a linking advantage the other lacks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KEY_KINDS = ("documents", "clauses")
_CLAUSE_BREAK = re.compile(r"[:;,.!?()\[\]\n]+")


def clauses(text: str, max_clauses: int = 8, min_chars: int = 3, max_chars: int = 200) -> list[str]:
    """The distinct clauses of a text, in order: pieces between punctuation, stripped, min_chars..max_chars long
    (longer pieces are cut), at most max_clauses. A text with no punctuation has no clauses beyond itself ([])."""
    pieces = [p.strip() for p in _CLAUSE_BREAK.split(text)]
    pieces = [p[:max_chars] for p in pieces if len(p) >= min_chars]
    if len(pieces) < 2:
        return []
    return list(dict.fromkeys(pieces))[:max_clauses]


@dataclass(frozen=True)
class NodeKeys:
    """Key texts and the node each belongs to; the first n keys are the n documents themselves, in node order."""

    texts: tuple[str, ...]  # (K,) key texts
    owner: np.ndarray  # (K,) int64 node of each key

    def __len__(self) -> int:
        return len(self.texts)


def node_keys(documents: Sequence[str], kind: str = "clauses", max_clauses: int = 8) -> NodeKeys:
    """Keys for nodes 0..n-1 with the given document texts: the documents, then (kind='clauses') their clauses."""
    if kind not in KEY_KINDS:
        raise ValueError(f"unknown key kind {kind!r}; use one of {KEY_KINDS}")
    texts = list(documents)
    owner = list(range(len(texts)))
    if kind == "clauses":
        for node, text in enumerate(documents):
            for piece in clauses(text, max_clauses):
                texts.append(piece)
                owner.append(node)
    return NodeKeys(tuple(texts), np.asarray(owner, dtype=np.int64))

