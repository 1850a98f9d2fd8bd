"""The "uncertain" band on p(closed): fitting it for a target selective risk, applying it, risk-coverage curves."""
from __future__ import annotations

import numpy as np

from ..config import CLASS_NAMES, MIN_GROUP_IMAGES
from ..results import Decision, EyeState


def apply_band(p_closed, band) -> np.ndarray:
    """Decisions 0 open / 1 closed / 2 uncertain: open if p <= low, closed if p >= high, else uncertain."""
    p = np.asarray(p_closed, float)
    if band is None:
        return (p >= 0.5).astype(int)
    low, high = band
    out = np.full(len(p), Decision.UNCERTAIN, dtype=int)
    out[p <= low] = Decision.OPEN
    out[p >= high] = Decision.CLOSED
    return out


def band_metrics(y_true, p_closed, band) -> dict:
    """Coverage, selective risk (error rate on accepted images) and the rejection rate of each true class."""
    y = np.asarray(y_true)
    d = apply_band(p_closed, band)
    accepted = d != Decision.UNCERTAIN
    rejection = {c: (float((~accepted[y == i]).mean()) if (y == i).any() else None) for i, c in enumerate(CLASS_NAMES)}
    return {"band": list(band) if band is not None else None, "n": int(len(y)),
            "coverage": float(accepted.mean()) if len(y) else None,
            "selective_risk": float((d[accepted] != y[accepted]).mean()) if accepted.any() else None,
            "n_uncertain": int((~accepted).sum()),
            "rejection_rate": rejection}


def band_groups(subjects, sources, min_n: int = MIN_GROUP_IMAGES) -> np.ndarray:
    """Group of each image for the per-person band rule: its subject if they have >= min_n images, else a pool of
    its source's smaller subjects (CEW people have 2-4 crops each: too few to hold a risk on their own)."""
    subjects, sources = np.asarray(subjects, dtype=object), np.asarray(sources, dtype=object)
    names, counts = np.unique(subjects.astype(str), return_counts=True)
    big = set(names[counts >= min_n].tolist())
    return np.array([str(s) if str(s) in big else f"{src}: people with < {min_n} images"
                     for s, src in zip(subjects, sources)], dtype=object)


def _band_counts(y: np.ndarray, p: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accepted images and errors for every (low, high) pair of the grid."""
    below, above = p[None, :] <= lows[:, None], p[None, :] >= highs[:, None]
    acc = below.sum(1)[:, None] + above.sum(1)[None, :]
    err = (below & (y[None, :] == EyeState.CLOSED)).sum(1)[:, None] + (above & (y[None, :] != EyeState.CLOSED)).sum(1)[None, :]
    return acc, err


def fit_band(y_true, p_closed, target_risk: float = 0.01, n_grid: int = 200, groups=None,
             per_group: bool = True) -> dict:
    """Widest-coverage band [low, high] whose selective risk on these (validation) images is <= target_risk.

    With `groups` (see band_groups) and `per_group` the risk must also stay <= target_risk within every group, so
    that one hard person cannot hide behind easy ones; with groups the riskiest group is reported either way. If no
    band reaches the target, the band with the lowest (worst-group) risk is returned with `reached: False`.
    """
    y, p = np.asarray(y_true), np.asarray(p_closed, float)
    lows = np.unique(np.concatenate([[0.0], np.quantile(p[p < 0.5], np.linspace(0, 1, n_grid))])) if (p < 0.5).any() else np.array([0.0])
    highs = np.unique(np.concatenate([[1.0], np.quantile(p[p >= 0.5], np.linspace(0, 1, n_grid))])) if (p >= 0.5).any() else np.array([1.0])
    lows, highs = lows[lows < 0.5], highs[highs >= 0.5]
    acc, err = _band_counts(y, p, lows, highs)
    risk = np.where(acc > 0, err / np.maximum(acc, 1), np.inf)
    worst = risk.copy()
    groups = np.asarray(groups) if groups is not None else np.array([], dtype=object)
    names = sorted(set(groups.tolist()))
    group_risk = {}
    for g in names:
        m = groups == g
        a, e = _band_counts(y[m], p[m], lows, highs)
        group_risk[g] = np.where(a > 0, e / np.maximum(a, 1), 0.0)  # a group with nothing accepted risks nothing
        if per_group:
            worst = np.maximum(worst, group_risk[g])
    ok = worst <= target_risk
    reached = bool(ok.any())
    if not reached:
        ok = worst == worst.min()
    i, j = np.unravel_index(np.argmax(np.where(ok, acc, -1)), acc.shape)
    band = [float(lows[i]), float(highs[j])]
    out = {"band": band, "target_risk": target_risk, "reached": reached,
           "rule": "per person" if names and per_group else "pooled", **band_metrics(y, p, band)}
    if names:
        g = max(names, key=lambda n: group_risk[n][i, j])
        out["worst_group"] = {"group": g, "n": int((groups == g).sum()), "selective_risk": float(group_risk[g][i, j])}
    return out


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
