"""The "uncertain" band on p(closed): fitting it for a target selective risk, applying it, risk-coverage curves."""
from __future__ import annotations

import numpy as np

from ..config import CLASS_NAMES, CLOSED

UNCERTAIN = 2
DECISION_NAMES = CLASS_NAMES + ("uncertain",)


def apply_band(p_closed, band) -> np.ndarray:
    """Decisions 0 open / 1 closed / 2 uncertain: open if p <= low, closed if p >= high, else uncertain."""
    p = np.asarray(p_closed, float)
    if band is None:
        return (p >= 0.5).astype(int)
    low, high = band
    out = np.full(len(p), UNCERTAIN, dtype=int)
    out[p <= low] = 0
    out[p >= high] = CLOSED
    return out


def band_metrics(y_true, p_closed, band) -> dict:
    """Coverage, selective risk (error rate on accepted images) and the rejection rate of each true class."""
    y = np.asarray(y_true)
    d = apply_band(p_closed, band)
    accepted = d != UNCERTAIN
    rejection = {c: (float((~accepted[y == i]).mean()) if (y == i).any() else None) for i, c in enumerate(CLASS_NAMES)}
    return {"band": list(band) if band is not None else None, "n": int(len(y)),
            "coverage": float(accepted.mean()) if len(y) else None,
            "selective_risk": float((d[accepted] != y[accepted]).mean()) if accepted.any() else None,
            "n_uncertain": int((~accepted).sum()),
            "rejection_rate": rejection}


def fit_band(y_true, p_closed, target_risk: float = 0.01, n_grid: int = 200) -> dict:
    """Widest-coverage band [low, high] whose selective risk on these (validation) images is <= target_risk.

    If no band reaches the target, the band with the lowest risk is returned with `reached: False`.
    """
    y, p = np.asarray(y_true), np.asarray(p_closed, float)
    lows = np.unique(np.concatenate([[0.0], np.quantile(p[p < 0.5], np.linspace(0, 1, n_grid))])) if (p < 0.5).any() else np.array([0.0])
    highs = np.unique(np.concatenate([[1.0], np.quantile(p[p >= 0.5], np.linspace(0, 1, n_grid))])) if (p >= 0.5).any() else np.array([1.0])
    lows, highs = lows[lows < 0.5], highs[highs >= 0.5]
    # accepted-as-open counts and their errors (true closed) per low; accepted-as-closed and errors per high
    acc_o = (p[None, :] <= lows[:, None]).sum(1)
    err_o = ((p[None, :] <= lows[:, None]) & (y[None, :] == CLOSED)).sum(1)
    acc_c = (p[None, :] >= highs[:, None]).sum(1)
    err_c = ((p[None, :] >= highs[:, None]) & (y[None, :] != CLOSED)).sum(1)
    acc = acc_o[:, None] + acc_c[None, :]
    err = err_o[:, None] + err_c[None, :]
    risk = np.where(acc > 0, err / np.maximum(acc, 1), np.inf)
    ok = risk <= target_risk
    if ok.any():
        i, j = np.unravel_index(np.argmax(np.where(ok, acc, -1)), acc.shape)
        reached = True
    else:
        best = risk.min()
        i, j = np.unravel_index(np.argmax(np.where(risk == best, acc, -1)), acc.shape)
        reached = False
    band = [float(lows[i]), float(highs[j])]
    return {"band": band, "target_risk": target_risk, "reached": reached, **band_metrics(y, p, band)}


def risk_coverage(y_true, proba) -> dict:
    """Risk-coverage curve by confidence (max probability), AURC and the coverage at 1% risk."""
    proba = np.asarray(proba, float)
    y = np.asarray(y_true)
    if len(y) == 0:
        return {"coverage": [], "risk": [], "aurc": None, "coverage_at_1pct_risk": None}
    order = np.argsort(-proba.max(axis=1), kind="stable")
    errors = (proba.argmax(axis=1) != y)[order].astype(float)
    k = np.arange(1, len(y) + 1)
    risk = np.cumsum(errors) / k
    coverage = k / len(y)
    ok = np.flatnonzero(risk <= 0.01)
    return {"coverage": coverage.tolist(), "risk": risk.tolist(), "aurc": float(risk.mean()),
            "coverage_at_1pct_risk": float(coverage[ok.max()]) if len(ok) else 0.0}
