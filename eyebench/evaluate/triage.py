"""Triage (the research's data-cleaning flow): uncertain and misclassified images, worst first."""
from __future__ import annotations

import csv

import numpy as np

from ..config import CLASS_NAMES, CLOSED
from ..data.dataset import Dataset
from .thresholds import DECISION_NAMES, UNCERTAIN, apply_band


def triage_rows(dataset: Dataset, proba: np.ndarray, band=None) -> list[dict]:
    """Rows for images that are misclassified or inside the uncertain band, sorted by how wrong they are."""
    y = dataset.labels
    p = proba[:, CLOSED]
    decision = apply_band(p, band)
    rows = []
    for i, s in enumerate(dataset.samples):
        wrong = (p[i] >= 0.5) != (y[i] == CLOSED)
        if not wrong and decision[i] != UNCERTAIN:
            continue
        p_true = p[i] if y[i] == CLOSED else 1 - p[i]
        rows.append({"path": s.path, "subject": s.subject, "label": CLASS_NAMES[y[i]],
                     "decision": DECISION_NAMES[decision[i]], "p_closed": round(float(p[i]), 6),
                     "p_true_class": round(float(p_true), 6),
                     "reason": "misclassified" if wrong else "uncertain"})
    return sorted(rows, key=lambda r: r["p_true_class"])


def write_csv(rows: list[dict], path) -> None:
    """Write dict rows to CSV (header from the first row; an empty file with a header if no rows)."""
    fields = list(rows[0]) if rows else ["path", "subject", "label", "decision", "p_closed", "p_true_class", "reason"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
