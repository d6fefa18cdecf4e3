"""Plotly figures as pure functions of engine objects, shared by the app and the notebooks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from core.corpus import Corpus


@dataclass(frozen=True)
class TrimmedTree:
    """The part of a hierarchy that is drawn: nodes down to `depth`, the deepest carrying their whole subtree's size."""

    nodes: np.ndarray  # (k,) node indices drawn
    parents: np.ndarray  # (k,) index of each drawn node's drawn parent, -1 for roots
    values: np.ndarray  # (k,) own size (1), or the whole subtree's size at the cut
    depth: int  # deepest level drawn
    trimmed: bool  # True if nodes below `depth` were folded into their ancestors
    dag: bool  # True if multi-parent nodes were drawn under their first parent only


def trim_tree(corpus: Corpus, max_depth: int = 4, max_nodes: int = 2_500) -> TrimmedTree:
    """Choose the deepest level <= max_depth that keeps at most max_nodes nodes (at least the roots)."""
    h = corpus.hierarchy
    tree = h.spanning_tree()
    depth = tree.depth
    per_level = np.bincount(depth, minlength=max_depth + 1)
    cut = 0
    for d in range(1, min(max_depth, tree.max_depth) + 1):
        if per_level[: d + 1].sum() > max_nodes:
            break
        cut = d
    nodes = np.flatnonzero(depth <= cut)
    first_parent = np.full(h.n, -1, dtype=np.int64)
    has = tree.parent_count > 0
    first_parent[has] = tree.parent_idx
    values = np.where(depth[nodes] < cut, 1, tree.subtree_size[nodes])
    return TrimmedTree(nodes, first_parent[nodes], values, cut, cut < tree.max_depth, not h.is_tree)


def hierarchy_figure(corpus: Corpus, kind: str = "sunburst", max_depth: int = 4, max_nodes: int = 2_500) -> tuple[go.Figure, TrimmedTree]:
    """A sunburst, treemap or icicle of the hierarchy; sizes count descendants; hover shows the node's text."""
    trimmed = trim_tree(corpus, max_depth, max_nodes)
    ids = corpus.ids
    texts = corpus.texts
    labels = [texts[i] if not corpus.is_row[i] else ids[i] for i in trimmed.nodes]
    hover = [texts[i][:160] for i in trimmed.nodes]
    sizes = corpus.hierarchy.spanning_tree().subtree_size[trimmed.nodes]
    trace = {"sunburst": go.Sunburst, "treemap": go.Treemap, "icicle": go.Icicle}[kind](
        ids=[ids[i] for i in trimmed.nodes],
        parents=["" if p < 0 else ids[p] for p in trimmed.parents],
        labels=labels,
        values=trimmed.values,
        branchvalues="remainder",
        customdata=np.stack([hover, sizes], axis=1),
        hovertemplate="<b>%{label}</b><br>%{customdata[0]}<br>%{customdata[1]} nodes in subtree<extra></extra>",
        maxdepth=min(trimmed.depth + 1, 4) if kind == "sunburst" else -1,
    )
    fig = go.Figure(trace)
    fig.update_layout(margin=dict(t=10, l=10, r=10, b=10), height=560)
    return fig, trimmed


def recall_by_distance_figure(curves: dict[str, dict], title: str = "Recall by distance") -> go.Figure:
    """One line per named metrics dict (each with `recall_by_distance`), distance on the x axis."""
    fig = go.Figure()
    for name, metrics in curves.items():
        by_distance = metrics["recall_by_distance"]
        xs = sorted(by_distance, key=int)
        fig.add_trace(go.Scatter(x=[int(x) for x in xs], y=[by_distance[x] for x in xs], mode="lines+markers",
                                 name=f"{name} (overall {metrics['recall_overall']:.1%})"))
    fig.update_layout(title=title, xaxis_title="distance from the query's node (hops up)", yaxis_title="recall",
                      yaxis=dict(range=[0, 1.02], tickformat=".0%"), xaxis=dict(dtick=1), height=420,
                      margin=dict(t=50, l=10, r=10, b=10), legend=dict(orientation="h", y=-0.2))
    return fig


def training_figure(evals: list[dict], title: str = "Validation recall by distance while training") -> go.Figure:
    """One line per evaluation event (its `metrics` holding recall_by_distance), later steps darker: the live chart."""
    fig = go.Figure()
    n = len(evals)
    for i, event in enumerate(evals):
        by_distance = event["metrics"]["recall_by_distance"] if "metrics" in event else event["recall_by_distance"]
        xs = sorted(by_distance, key=int)
        shade = 0.25 + 0.75 * (i + 1) / max(n, 1)
        fig.add_trace(go.Scatter(
            x=[int(x) for x in xs], y=[by_distance[x] for x in xs], mode="lines+markers",
            name=f"step {event['step']} ({event.get('phase', '')})",
            line=dict(color=f"rgba(31, 119, 180, {shade:.2f})", width=3 if i == n - 1 else 1.5),
            showlegend=i in (0, n - 1),
        ))
    fig.update_layout(title=title, xaxis_title="distance from the query's node (hops up)", yaxis_title="recall",
                      yaxis=dict(range=[0, 1.02], tickformat=".0%"), xaxis=dict(dtick=1), height=420,
                      margin=dict(t=50, l=10, r=10, b=10))
    return fig


def loss_figure(steps: list[int], losses: list[float]) -> go.Figure:
    fig = go.Figure(go.Scatter(x=steps, y=losses, mode="lines", name="loss"))
    fig.update_layout(xaxis_title="step", yaxis_title="training loss", height=260, margin=dict(t=10, l=10, r=10, b=10))
    return fig


def map_figure(coords: np.ndarray, labels: list[str], hover: list[str], title: str) -> go.Figure:
    """A 2-D scatter coloured by label (e.g. a hierarchy level); hover shows the text; supports box/lasso selection."""
    fig = go.Figure()
    labels_arr = np.asarray(labels)
    for label in sorted(set(labels)):
        idx = np.flatnonzero(labels_arr == label)
        fig.add_trace(go.Scattergl(x=coords[idx, 0], y=coords[idx, 1], mode="markers", name=str(label)[:40],
                                   text=[hover[i] for i in idx], customdata=idx, hovertemplate="%{text}<extra></extra>",
                                   marker=dict(size=5, opacity=0.8)))
    fig.update_layout(title=title, height=520, margin=dict(t=40, l=10, r=10, b=10), dragmode="lasso",
                      xaxis=dict(visible=False), yaxis=dict(visible=False), legend=dict(itemsizing="constant"))
    return fig
