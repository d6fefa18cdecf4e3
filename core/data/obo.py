"""Ontologies in OBO format (`.obo`: the Gene Ontology, the Human Phenotype Ontology, ...) as corpora.

Each non-obsolete `[Term]` is a node; its `is_a` links are its parents (a DAG); its document is `name: definition`
(the name alone where there is no definition). Its query is its first EXACT synonym that the document does not
contain: a new phrasing, as `wordnet-synonyms:` has, so the query never appears in the text it must find. Links to
terms outside the file and to obsolete terms are dropped (their number is kept in `corpus.extra`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from core.data.corpus import PARENT_SEP, Corpus, corpus_from_frame
from core.errors import InputError

QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"\s*(.*)')


def mentions(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words, ignoring case."""
    return re.search(rf"(?<!\w){re.escape(phrase.lower())}(?!\w)", text.lower()) is not None


def _unquote(value: str) -> tuple[str, str]:
    """(the quoted text with OBO escapes undone, what follows it) of a `def:` or `synonym:` value."""
    m = QUOTED.match(value)
    if not m:
        return value.strip(), ""
    return re.sub(r"\\(.)", r"\1", m[1]).strip(), m[2]


def parse_obo(text: str) -> list[dict]:
    """Every [Term] stanza as {id, name, def, synonyms [(text, scope)], is_a [ids], obsolete}."""
    terms, term = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            term = {"id": "", "name": "", "def": "", "synonyms": [], "is_a": [], "obsolete": False} \
                if line == "[Term]" else None
            if term is not None:
                terms.append(term)
            continue
        if term is None or ":" not in line or line.startswith("!"):
            continue
        tag, _, value = line.partition(":")
        value = value.strip()
        if tag == "id":
            term["id"] = value
        elif tag == "name":
            term["name"] = value
        elif tag == "def":
            term["def"] = _unquote(value)[0]
        elif tag == "synonym":
            synonym, rest = _unquote(value)
            term["synonyms"].append((synonym, (rest.split() or [""])[0]))
        elif tag == "is_a":
            term["is_a"].append(value.split("!")[0].split("{")[0].strip())
        elif tag == "is_obsolete":
            term["obsolete"] = value.lower() == "true"
    return terms


def load_obo(path: str | os.PathLike) -> Corpus:
    """The ontology at `path` as a corpus (see the module docstring); InputError when it holds no usable term."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(str(path), f"cannot be read as UTF-8 text ({e})", "give an OBO 1.2 or 1.4 file") from None
    terms = [t for t in parse_obo(text) if t["id"] and not t["obsolete"]]
    if not terms:
        raise InputError(str(path), "holds no [Term] with an id (or only obsolete ones)",
                         "give an ontology in OBO format, with [Term] stanzas")
    known = {t["id"] for t in terms}
    bad = next((t["id"] for t in terms if PARENT_SEP in t["id"]), None)
    if bad is not None:
        raise InputError(str(path), f"term id {bad!r} contains {PARENT_SEP!r}", "rename the term")
    rows, dropped = [], 0
    for t in terms:
        name = t["name"] or t["id"]
        doc = f"{name}: {t['def']}" if t["def"] else name
        query = next((s for s, scope in t["synonyms"] if scope == "EXACT" and s and not mentions(doc, s)), "")
        parents = [p for p in dict.fromkeys(t["is_a"]) if p in known]
        dropped += len(t["is_a"]) - len(parents)
        rows.append({"id": t["id"], "text": doc, "query": query, "parents": PARENT_SEP.join(parents)})
    corpus = corpus_from_frame(pd.DataFrame(rows, dtype=str), str(path))
    corpus.extra.update(obo_links_dropped=dropped)
    return corpus
