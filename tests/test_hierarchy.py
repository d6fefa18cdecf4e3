from __future__ import annotations

import numpy as np
import pytest

from core.data.hierarchy import CycleError, Hierarchy

# A small DAG: r -> a, r -> b; a -> c, b -> c (two parents); c -> d; a -> e
#      r
#     / \
#    a   b
#   / \ /
#  e   c
#      |
#      d
IDS = ["r", "a", "b", "c", "d", "e"]
PARENTS = [[], [0], [0], [1, 2], [3], [1]]


def dag() -> Hierarchy:
    return Hierarchy.from_parent_lists(IDS, PARENTS)


def test_ancestors_of_two_parent_node_with_min_hops():
    h = dag()
    anc, dist = h.ancestors.of(4)  # d
    assert dict(zip((IDS[a] for a in anc), dist.tolist())) == {"d": 0, "c": 1, "a": 2, "b": 2, "r": 3}
    assert list(dist) == sorted(dist)
    anc, dist = h.ancestors.of(3)  # c: r is reachable through a and through b, both 2 hops
    assert dict(zip((IDS[a] for a in anc), dist.tolist())) == {"c": 0, "a": 1, "b": 1, "r": 2}
    assert h.ancestors.sizes().tolist() == [1, 2, 2, 4, 5, 3]
    assert len(h.ancestors) == 17


def test_min_hops_when_paths_differ_in_length():
    # x has parents p (1 hop below root) and root itself: dist(x, root) must be 1, not 2
    h = Hierarchy.from_parent_lists(["root", "p", "x"], [[], [0], [1, 0]])
    anc, dist = h.ancestors.of(2)
    assert dict(zip(anc.tolist(), dist.tolist())) == {2: 0, 1: 1, 0: 1}


def test_structure_queries():
    h = dag()
    assert h.roots.tolist() == [0]
    assert sorted(h.children(1).tolist()) == [3, 5]
    assert h.parents(3).tolist() == [1, 2]
    assert h.depth.tolist() == [0, 1, 1, 2, 3, 2]
    assert h.max_depth == 3
    assert not h.is_tree
    assert h.descendants(2).tolist() == [2, 3, 4]


def test_subset_drops_links_to_removed_parents():
    h = dag()
    sub = h.subset(h.descendants(1))  # a, c, d, e
    assert sub.ids == ("a", "c", "d", "e")
    assert sub.parents(1).tolist() == [0]  # c keeps a, loses b
    assert sub.roots.tolist() == [0]


@pytest.mark.parametrize(
    "parents, cycle_ids",
    [
        ([[1], [0]], {"x", "y"}),
        ([[], [2], [1]], {"y", "z"}),
        ([[0], [], []], {"x"}),  # a node that is its own parent
    ],
)
def test_cycles_are_found_and_named(parents, cycle_ids):
    ids = ["x", "y", "z"][: len(parents)]
    with pytest.raises(CycleError) as e:
        Hierarchy.from_parent_lists(ids, parents)
    assert {ids[v] for v in e.value.cycle} == cycle_ids


def test_level_labels_for_a_tree():
    h = Hierarchy.from_parent_lists(["r", "a", "b", "a1", "a2", "b1"], [[], [0], [0], [1], [1], [2]])
    labels = h.level_labels()
    assert labels.tolist() == [[0, -1, -1], [0, 1, -1], [0, 2, -1], [0, 1, 3], [0, 1, 4], [0, 2, 5]]


def test_level_labels_refuse_a_dag():
    with pytest.raises(ValueError, match="tree"):
        dag().level_labels()


def test_duplicate_parents_are_merged():
    h = Hierarchy.from_parent_lists(["r", "a"], [[], [0, 0]])
    assert h.parents(1).tolist() == [0]


def test_ancestors_match_breadth_first_search_on_a_random_dag():
    rng = np.random.default_rng(3)
    n = 300
    parents = [[] if v < 3 else sorted(set(rng.integers(0, v, size=rng.integers(1, 4)).tolist())) for v in range(n)]
    h = Hierarchy.from_parent_lists([str(v) for v in range(n)], parents)
    for v in range(n):
        expected, frontier, d = {v: 0}, [v], 0
        while frontier:
            d += 1
            frontier = [p for u in frontier for p in parents[u] if p not in expected]
            for p in frontier:
                expected.setdefault(p, d)
        anc, dist = h.ancestors.of(v)
        assert dict(zip(anc.tolist(), dist.tolist())) == expected


def test_a_deep_chain_has_every_earlier_node_as_ancestor_at_its_hop_distance():
    n = 300  # deeper than any layer-at-a-time buffer growth step
    h = Hierarchy.from_parent_lists([f"n{i}" for i in range(n)], [[]] + [[i - 1] for i in range(1, n)])
    anc = h.ancestors
    assert len(anc) == n * (n + 1) // 2
    for v in (0, 1, 150, n - 1):
        ancestors, distances = anc.of(v)
        assert ancestors.tolist() == list(range(v, -1, -1))
        assert distances.tolist() == list(range(v + 1))
    assert h.max_depth == n - 1
