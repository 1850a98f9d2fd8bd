"""Cross-validation by person: K subject-grouped folds, each trained by `run_training` and tested on its fold."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from ..data.dataset import load_dataset
from ..data.splits import pick_group_fold, check_disjoint
from ..evaluate.report import worst_group
from .config import TrainConfig
from .pipeline import run_training


def subject_folds(dataset, k: int, val_frac: float = 0.15, seed: int = 0,
                  train_share: float = 1.0) -> list[dict[str, list[str]]]:
    """K person-disjoint assignments: fold i is test, validation subjects are drawn from the rest (per source).

    With `train_share` < 1 each fold trains on that share of its training people (per source, at least one; the
    smaller shares of one seed are nested in the larger ones), for a learning curve over the number of people.
    """
    if not 0 < train_share <= 1:
        raise ValueError(f"the share of training people must be in (0, 1], got {train_share}")
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
            train_s = sorted(set(groups.tolist()) - test_s - val_s)
            order = np.random.default_rng([seed, i]).permutation(len(train_s))
            folds[i]["train"] += sorted(train_s[j] for j in order[:max(1, round(train_share * len(train_s)))])
    for f in folds:
        check_disjoint(f)
    return folds


def held_out_subjects(checkpoint: str) -> set[str]:
    """The test subjects a checkpoint was scored on (from its split.json), which a recipe comparison must not use."""
    path = Path(checkpoint) / "split.json"
    if not path.is_file():
        raise ValueError(f"{checkpoint}: no split.json (not a checkpoint written by eyebench train)")
    return set(json.loads(path.read_text())["test"])


def cross_validate(model: str, data: list[str], out: str, config: TrainConfig = TrainConfig(), k: int = 5,
                   holdout_of: str | None = None, train_share: float = 1.0, log=print,
                   subject_from: str | None = None) -> dict:
    """Train one model per fold with `config`; summarise test accuracy as mean +- std, per fold and person, the worst
    fold and subject (the folds are drawn with config.seed, validation people with config.val_frac).

    With `holdout_of` the test people of that checkpoint are left out entirely: the folds are made of its
    train and val people, so a recipe can be chosen for it without looking at its test set.
    """
    seed = config.seed
    dataset = load_dataset(data, subject_from)  # subjects by the --subject-from rule, as in each fold's training
    left_out: list[str] = []
    if holdout_of:
        held = held_out_subjects(holdout_of)
        keep = np.array([s not in held for s in dataset.subjects])
        left_out = sorted(set(dataset.subjects[~keep].tolist()))
        if not left_out:
            raise ValueError(f"none of the test subjects of {holdout_of} are in this data: is it the same data?")
        dataset = dataset.subset(keep)
        log(f"left out {len(left_out)} test subjects of {holdout_of} ({(~keep).sum()} images)")
    folds = subject_folds(dataset, k, config.val_frac, seed, train_share)
    results, subjects = [], {}
    for i, split in enumerate(folds):
        log(f"fold {i + 1}/{k}: {len(split['test'])} test subjects, {len(split['train'])} training subjects")
        info = run_training(model, data, str(Path(out) / f"fold_{i + 1}"), config, split=split, log=log,
                            subject_from=subject_from)
        test = info["metrics"]["test"]
        results.append({"fold": i + 1, "test_subjects": split["test"], "n_train_subjects": len(split["train"]),
                        **{key: test["overall"][key] for key in
                           ("n", "accuracy", "balanced_accuracy", "recall_closed", "recall_open")},
                        "per_subject": test["per_subject_all"]})
        subjects.update(test["per_subject_all"])
    acc = np.array([r["accuracy"] for r in results], dtype=float)
    worst = min(results, key=lambda r: r["accuracy"])
    return {"model": model, "k": k, "seed": seed, "holdout_of": holdout_of, "left_out_subjects": left_out,
            "train_share": train_share,
            "folds": results,
            "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if k > 1 else 0.0,
            "recall_closed_mean": float(np.mean([r["recall_closed"] for r in results])),
            "worst_fold": {"fold": worst["fold"], "accuracy": worst["accuracy"]},
            "worst_subject": worst_group(subjects)}


def repeat_cross_validation(model: str, data: list[str], out: str, seeds: list[int],
                            config: TrainConfig = TrainConfig(), log=print, **kw) -> dict:
    """Cross-validate once per seed (folders out/seed_S): the spread of the means is the noise a recipe must beat."""
    runs = [cross_validate(model, data, str(Path(out) / f"seed_{s}"), dataclasses.replace(config, seed=s), log=log,
                           **kw) for s in seeds]
    means = np.array([r["accuracy_mean"] for r in runs], dtype=float)
    return {"model": model, "seeds": list(seeds), "runs": runs, "accuracy_mean": float(means.mean()),
            "accuracy_per_seed": means.tolist(),
            "accuracy_seed_std": float(means.std(ddof=1)) if len(runs) > 1 else 0.0}
