"""Run classifiers over datasets and assemble the evaluation contract (overall, per source, per subject)."""
from __future__ import annotations

from collections import Counter

import time
from typing import TYPE_CHECKING

import numpy as np

from ..data.dataset import Dataset, load_images
from ..data.splits import split_mask
from ..errors import EyebenchError
from ..results import EyeState
from .audit import compare_labels
from .calibration import expected_calibration_error
from .confidence import subject_bootstrap
from .leak import leak_report
from .metrics import classification_metrics, per_group_accuracy
from .results import CheckpointEvaluation
from .thresholds import band_metrics

if TYPE_CHECKING:
    from ..models.base import Classifier


def evaluate_arrays(clf, arrays: np.ndarray, dataset: Dataset) -> dict:
    """Metrics of `clf` on prepared arrays aligned with `dataset.samples`."""
    proba = clf.proba_prepared(arrays) if len(arrays) else np.zeros((0, 2))
    result = metrics_from_proba(dataset, proba)
    if len(arrays):
        result["ece"] = expected_calibration_error(dataset.labels, proba)
    if clf.uncertain_band and len(arrays):
        result["band"] = band_metrics(dataset.labels, proba[:, EyeState.CLOSED], clf.uncertain_band)
    return result


def metrics_from_proba(dataset: Dataset, proba: np.ndarray) -> dict:
    """Overall metrics, one block per data source, per-subject accuracy (worst first) and the NLL."""
    y = dataset.labels
    if len(y) == 0:
        return {"overall": {"n": 0}, "per_source": {}, "per_subject": {}, "worst_subject": None, "loss": None}
    sources = np.array([s.source for s in dataset.samples])
    p = np.clip(proba[:, EyeState.CLOSED], 1e-7, 1 - 1e-7)
    loss = float(-np.mean(np.where(y == EyeState.CLOSED, np.log(p), np.log(1 - p))))
    per_subject = per_group_accuracy(y, (proba[:, EyeState.CLOSED] >= 0.5).astype(int), dataset.subjects)
    worst = worst_group(per_subject)
    return {
        "overall": classification_metrics(y, proba),
        "per_source": {s: classification_metrics(y[sources == s], proba[sources == s]) for s in sorted(set(sources))},
        "per_subject": per_subject,
        "worst_subject": worst,
        "loss": loss,
    }


MIN_GROUP_N = 20  # the worst subject is named among subjects with at least this many images


def worst_group(per_group: dict[str, dict], min_n: int = MIN_GROUP_N) -> dict | None:
    """The lowest-accuracy group among those with at least `min_n` images, or None when none has that many: a group
    of a few images is never named the worst (its accuracy says little)."""
    big = {k: v for k, v in per_group.items() if v["n"] >= min_n}
    if not big:
        return None
    name, row = min(big.items(), key=lambda kv: (kv[1]["accuracy"], -kv[1]["n"]))
    return {"subject": name, **row, "min_n": min_n}


def require_images(dataset: Dataset, n_reasons: int = 3) -> None:
    """An EyebenchError saying why, when no image of `dataset` can be used (all unlabelled, unreadable or too small)."""
    if len(dataset):
        return
    reasons = Counter(r for _, r in dataset.skipped).most_common(n_reasons)
    raise EyebenchError(f"no usable image: {len(dataset.skipped)} file(s) skipped"
                     + (": " + "; ".join(f"{r} ({n})" for r, n in reasons) if reasons else ""))


def evaluate_model(clf: Classifier, dataset: Dataset, split: str | None = None,
                   bootstrap: int = 0) -> tuple[CheckpointEvaluation, Dataset]:
    """One loaded classifier evaluated on `dataset` (optionally only its saved split's subjects), and the images used."""
    t0 = time.time()
    cfg = clf.data_config
    n_given = len(dataset)
    if split:  # keep the split's people before decoding: no image of the other people is read
        if not clf.split:
            raise EyebenchError(f"{clf.checkpoint}: has no saved split, so --split {split} cannot be applied")
        mask = split_mask(dataset, clf.split, split)
        if not mask.any():
            raise EyebenchError(f"no image of {clf.checkpoint}'s {split} subjects is in the data given")
        dataset = dataset.subset(mask)
    arrays, dataset = load_images(dataset, cfg.input_size, cfg.channels)
    require_images(dataset)
    proba = clf.proba_prepared(arrays)
    result = metrics_from_proba(dataset, proba)
    seconds = round(time.time() - t0, 3)
    return CheckpointEvaluation(
        name=clf.name, checkpoint=str(clf.checkpoint), metrics=result["overall"], seconds=seconds,
        per_source=result["per_source"], per_subject=result["per_subject"], worst_subject=result["worst_subject"],
        band=band_metrics(dataset.labels, proba[:, EyeState.CLOSED], clf.uncertain_band) if clf.uncertain_band else None,
        leak=leak_report(clf, dataset), per_head_angle=per_head_angle(dataset, proba), split=split,
        split_removed=n_given - int(mask.sum()) if split else None,
        bootstrap_accuracy=subject_bootstrap(dataset.labels, (proba[:, EyeState.CLOSED] >= 0.5).astype(int),
                                             dataset.subjects, n_boot=bootstrap, doubts=dataset.subject_doubts)
        if bootstrap else None), dataset


def label_comparison(clf, used: Dataset) -> dict:
    """A model's metrics on the original and the corrected labels of the same images (--compare-labels)."""
    arrays, kept = load_images(used, clf.data_config.input_size, clf.data_config.channels)
    result = compare_labels(kept, clf.proba_prepared(arrays))
    if result is None:
        raise EyebenchError("--compare-labels needs a corrected manifest: a CSV with an original_label column (the Review "
                         "tab's export, or `audit --accept-top`)")
    return result


HEAD_ANGLE_FACTORS = ("head_yaw", "head_pitch")  # measured on face photos (data.face_photos)


def per_head_angle(dataset: Dataset, proba: np.ndarray) -> dict:
    """Metrics per measured head-angle bin ({factor: {bin: metrics}}), for data read from face photos; {} without."""
    y, out = dataset.labels, {}
    for factor in HEAD_ANGLE_FACTORS:
        col = np.array([str(s.meta.get(factor, "")) for s in dataset.samples])
        bins = sorted(set(col) - {""})
        if bins:
            out[factor] = {b: classification_metrics(y[col == b], proba[col == b]) for b in bins}
    return out

