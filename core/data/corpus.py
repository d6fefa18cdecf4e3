"""A corpus: nodes of a hierarchy, each with a document text and optionally a query text.

Two ways to give the hierarchy, matching the two corpus-file layouts:
- `parents`: every row is a node; the hierarchy lists parent ids (a DAG).
- `path`: rows are leaves under label nodes made from their label paths (`sci/space`); a label node's text is its name.
Label nodes exist only in memory (`is_row` is False for them); saving writes the rows back with their paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from core.data.hierarchy import CycleError, Hierarchy
from core.errors import InputError

LABEL_TEXT_SEP = " / "  # a label node's document text is its path, e.g. 'sci / space'
PATH_SEP = "/"
PARENT_SEP = "|"


@dataclass(frozen=True, eq=False)
class Corpus:
    """Nodes with texts over a hierarchy; node i of `hierarchy` has texts[i], queries[i] and is_row[i]."""

    name: str  # where it came from: a file path or a built-in name
    hierarchy: Hierarchy
    texts: tuple[str, ...]  # (n,) document text of each node
    queries: tuple[str, ...] | None  # (n,) query text ("" = none), or None when the corpus has no query column
    is_row: np.ndarray  # (n,) bool: a row of the corpus file (False for implicit label nodes)
    layout: str = "parents"  # "parents" or "path": how the hierarchy is written to a file
    extra: dict = field(default_factory=dict, compare=False)  # provenance, not part of equality

    @property
    def ids(self) -> tuple[str, ...]:
        return self.hierarchy.ids

    @property
    def n(self) -> int:
        return self.hierarchy.n

    @property
    def n_rows(self) -> int:
        return int(self.is_row.sum())

    @cached_property
    def query_nodes(self) -> np.ndarray:
        """Nodes that get a query: those with a query text, or every row when the corpus has no query column."""
        if self.queries is None:
            return np.flatnonzero(self.is_row).astype(np.int32)
        return np.flatnonzero([bool(q) for q in self.queries]).astype(np.int32)

    def query_texts(self, nodes: np.ndarray | None = None) -> list[str]:
        """Query text of each node: its query, else its document text."""
        nodes = self.query_nodes if nodes is None else nodes
        source = self.queries if self.queries is not None else self.texts
        return [source[i] or self.texts[i] for i in nodes]

    def subtree(self, root_id: str, name: str | None = None) -> Corpus:
        """The corpus restricted to `root_id` and everything below it."""
        keep = self.hierarchy.descendants(self.hierarchy.index[root_id])
        return Corpus(
            name=name or f"{self.name}[{root_id}]",
            hierarchy=self.hierarchy.subset(keep),
            texts=tuple(self.texts[i] for i in keep),
            queries=None if self.queries is None else tuple(self.queries[i] for i in keep),
            is_row=self.is_row[keep],
            layout=self.layout,
        )

    def same_content(self, other: Corpus) -> bool:
        """Same nodes, texts, queries, links and layout (the name may differ): what a file round-trip must keep."""
        return (
            self.hierarchy == other.hierarchy
            and self.texts == other.texts
            and self.queries == other.queries
            and np.array_equal(self.is_row, other.is_row)
            and self.layout == other.layout
        )

    def stats(self) -> dict:
        """The counts `python -m core info` and the Corpus page show."""
        h = self.hierarchy
        return {
            "name": self.name,
            "nodes": h.n,
            "documents": self.n_rows,
            "label_nodes": h.n - self.n_rows,
            "queries": len(self.query_nodes),
            "roots": len(h.roots),
            "leaves": int((h.child_count == 0).sum()),
            "max_depth": h.max_depth,
            "edges": len(h.parent_idx),
            "ancestor_pairs": len(h.ancestors),
            "multi_parent_nodes": int((h.parent_count > 1).sum()),
            "is_tree": h.is_tree,
            "layout": self.layout,
        }

    def to_frame(self) -> pd.DataFrame:
        """The rows as a corpus file holds them (id, text, [query], parents | path)."""
        rows = np.flatnonzero(self.is_row)
        h = self.hierarchy
        frame = {"id": [h.ids[i] for i in rows], "text": [self.texts[i] for i in rows]}
        if self.queries is not None:
            frame["query"] = [self.queries[i] for i in rows]
        if self.layout == "path":
            frame["path"] = [PATH_SEP.join(h.ids[p] for p in h.parents(i)[:1]) for i in rows]
        else:
            frame["parents"] = [PARENT_SEP.join(h.ids[p] for p in h.parents(i)) for i in rows]
        return pd.DataFrame(frame)


def _fail(source: str, row: int | None, column: str | None, problem: str, fix: str, ids=None) -> InputError:
    where = source
    if row is not None:
        where += f", row {row + 1}"
        if ids is not None:
            where += f" (id {ids[row]!r})"
    if column is not None:
        where += f", column {column!r}"
    return InputError(where, problem, fix)


def corpus_from_frame(frame: pd.DataFrame, source: str) -> Corpus:
    """Validate a table of strings (columns id, text, [query], parents | path) and build the corpus. Without a
    parents column the id column may be left out: rows are then numbered 1, 2, ... as in error messages.

    Every problem is reported as a InputError naming the source, the row (1-based, header not counted) and column.
    """
    if len(frame) == 0:
        raise _fail(source, None, None, "the file has no rows", "add at least one row with an id and a text")
    columns = set(frame.columns)
    if "id" not in columns and "text" in columns and "parents" not in columns:  # nothing refers to ids: number the rows
        frame = frame.assign(id=[str(row) for row in range(1, len(frame) + 1)])
        columns.add("id")
    for required in ("id", "text"):
        if required not in columns:
            why = " ('parents' refers to rows by id)" if required == "id" else ""
            raise _fail(source, None, None, f"missing the {required!r} column{why} (found: "
                        f"{', '.join(map(str, frame.columns))})",
                        "add a header row with columns id, text and optionally query and parents or path")
    if "parents" in columns and "path" in columns:
        raise _fail(source, None, None, "has both a 'parents' and a 'path' column",
                    "give the hierarchy one way: keep 'parents' (ids of parent rows) or 'path' (label paths), not both")
    ids = frame["id"].tolist()
    texts = frame["text"].tolist()
    blank_id = next((i for i, v in enumerate(ids) if not v.strip()), None)
    if blank_id is not None:
        raise _fail(source, blank_id, "id", "empty id", "give every row a unique, non-empty id")
    dup = frame["id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        first = ids.index(ids[row])
        raise _fail(source, row, "id", f"duplicate id {ids[row]!r} (first used on row {first + 1})",
                    "make every id unique")
    empty = next((i for i, t in enumerate(texts) if not t.strip()), None)
    if empty is not None:
        raise _fail(source, empty, "text", "empty text", "give every row some text, or remove the row", ids)
    queries = tuple(frame["query"].tolist()) if "query" in columns else None

    if "path" in columns:
        return _from_paths(frame, source, ids, texts, queries)

    index = {v: i for i, v in enumerate(ids)}
    if "parents" in columns and any(str(cell).strip() for cell in frame["parents"].tolist()):  # links are named
        for row, v in enumerate(ids):
            if PARENT_SEP in v:
                raise _fail(source, row, "id", f"id {v!r} contains {PARENT_SEP!r}, which separates parent ids",
                            f"rename the id without {PARENT_SEP!r} (and its mentions in 'parents')", ids)
    parents: list[list[int]] = []
    raw = frame["parents"].tolist() if "parents" in columns else [""] * len(ids)
    for row, cell in enumerate(raw):
        links = []
        for parent in cell.split(PARENT_SEP) if cell.strip() else ():
            parent = parent.strip()
            if parent not in index:
                raise _fail(source, row, "parents", f"unknown parent id {parent!r}",
                            "list only ids that appear in the id column, separated by '|' (empty for a root)", ids)
            links.append(index[parent])
        parents.append(links)
    try:
        hierarchy = Hierarchy.from_parent_lists(ids, parents)
    except CycleError as e:
        chain = " -> ".join(repr(ids[v]) for v in [*e.cycle, e.cycle[0]])
        raise _fail(source, e.cycle[0], "parents", f"the parent links form a cycle: {chain} (each is a child of the next)",
                    "remove one of these parent links so the hierarchy has no loop", ids) from None
    return Corpus(source, hierarchy, tuple(texts), queries, np.ones(len(ids), dtype=bool), "parents")


def _from_paths(frame: pd.DataFrame, source: str, ids: list[str], texts: list[str], queries) -> Corpus:
    """Rows become leaves under implicit label nodes, one per distinct path prefix; label ids are the prefixes."""
    row_ids = set(ids)
    label_ids: dict[str, int] = {}
    label_names: list[str] = []
    label_parents: list[list[int]] = []
    n_rows = len(ids)
    row_parents: list[list[int]] = []
    for row, cell in enumerate(frame["path"].tolist()):
        parts = [p.strip() for p in cell.split(PATH_SEP)] if cell.strip() else []
        if any(not p for p in parts):
            raise _fail(source, row, "path", f"path {cell!r} has an empty label (a leading, trailing or doubled "
                        f"{PATH_SEP!r})", f"write labels separated by single {PATH_SEP!r}, e.g. sci/space", ids)
        parent: list[int] = []
        for depth in range(len(parts)):
            prefix = PATH_SEP.join(parts[: depth + 1])
            if prefix not in label_ids:
                if prefix in row_ids:
                    raise _fail(source, row, "path", f"label {prefix!r} is also used as a row id",
                                "rename that row's id or the label so the two differ", ids)
                label_ids[prefix] = n_rows + len(label_names)
                label_names.append(LABEL_TEXT_SEP.join(parts[: depth + 1]))  # the whole path: 'misc' alone names
                # five different newsgroups, and identical texts cannot be told apart by any text encoder
                label_parents.append(parent)
            parent = [label_ids[prefix]]
        row_parents.append(parent)
    all_ids = ids + list(label_ids)
    hierarchy = Hierarchy.from_parent_lists(all_ids, row_parents + label_parents)
    n_labels = len(label_names)
    return Corpus(
        name=source,
        hierarchy=hierarchy,
        texts=tuple(texts + label_names),
        queries=None if queries is None else tuple(queries) + ("",) * n_labels,
        is_row=np.r_[np.ones(n_rows, dtype=bool), np.zeros(n_labels, dtype=bool)],
        layout="path",
    )
