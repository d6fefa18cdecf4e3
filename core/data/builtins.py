"""Built-in corpora, addressed by name: `wordnet:<synset>` (the subtree under a WordNet noun synset),
`wordnet-synonyms:<synset>` (the same subtree queried by synonyms its documents do not contain), `icd10cm:demo` (2,092
ICD-10-CM diagnosis codes under chapter / block / category: the document-side demo) and `synthetic:HxW` (a perfect
tree of height H and width W). `load_corpus` accepts these or a path."""

from __future__ import annotations

import difflib
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.data.corpus import Corpus
from core.data.files import load_corpus_file
from core.data.hierarchy import Hierarchy
from core.data.obo import mentions
from core.errors import InputError

WORDNET_FILE = Path(__file__).with_name("wordnet_nouns.tsv.gz")
WORDNET_ROOT = "entity.n.01"
ICD10CM_FILE = Path(__file__).with_name("icd10cm_demo.csv.gz")  # bench/icd10cm_demo.py; public domain
DOCUMENT_DEMO = "icd10cm:demo"  # the demo where documents regroup (HEAL)
DEMO = "wordnet:mammal.n.01"  # what the app opens on
TINY_DEMO = "synthetic:3x3"  # small enough for tests of the app
MAX_SYNTHETIC_NODES = 2_000_000
MAX_SYNTHETIC_PAIRS = 25_000_000  # (node, ancestor) pairs: a chain of 7,070 nodes
MAX_NAME_DIGITS = 12  # longer numbers are refused as too large before int() (which refuses over 4,300 digits)
BUILTIN_KINDS = ("wordnet", "wordnet-synonyms", "icd10cm", "synthetic")
BUILTIN_EXAMPLES = ["wordnet:mammal.n.01", "icd10cm:demo", "wordnet-synonyms:mammal.n.01", "wordnet:dog.n.01",
                    "wordnet:entity.n.01", "synthetic:4x5", "synthetic:3x3"]


@lru_cache(maxsize=1)
def wordnet_nouns() -> Corpus:
    """All 82,115 WordNet 3.0 noun synsets (the shipped derived file; see core/data/WORDNET_LICENSE.txt)."""
    corpus = load_corpus_file(WORDNET_FILE)
    return Corpus(f"wordnet:{WORDNET_ROOT}", corpus.hierarchy, corpus.texts, corpus.queries, corpus.is_row, "parents")


@lru_cache(maxsize=1)
def icd10cm_demo() -> Corpus:
    """2,092 ICD-10-CM codes (300 categories, 21 chapters): descriptions under chapter / block / category."""
    corpus = load_corpus_file(ICD10CM_FILE)
    return Corpus(DOCUMENT_DEMO, corpus.hierarchy, corpus.texts, corpus.queries, corpus.is_row, corpus.layout)


def wordnet(synset: str, kind: str = "wordnet") -> Corpus:
    nouns = wordnet_nouns()
    if synset not in nouns.hierarchy.index:
        close = difflib.get_close_matches(synset, nouns.ids, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(f'{kind}:' + c for c in close)}?" if close else "names look like mammal.n.01"
        raise InputError(f"{kind}:{synset}", "no such WordNet noun synset",
                          f"{hint} ({kind}:{WORDNET_ROOT} is all nouns)")
    if synset == WORDNET_ROOT:
        return nouns
    return nouns.subtree(synset, name=f"wordnet:{synset}")


def wordnet_lemmas(text: str) -> tuple[list[str], str]:
    """(lemmas, definition) of a shipped WordNet document, `lemma, lemma, ...: definition`."""
    names, _, definition = text.partition(": ")
    return names.split(", "), definition


def wordnet_synonyms(synset: str) -> Corpus:
    """The WordNet subtree under `synset`, queried by new phrasings: each document is its synset's head lemma and
    definition only (`dog: a member of the genus Canis ...`), and its query is the first other lemma of the synset that
    the document does not contain (`domestic dog`). Synsets with no such lemma have no query. So a query never appears
    in its own document, unlike `wordnet:`, whose documents begin with every lemma and whose query is the first; and
    since each node has at most one query, splitting the queries splits the nodes: a held-out node's synonym is never
    trained on."""
    tree = wordnet(synset, "wordnet-synonyms")
    texts, queries = [], []
    for text in tree.texts:
        lemmas, definition = wordnet_lemmas(text)
        doc = f"{lemmas[0]}: {definition}"
        texts.append(doc)
        queries.append(next((lemma for lemma in lemmas[1:] if not mentions(doc, lemma)), ""))
    return Corpus(f"wordnet-synonyms:{synset}", tree.hierarchy, tuple(texts), tuple(queries), tree.is_row, "parents")


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


def synthetic_size(height: int, width: int) -> tuple[int, int]:
    """(nodes, ancestor pairs) of synthetic:HxW, each MAX + 1 once past its limit. Counted without big numbers, so
    that absurd names (synthetic:100000x100000) are refused at once instead of building a number with millions of
    digits, and deep narrow trees (synthetic:1000000x1, a chain with 5 * 10^11 ancestor pairs) are refused instead of
    running for hours."""
    if height > MAX_SYNTHETIC_NODES or (height > 1 and width > MAX_SYNTHETIC_NODES):  # every level has a node
        return MAX_SYNTHETIC_NODES + 1, MAX_SYNTHETIC_PAIRS + 1
    if width == 1:  # a chain: node d has d + 1 ancestors, itself included
        nodes, pairs = height, height * (height + 1) // 2
    else:  # at most log2(MAX) + 1 levels before the nodes pass the limit
        nodes, pairs, level = 0, 0, 1
        for depth in range(height):
            nodes += level
            pairs += level * (depth + 1)
            if nodes > MAX_SYNTHETIC_NODES:
                break
            level *= width
    return min(nodes, MAX_SYNTHETIC_NODES + 1), min(pairs, MAX_SYNTHETIC_PAIRS + 1)


def _short(text: str) -> str:
    """A typed name as an error shows it: whole if short, else its start and length (one line, even for 10^5000)."""
    return text if len(text) <= 60 else f"{text[:40]}...({len(text):,} characters)"


def builtin_name(spec: str) -> str:
    """`spec` stripped if it names a built-in corpus, else InputError. For boxes a browser fills in: `load_corpus`
    also takes paths, and a path typed there would read any file on the server (and echo its header in the error)."""
    text = spec.strip()
    kind, sep, _ = text.partition(":")
    if not sep or kind not in BUILTIN_KINDS:
        raise InputError(repr(_short(text)), "not a built-in corpus name",
                         "type wordnet:<synset> (e.g. wordnet:dog.n.01), wordnet-synonyms:<synset>, icd10cm:demo or synthetic:HxW "
                         "(e.g. synthetic:4x5); "
                         "files go through Upload or Local path")
    return text


def load_corpus(spec: str | os.PathLike) -> Corpus:
    """A built-in name (`wordnet:...`, `synthetic:HxW`) or the path of a corpus file or folder."""
    text = str(spec)
    kind, sep, arg = text.partition(":")
    if sep and kind == "wordnet":
        return wordnet(arg.strip())
    if sep and kind == "wordnet-synonyms":
        return wordnet_synonyms(arg.strip())
    if sep and kind == "icd10cm":
        if arg.strip() != "demo":
            raise InputError(_short(text), "no such ICD-10-CM built-in", f"the shipped sample is {DOCUMENT_DEMO}")
        return icd10cm_demo()
    if sep and kind == "synthetic":
        shown = _short(text)
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", arg)
        digits = [m[1].lstrip("0") or "0", m[2].lstrip("0") or "0"] if m else []
        if not m or digits[0] == "0" or digits[1] == "0":
            raise InputError(shown, "not a synthetic tree name", "write synthetic:HxW with height H and width W >= 1, e.g. synthetic:4x5")
        height, width = (int(d) if len(d) <= MAX_NAME_DIGITS else MAX_SYNTHETIC_NODES + 1 for d in digits)
        size, pairs = synthetic_size(height, width)
        if size > MAX_SYNTHETIC_NODES:
            raise InputError(shown, f"more than {MAX_SYNTHETIC_NODES:,} nodes",
                             f"keep the tree under {MAX_SYNTHETIC_NODES:,} nodes, e.g. synthetic:4x5 (156 nodes)")
        if pairs > MAX_SYNTHETIC_PAIRS:
            raise InputError(shown, f"more than {MAX_SYNTHETIC_PAIRS:,} (node, ancestor) pairs: too deep for its width",
                             "make it shallower: a chain (width 1) of height H has H(H+1)/2 pairs, so synthetic:7070x1 "
                             "is the deepest chain")
        return synthetic(height, width)
    if sep and len(kind) > 1 and not Path(text).exists():
        raise InputError(text, f"unknown built-in corpus kind {kind!r}",
                          f"use wordnet:<synset>, wordnet-synonyms:<synset>, icd10cm:demo or synthetic:HxW (e.g. {', '.join(BUILTIN_EXAMPLES[:2])}), "
                          "or a file path")
    return load_corpus_file(spec)
