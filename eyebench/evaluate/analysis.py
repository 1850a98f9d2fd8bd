"""Full analysis of several models on the same images: metrics, calibration, risk-coverage, CIs, subsets, sweeps."""
from __future__ import annotations

import dataclasses
import itertools
from typing import TYPE_CHECKING

import numpy as np

from ..config import SWEEP_IMAGES
from ..data.dataset import Dataset, load_images
from ..data.splits import apply_split
from ..errors import EyebenchError
from ..results import EyeState
from .calibration import (
    ECE_DEFINITION,
    brier_score,
    expected_calibration_error,
    reliability_bins,
)
from .confidence import mcnemar, subject_bootstrap
from .perturbations import SWEEPS
from .report import metrics_from_proba, require_images
from .results import Analysis, ModelEvaluation, Predictions
from .robustness import (
    Reporter,
    model_keys,
    run_models,
    scaled,
    stratified_sample,
    subset_table,
    sweep_models,
)
from .thresholds import band_metrics, risk_coverage

if TYPE_CHECKING:
    from ..models.base import Classifier

BASE_SIZE = 96  # perturbations are drawn on RGB crops at this size, then each model resizes as it likes
# Images per perturbation level (class-stratified). The sweeps' cost is model inference: every level runs every model
# on every sampled image, and the 9 sweeps have 42 levels (35 distinct: the identity levels run once). The six
# shipped models take about 19 ms of CPU per image between them (the two ResNets 70% of it), so a six-model sweep
# costs about 35 x n x 19 ms of CPU: 65 s for n = 100, 33 s for n = 50, halved on 2 free cores.
# A level's accuracy on n images has a standard error of sqrt(p (1 - p) / n): 3 points at p = 0.9 for n = 100 (5 at
# worst), 4 points for n = 50 (7 at worst); the change from the clean level is tighter, as every level has the same
# images. Measured on 300 MRL images, six models, all 42 levels: the curves on 100 images were 1.1 points from those
# on all 300 on average (90% within 2.3), on 50 images 1.6 points (90% within 3.0).
# SWEEP_IMAGES (100) is the default for files that are kept (CLI, report): stable curves at 4x an `evaluate`;
# QUICK_SWEEP_IMAGES (50) gives an interactive first look at the same curves in about 20 s on 2 cores.
# (both defined in config.py, where the CLI's --help reads them without importing this module)


def restrict(dataset: Dataset, models: list, split: str | None) -> Dataset:
    """With --split, keep the subjects that EVERY model's saved split put in that part (same images for all)."""
    if not split:
        return dataset
    for clf in models:
        if not clf.split:
            raise EyebenchError(f"{clf.checkpoint or clf.name} has no saved split; drop --split")
        dataset = apply_split(dataset, clf.split, split)
    if not len(dataset):
        raise EyebenchError(f"no image belongs to the {split} subjects of all the models given")
    return dataset


def analyse_models(models: list[Classifier], dataset: Dataset, bootstrap: int = 0, sweeps: bool = True,
                   sweep_max: int = SWEEP_IMAGES, subsets: bool = True, seed: int = 0, progress=True,
                   keep_predictions: bool = False, sweep_names: list[str] | None = None) -> Analysis:
    """Everything the report and the app show (`to_dict()` for JSON); `sweep_names` limits the sweeps.

    With `keep_predictions`, `predictions` also holds the images used (a Dataset) and each model's p(closed)
    array, for callers that work on per-image results (never written to JSON).
    `progress`: True for tqdm bars, False for none, or a callable `(fraction, text)` told what is being done
    (e.g. a gr.Progress).
    """
    bars = progress is True
    _, dataset = load_images(dataset, BASE_SIZE, 3, progress=bars)  # drops unreadable files for every model
    require_images(dataset)
    chosen = {k: v[1] for k, v in SWEEPS.items() if sweep_names is None or k in sweep_names}
    n_levels = sum(len(v[1]) for k, v in SWEEPS.items() if k in (chosen or SWEEPS)) if sweeps else 0  # none: all
    # the share of the work before the sweeps: one pass over every image against one per level over the sample
    first = len(dataset) / (len(dataset) + min(len(dataset), sweep_max) * n_levels)
    keys = model_keys(models)  # distinct keys, even for two folders of the same name
    inputs = {}
    for clf in models:
        form = (clf.data_config.input_size, clf.data_config.channels)
        if form not in inputs:  # same input as `evaluate`, decoded once per size and channels
            inputs[form], _ = load_images(dataset, *form, progress=bars)
    report = Reporter(scaled(progress, 0.0, first), "evaluating", len(models))
    report.note(f"{len(dataset)} images, {len(models)} model(s)")
    tasks = [(i, inputs[(clf.data_config.input_size, clf.data_config.channels)], False) for i, clf in enumerate(models)]
    probas = dict(zip(keys, zip(models, run_models(models, tasks, lambda t: report.advance(1, keys[t])))))
    report.close()
    out = analyse_probabilities(probas, dataset, bootstrap=bootstrap, subsets=subsets, seed=seed)
    if keep_predictions:
        out = dataclasses.replace(out, predictions=Predictions(
            dataset, {n: p[:, EyeState.CLOSED] for n, (_, p) in probas.items()}))
    if sweeps:
        y = dataset.labels
        idx = stratified_sample(y, sweep_max, seed)
        base, _ = load_images(dataset.subset(idx), BASE_SIZE, 3, progress=bars)  # perturbed, then resized per model
        out = dataclasses.replace(out, sweeps=sweep_models(models, base, y[idx], chosen,
                                                           progress=scaled(progress, first, 1.0)))
    return out


def analyse_probabilities(probas: dict, dataset: Dataset, bootstrap: int = 0, subsets: bool = True,
                          seed: int = 0) -> Analysis:
    """The analysis of `analyse_models` from probabilities already computed: name -> (model, (n, 2) proba).

    The model only lends its registry name, checkpoint and uncertain band, so stored predictions (the held-out
    bundle) are analysed exactly like fresh ones.
    """
    y = dataset.labels
    results, preds = {}, {}
    for name, (clf, proba) in probas.items():
        m = metrics_from_proba(dataset, proba)
        band = clf.uncertain_band
        preds[name] = (proba[:, EyeState.CLOSED] >= 0.5).astype(int)
        cis = {}
        if bootstrap:
            doubts = dataset.subject_doubts  # subjects that may not be people: said beside the CI
            cis["bootstrap_accuracy"] = subject_bootstrap(y, preds[name], dataset.subjects, n_boot=bootstrap,
                                                          seed=seed, doubts=doubts)
            cis["bootstrap_recall_closed"] = subject_bootstrap(
                y, preds[name], dataset.subjects, n_boot=bootstrap, seed=seed, doubts=doubts,
                metric=lambda t, p: float(np.mean(p[t == EyeState.CLOSED] == EyeState.CLOSED)) if np.any(t == EyeState.CLOSED) else float("nan"))
        results[name] = ModelEvaluation(
            name=clf.name, checkpoint=str(clf.checkpoint), metrics=m["overall"], per_source=m["per_source"],
            worst_subject=m["worst_subject"], per_subject=m["per_subject"], ece=expected_calibration_error(y, proba),
            ece_definition=ECE_DEFINITION, brier=brier_score(y, proba), reliability=reliability_bins(y, proba),
            risk_coverage=risk_coverage(y, proba),
            band=band_metrics(y, proba[:, EyeState.CLOSED], band) if band else None, **cis,
            subsets=subset_table(dataset, proba, band) if subsets else None)
    return Analysis(results, dataset.report(),
                    [{"a": a, "b": b, **mcnemar(y, preds[a], preds[b])} for a, b in itertools.combinations(preds, 2)])
