"""Cross-validation by person: K subject-grouped folds, each trained by `run_training` and tested on its fold."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from .data.dataset import load_dataset
from .data.splits import pick_group_fold, check_disjoint
from .evaluate.report import worst_group


def subject_folds(dataset, k: int, val_frac: float = 0.15, seed: int = 0) -> list[dict[str, list[str]]]:
    """K person-disjoint assignments: fold i is test, validation subjects are drawn from the rest (per source)."""
    sources = np.array([s.source for s in dataset.samples])
    subjects, y = dataset.subjects, dataset.labels
    folds = [{"train": [], "val": [], "test": []} for _ in range(k)]
    for source in sorted(set(sources.tolist())):
        idx = np.flatnonzero(sources == source)
        groups = subjects[idx]
        if len(np.unique(groups)) < k + 1:
            raise ValueError(f"source {source!r} has {len(np.unique(groups))} subjects: too few for {k} folds")
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        for i, (rest, test) in enumerate(splitter.split(np.zeros(len(idx)), y[idx], groups)):
            val = rest[pick_group_fold(y[idx][rest], groups[rest], val_frac / (1 - 1 / k), seed + 1)]
            test_s, val_s = set(groups[test].tolist()), set(groups[val].tolist())
            folds[i]["test"] += sorted(test_s)
            folds[i]["val"] += sorted(val_s)
            folds[i]["train"] += sorted(set(groups.tolist()) - test_s - val_s)
    for f in folds:
        check_disjoint(f)
    return folds


def cross_validate(model: str, data: list[str], out: str, k: int = 5, seed: int = 0, val_frac: float = 0.15,
                   log=print, **train_kw) -> dict:
    """Train one model per fold; summarise test accuracy as mean +- std, the worst fold and the worst subject."""
    from .train import run_training

    dataset = load_dataset(data)
    folds = subject_folds(dataset, k, val_frac, seed)
    results, subjects = [], {}
    for i, split in enumerate(folds):
        log(f"fold {i + 1}/{k}: {len(split['test'])} test subjects")
        info = run_training(model, data, str(Path(out) / f"fold_{i + 1}"), seed=seed, split=split, log=log, **train_kw)
        test = info["metrics"]["test"]
        results.append({"fold": i + 1, "test_subjects": split["test"], **{key: test["overall"][key] for key in
                        ("n", "accuracy", "balanced_accuracy", "recall_closed", "recall_open")}})
        subjects.update(test["per_subject_all"])
    acc = np.array([r["accuracy"] for r in results], dtype=float)
    worst = min(results, key=lambda r: r["accuracy"])
    return {"model": model, "k": k, "seed": seed, "folds": results,
            "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if k > 1 else 0.0,
            "recall_closed_mean": float(np.mean([r["recall_closed"] for r in results])),
            "worst_fold": {"fold": worst["fold"], "accuracy": worst["accuracy"]},
            "worst_subject": worst_group(subjects)}
