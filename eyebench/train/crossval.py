"""Cross-validation by person: K subject-grouped folds, each trained by `run_training` and tested on its fold."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from ..data.dataset import Dataset, DataSpec, as_dataset, load_images
from ..data.splits import SPLITS, SavedSplit, check_disjoint, pick_group_fold, split_mask
from ..errors import EyebenchError
from ..evaluate.report import worst_group
from ..evaluate.robustness import condition_cells, pool_cells
from ..models.checkpoint import load_classifier, read_config
from .committee import fit_committee
from .config import TrainConfig
from .pipeline import run_training, saved_split
from .resume import RESUME_FILE


def subject_folds(dataset, k: int, val_frac: float = 0.15, seed: int = 0,
                  train_share: float = 1.0) -> list[dict[str, list[str]]]:
    """K person-disjoint assignments: fold i is test, validation subjects are drawn from the rest (per source).

    With `train_share` < 1 each fold trains on that share of its training people (per source, at least one; the
    smaller shares of one seed are nested in the larger ones), for a learning curve over the number of people.
    """
    if not 0 < train_share <= 1:
        raise EyebenchError(f"the share of training people must be in (0, 1], got {train_share}")
    sources = np.array([s.source for s in dataset.samples])
    subjects, y = dataset.subjects, dataset.labels
    folds = [{"train": [], "val": [], "test": []} for _ in range(k)]
    for source in sorted(set(sources.tolist())):
        idx = np.flatnonzero(sources == source)
        groups = subjects[idx]
        if len(np.unique(groups)) < k + 1:
            raise EyebenchError(f"source {source!r} has {len(np.unique(groups))} subjects: too few for {k} folds")
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
    return set(saved_split(checkpoint)["test"])


def cross_validate(model: str, data: DataSpec, out: str, config: TrainConfig = TrainConfig(), k: int = 5,
                   holdout_of: str | None = None, train_share: float = 1.0, log=print,
                   scanned: Dataset | None = None) -> dict:
    """Train one model per fold with `config`; summarise test accuracy as mean +- std, per fold and person, the worst
    fold and subject (the folds are drawn with config.seed, validation people with config.val_frac).

    With `holdout_of` the test people of that checkpoint are left out entirely: the folds are made of its
    train and val people, so a recipe can be chosen for it without looking at its test set. With `config.resume`
    (`cv --resume`) a run stopped part-way goes on: finished folds are reused, a stopped one continues.
    `scanned` is `data` already loaded (`repeat_cross_validation` scans it once for every seed).
    """
    seed = config.seed
    dataset = full = data.load() if scanned is None else scanned  # every fold trains on it (without held-out people)
    left_out: list[str] = []
    if holdout_of:
        held = held_out_subjects(holdout_of)
        keep = np.array([s not in held for s in dataset.subjects])
        left_out = sorted(set(dataset.subjects[~keep].tolist()))
        if not left_out:
            raise EyebenchError(f"none of the test subjects of {holdout_of} are in this data: is it the same data?")
        dataset = dataset.subset(keep)
        log(f"left out {len(left_out)} test subjects of {holdout_of} ({(~keep).sum()} images)")
    folds = subject_folds(dataset, k, config.val_frac, seed, train_share)
    keep_recipe(Path(out), {"model": model, "data": list(data.paths), "k": k, "holdout_of": holdout_of,
                            "train_share": train_share, "subject_from": data.subject_from,
                            "config": {**dataclasses.asdict(config), "resume": False}}, config.resume)
    results, subjects, fold_views = [], {}, []
    for i, split in enumerate(folds):
        log(f"fold {i + 1}/{k}: {len(split['test'])} test subjects, {len(split['train'])} training subjects")
        folder = Path(out) / f"fold_{i + 1}"
        done = finished_fold(folder, model, split, config) if config.resume else None
        if done:
            log(f"fold {i + 1}/{k}: finished earlier in {folder}, reused (--resume)")
        info = done or run_training(model, full, str(folder), config, split=split, log=log)
        views = fold_test_views(folder, full)
        metrics = info["metrics"]
        test = metrics["test"]
        if done:  # every person's result, which config.json does not keep, from the predictions just made
            test["per_subject_all"] = {p: {"n": n, "accuracy": r / n}
                                       for p, (n, r, _) in views[views["as_trained"]]["people"].items()}
        fold_views.append(views)
        results.append({"fold": i + 1, "test_subjects": split["test"], "n_train_subjects": len(split["train"]),
                        **_fold_scores(test, views), "per_subject": test["per_subject_all"]})
        subjects.update(test["per_subject_all"])
    return {"model": model, "k": k, "seed": seed, "holdout_of": holdout_of, "left_out_subjects": left_out,
            "train_share": train_share, **_summary(results, subjects, fold_views)}


RECIPE_FILE = "cv_recipe.json"  # what a cross-validation folder was started with, checked by `cv --resume`


RECIPE_FLAGS = {"model": "MODEL", "data": "--data", "k": "--folds", "holdout_of": "--holdout-of",
                "train_share": "--train-people", "subject_from": "--subject-from"}  # cv_recipe.json keys as flags


def keep_recipe(out: Path, recipe: dict, resume: bool) -> None:
    """Write `recipe` to out/cv_recipe.json; with `resume`, first refuse a folder started with another one, and
    without it a folder holding a cross-validation already (its finished folds would be trained again)."""
    path, recipe = out / RECIPE_FILE, json.loads(json.dumps(recipe))
    if not resume and path.is_file():
        raise EyebenchError(f"{out} holds a cross-validation already: continue it with --resume (the same command), or "
                         "give a new --out")
    if resume and path.is_file():
        try:
            saved = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            saved = None
        if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
            raise EyebenchError(f"{path} is damaged, so what {out} was started with is unknown: give a new --out")
        changed = [RECIPE_FLAGS.get(key, key) for key in recipe if key != "config" and saved.get(key) != recipe[key]]
        changed += [f"--{key.replace('_', '-')}" for key, value in recipe["config"].items()
                    if saved["config"].get(key) != value]
        if changed:
            raise EyebenchError(f"{out} was started with another model, split or recipe (differs: {', '.join(changed)}): "
                             "give the same command to resume, or a new --out")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recipe, indent=1))


def finished_fold(folder: Path, model: str, split: dict, config: TrainConfig) -> dict | None:
    """The saved info of a fold `cv --resume` can reuse: trained to the end (no resume.pt left) with this model,
    split and recipe; None when the fold has not finished. A finished fold of another recipe or split is refused."""
    if not (folder / "config.json").is_file() or (folder / RESUME_FILE).exists():
        return None
    info = read_config(folder)
    recipe = json.loads(json.dumps(config.recorded()))  # as config.json stores it (tuples become lists)
    saved = SavedSplit.from_record(info.get("split"))
    same = (info.get("architecture") == model
            and all(list(saved.part(part)) == list(split[part]) for part in SPLITS)
            and all(info.get("trained", {}).get(key) == value for key, value in recipe.items()))
    if not same:
        raise EyebenchError(f"{folder} holds a finished fold of another model, split or recipe: give a new --out "
                         "(or remove it) to cross-validate this recipe")
    return info


def _summary(results: list[dict], subjects: dict, fold_views: list[dict]) -> dict:
    """The folds of a run and what they add up to: accuracy mean +- sd over folds, closed recall, the pooled
    people-balanced accuracy and glasses x reflections cells (both views), the worst fold and subject."""
    acc = np.array([r["accuracy"] for r in results], dtype=float)
    worst = min(results, key=lambda r: r["accuracy"])
    return {"folds": results,
            "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
            "recall_closed_mean": float(np.mean([r["recall_closed"] for r in results])),
            **_headline(pooled_views(fold_views)), "band": pooled_band([r["band"] for r in results]),
            "worst_fold": {"fold": worst["fold"], "accuracy": worst["accuracy"]},
            "worst_subject": worst_group(subjects)}


def cross_validate_committee(runs: list[str], data: DataSpec | Dataset, out: str, grid_step: float = 0.1,
                             flip_average: bool = False, target_risk: float = 0.01, log=print,
                             zoom_average: float = 1.0) -> dict:
    """The committee of finished cv runs (their `--out` folders, made with the same folds: same data, --folds,
    --seed and --holdout-of), fold by fold: `fit_committee` of the runs' fold_K checkpoints on that fold's validation
    people, into out/fold_K, tested on its test people. The result has `cross_validate`'s shape (plus each fold's
    member weights), so a committee is compared with single recipes on the same people."""
    k = len(list(Path(runs[0]).glob("fold_*")))
    if k == 0 or any(len(list(Path(r).glob("fold_*"))) != k for r in runs):
        raise EyebenchError(f"every run must be a `cv --out` folder with the same number of folds ({runs[0]} has {k})")
    dataset = as_dataset(data)
    results, subjects, fold_views = [], {}, []
    for i in range(1, k + 1):
        log(f"fold {i}/{k}: committee of {', '.join(runs)}")
        folder = Path(out) / f"fold_{i}"
        info = fit_committee([str(Path(r) / f"fold_{i}") for r in runs], dataset, str(folder), grid_step=grid_step,
                             flip_average=flip_average, target_risk=target_risk, log=log, zoom_average=zoom_average)
        views = fold_test_views(folder, dataset)
        fold_views.append(views)
        per_subject = {p: {"n": n, "accuracy": r / n} for p, (n, r, _) in views[views["as_trained"]]["people"].items()}
        committee, metrics = info["committee"], info["metrics"]  # config.json's sections
        results.append({"fold": i, "test_subjects": list(SavedSplit.from_record(info["split"]).test),
                        "weights": {m["checkpoint"]: m["weight"] for m in committee["members"]},
                        **_fold_scores(metrics["test"], views), "per_subject": per_subject})
        subjects.update(per_subject)
    return {"model": "committee", "member_runs": list(runs), "k": k, "grid_step": grid_step, "target_risk": target_risk,
            "zoom_average": zoom_average,
            **_summary(results, subjects, fold_views)}


def _fold_scores(test: dict, views: dict) -> dict:
    """A fold row's measures: a fold checkpoint's recorded test metrics (config.json's metrics.test: n, accuracy,
    balanced accuracy, recalls), its people measures (`_headline` of its views) and its band (`fold_band`)."""
    overall = test["overall"]
    return {**{key: overall[key] for key in ("n", "accuracy", "balanced_accuracy", "recall_closed", "recall_open")},
            **_headline(views), "band": fold_band(test)}


# -- what cv measures on each fold's test people besides accuracy ----------------------------------------------
def fold_band(test: dict) -> dict | None:
    """A fold checkpoint's stored uncertain band on its test people: the band, n, coverage and the accuracy on the
    images it answers (None for a model without a band)."""
    band = test.get("band")
    if not band or band.get("coverage") is None:
        return None
    risk = band["selective_risk"]
    return {"band": band["band"], "n": band["n"], "coverage": band["coverage"],
            "accuracy_answered": None if risk is None else 1 - risk}


def pooled_band(bands: list[dict | None]) -> dict | None:
    """The folds' bands put together: the share of all test images answered and the accuracy on all answered ones."""
    if not bands or any(b is None for b in bands):
        return None
    n = sum(b["n"] for b in bands)
    answered = sum(b["n"] * b["coverage"] for b in bands)
    right = sum(b["n"] * b["coverage"] * b["accuracy_answered"] for b in bands if b["accuracy_answered"] is not None)
    return {"n": n, "coverage": answered / n if n else None, "accuracy_answered": right / answered if answered else None}


FLIP_VIEWS = {False: "no flip", True: "flip"}  # a view: how the checkpoint predicts (flip averaging off or on)


def fold_test_views(folder, dataset: Dataset) -> dict:
    """A fold checkpoint's predictions on its test people (inference only), without and with flip averaging:
    {"no flip": measures, "flip": measures, "as_trained": the view its config.json predicts with} (`view_measures`).
    `dataset` is all the data, as training read it (its decoded images come from the cache)."""
    clf = load_classifier(folder)
    cfg = clf.data_config
    arrays, dataset = load_images(dataset, cfg.input_size, cfg.channels, progress=False)
    mask = split_mask(dataset, clf.split, "test")
    arrays, test = arrays[mask], dataset.subset(mask)
    views = {"as_trained": FLIP_VIEWS[cfg.flip_average]}
    for flip, name in FLIP_VIEWS.items():
        clf.data_config = dataclasses.replace(cfg, flip_average=flip)
        views[name] = view_measures(test, (clf.scores_prepared(arrays) >= 0).astype(int))  # p(closed) >= 0.5
    return views


def view_measures(test: Dataset, y_pred: np.ndarray) -> dict:
    """n, accuracy, the people-balanced accuracy (mean over people of their accuracy; overall and per source), the
    glasses x reflections cells (None without that metadata) and each person's (n, right, source) under `people`."""
    y, people = test.labels, test.subjects.astype(str)
    right = np.asarray(y_pred) == y
    per_person = {p: (int((people == p).sum()), int(right[people == p].sum()), test.samples[int(np.argmax(people == p))]
                      .source) for p in sorted(set(people.tolist()))}
    return {"n": len(y), "accuracy": float(right.mean()) if len(y) else None, **_people_balanced(per_person),
            "glasses_reflections": condition_cells(test, y_pred), "people": per_person}


def _people_balanced(per_person: dict) -> dict:
    """Mean over people of right / n, over all people and per source, from {person: (n, right, source)}."""
    def mean(rows):
        return float(np.mean([r / n for n, r, _ in rows])) if rows else None

    rows = list(per_person.values())
    return {"n_people": len(rows), "people_balanced_accuracy": mean(rows),
            "people_balanced_by_source": {src: mean([r for r in rows if r[2] == src])
                                          for src in sorted({r[2] for r in rows})}}


def pooled_views(fold_views: list[dict]) -> dict:
    """The folds' views put together: every held-out person once (cv tests each person in one fold)."""
    out = {"as_trained": fold_views[0]["as_trained"]}
    for name in FLIP_VIEWS.values():
        blocks = [v[name] for v in fold_views]
        people = {p: row for b in blocks for p, row in b["people"].items()}
        n, right = sum(b["n"] for b in blocks), sum(r for _, r, _ in people.values())
        out[name] = {"n": n, "accuracy": right / n if n else None, **_people_balanced(people),
                     "glasses_reflections": pool_cells([b["glasses_reflections"] for b in blocks]), "people": people}
    return out


def _headline(views: dict) -> dict:
    """A fold's (or the pooled) people-balanced accuracy and glasses x reflections cells as trained, and both views
    without their per-person rows (those are in per_subject)."""
    own = views[views["as_trained"]]
    return {"people_balanced_accuracy": own["people_balanced_accuracy"],
            "glasses_reflections": own["glasses_reflections"],
            "views": {"as_trained": views["as_trained"], **{
                name: {k: v for k, v in views[name].items() if k != "people"} for name in FLIP_VIEWS.values()}}}


def repeat_cross_validation(model: str, data: DataSpec, out: str, seeds: list[int],
                            config: TrainConfig = TrainConfig(), log=print, **kw) -> dict:
    """Cross-validate once per seed (folders out/seed_S): the spread of the means is the noise a recipe must beat.
    The data is scanned once, for every seed."""
    scanned = data.load()
    runs = [cross_validate(model, data, str(Path(out) / f"seed_{s}"), dataclasses.replace(config, seed=s), log=log,
                           scanned=scanned, **kw) for s in seeds]
    means = np.array([r["accuracy_mean"] for r in runs], dtype=float)
    people = [r["people_balanced_accuracy"] for r in runs]
    return {"model": model, "seeds": list(seeds), "runs": runs, "accuracy_mean": float(means.mean()),
            "accuracy_per_seed": means.tolist(),
            "accuracy_seed_std": float(means.std(ddof=1)) if len(runs) > 1 else 0.0,
            "people_balanced_accuracy_mean": float(np.mean(people)), "people_balanced_per_seed": people}
