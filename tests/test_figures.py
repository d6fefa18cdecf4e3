"""The pure figure and map functions the app and the notebooks share."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.builtins import load_corpus
from core.studio.figures import (
    LiveTrainingChart,
    headline_numbers,
    hierarchy_figure,
    label_colours,
    map_figure,
    plural,
    training_figure,
    trim_tree,
)
from core.studio.maps import cluster_labels, knn_agreement


def unit(degrees: list[float]) -> np.ndarray:
    angles = np.radians(degrees)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


# four unit vectors at 0, 10, 90 and 100 degrees: by cosine, 0-10 and 90-100 are the close pairs
POINTS = unit([0, 10, 90, 100])


def test_knn_agreement_worked_by_hand():
    # k = 1: every point's nearest neighbour is its pair; with labels by pair all four agree
    assert knn_agreement(POINTS, np.array([0, 0, 1, 1]), k=1) == 1.0
    # the 0-degree point alone in its label: it and its neighbour (10 degrees) disagree, the other pair agrees: 2 / 4
    assert knn_agreement(POINTS, np.array([0, 1, 1, 1]), k=1) == 0.5
    # k = 2: each point's two nearest are its pair and the nearer point of the other pair: 1 of 2 agree, everywhere
    assert knn_agreement(POINTS, np.array([0, 0, 1, 1]), k=2) == 0.5
    # unlabelled points (-1) are neither asked nor counted: 100 degrees' nearest labelled point is 10 degrees
    assert knn_agreement(POINTS, np.array([0, 0, -1, 1]), k=1) == pytest.approx(2 / 3)
    assert knn_agreement(POINTS, np.array([0, -1, -1, -1])) is None


def test_cluster_labels_sit_on_a_member_of_the_cluster():
    coords = np.array([[0, 0], [1, 0], [0.4, 0.1], [10, 10], [11, 10], [10.6, 10.2], [10.5, 9.9]], dtype=float)
    labels = ["a", "a", "a", "b", "b", "b", "b"]
    found = cluster_labels(coords, labels)
    assert [c.label for c in found] == ["b", "a"]  # largest first
    assert (found[1].x, found[1].y) == (0.4, 0.1)  # the medoid of a, a real point in the middle


def test_same_node_same_colour_before_and_after():
    labels = ["cat"] * 5 + ["dog"] * 3 + ["(above this level)"]
    colours = label_colours(labels)
    before = map_figure(np.random.default_rng(0).normal(size=(9, 2)), labels, labels, colours=colours)
    after = map_figure(np.random.default_rng(1).normal(size=(9, 2)), labels, labels, colours=colours)
    colour_of = lambda fig: {t.name: t.marker.color for t in fig.data}  # noqa: E731
    assert colour_of(before) == colour_of(after)
    assert colour_of(before)["cat"] != colour_of(before)["dog"]
    assert not before.layout.showlegend
    assert {a.text for a in before.layout.annotations} == {"cat", "dog"}  # names on the clusters, not in a legend


def metrics(curve: dict[str, float]) -> dict:
    return {"recall_by_distance": curve, "recall_overall": sum(curve.values()) / len(curve),
            "recall_min": min(curve.values())}


def test_training_figure_has_before_reference_and_best_lines():
    baselines = {"type": "baselines", "before": metrics({"0": 0.9, "1": 0.2}),
                 "reference": metrics({"0": 0.9, "1": 0.6})}
    evals = [{"type": "eval", "step": 0, "best_step": 0, "metrics": metrics({"0": 0.9, "1": 0.2})},
             {"type": "eval", "step": 20, "best_step": 20, "metrics": metrics({"0": 0.95, "1": 0.7})},
             {"type": "eval", "step": 40, "best_step": 20, "metrics": metrics({"0": 0.9, "1": 0.5})}]
    names = [t.name for t in training_figure(evals, baselines=baselines).data]
    assert any(n.startswith("before: zero-shot") for n in names)
    assert any(n.startswith("reference: link-and-walk") for n in names)
    assert any(n.startswith("after: best checkpoint, step 20") for n in names)
    assert any(n.startswith("latest: step 40") for n in names)
    early = [t.name for t in training_figure(evals, baselines=baselines, upto=20).data]
    assert not any(n.startswith("latest") for n in early)


def test_headline_numbers_are_before_after_and_change():
    cards = headline_numbers(metrics({"0": 0.8, "1": 0.6}), metrics({"0": 0.9, "1": 0.2}))
    assert [c["label"] for c in cards] == ["Overall recall", "Worst distance", "Distance 0 (the node itself)"]
    assert cards[0]["before"] == pytest.approx(0.55) and cards[0]["after"] == pytest.approx(0.7)
    assert cards[2]["delta"] == pytest.approx(-0.1)


def test_live_training_chart_redraws_from_the_callback():
    chart = LiveTrainingChart()
    chart.callback({"type": "step", "step": 1, "loss": 1.0})
    assert not chart.figure.data
    chart.callback({"type": "eval", "step": 0, "best_step": 0, "metrics": metrics({"0": 0.5, "1": 0.1})})
    chart.callback({"type": "eval", "step": 10, "best_step": 10, "metrics": metrics({"0": 0.7, "1": 0.4})})
    names = [t.name for t in chart.figure.data]
    assert any(n.startswith("before") for n in names) and any(n.startswith("after: best checkpoint, step 10")
                                                              for n in names)


def test_hierarchy_below_a_node_and_highlight():
    corpus = load_corpus("synthetic:3x3")
    node = corpus.hierarchy.index["r.0"]
    trimmed = trim_tree(corpus, max_depth=8, root=node)
    assert len(trimmed.nodes) == 4 and trimmed.parents[list(trimmed.nodes).index(node)] == -1  # itself + 3 children
    fig, _ = hierarchy_figure(corpus, "icicle", root=node, highlight=corpus.hierarchy.index["r.0.1"])
    colours = dict(zip(fig.data[0].ids, fig.data[0].marker.colors))
    assert colours["r.0.1"] == colours["r.0"] == "#d62728" and colours["r.0.2"] != "#d62728"
    assert plural(1, "node") == "1 node" and plural(1182, "node") == "1,182 nodes"
