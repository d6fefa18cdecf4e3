"""Built-in corpora, addressed by name: `wordnet:<synset>` (the subtree under a WordNet noun synset) and
`synthetic:HxW` (a perfect tree of height H and width W). `load_corpus` accepts these or a path."""

from __future__ import annotations

import difflib
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.corpus import Corpus
from core.corpus_files import load_corpus_file
from core.errors import InputError
from core.hierarchy import Hierarchy

WORDNET_FILE = Path(__file__).parent / "data" / "wordnet_nouns.tsv.gz"
WORDNET_ROOT = "entity.n.01"
DEMO = "wordnet:mammal.n.01"  # what the app opens on
TINY_DEMO = "synthetic:3x3"  # small enough for tests of the app
MAX_SYNTHETIC_NODES = 2_000_000
BUILTIN_EXAMPLES = ["wordnet:mammal.n.01", "wordnet:dog.n.01", "wordnet:entity.n.01", "synthetic:4x5", "synthetic:3x3"]


@lru_cache(maxsize=1)
def wordnet_nouns() -> Corpus:
    """All 82,115 WordNet 3.0 noun synsets (the shipped derived file; see core/data/WORDNET_LICENSE.txt)."""
    corpus = load_corpus_file(WORDNET_FILE)
    return Corpus(f"wordnet:{WORDNET_ROOT}", corpus.hierarchy, corpus.texts, corpus.queries, corpus.is_row, "parents")


def wordnet(synset: str) -> Corpus:
    nouns = wordnet_nouns()
    if synset not in nouns.hierarchy.index:
        close = difflib.get_close_matches(synset, nouns.ids, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join('wordnet:' + c for c in close)}?" if close else "names look like mammal.n.01"
        raise InputError(f"wordnet:{synset}", "no such WordNet noun synset",
                          f"{hint} (wordnet:{WORDNET_ROOT} is all nouns)")
    if synset == WORDNET_ROOT:
        return nouns
    return nouns.subtree(synset, name=f"wordnet:{synset}")


def synthetic(height: int, width: int) -> Corpus:
    """A perfect tree: one root, `height` levels in all, every internal node with `width` children.

    Node ids spell the path from the root (`r`, `r.0`, `r.0.3`); document text `node r.0.3`, query `query r.0.3`.
    """
    ids = ["r"]
    parents: list[list[int]] = [[]]
    level = [0]
    for _ in range(height - 1):
        nxt = []
        for p in level:
            for c in range(width):
                ids.append(f"{ids[p]}.{c}")
                parents.append([p])
                nxt.append(len(ids) - 1)
        level = nxt
    hierarchy = Hierarchy.from_parent_lists(ids, parents)
    return Corpus(f"synthetic:{height}x{width}", hierarchy, tuple(f"node {i}" for i in ids),
                  tuple(f"query {i}" for i in ids), np.ones(len(ids), dtype=bool), "parents")


def synthetic_size(height: int, width: int) -> int:
    """Nodes of synthetic:HxW, counted level by level and stopped once past the limit, so that absurd names
    (synthetic:100000x100000) are refused at once instead of building a number with millions of digits."""
    size, level = 0, 1
    for _ in range(height):
        size += level
        if size > MAX_SYNTHETIC_NODES:
            return MAX_SYNTHETIC_NODES + 1
        level *= width
    return size


def load_corpus(spec: str | os.PathLike) -> Corpus:
    """A built-in name (`wordnet:...`, `synthetic:HxW`) or the path of a corpus file or folder."""
    text = str(spec)
    kind, sep, arg = text.partition(":")
    if sep and kind == "wordnet":
        return wordnet(arg.strip())
    if sep and kind == "synthetic":
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", arg)
        if not m or int(m[1]) < 1 or int(m[2]) < 1:
            raise InputError(text, "not a synthetic tree name", "write synthetic:HxW with height H and width W >= 1, e.g. synthetic:4x5")
        height, width = int(m[1]), int(m[2])
        size = synthetic_size(height, width)
        if size > MAX_SYNTHETIC_NODES:
            raise InputError(text, f"more than {MAX_SYNTHETIC_NODES:,} nodes",
                             f"keep the tree under {MAX_SYNTHETIC_NODES:,} nodes, e.g. synthetic:4x5 (156 nodes)")
        return synthetic(height, width)
    if sep and len(kind) > 1 and not Path(text).exists():
        raise InputError(text, f"unknown built-in corpus kind {kind!r}",
                          f"use wordnet:<synset> or synthetic:HxW (e.g. {', '.join(BUILTIN_EXAMPLES[:2])}), or a file path")
    return load_corpus_file(spec)
