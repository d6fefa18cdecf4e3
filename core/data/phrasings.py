"""New phrasings of a corpus's nodes: a file of `id,query` rows, scored as held-out queries (never trained on).

A corpus's own queries are split into train / validation / held-out. A phrasings file adds queries the run never sees
in training at all: other names, synonyms, questions a user would type, each naming the node it should find. Any
corpus file format works (CSV, TSV, JSONL, Parquet); every row is checked, and a bad one is refused with its row
number.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.corpus import Corpus
from core.data.files import read_table, read_upload
from core.errors import InputError


@dataclass(frozen=True)
class Phrasings:
    source: str  # where they came from (a file name)
    nodes: np.ndarray  # (q,) int64 node each phrasing should find
    texts: tuple[str, ...]  # (q,) the phrasings

    def __len__(self) -> int:
        return len(self.texts)


def phrasings_from_frame(frame: pd.DataFrame, source: str, corpus: Corpus) -> Phrasings:
    """Validate a table of strings with columns id and query against the corpus's node ids."""
    where = f"{source} (new phrasings)"
    missing = [c for c in ("id", "query") if c not in frame.columns]
    if missing:
        raise InputError(where, f"missing the {', '.join(repr(c) for c in missing)} column (found: "
                         f"{', '.join(map(str, frame.columns)) or 'none'})",
                         "give a header row with columns id (the node's id in the corpus) and query (its new phrasing)")
    if not len(frame):
        raise InputError(where, "the file has no rows", "add rows of id,query")
    index = corpus.hierarchy.index
    nodes, texts = [], []
    for row, (node_id, query) in enumerate(zip(frame["id"].tolist(), frame["query"].tolist(), strict=True), start=1):
        node_id, query = str(node_id).strip(), str(query).strip()
        if node_id not in index:
            close = difflib.get_close_matches(node_id, corpus.ids, n=1, cutoff=0.8) if len(corpus.ids) < 200_000 else []
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(f"{source}, row {row}, column 'id'", f"unknown id {node_id!r}: no node of {corpus.name} has it",
                             f"{hint}use the corpus's own ids (python -m core export CORPUS --out FILE lists them)")
        if not query:
            raise InputError(f"{source}, row {row} (id {node_id!r}), column 'query'", "empty query",
                             "give every row a phrasing, or remove the row")
        nodes.append(index[node_id])
        texts.append(query)
    return Phrasings(source, np.asarray(nodes, dtype=np.int64), tuple(texts))


def load_phrasings(path: str | os.PathLike, corpus: Corpus) -> Phrasings:
    """Read and validate a phrasings file; InputError (one line, with the row) on any problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--queries {path}", "no such file", "give a CSV, TSV, JSONL or Parquet file of id,query rows")
    return phrasings_from_frame(read_table(path), path.name, corpus)


def load_phrasings_bytes(name: str, data: bytes, corpus: Corpus) -> Phrasings:
    """An uploaded phrasings file, read as any upload is (core/data/files.read_upload) and checked against `corpus`."""
    return read_upload(name, data, lambda path: phrasings_from_frame(read_table(path), path.name, corpus))
