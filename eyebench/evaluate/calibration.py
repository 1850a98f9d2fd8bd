"""Calibration: temperature scaling fitted on validation, expected calibration error and reliability bins."""
from __future__ import annotations

import numpy as np

from ..results import EyeState

ECE_DEFINITION = "top-label ECE: 15 equal-width bins of max probability in [0.5, 1], |accuracy - confidence| weighted by bin share"


def fit_temperature(logits, y_true) -> float:
    """Temperature T > 0 minimising the NLL of sigmoid(logit / T) (closed = positive), by a 1-D grid search."""
    z, t = np.asarray(logits, float), (np.asarray(y_true) == EyeState.CLOSED).astype(float)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 400))
    nll = [np.mean(np.logaddexp(0, -z / T) * t + np.logaddexp(0, z / T) * (1 - t)) for T in grid]
    return float(grid[int(np.argmin(nll))])


def reliability_bins(y_true, proba, n_bins: int = 15) -> list[dict]:
    """Top-label reliability: per equal-width confidence bin, its count, mean confidence and accuracy."""
    proba = np.asarray(proba, float)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y_true)).astype(float)
    edges = np.linspace(0.5, 1.0, n_bins + 1)  # binary top-label confidence lies in [0.5, 1]
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        m = idx == b
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": int(m.sum()),
                     "confidence": float(conf[m].mean()) if m.any() else None,
                     "accuracy": float(correct[m].mean()) if m.any() else None})
    return rows


def expected_calibration_error(y_true, proba, n_bins: int = 15) -> float:
    """ECE, top-label definition: sum over 15 equal-width confidence bins of |accuracy - confidence| x bin share."""
    n = len(np.asarray(y_true))
    if n == 0:
        return float("nan")
    return float(sum(r["n"] / n * abs(r["accuracy"] - r["confidence"]) for r in reliability_bins(y_true, proba, n_bins)
                     if r["n"]))


def brier_score(y_true, proba) -> float:
    """Mean squared error of p(closed) against the closed indicator."""
    return float(np.mean((np.asarray(proba, float)[:, EyeState.CLOSED] - (np.asarray(y_true) == EyeState.CLOSED)) ** 2))
