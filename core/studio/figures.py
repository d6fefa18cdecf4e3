"""Plotly figures as pure functions of engine objects, shared by the app and the notebooks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from core.data.corpus import PATH_SEP, Corpus
from core.evaluation.reference import REFERENCE_NAMES


@dataclass(frozen=True)
class TrimmedTree:
    """The part of a hierarchy that is drawn: nodes down to `depth`, the deepest carrying their whole subtree's size."""

    nodes: np.ndarray  # (k,) node indices drawn
    parents: np.ndarray  # (k,) index of each drawn node's drawn parent, -1 for roots
    values: np.ndarray  # (k,) own size (1), or the whole subtree's size at the cut
    depth: int  # deepest level drawn
    trimmed: bool  # True if nodes below `depth` were folded into their ancestors
    dag: bool  # True if multi-parent nodes were drawn under their first parent only


def trim_tree(corpus: Corpus, max_depth: int = 4, max_nodes: int = 2_500, root: int | None = None) -> TrimmedTree:
    """Choose the deepest level <= max_depth (counted from `root`, or from the top) that keeps at most max_nodes
    nodes (at least the first level). With `root`, only that node and what lies below it (first parents) is drawn."""
    h = corpus.hierarchy
    tree = h.spanning_tree()
    if root is None:
        inside = np.arange(h.n)
        depth = tree.depth
    else:
        inside = np.sort(tree.descendants(int(root)))
        depth = np.full(h.n, np.iinfo(np.int64).max // 2, dtype=np.int64)
        depth[inside] = tree.depth[inside] - tree.depth[int(root)]
    deepest = int(depth[inside].max(initial=0))
    per_level = np.bincount(depth[inside], minlength=max_depth + 1)
    cut = 0
    for d in range(1, min(max_depth, deepest) + 1):
        if per_level[: d + 1].sum() > max_nodes:
            break
        cut = d
    nodes = inside[depth[inside] <= cut]
    first_parent = np.full(h.n, -1, dtype=np.int64)
    has = tree.parent_count > 0
    first_parent[has] = tree.parent_idx
    if root is not None:
        first_parent[int(root)] = -1
    values = np.where(depth[nodes] < cut, 1, tree.subtree_size[nodes])
    return TrimmedTree(nodes, first_parent[nodes], values, cut, cut < deepest, not h.is_tree)


def short_name(corpus: Corpus, node: int) -> str:
    """What to call a node on a chart: a corpus row by its id, a label node (made from a `path`) by its last label."""
    return corpus.ids[node] if corpus.is_row[node] else corpus.ids[node].rsplit(PATH_SEP, 1)[-1]


def plural(count: int, word: str) -> str:
    """'1 node', '2 nodes', '1,182 nodes'."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


BRANCH_COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#72b7b2", "#eeca3b", "#ff9da6", "#9d755d", "#bab0ac",
                  "#e45756", "#79706e", "#d67195", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#86bcb6", "#d4a6c8"]
HIGHLIGHT = "#d62728"


def hierarchy_figure(corpus: Corpus, kind: str = "sunburst", max_depth: int = 4, max_nodes: int = 2_500,
                     root: int | None = None, highlight: int | None = None) -> tuple[go.Figure, TrimmedTree]:
    """A sunburst, treemap or icicle of the hierarchy (below `root` if given); sizes count descendants; hover shows
    the node's text. Each branch under the drawn top keeps one colour; `highlight` (a node index) and the path down
    to it are drawn in red, so a searched node stands out."""
    trimmed = trim_tree(corpus, max_depth, max_nodes, root)
    ids = corpus.ids
    texts = corpus.texts
    tree = corpus.hierarchy.spanning_tree()
    labels = [short_name(corpus, int(i)) for i in trimmed.nodes]
    hover = [texts[i][:160] for i in trimmed.nodes]
    sizes = tree.subtree_size[trimmed.nodes]
    # colour: the branch each node belongs to (its ancestor one level below the drawn top), the top itself grey
    drawn = {int(v): k for k, v in enumerate(trimmed.nodes)}
    top_depth = int(tree.depth[trimmed.nodes].min(initial=0))
    levels = tree.level_labels()
    node_depth = tree.depth[trimmed.nodes]
    colour_depth = top_depth + 1  # the branches: the first level below the top not dominated by one node
    for d in range(top_depth + 1, min(top_depth + 4, levels.shape[1])):
        at = sizes[node_depth == d]
        if not len(at):
            break
        colour_depth = d
        if at.max() < 0.6 * at.sum():
            break
    branch = levels[trimmed.nodes, colour_depth] if levels.shape[1] > colour_depth else np.full(len(drawn), -1)
    colours = ["#d9dde6" if b < 0 else BRANCH_COLOURS[drawn.get(int(b), 0) % len(BRANCH_COLOURS)] for b in branch]
    if highlight is not None:
        marked, _ = tree.ancestors.of(int(highlight))
        for a in marked:
            if int(a) in drawn:
                colours[drawn[int(a)]] = HIGHLIGHT
    trace = {"sunburst": go.Sunburst, "treemap": go.Treemap, "icicle": go.Icicle}[kind](
        ids=[ids[i] for i in trimmed.nodes],
        parents=["" if p < 0 else ids[p] for p in trimmed.parents],
        labels=labels,
        values=trimmed.values,
        branchvalues="remainder",
        customdata=np.stack([hover, [plural(int(s), "node") for s in sizes]], axis=1),
        hovertemplate="<b>%{label}</b><br>%{customdata[0]}<br>%{customdata[1]} in its subtree<extra></extra>",
        maxdepth=min(trimmed.depth + 1, 4) if kind == "sunburst" else -1,
        marker=dict(colors=colours, line=dict(color="white", width=1)),
        root=dict(color="#d9dde6"),
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


DISTANCE_AXIS = "distance: hops from the query's node up to a relevant document (0 = the node itself)"
BEFORE, REFERENCE, BEST, HISTORY = "#7f7f7f", "#222222", "#1f77b4", "rgba(31, 119, 180, 0.16)"
BASELINE_NAMES = {"before": "before: zero-shot", **{k: f"reference: {name}" for k, name in REFERENCE_NAMES.items()}}
# each reference its own dash, all in the reference colour, so any one of them reads as "a reference"
REFERENCE_DASH = {"reference": "dash", "reference_clauses": "dot", "reference_bm25": "dashdot",
                  "reference_hybrid": "longdash", "reference_hybrid_walk": "longdashdot"}


def _curve(metrics: dict) -> tuple[list[int], list[float]]:
    by_distance = metrics["recall_by_distance"]
    xs = sorted(by_distance, key=int)
    return [int(x) for x in xs], [by_distance[x] for x in xs]


def _eval_metrics(event: dict) -> dict:
    return event["metrics"] if "metrics" in event else event


def best_eval(evals: list[dict]) -> dict | None:
    """The evaluation the run keeps as its model: the one at the latest event's `best_step` (else the last)."""
    if not evals:
        return None
    best_step = evals[-1].get("best_step")
    return next((e for e in evals if e["step"] == best_step), evals[-1])


def training_figure(evals: list[dict], title: str | None = None, baselines: dict | None = None,
                    upto: int | None = None, queries: str = "validation") -> go.Figure:
    """The live chart: recall by distance on the validation queries, the same queries for every line.

    Bold: before training (zero-shot), the link-and-walk reference(s) (dashed) and the best checkpoint so far (the
    model that is saved); every earlier evaluation is a faint line behind them. `baselines` is the trainer's
    'baselines' event (zero-shot and reference recall on the validation queries); without it the step-0 evaluation
    stands for 'before'. `upto` shows the run as it was at that step (a step slider). `queries` names the split the
    numbers come from, for the axis (one chart never mixes splits)."""
    if upto is not None:
        evals = [e for e in evals if e["step"] <= upto]
    fig = go.Figure()
    for i, event in enumerate(evals):
        xs, ys = _curve(_eval_metrics(event))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=HISTORY, width=1.5), hoverinfo="skip",
                                 name="earlier evaluations", legendgroup="history", showlegend=i == 0))
    lines = dict(baselines or {})
    lines = {k: v for k, v in lines.items() if k in BASELINE_NAMES and isinstance(v, dict)}
    if "before" not in lines and evals and evals[0]["step"] == 0:
        lines["before"] = _eval_metrics(evals[0])
    for key, metrics in lines.items():
        xs, ys = _curve(metrics)
        style = dict(color=BEFORE, width=4) if key == "before" else \
            dict(color=REFERENCE, width=3, dash=REFERENCE_DASH.get(key, "dash"))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line=style, marker=dict(size=7),
                                 name=f"{BASELINE_NAMES[key]} ({metrics['recall_overall']:.1%} overall)",
                                 hovertemplate="distance %{x}: %{y:.1%}<extra>" + BASELINE_NAMES[key] + "</extra>"))
    best = best_eval(evals)
    if best is not None:
        latest = evals[-1]
        if latest is not best:
            xs, ys = _curve(_eval_metrics(latest))
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=BEST, width=1.5, dash="dot"),
                                     name=f"latest: step {latest['step']} "
                                          f"({_eval_metrics(latest)['recall_overall']:.1%} overall)",
                                     hovertemplate="distance %{x}: %{y:.1%}<extra>latest</extra>"))
        xs, ys = _curve(_eval_metrics(best))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line=dict(color=BEST, width=5), marker=dict(size=9),
                                 name=f"after: best checkpoint, step {best['step']} "
                                      f"({_eval_metrics(best)['recall_overall']:.1%} overall)",
                                 hovertemplate="distance %{x}: %{y:.1%}<extra>best checkpoint</extra>"))
    if title:
        fig.update_layout(title=dict(text=title, x=0, xanchor="left"))
    fig.update_layout(xaxis_title=DISTANCE_AXIS, yaxis_title=f"recall ({queries} queries)",
                      yaxis=dict(range=[0, 1.03], tickformat=".0%"), xaxis=dict(dtick=1), height=440,
                      margin=dict(t=50 if title else 10, l=10, r=10, b=10),
                      legend=dict(orientation="h", y=-0.22, x=0), hovermode="closest")
    return fig


def progress_figure(evals: list[dict], baselines: dict | None = None) -> go.Figure:
    """Overall validation recall step by step, with the zero-shot and reference levels as flat lines and the best
    checkpoint (the model that is kept) starred."""
    fig = go.Figure()
    shown = [(k, m) for k, m in (baselines or {}).items() if k in BASELINE_NAMES and isinstance(m, dict)]
    corners = ("top left", "top right", "bottom left", "bottom right")  # labels of close levels must not overlap
    for i, (key, metrics) in enumerate(shown):
        fig.add_hline(y=metrics["recall_overall"], line=dict(color=BEFORE if key == "before" else REFERENCE,
                                                             dash="solid" if key == "before" else
                                                             REFERENCE_DASH.get(key, "dash"), width=2),
                      annotation_text=BASELINE_NAMES[key], annotation_position=corners[i % len(corners)])
    if evals:
        steps = [e["step"] for e in evals]
        overall = [_eval_metrics(e)["recall_overall"] for e in evals]
        fig.add_trace(go.Scatter(x=steps, y=overall, mode="lines+markers", line=dict(color=BEST, width=2),
                                 name="overall recall", hovertemplate="step %{x}: %{y:.1%}<extra></extra>"))
        best = best_eval(evals)
        fig.add_trace(go.Scatter(x=[best["step"]], y=[_eval_metrics(best)["recall_overall"]], mode="markers+text",
                                 marker=dict(symbol="star", size=16, color="#ff7f0e"), text=["saved model"],
                                 textposition="top center", name=f"best checkpoint (step {best['step']})",
                                 hovertemplate="best checkpoint, step %{x}: %{y:.1%}<extra></extra>"))
    fig.update_layout(xaxis_title="training step", yaxis_title="overall recall (validation)",
                      yaxis=dict(tickformat=".0%"), height=300, margin=dict(t=10, l=10, r=10, b=10),
                      showlegend=False)
    return fig


HEADLINES = (("Overall recall", "recall_overall"), ("Worst distance", "recall_min"), ("Distance 0 (the node itself)", "0"))


def headline_numbers(after: dict, before: dict) -> list[dict]:
    """The three numbers a stakeholder asks for, each before -> after with the change: overall recall, the minimum
    over distances, and distance 0 (is the query's own node still found?). Both dicts have evaluate's keys."""
    out = []
    for label, key in HEADLINES:
        if key.isdigit():
            b, a = before["recall_by_distance"].get(key), after["recall_by_distance"].get(key)
        else:
            b, a = before.get(key), after.get(key)
        if a is None or b is None:
            continue
        out.append({"label": label, "before": b, "after": a, "delta": a - b})
    return out


class LiveTrainingChart:
    """The app's live chart in a notebook: a plotly FigureWidget redrawn from the training callback.

        chart = LiveTrainingChart()
        chart                                   # shows the (empty) chart
        align(corpus, config, base, callback=chart.callback)   # or run_alignment(...), which also sends baselines

    Built from `training_figure`, the same pure function the app uses. Without a widget front end (anywidget and
    ipywidgets missing) it keeps a plain Figure, redrawn the same way, in `figure`."""

    def __init__(self, title: str | None = None, baselines: dict | None = None):
        self.title, self.baselines, self.evals = title, baselines, []
        start = training_figure([], title, baselines)
        try:
            self.figure = go.FigureWidget(start)
        except ImportError:
            self.figure = start

    def callback(self, event: dict) -> None:
        """Pass to align(..., callback=chart.callback): every 'eval' (and the 'baselines' event) redraws the chart."""
        if event.get("type") == "baselines":
            self.baselines = event
        elif event.get("type") == "eval":
            self.evals.append(event)
        else:
            return
        self.redraw()

    def redraw(self) -> None:
        new = training_figure(self.evals, self.title, self.baselines)
        self.figure.data = ()
        self.figure.add_traces(list(new.data))
        self.figure.layout = new.layout

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.figure._repr_mimebundle_(include=include, exclude=exclude)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.figure)


def loss_figure(steps: list[int], losses: list[float]) -> go.Figure:
    fig = go.Figure(go.Scatter(x=steps, y=losses, mode="lines", name="loss"))
    fig.update_layout(xaxis_title="step", yaxis_title="training loss", height=260, margin=dict(t=10, l=10, r=10, b=10))
    return fig


MAP_PALETTE = BRANCH_COLOURS + ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                                  "#386cb0", "#f0027f", "#bf5b17", "#17becf", "#bcbd22", "#8c564b", "#9467bd"]
UNLABELLED = "(above this level)"


def label_colours(labels: list[str]) -> dict[str, str]:
    """One colour per label, largest labels first, so the same node has the same colour on every map it appears on.
    Past the palette's 32 colours the smallest labels share colours (their names are written on the map anyway)."""
    names, counts = np.unique(np.asarray(labels, dtype=object), return_counts=True)
    order = [str(names[i]) for i in np.argsort(-counts, kind="stable")]
    out, k = {}, 0
    for name in order:
        if name == UNLABELLED:
            out[name] = "#d0d0d0"
            continue
        out[name] = MAP_PALETTE[k % len(MAP_PALETTE)]
        k += 1
    return out


def map_figure(coords: np.ndarray, labels: list[str], hover: list[str], title: str | None = None,
               colours: dict[str, str] | None = None, names: int = 25) -> go.Figure:
    """A 2-D scatter coloured by label (e.g. a hierarchy level), the `names` largest labels written on their clusters
    (at the medoid) instead of a legend; hover shows the text; box and lasso select (customdata = point position).
    Pass the same `colours` (label_colours) to a before and an after map so a node keeps its colour."""
    from core.studio.maps import cluster_labels

    colours = colours or label_colours(labels)
    fig = go.Figure()
    labels_arr = np.asarray(labels, dtype=object)
    for label in sorted(set(labels), key=lambda name: (name == UNLABELLED, name)):
        idx = np.flatnonzero(labels_arr == label)
        fig.add_trace(go.Scattergl(x=coords[idx, 0], y=coords[idx, 1], mode="markers", name=str(label)[:40],
                                   text=[hover[i] for i in idx], customdata=idx,
                                   hovertemplate="%{text}<extra>" + str(label)[:40] + "</extra>",
                                   marker=dict(size=5, opacity=0.75, color=colours.get(label, "#888888"))))
    for c in cluster_labels(coords, [str(x) for x in labels], top=names):
        if c.label == UNLABELLED:
            continue
        fig.add_annotation(x=c.x, y=c.y, text=c.label if len(c.label) <= 30 else c.label[:29] + "…", showarrow=False,
                           font=dict(size=11, color="#111"), bgcolor="rgba(255,255,255,0.75)",
                           bordercolor=colours.get(c.label, "#888"), borderwidth=1, borderpad=2)
    if title:
        fig.update_layout(title=dict(text=title, x=0, xanchor="left"))
    fig.update_layout(height=560, margin=dict(t=40 if title else 10, l=10, r=10, b=10), dragmode="lasso",
                      showlegend=False, xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def tuning_figure(frame) -> go.Figure:
    """A study's trials by number: each complete trial's validation score (dots), pruned trials at the score where they
    stopped (crosses), and the best so far (line). `frame` is core.tuning.trials_frame's table."""
    fig = go.Figure()
    for state, symbol, colour in (("complete", "circle", "#1f77b4"), ("pruned", "x", "#bbbbbb")):
        rows = frame[frame["state"] == state] if len(frame) else frame
        if len(rows):
            fig.add_trace(go.Scatter(x=rows["trial"], y=rows["validation"], mode="markers", name=state,
                                     marker={"symbol": symbol, "color": colour, "size": 8}))
    if len(frame) and frame["best so far"].notna().any():
        best = frame[frame["best so far"].notna()]
        fig.add_trace(go.Scatter(x=best["trial"], y=best["best so far"], mode="lines", name="best so far",
                                 line={"shape": "hv", "color": "#d62728", "width": 3}))
    fig.update_layout(title="Validation score by trial", xaxis_title="trial", yaxis_title="validation score",
                      height=360, margin={"t": 50, "b": 40}, legend={"orientation": "h", "y": -0.2})
    return fig
