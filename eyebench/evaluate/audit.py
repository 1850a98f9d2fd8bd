"""Label audit: one row per image, ranked by how much the models doubt its label; the file is a manifest `--data` reads,
and a corrected manifest is compared with the original labels on the same images."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..config import AUDIT_RULE, CLASS_NAMES
from ..data.dataset import Dataset
from ..results import Decision, EyeState
from .metrics import classification_metrics
from .thresholds import apply_band
from .triage import write_csv

RULE = AUDIT_RULE
FIELDS = ["path", "label", "subject", "suggested", "doubt", "n_models", "n_disagree", "n_uncertain"]
UNREVIEWED = "accepted-unreviewed"  # the decision of a suggestion taken by --accept-top without a person looking


def manifest_path(path: str, folder: Path) -> str:
    """A sample's path as a manifest in `folder` names it: relative to the folder where possible, else absolute."""
    try:
        return os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    except ValueError:  # another drive
        return os.path.abspath(path)


def audit_rows(dataset: Dataset, p_closed: dict[str, np.ndarray], bands: dict[str, tuple | None],
               folder: Path) -> list[dict]:
    """One row per image of `dataset` (see RULE), most doubted first; `p_closed` per model name, aligned with the
    samples; paths written relative to `folder` (where the CSV goes)."""
    y = dataset.labels
    names = list(p_closed)
    probs = np.stack([p_closed[n] for n in names])  # (models, images)
    p_other = np.where(y == EyeState.CLOSED, 1 - probs, probs)
    decisions = np.stack([apply_band(p_closed[n], bands.get(n)) for n in names])
    other = np.where(y == EyeState.CLOSED, 1 - EyeState.CLOSED, EyeState.CLOSED)
    doubt = p_other.mean(axis=0)
    rows = []
    for i, s in enumerate(dataset.samples):
        rows.append({"path": manifest_path(s.path, folder), "label": CLASS_NAMES[y[i]], "subject": s.subject,
                     "suggested": CLASS_NAMES[other[i]] if doubt[i] > 0.5 else CLASS_NAMES[y[i]],
                     "doubt": round(float(doubt[i]), 6), "n_models": len(names),
                     "n_disagree": int((decisions[:, i] == other[i]).sum()),
                     "n_uncertain": int((decisions[:, i] == Decision.UNCERTAIN).sum()),
                     **{f"p_closed_{n}": round(float(p_closed[n][i]), 6) for n in names}})
    return sorted(rows, key=lambda r: (-r["doubt"], -r["n_disagree"], r["path"]))


def accept_top(rows: list[dict], n: int) -> list[dict]:
    """The rows with the suggestion of the `n` most doubted images taken as their label (unreviewed), keeping the
    original label in `original_label` and what was done in `decision`."""
    out = []
    for k, r in enumerate(rows):
        take = k < n and r["suggested"] != r["label"]
        out.append({**r, "label": r["suggested"] if take else r["label"], "original_label": r["label"],
                    "decision": UNREVIEWED if take else "kept"})
    return out


def write_rows(rows: list[dict], path) -> None:
    """The rows as CSV (a manifest: `path,label,subject,...`; the audit's columns when there is no row)."""
    write_csv(rows, path, None if rows else FIELDS)


def original_labels(dataset: Dataset) -> np.ndarray | None:
    """The labels before correction (a manifest's `original_label` column) aligned with the samples, or None when the
    data has no such column; an image without one keeps its label."""
    if not any("original_label" in s.meta for s in dataset.samples):
        return None
    names = {name: k for k, name in enumerate(CLASS_NAMES)}
    return np.array([names.get(str(s.meta.get("original_label", "")).strip().lower(), s.label)
                     for s in dataset.samples], dtype=np.int64)


def compare_labels(dataset: Dataset, proba: np.ndarray) -> dict | None:
    """How a model's metrics move between the original and the corrected labels of the same images, with how many
    labels changed (and which way); None when the data holds no original labels."""
    before = original_labels(dataset)
    if before is None:
        return None
    after = dataset.labels
    changed = before != after
    return {"n": int(len(after)), "changed": int(changed.sum()),
            "open_to_closed": int((changed & (after == EyeState.CLOSED)).sum()),
            "closed_to_open": int((changed & (after != EyeState.CLOSED)).sum()),
            "original": classification_metrics(before, proba), "corrected": classification_metrics(after, proba)}


REVIEW_DECISIONS = ("open", "closed", "excluded", "unsure")  # what a reviewer can say of an image
REVIEW_FIELDS = ["path", "label", "subject", "original_label", "decision", "reviewed_at"]


def review_rows(rows: list[dict], decisions: dict[str, dict]) -> list[dict]:
    """The reviewed manifest: every audited image but the excluded ones, a relabelled one with its new label, each
    with its original label, the decision (`open`/`closed`: the label given; `unsure`; `not reviewed`) and when it
    was taken. `decisions`: {path: {"decision", "at"}}."""
    out = []
    for r in rows:
        d = decisions.get(r["path"]) or {}
        decision = d.get("decision", "not reviewed")
        if decision == "excluded":
            continue
        label = decision if decision in CLASS_NAMES else r["label"]
        out.append({"path": r["path"], "label": label, "subject": r["subject"], "original_label": r["label"],
                    "decision": decision, "reviewed_at": d.get("at", "")})
    return out


def audit_models(models: dict, dataset: Dataset, folder: Path, progress: bool = False) -> tuple[list[dict], dict]:
    """Every model's p(closed) on every readable image of `dataset`, the audit rows (paths relative to `folder`) and
    the decoded pictures by their row path (unreadable files are left out of both)."""
    from tqdm.auto import tqdm

    from ..data.images import ImageError, decode_image

    crops, kept = [], []
    for i, s in enumerate(tqdm(dataset.samples, desc="reading", unit="img", disable=not progress, leave=False)):
        try:
            crops.append(decode_image(s.path))
            kept.append(i)
        except ImageError:
            continue
    used = dataset.subset(kept)
    p_closed = {name: clf.predict_proba(crops)[:, EyeState.CLOSED] if crops else np.zeros(0) for name, clf in models.items()}
    bands = {name: clf.uncertain_band for name, clf in models.items()}
    pictures = {manifest_path(s.path, folder): crop for s, crop in zip(used.samples, crops)}
    return audit_rows(used, p_closed, bands, folder), pictures
