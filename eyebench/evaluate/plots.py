"""Plotly figures for evaluation results (computed elsewhere): confusion, ROC, risk-coverage, sweeps, curves."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..config import CLASS_NAMES
from ..results import EyeState
from .results import Analysis, SweepCurves, SweepResults

LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=50, b=45), height=360)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def colour(i: int) -> str:
    """The i-th line colour (plotly's first eight, repeating), so one model keeps its colour across panels."""
    return PALETTE[i % len(PALETTE)]


def confusion_figure(cm, title: str = "Confusion matrix") -> go.Figure:
    """Rows = true class, columns = predicted class, with counts and row percentages."""
    totals = [max(1, sum(r)) for r in cm]
    text = [[f"{v}<br>{100 * v / totals[i]:.1f}%" for v in row] for i, row in enumerate(cm)]
    fig = go.Figure(go.Heatmap(z=cm, x=[f"pred {c}" for c in CLASS_NAMES], y=[f"true {c}" for c in CLASS_NAMES],
                               text=text, texttemplate="%{text}", colorscale="Blues", showscale=False))
    fig.update_layout(title=title, **{**LAYOUT, "height": 300})
    fig.update_yaxes(autorange="reversed")
    return fig


def risk_coverage_figure(curves: dict[str, dict]) -> go.Figure:
    """Selective risk against coverage per model (lower is better); AURC in the legend."""
    fig = go.Figure()
    for name, rc in curves.items():
        step = max(1, len(rc["coverage"]) // 400)
        fig.add_trace(go.Scatter(x=rc["coverage"][::step], y=rc["risk"][::step], mode="lines",
                                 name=f"{name} (AURC {rc['aurc']:.4f})"))
    fig.add_hline(y=0.01, line_dash="dot", annotation_text="1% risk")
    fig.update_layout(title="Risk-coverage", xaxis_title="coverage", yaxis_title="selective risk (error rate)", **LAYOUT)
    return fig


def reliability_figure(bins_by_model: dict[str, list[dict]]) -> go.Figure:
    """Accuracy against confidence per bin (15 bins, top-label); the diagonal is perfect calibration."""
    fig = go.Figure(go.Scatter(x=[0.5, 1], y=[0.5, 1], mode="lines", line=dict(dash="dot", color="grey"),
                               name="perfect"))
    for name, bins in bins_by_model.items():
        pts = [b for b in bins if b["n"]]
        fig.add_trace(go.Scatter(x=[b["confidence"] for b in pts], y=[b["accuracy"] for b in pts],
                                 mode="lines+markers", name=name, text=[f"n={b['n']}" for b in pts]))
    fig.update_layout(title="Reliability diagram", xaxis_title="confidence", yaxis_title="accuracy", **LAYOUT)
    return fig


def sweep_figure(name: str, block: SweepCurves, metric: str = "accuracy") -> go.Figure:
    """One perturbation sweep: metric per level, one line per model."""
    fig = go.Figure()
    for model, res in block.models.items():
        fig.add_trace(go.Scatter(x=[str(v) for v in block.levels], y=res[metric], mode="lines+markers", name=model))
    fig.update_layout(title=f"{name}: {metric.replace('_', ' ')}", xaxis_title=name, yaxis_title=metric,
                      yaxis_range=[0, 1.02], **LAYOUT)
    return fig


def history_figure(history: list[dict], title: str = "Training curves") -> go.Figure:
    """Loss and accuracy per epoch, train and validation."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    ep = [h["epoch"] for h in history]
    for key, col, dash in [("train_loss", 1, None), ("val_loss", 1, "dot"), ("train_accuracy", 2, None),
                           ("val_accuracy", 2, "dot")]:
        if history and key in history[0]:
            fig.add_trace(go.Scatter(x=ep, y=[h[key] for h in history], name=key, line=dict(dash=dash)), row=1, col=col)
    fig.update_layout(title=title, **LAYOUT)
    return fig


def subset_figure(rows: list[dict], metric: str = "accuracy") -> go.Figure:
    """Grouped bars: a metric per subset value (x) and model (colour, in the rows' order, as in the other figures);
    rows carry a `model` key.

    A subset's image count is printed once, under its name on the x axis ("glasses=1", "n=752"), in a readable
    font: models share the images, and a label above each of many narrow bars had to shrink until it was unreadable
    and still overlapped its neighbours. Each bar keeps its n as data (`text`, not drawn); the hover shows the tick.
    """
    counts: dict[str, list] = {}
    for r in rows:
        counts.setdefault(f"{r['factor']}={r['value']}", []).append(r["n"])
    ticks = {key: f"{key}<br>n={'/'.join(str(n) for n in dict.fromkeys(ns))}" for key, ns in counts.items()}
    fig = go.Figure()
    for i, m in enumerate(dict.fromkeys(r["model"] for r in rows)):
        rs = [r for r in rows if r["model"] == m]
        fig.add_trace(go.Bar(x=[ticks[f"{r['factor']}={r['value']}"] for r in rs], y=[r[metric] for r in rs], name=m,
                             marker_color=colour(i), text=[f"n={r['n']}" for r in rs], textposition="none",
                             hovertemplate=f"{m}<br>%{{x}}<br>{metric.replace('_', ' ')} %{{y:.4f}}<extra></extra>"))
    fig.update_layout(title=f"Subsets: {metric.replace('_', ' ')}", yaxis_range=[0, 1.05], barmode="group", **LAYOUT)
    fig.update_xaxes(tickfont=dict(size=11), automargin=True)  # turned by plotly when the names would overlap
    return fig


def confusion_grid_figure(result: Analysis, per_row: int = 3) -> go.Figure:
    """One confusion matrix per model of an evaluation result, `per_row` to a row (readable on a phone too), titled
    with the model names; the class names only left of each row."""
    names = list(result.models)
    cols = min(per_row, len(names))
    rows = -(-len(names) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, shared_yaxes=True, vertical_spacing=0.3 / rows)
    for i, name in enumerate(names):
        sub = confusion_figure(result.models[name].confusion_matrix)
        fig.add_trace(sub.data[0], row=i // cols + 1, col=i % cols + 1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title="rows: true class · columns: predicted", template="plotly_white",
                      height=100 + 220 * rows, margin=dict(l=60, r=20, t=70, b=40))
    return fig


def roc_risk_coverage_figure(y_true, proba: dict, curves: dict[str, dict]) -> go.Figure:
    """ROC (closed = positive; drawn when both classes are present) and risk-coverage, one colour and one legend
    entry per model (a click on it shows or hides both of its curves).

    `proba` maps a model name to p(closed) per image, `curves` the same names to their risk-coverage curves.
    """
    from sklearn.metrics import roc_curve

    fig = make_subplots(rows=1, cols=2, subplot_titles=("ROC (closed = positive)", "Risk-coverage"))
    y = np.asarray(y_true) == EyeState.CLOSED
    for i, (name, p) in enumerate(proba.items()):
        line = dict(name=name, legendgroup=name, mode="lines", line=dict(color=colour(i)))
        if y.any() and (~y).any():
            fpr, tpr, _ = roc_curve(y, p)
            fig.add_trace(go.Scatter(x=fpr, y=tpr, showlegend=False, **line), row=1, col=1)
        rc = curves[name]
        step = max(1, len(rc["coverage"]) // 300)
        fig.add_trace(go.Scatter(x=rc["coverage"][::step], y=rc["risk"][::step], **line), row=1, col=2)
    fig.update_xaxes(title_text="false positive rate", row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", row=1, col=1)
    fig.update_xaxes(title_text="coverage", row=1, col=2)
    fig.update_yaxes(title_text="selective risk", rangemode="tozero", row=1, col=2)  # never a negative risk axis
    fig.update_layout(template="plotly_white", height=360, margin=dict(l=50, r=20, t=50, b=45))
    return fig


def band_figure(model: str, curve: dict, coverage, selective_risk) -> go.Figure:
    """A model's risk-coverage curve with the point of one uncertain band marked (no point when none is accepted)."""
    fig = risk_coverage_figure({model: curve})
    if selective_risk is not None:
        fig.add_trace(go.Scatter(x=[coverage], y=[selective_risk], mode="markers",
                                 marker=dict(size=12, color="red"), name="this band"))
    fig.update_layout(height=300)
    return fig


def sweep_grid_figure(sweeps: SweepResults, per_row: int = 3) -> go.Figure:
    """Accuracy per perturbation level, one panel per sweep (`per_row` to a row: titles readable on a phone too), one
    colour per model."""
    blocks = sweeps.sweeps
    rows = max(1, -(-len(blocks) // per_row))
    fig = make_subplots(rows=rows, cols=per_row, subplot_titles=list(blocks))
    for i, block in enumerate(blocks.values()):
        for j, (model, res) in enumerate(block.models.items()):
            fig.add_trace(go.Scatter(x=[str(v) for v in block.levels], y=res["accuracy"], mode="lines+markers",
                                     name=model, legendgroup=model, showlegend=i == 0,
                                     line=dict(color=colour(j))), row=i // per_row + 1, col=i % per_row + 1)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(template="plotly_white", height=80 + 240 * rows, title="Accuracy per perturbation level",
                      margin=dict(l=40, r=20, t=80, b=40))
    return fig


def band_histogram_figure(y_true, p_closed, low: float, high: float) -> go.Figure:
    """Histogram of p(closed) per true class (overlaid, 50 bins) with the band's two edges as vertical lines."""
    y, p = np.asarray(y_true), np.asarray(p_closed)
    fig = go.Figure()
    for c, name in enumerate(CLASS_NAMES):
        fig.add_trace(go.Histogram(x=p[y == c], name=f"true {name} (n={int((y == c).sum())})", opacity=0.6,
                                   xbins=dict(start=0, end=1, size=0.02), marker_color=colour(c)))
    for edge, label in ((low, "low"), (high, "high")):
        fig.add_vline(x=edge, line_dash="dash", line_color="black", annotation_text=f"{label} {edge:.3f}")
    fig.update_layout(barmode="overlay", title="p(closed) per true class (log count)", yaxis_type="log",
                      xaxis_title="p(closed)", xaxis_range=[0, 1], **{**LAYOUT, "height": 300})
    return fig
