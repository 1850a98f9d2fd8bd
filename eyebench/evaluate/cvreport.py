"""Reports over finished cross-validation runs: pooled out-of-fold accuracy, averaged runs, and the label audit."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..config import CLASS_NAMES
from ..errors import EyebenchError
from ..results import EyeState

SHEET_TILE = 96  # pixels per image on the audit's contact sheet
SHEET_CAPTION = 14  # pixels of caption under each image


# -- pooled out-of-fold accuracy from cv JSON files ---------------------------------------------------------
def pooled_rows(paths) -> list[dict]:
    """Per cv JSON file (`cv --json`; one row per seed of a `--repeats` file): the out-of-fold accuracy pooled over
    every tested image (sum of n x accuracy over the folds / sum of n) next to the plain mean of the folds."""
    rows = []
    for path in paths:
        try:
            result = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            result = None
        if not isinstance(result, dict):
            raise EyebenchError(f"{path}: not a `cv --json` file (not a JSON object)")
        for run in result.get("runs") or [result]:
            folds = run.get("folds")
            if not folds or any("n" not in f or "accuracy" not in f for f in folds):
                raise EyebenchError(f"{path}: not a `cv --json` file (needs folds with n and accuracy)")
            n = sum(f["n"] for f in folds)
            rows.append({"file": str(path), "seed": run.get("seed"), "k": len(folds), "n": n,
                         "pooled_accuracy": sum(f["n"] * f["accuracy"] for f in folds) / n,
                         "mean_fold_accuracy": float(np.mean([f["accuracy"] for f in folds])), **people_measures(run)})
    return rows


def people_measures(run: dict) -> dict:
    """From a cv run with people measures (all folds, as trained): people-balanced accuracy overall and per source, and
    the accuracy on open eyes behind glasses with reflections (cells glasses=yes x reflections small or big); {} for
    files written before `cv` measured them."""
    views = run.get("views") or {}
    own = views.get(views.get("as_trained")) or {}
    if "people_balanced_accuracy" not in own:
        return {}
    cells = [c for name, c in own.get("glasses_reflections", {}).items()
             if "glasses=yes" in name and "reflections=none" not in name]
    n_open = sum(c["n_open"] for c in cells)
    return {"people_balanced_accuracy": own["people_balanced_accuracy"],
            "people_balanced_by_source": own.get("people_balanced_by_source", {}), "n_open_glasses_reflections": n_open,
            "accuracy_open_glasses_reflections": sum(c["right_open"] for c in cells) / n_open if n_open else None}


# -- scores of cv fold checkpoints on their held-out people --------------------------------------------------
def fold_logits(folders: list[str], data) -> list[tuple]:
    """Per fold: the held-out images (a Dataset) and every run's closed logits on them.

    Each folder is a `cv --out` folder (fold_1 ... fold_K); all must hold out the same images in each fold (true for
    `cv --holdout-of` runs with other seeds or recipes: the MRL folds do not depend on the seed), else ValueError.
    """
    from ..data.dataset import as_dataset, load_images
    from ..models.checkpoint import load_classifier

    twice = sorted({f for f in folders if [Path(g).resolve() for g in folders].count(Path(f).resolve()) > 1})
    if twice:  # it would count (audit) or weigh (ensemble) one run as two
        raise EyebenchError(f"--run {', '.join(twice)} is given more than once: give each run once")
    first = load_classifier(Path(folders[0]) / "fold_1").data_config
    arrays, dataset = load_images(as_dataset(data), first.input_size, first.channels)
    folds, k = [], 1
    while (Path(folders[0]) / f"fold_{k}").is_dir():
        masks, logits = [], []
        for folder in folders:
            clf = load_classifier(Path(folder) / f"fold_{k}")
            if (clf.data_config.input_size, clf.data_config.channels) != (first.input_size, first.channels):
                raise EyebenchError(f"{folder}: another input size or channel count than {folders[0]}")
            masks.append(clf.split.mask(dataset, "test", clf.checkpoint))
            logits.append(clf.scores_prepared(arrays[masks[-1]]))
        if any(not np.array_equal(m, masks[0]) for m in masks):
            raise EyebenchError(f"fold {k}: the runs hold out different images; use runs with the same folds")
        folds.append((dataset.subset(masks[0]), logits))
        k += 1
    return folds


# -- averaged runs --------------------------------------------------------------------------------------------
def ensemble_rows(runs: list[tuple[str, str]], folds) -> list[dict]:
    """Out-of-fold accuracy of each (recipe, folder) run alone, then of each recipe's runs with averaged logits."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (recipe, _) in enumerate(runs):
        groups[recipe].append(i)
    names = [folder for _, folder in runs] + [f"{recipe} averaged" for recipe in groups]
    right, total = np.zeros(len(names), dtype=int), 0
    for held_out, logits in folds:
        y = held_out.labels
        total += len(y)
        right += [int(((z > 0) == y).sum()) for z in logits] + [
            int(((np.mean([logits[i] for i in members], 0) > 0) == y).sum()) for members in groups.values()]
    return [{"name": name, "right": int(r), "n": total, "accuracy": r / total if total else None}
            for name, r in zip(names, right)]


# -- label audit ----------------------------------------------------------------------------------------------
def audit_rows(folds) -> tuple[list[dict], list[str]]:
    """Every out-of-fold image at least one run gets wrong (most runs wrong first, then the most confidently wrong),
    and a line per fold. An image every run gets wrong, whatever the recipe or seed, is a systematic error: a
    mislabelled or undecidable image, or a person the recipes do not generalise to."""
    rows, summary = [], []
    for k, (held_out, logits) in enumerate(folds, 1):
        z, y = np.array(logits), held_out.labels
        wrong = ((z > 0) != (y == EyeState.CLOSED)).sum(0)
        n = len(z)
        summary.append(f"fold {k}: {len(y)} images; wrong for all {n} runs: {(wrong == n).sum()}, for most: "
                       f"{(wrong > n / 2).sum()}, for any: {(wrong > 0).sum()}")
        mean = z.mean(0)
        for i in np.flatnonzero(wrong):
            s = held_out.samples[i]
            rows.append({"path": s.path, "subject": s.subject, "source": s.source, "label": CLASS_NAMES[y[i]],
                         "runs_wrong": int(wrong[i]), "runs": n, "mean_closed_logit": round(float(mean[i]), 3),
                         "fold": k, **s.meta})
    keys = list(dict.fromkeys(k for r in rows for k in r))  # sources differ in metadata: one header for all
    rows = [{k: r.get(k, "") for k in keys} for r in rows]
    rows.sort(key=lambda r: (-r["runs_wrong"], -abs(r["mean_closed_logit"])))
    return rows, summary


def contact_sheet(rows: list[dict], path, cols: int = 12) -> None:
    """A grid of the images in `rows` with subject, label and mean closed logit under each."""
    from PIL import Image, ImageDraw

    t, row = SHEET_TILE, SHEET_TILE + SHEET_CAPTION
    sheet = Image.new("L", (cols * t, max(1, -(-len(rows) // cols)) * row), 255)
    draw = ImageDraw.Draw(sheet)
    for j, r in enumerate(rows):
        x0, y0 = (j % cols) * t, (j // cols) * row
        sheet.paste(Image.open(r["path"]).convert("L").resize((t, t)), (x0, y0))
        draw.text((x0 + 2, y0 + t), f"{r['subject']} {r['label']} {r['mean_closed_logit']:+.1f}", fill=0)
    sheet.save(path)
