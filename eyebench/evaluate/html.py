"""One self-contained HTML report (plotly.js inlined, images as data URIs) from an analysis result."""
from __future__ import annotations

import html

import numpy as np
import plotly.io as pio
from plotly.offline import get_plotlyjs

from ..config import CLASS_NAMES, pct
from ..data.dataset import Dataset, load_images
from ..explain import explain_map, overlay, png_data_uri
from . import plots
from .report import MIN_GROUP_N
from .results import Analysis

CSS = """body{font-family:system-ui,sans-serif;margin:24px;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:8px}
.cell{text-align:center;font-size:11px}.note{color:#666;font-size:13px}.fig{display:inline-block;width:49%;min-width:480px}"""


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fig(fig) -> str:
    return f'<div class="fig">{pio.to_html(fig, full_html=False, include_plotlyjs=False)}</div>'


def as_shown(image: np.ndarray) -> np.ndarray:
    """The input crop in its own colours (grey stays grey, never colour-mapped), as uint8 for a PNG."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.dtype != np.uint8:  # a float crop in [0, 1] or [0, 255]
        img = np.clip(img * (255 if img.max() <= 1 else 1), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img if img.ndim == 2 else img[:, :, :3])


def worst_text(worst: dict | None, subjects: bool = True) -> str:
    """The worst subject, its accuracy and its images ("s0024 95.48% (n=752)"), named only among subjects with
    MIN_GROUP_N+ images."""
    if not worst or worst.get("n", 0) < MIN_GROUP_N or worst.get("min_n") == 0:
        return f"none has n>={MIN_GROUP_N}" if worst or subjects else "-"
    return f"{worst['subject']} {pct(worst['accuracy'])} (n={worst['n']})"


def report_examples(dataset: Dataset, seed: int = 0, per_class: int = 3) -> tuple[list, list[str]]:
    """Up to `per_class` random images of each class (96 px RGB) and their labels, for the report's map grid."""
    rng = np.random.default_rng(seed)
    y = dataset.labels
    pick = np.concatenate([rng.choice(np.flatnonzero(y == c), min(per_class, int((y == c).sum())), replace=False)
                           for c in (0, 1) if (y == c).any()])
    images, _ = load_images(dataset.subset(pick), 96, 3, progress=False)
    return list(images), [CLASS_NAMES[y[i]] for i in pick]


def map_grid(models: list, images: list[np.ndarray], labels: list[str]) -> str:
    """HTML grid: each example image with every model's explanation overlay and p(closed)."""
    from .robustness import model_keys

    cells = []
    for img, lab in zip(images, labels):
        cells.append(f'<div class="cell"><img src="{png_data_uri(as_shown(img), 96)}"><br>'
                     f"true: {html.escape(lab)}</div>")
        for clf, key in zip(models, model_keys(models)):
            p = clf.predict_proba([img])[0, 1]
            cells.append(f'<div class="cell"><img src="{png_data_uri(overlay(img, explain_map(clf, img)), 96)}"><br>'
                         f"{html.escape(key)}<br>p(closed)={p:.2f}</div>")
        cells.append('<div style="flex-basis:100%"></div>')
    return f'<div class="grid">{"".join(cells)}</div>'


def render_report(analysis: Analysis, models: list, examples: tuple[list, list] | None = None,
                  title: str = "eyebench report", command: str = "") -> str:
    """The whole report as one HTML string."""
    res = analysis.models
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if command:
        parts.append(f'<p class="note">Made by <code>{html.escape(command)}</code></p>')
    d = analysis.data
    reasons = "; ".join(f"{k}: {v}" for k, v in d["skipped_reasons"].items())
    parts.append(f'<p class="note">Images read: {d["n_read"]}, skipped: {d["n_skipped"]}'
                 f'{" (" + html.escape(reasons) + ")" if reasons else ""}; subjects: {d["n_subjects"]}.</p>')
    parts.append("<h2>Metrics</h2>")
    rows = []
    for name, r in res.items():
        ci = r.bootstrap_accuracy or {}
        ci_txt = f"[{pct(ci.get('low'))}, {pct(ci.get('high'))}]" if ci.get("low") is not None else (ci.get("note") or "-")
        band = r.band or {}
        rc = r.risk_coverage
        low, high = band["band"] if band else (None, None)
        rows.append([name, r.n, pct(r.accuracy), ci_txt, pct(r.balanced_accuracy), pct(r.recall_closed),
                     pct(r.recall_open), f"{r.roc_auc:.4f}" if r.roc_auc is not None else "-",
                     f"{r.ece:.4f}", f"{r.brier:.4f}", f"{rc['aurc']:.4f}", pct(rc["coverage_at_1pct_risk"]),
                     f"[{low:.3f}, {high:.3f}] coverage {pct(band.get('coverage'))}" if band else "-",
                     worst_text(r.worst_subject, bool(r.per_subject))])
    parts.append(_table(["model", "n", "accuracy", "95% CI (subjects)", "balanced acc.", "closed recall", "open recall",
                         "ROC-AUC", "ECE", "Brier", "AURC", "coverage @1% risk", "uncertain band",
                         f"worst subject (of those with n>={MIN_GROUP_N})"], rows))
    parts.append(f'<p class="note">ECE: {html.escape(next(iter(res.values())).ece_definition)}. '
                 "CIs resample subjects, not images.</p>" if res else "")
    if analysis.paired:
        parts.append("<h3>Paired comparison (McNemar, same images)</h3>")
        parts.append(_table(["A", "B", "A right, B wrong", "A wrong, B right", "p-value", "test"],
                            [[p["a"], p["b"], p["a_right_b_wrong"], p["a_wrong_b_right"], f"{p['p_value']:.3g}",
                              p["method"]] for p in analysis.paired]))
    parts.append("<h2>Confusion matrices</h2>")
    parts += [_fig(plots.confusion_figure(r.confusion_matrix, f"{name}")) for name, r in res.items()]
    parts.append("<h2>Risk-coverage and calibration</h2>")
    parts.append(_fig(plots.risk_coverage_figure({n: r.risk_coverage for n, r in res.items()})))
    parts.append(_fig(plots.reliability_figure({n: r.reliability for n, r in res.items()})))
    sub_rows = analysis.subset_rows()
    if sub_rows:
        parts.append("<h2>Subsets</h2>")
        parts.append(_fig(plots.subset_figure(sub_rows, "accuracy")))
        parts.append(_fig(plots.subset_figure(sub_rows, "recall_closed")))
        parts.append(_table(["model", "factor", "value", "n", "open", "closed", "accuracy", "closed recall", "open recall",
                             "rejected (band)"],
                            [[r["model"], r["factor"], r["value"], r["n"], r["n_open"], r["n_closed"], pct(r["accuracy"]),
                              pct(r["recall_closed"]), pct(r["recall_open"]), pct(r.get("rejection_rate"))]
                             for r in sub_rows]))
    sw = analysis.sweeps
    if sw:
        parts.append("<h2>Perturbation sweeps</h2>")
        parts.append(f'<p class="note">{html.escape(sw.note)} {sw.n} images per level.</p>')
        for name, block in sw.sweeps.items():
            parts.append(_fig(plots.sweep_figure(name, block, "accuracy")))
            parts.append(_fig(plots.sweep_figure(name, block, "recall_closed")))
    if examples and models:
        parts.append("<h2>Where each model looks</h2>")
        parts.append(map_grid(models, *examples))
    plotly_js = f"<script>{get_plotlyjs()}</script>"  # inlined: the report opens offline
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style>{plotly_js}</head><body>{''.join(parts)}</body></html>")
