"""Classification metrics as pure functions of y_true and probabilities (closed = positive class)."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score

from ..config import CLASS_NAMES
from ..results import EyeState


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def classification_metrics(y_true, proba, threshold: float = 0.5) -> dict:
    """Accuracy, balanced accuracy, per-class precision/recall, closed F1, ROC-AUC and the confusion matrix.

    `proba` is (n, 2) in CLASS_NAMES order; an image is predicted closed when p(closed) >= threshold.
    Undefined values (e.g. recall of a class with no images) are None, never a made-up number.
    """
    y_true = np.asarray(y_true, dtype=int)
    p_closed = np.asarray(proba, dtype=float)[:, EyeState.CLOSED] if np.ndim(proba) == 2 else np.asarray(proba, float)
    y_pred = (p_closed >= threshold).astype(int)
    cm = confusion_matrix(y_true, y_pred, labels=[EyeState.OPEN, EyeState.CLOSED])
    (to, fc), (fo, tc) = cm  # rows true open/closed, columns predicted open/closed
    rec = {c: _ratio(cm[i, i], cm[i].sum()) for i, c in enumerate(CLASS_NAMES)}
    prec = {c: _ratio(cm[i, i], cm[:, i].sum()) for i, c in enumerate(CLASS_NAMES)}
    valid_recalls = [r for r in rec.values() if r is not None]
    p_c, r_c = prec["closed"], rec["closed"]
    return {
        "n": int(len(y_true)),
        "accuracy": _ratio(to + tc, len(y_true)),
        "balanced_accuracy": float(np.mean(valid_recalls)) if valid_recalls else None,
        "recall_open": rec["open"], "recall_closed": rec["closed"],
        "precision_open": prec["open"], "precision_closed": prec["closed"],
        "f1_closed": (2 * p_c * r_c / (p_c + r_c)) if p_c and r_c else (0.0 if p_c is not None and r_c is not None else None),
        "roc_auc": float(roc_auc_score(y_true, p_closed)) if len(np.unique(y_true)) == 2 else None,
        "confusion_matrix": cm.tolist(),
    }


def per_group_accuracy(y_true, y_pred, groups) -> dict[str, dict]:
    """Accuracy and n per group (e.g. per subject), sorted worst first."""
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups, dtype=object)
    rows = {}
    for g in np.unique(groups):
        m = groups == g
        rows[str(g)] = {"n": int(m.sum()), "accuracy": float((y_true[m] == y_pred[m]).mean())}
    return dict(sorted(rows.items(), key=lambda kv: (kv[1]["accuracy"], -kv[1]["n"])))


def people_balanced_accuracy(y_true, y_pred, people) -> float | None:
    """Mean over people of each person's accuracy: every person counts once, however many images they have."""
    rows = per_group_accuracy(y_true, y_pred, people)
    return float(np.mean([r["accuracy"] for r in rows.values()])) if rows else None
