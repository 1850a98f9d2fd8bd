"""Triage (the research's data-cleaning flow): uncertain and misclassified images per model, worst first."""
from __future__ import annotations

import csv
import dataclasses

import numpy as np

from ..config import CLASS_NAMES, DECISION_NAMES
from ..data.dataset import Dataset, load_images
from ..results import Decision, EyeState
from .thresholds import apply_band

RULE = ("each model decides by its own uncertain band on p(closed): closed above the band, open below it, uncertain "
        "inside it (a model without a band: closed when p(closed) >= 0.5); an image is listed once per model whose "
        "decision is uncertain (reason=uncertain) or the wrong class (reason=misclassified)")
FIELDS = ["model", "path", "subject", "label", "decision", "reason", "p_closed", "band", "p_true_class"]


def band_text(band) -> str:
    """A band as the CSV and the printout give it: `[low, high]`, or the 0.5 cut without a band."""
    return f"[{band[0]:.4f}, {band[1]:.4f}]" if band else "none (0.5 cut)"


def triage_rows(dataset: Dataset, proba: np.ndarray, band=None, model: str = "") -> list[dict]:
    """One model's rows (see RULE): images whose band decision is uncertain or wrong, worst first."""
    y = dataset.labels
    p = proba[:, EyeState.CLOSED]
    decision = apply_band(p, band)
    rows = []
    for i, s in enumerate(dataset.samples):
        if decision[i] != Decision.UNCERTAIN and decision[i] == y[i]:
            continue
        p_true = p[i] if y[i] == EyeState.CLOSED else 1 - p[i]
        rows.append({"model": model, "path": s.path, "subject": s.subject, "label": CLASS_NAMES[y[i]],
                     "decision": DECISION_NAMES[decision[i]],
                     "reason": "uncertain" if decision[i] == Decision.UNCERTAIN else "misclassified",
                     "p_closed": round(float(p[i]), 6), "band": band_text(band), "p_true_class": round(float(p_true), 6)})
    return sorted(rows, key=lambda r: r["p_true_class"])


@dataclasses.dataclass(frozen=True)
class ModelTriage:
    """One model's triage: its band, the images it saw and the rows it listed (worst first)."""

    model: str
    band: tuple | None
    n_images: int
    rows: list[dict]

    @property
    def n_misclassified(self) -> int:
        """Listed images whose decision is the wrong class (the others are uncertain)."""
        return sum(r["reason"] == "misclassified" for r in self.rows)


def triage_models(models: dict, dataset: Dataset) -> list[ModelTriage]:
    """Each named model's triage of the images of `dataset` it can read."""
    out = []
    for name, clf in models.items():
        arrays, used = load_images(dataset, clf.data_config.input_size, clf.data_config.channels)
        out.append(ModelTriage(name, clf.uncertain_band, len(used),
                               triage_rows(used, clf.proba_prepared(arrays), clf.uncertain_band, model=name)))
    return out


def merged_rows(triages: list[ModelTriage]) -> list[dict]:
    """Every model's rows together, worst first (lowest p(true class))."""
    return sorted((r for t in triages for r in t.rows), key=lambda r: r["p_true_class"])


def write_csv(rows: list[dict], path, fields: list[str] | None = None) -> None:
    """Write dict rows to CSV (header from `fields`, else the first row, else the triage columns if no rows)."""
    fields = fields or (list(rows[0]) if rows else FIELDS)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
