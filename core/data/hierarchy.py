"""A hierarchy as a DAG of nodes stored in CSR arrays, with vectorised ancestor distances.

Every question the metrics and losses ask ("which nodes are ancestors of v, and how many hops up?") is answered by one
table of (node, ancestor, distance) pairs computed level by level with numpy, so all of WordNet takes well under a
second instead of a Python walk per node.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


class CycleError(ValueError):
    """The parent links contain a cycle; `cycle` lists node indices along it."""

    def __init__(self, cycle: list[int]):
        super().__init__(f"cycle through {len(cycle)} nodes")
        self.cycle = cycle


def gather(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR row gather: for each i, the entries of row rows[i]. Returns (position in `rows`, value)."""
    starts = ptr[rows]
    counts = ptr[rows + 1] - starts
    which = np.repeat(np.arange(len(rows)), counts)
    return which, values[np.repeat(starts, counts) + _ranks(counts)]


def csr_from_pairs(rows: np.ndarray, cols: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR (ptr, values) of the pairs (rows[i], cols[i]); values keep their order within a row."""
    order = np.argsort(rows, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=ptr[1:])
    return ptr, cols[order].astype(np.int32)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each c in counts, concatenated."""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


@dataclass(frozen=True)
class Ancestors:
    """All (node, ancestor) pairs, self included, with the minimum number of parent hops; sorted by node, distance."""

    node: np.ndarray  # (P,) int32
    ancestor: np.ndarray  # (P,) int32
    distance: np.ndarray  # (P,) int16
    ptr: np.ndarray  # (n+1,) int64: the pairs of node v are ptr[v]:ptr[v+1]

    def __len__(self) -> int:
        return len(self.node)

    def of(self, v: int) -> tuple[np.ndarray, np.ndarray]:
        """(ancestors, distances) of node v, nearest first."""
        s = slice(self.ptr[v], self.ptr[v + 1])
        return self.ancestor[s], self.distance[s]

    def sizes(self) -> np.ndarray:
        """|anc(v)| for every node, self included."""
        return np.diff(self.ptr)


def relevant_pairs(ancestors: Ancestors, query_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query row, ancestor, distance) of every relevant pair, ancestors of query i listed nearest first."""
    starts = ancestors.ptr[query_nodes]
    counts = ancestors.ptr[query_nodes + 1] - starts
    row = np.repeat(np.arange(len(query_nodes)), counts)
    pos = np.repeat(starts, counts) + np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return row, ancestors.ancestor[pos].astype(np.int64), ancestors.distance[pos].astype(np.int64)


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """Nodes 0..n-1 with string ids; parent links in CSR form (several parents allowed, no cycles)."""

    ids: tuple[str, ...]  # (n,) unique node ids
    parent_ptr: np.ndarray  # (n+1,) int64: parents of v are parent_idx[parent_ptr[v]:parent_ptr[v+1]]
    parent_idx: np.ndarray  # (E,) int32

    @classmethod
    def from_parent_lists(cls, ids: list[str] | tuple[str, ...], parents: list[list[int]]) -> Hierarchy:
        """Build and validate (raises CycleError). Duplicate parents of one node are dropped."""
        counts = np.fromiter((len(set(p)) for p in parents), dtype=np.int64, count=len(parents))
        ptr = np.zeros(len(parents) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        flat = [q for p in parents for q in dict.fromkeys(p)]
        idx = np.asarray(flat, dtype=np.int32) if flat else np.zeros(0, dtype=np.int32)
        h = cls(tuple(ids), ptr, idx)
        h.check_acyclic()
        return h

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Hierarchy)
            and self.ids == other.ids
            and np.array_equal(self.parent_ptr, other.parent_ptr)
            and np.array_equal(self.parent_idx, other.parent_idx)
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def n(self) -> int:
        return len(self.ids)

    @cached_property
    def index(self) -> dict[str, int]:
        return {node_id: i for i, node_id in enumerate(self.ids)}

    @cached_property
    def parent_count(self) -> np.ndarray:
        return np.diff(self.parent_ptr)

    @cached_property
    def _children(self) -> tuple[np.ndarray, np.ndarray]:
        child = np.repeat(np.arange(self.n, dtype=np.int32), self.parent_count)
        return csr_from_pairs(self.parent_idx, child, self.n)

    def parents(self, v: int) -> np.ndarray:
        return self.parent_idx[self.parent_ptr[v] : self.parent_ptr[v + 1]]

    def children(self, v: int) -> np.ndarray:
        ptr, idx = self._children
        return idx[ptr[v] : ptr[v + 1]]

    @cached_property
    def child_count(self) -> np.ndarray:
        return np.diff(self._children[0])

    @cached_property
    def roots(self) -> np.ndarray:
        return np.flatnonzero(self.parent_count == 0).astype(np.int32)

    @property
    def is_tree(self) -> bool:
        """Every node has at most one parent (a forest)."""
        return bool(self.n == 0 or self.parent_count.max() <= 1)

    def check_acyclic(self) -> None:
        """Raises CycleError naming one cycle if the parent links loop."""
        self.layers  # noqa: B018 -- computing the layers is the check

    @cached_property
    def layers(self) -> list[np.ndarray]:
        """Topological layers (Kahn's algorithm, a layer at a time): every node comes after all of its parents."""
        ptr, idx = self._children
        remaining = self.parent_count.copy()
        frontier = np.flatnonzero(remaining == 0)
        layers = []
        while frontier.size:
            layers.append(frontier)
            _, kids = gather(ptr, idx, frontier)
            remaining -= np.bincount(kids, minlength=self.n).astype(remaining.dtype)
            frontier = np.unique(kids[remaining[kids] == 0])
        if sum(map(len, layers)) < self.n:
            raise CycleError(self._find_cycle(remaining > 0))
        return layers

    def _find_cycle(self, stuck: np.ndarray) -> list[int]:
        # Every stuck node has a stuck parent, so walking stuck parents must revisit a node.
        v = int(np.flatnonzero(stuck)[0])
        seen: dict[int, int] = {}
        path: list[int] = []
        while v not in seen:
            seen[v] = len(path)
            path.append(v)
            v = int(next(p for p in self.parents(v) if stuck[p]))
        return path[seen[v] :]

    @cached_property
    def ancestors(self) -> Ancestors:
        """One topological layer at a time: anc(v) = {v at 0} + anc(p) one hop further for each parent p, keeping the
        smallest distance per ancestor. Parents are always finished before their children."""
        n = self.n
        start = np.zeros(n, dtype=np.int64)  # where each finished node's pairs sit in the buffers
        count = np.zeros(n, dtype=np.int64)
        chunks_node = []
        # growing buffers, doubled when full: appending by concatenation copied everything once per layer, which is
        # quadratic on deep hierarchies (a 5,000-node chain took 18 s instead of under 1)
        buf_anc = np.zeros(max(n, 1), dtype=np.int32)
        buf_dist = np.zeros(max(n, 1), dtype=np.int16)
        used = 0
        for layer in self.layers:
            which, parent = gather(self.parent_ptr, self.parent_idx, layer)
            edge = np.repeat(np.arange(len(parent)), count[parent])  # one entry per (edge, ancestor of its parent)
            pos = np.repeat(start[parent], count[parent]) + _ranks(count[parent])
            node = np.concatenate([layer, layer[which[edge]]]).astype(np.int64)
            anc = np.concatenate([layer, buf_anc[pos]]).astype(np.int64)
            dist = np.concatenate([np.zeros(len(layer), dtype=np.int16), buf_dist[pos] + 1])
            order = np.lexsort((anc, dist, node))  # by node, then distance: the first of each (node, anc) is nearest
            node, anc, dist = node[order], anc[order], dist[order]
            first = np.zeros(len(node), dtype=bool)
            first[np.unique(node * n + anc, return_index=True)[1]] = True
            node, anc, dist = node[first], anc[first], dist[first]
            counts = np.bincount(node, minlength=n)[layer]
            start[layer] = used + np.concatenate([[0], np.cumsum(counts)[:-1]])
            count[layer] = counts
            if used + len(node) > len(buf_anc):
                capacity = max(2 * len(buf_anc), used + len(node))
                buf_anc = np.concatenate([buf_anc[:used], np.zeros(capacity - used, dtype=np.int32)])
                buf_dist = np.concatenate([buf_dist[:used], np.zeros(capacity - used, dtype=np.int16)])
            buf_anc[used:used + len(node)] = anc
            buf_dist[used:used + len(node)] = dist
            used += len(node)
            chunks_node.append(node.astype(np.int32))
        node = np.concatenate(chunks_node) if chunks_node else np.zeros(0, dtype=np.int32)
        order = np.argsort(node, kind="stable")  # within a node the pairs are already by distance, then ancestor
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(node, minlength=n), out=ptr[1:])
        return Ancestors(node[order], buf_anc[:used][order], buf_dist[:used][order], ptr)

    @cached_property
    def depth(self) -> np.ndarray:
        """Fewest hops from each node up to a root (0 for roots)."""
        anc = self.ancestors
        is_root = self.parent_count[anc.ancestor] == 0
        depth = np.full(self.n, np.iinfo(np.int16).max, dtype=np.int16)
        np.minimum.at(depth, anc.node[is_root], anc.distance[is_root])
        return depth

    @property
    def max_depth(self) -> int:
        return int(self.depth.max()) if self.n else 0

    def descendants(self, v: int) -> np.ndarray:
        """Nodes below v, v included, in index order."""
        anc = self.ancestors
        return np.unique(anc.node[anc.ancestor == v])

    def subset(self, keep: np.ndarray) -> Hierarchy:
        """The hierarchy on the nodes `keep` (sorted indices); links to dropped parents are removed."""
        new_index = np.full(self.n, -1, dtype=np.int64)
        new_index[keep] = np.arange(len(keep))
        which, parent = gather(self.parent_ptr, self.parent_idx, keep)
        mapped = new_index[parent]
        ok = mapped >= 0
        ptr = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(np.bincount(which[ok], minlength=len(keep)), out=ptr[1:])
        return Hierarchy(tuple(self.ids[i] for i in keep), ptr, mapped[ok].astype(np.int32))

    def spanning_tree(self) -> Hierarchy:
        """The same nodes with only each node's first parent: a tree to draw a DAG as a sunburst or treemap.

        Built once per hierarchy, so its ancestors and subtree sizes are computed once, not on every page rerun."""
        return self._spanning_tree

    @cached_property
    def _spanning_tree(self) -> Hierarchy:
        if self.is_tree:
            return self
        first = self.parent_idx[self.parent_ptr[:-1][self.parent_count > 0]]
        ptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.minimum(self.parent_count, 1), out=ptr[1:])
        return Hierarchy(self.ids, ptr, first.astype(np.int32))

    @cached_property
    def subtree_size(self) -> np.ndarray:
        """Number of descendants of each node, itself included."""
        return np.bincount(self.ancestors.ancestor, minlength=self.n)

    def level_labels(self) -> np.ndarray:
        """(n, max_depth+1) int32: column l holds each node's ancestor at depth l, -1 below the node's own depth.

        Only for trees (HEAL's per-level labels need one path per node). With a single root, column 0 is constant.
        """
        if not self.is_tree:
            raise ValueError("level labels need a tree: some nodes have several parents")
        anc = self.ancestors
        labels = np.full((self.n, self.max_depth + 1), -1, dtype=np.int32)
        labels[anc.node, self.depth[anc.ancestor]] = anc.ancestor
        return labels
