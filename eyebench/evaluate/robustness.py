"""Robustness: metrics per metadata subset (glasses, reflections, ...) and per perturbation level, per model."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from tqdm.auto import tqdm

from ..config import CLOSED
from ..data.dataset import Dataset
from .metrics import classification_metrics
from .perturbations import ANGLE_NOTE, SWEEPS, perturb_batch
from .thresholds import band_metrics

SKIP_FACTORS = {"image_id", "path", "photo"}
MAX_LEVELS = 30  # a column with more distinct values is not a subset factor (ids, free text)


def subset_factors(dataset: Dataset) -> dict[str, list[str]]:
    """Metadata columns usable as subsets, with their values (sorted)."""
    values: dict[str, set] = defaultdict(set)
    for s in dataset.samples:
        for k, v in s.meta.items():
            if k not in SKIP_FACTORS and v not in ("", None):
                values[k].add(str(v))
    values["source"] = {s.source for s in dataset.samples}
    return {k: sorted(v) for k, v in sorted(values.items()) if 1 <= len(v) <= MAX_LEVELS}


def subset_masks(dataset: Dataset) -> dict[tuple[str, str], np.ndarray]:
    """Each subset's images as a boolean mask, by (factor, value), in `subset_factors`' order."""
    masks = {}
    for factor, levels in subset_factors(dataset).items():
        col = np.array([s.source if factor == "source" else str(s.meta.get(factor, "")) for s in dataset.samples])
        masks.update({(factor, level): col == level for level in levels})
    return masks


def subset_table(dataset: Dataset, proba: np.ndarray, band=None) -> list[dict]:
    """One row per factor value: n, class counts, accuracy, closed/open recall, and rejection under the band."""
    y = dataset.labels
    rows = []
    for (factor, level), m in subset_masks(dataset).items():
        met = classification_metrics(y[m], proba[m])
        row = {"factor": factor, "value": level, "n": int(m.sum()), "n_open": int((y[m] != CLOSED).sum()),
               "n_closed": int((y[m] == CLOSED).sum()), "accuracy": met["accuracy"],
               "recall_closed": met["recall_closed"], "recall_open": met["recall_open"]}
        if band:
            bm = band_metrics(y[m], proba[m, CLOSED], band)
            row.update(rejection_rate=1 - bm["coverage"], selective_risk=bm["selective_risk"])
        rows.append(row)
    return rows


CONDITION_FACTORS = ("glasses", "reflections")  # MRL's hard conditions: open eyes behind glasses with glare


def condition_cells(dataset: Dataset, y_pred: np.ndarray, factors=CONDITION_FACTORS) -> dict[str, dict] | None:
    """Accuracy on every combination of the factors' values (MRL: glasses x reflections), of all images and per class:
    {"glasses=yes reflections=big": {"n", "right", "accuracy", "n_open", "right_open", "accuracy_open", "n_closed",
    ...}}, sorted by key; images without every factor are left out, and None when no image has them all."""
    y, y_pred = dataset.labels, np.asarray(y_pred)
    keys = np.array([" ".join(f"{f}={s.meta[f]}" for f in factors) if all(f in s.meta for f in factors) else ""
                     for s in dataset.samples], dtype=object)
    cells = {}
    for key in sorted(set(keys.tolist()) - {""}):
        m = keys == key
        cell = {}
        for part, keep in (("", m), ("_open", m & (y != CLOSED)), ("_closed", m & (y == CLOSED))):
            cell[f"n{part}"], cell[f"right{part}"] = int(keep.sum()), int((y_pred[keep] == y[keep]).sum())
        cells[key] = _with_accuracy(cell)
    return cells or None


def thin_conditions(train: Dataset, val: Dataset, min_share: float = 0.05) -> list[str]:
    """The condition cells (`condition_cells`, per class) that make up at least `min_share` of the training images but
    less than a third of that share of the validation images (`THIN_NOTE` says why it matters), one line each:
    `open eyes with glasses=yes reflections=big: 4985 training images (14.3%), 139 validation (4.0%)`."""
    tr, va = condition_cells(train, train.labels), condition_cells(val, val.labels)
    if not tr or not len(val):
        return []
    lines = []
    for key, cell in tr.items():
        for cls in ("open", "closed"):
            n_tr, n_va = cell[f"n_{cls}"], ((va or {}).get(key) or {}).get(f"n_{cls}", 0)
            t, v = n_tr / len(train), n_va / len(val)
            if t >= min_share and v < t / 3:
                lines.append(f"{cls} eyes with {key}: {n_tr} training images ({100 * t:.1f}%), {n_va} validation "
                             f"({100 * v:.1f}%)")
    return lines


def pool_cells(blocks: list[dict | None]) -> dict[str, dict] | None:
    """`condition_cells` of several folds added up (counts summed, accuracies recomputed); None when all are None."""
    total: dict[str, dict] = {}
    for cells in filter(None, blocks):
        for key, cell in cells.items():
            into = total.setdefault(key, {})
            for k, v in cell.items():
                if k.startswith(("n", "right")):
                    into[k] = into.get(k, 0) + v
    return {k: _with_accuracy(total[k]) for k in sorted(total)} or None


def _with_accuracy(cell: dict) -> dict:
    """A cell's counts plus accuracy, accuracy_open and accuracy_closed (None where it has no such image)."""
    out = {k: v for k, v in cell.items() if not k.startswith("accuracy")}
    for part in ("", "_open", "_closed"):
        out[f"accuracy{part}"] = out[f"right{part}"] / out[f"n{part}"] if out[f"n{part}"] else None
    return out


def sweep_models(models: list, images: np.ndarray, y: np.ndarray, sweeps: dict | None = None,
                 progress: bool = True) -> dict:
    """Accuracy and closed recall per perturbation level for every model, on the same perturbed images."""
    sweeps = sweeps or {k: v[1] for k, v in SWEEPS.items()}
    out = {"note": ANGLE_NOTE, "n": int(len(y)), "sweeps": {}}
    total = sum(len(v) for v in sweeps.values())
    keys = model_keys(models)
    bar = tqdm(total=total, desc="perturbation sweeps", unit="level", disable=not progress, leave=False)
    for name, levels in sweeps.items():
        block = {"levels": list(levels), "models": {}}
        for level in levels:
            batch = perturb_batch(images, name, level)
            for clf, key in zip(models, keys):
                met = classification_metrics(y, clf.predict_proba(batch))
                res = block["models"].setdefault(key, {"accuracy": [], "recall_closed": [], "recall_open": []})
                for k in res:
                    res[k].append(met[k])
            bar.update(1)
        out["sweeps"][name] = block
    bar.close()
    return out


def model_key(clf) -> str:
    """Display name of a loaded model: its checkpoint folder name, else its registry name."""
    ckpt = getattr(clf, "checkpoint", "")
    return ckpt.rstrip("/").split("/")[-1] if ckpt else clf.name


def model_keys(models: list) -> list[str]:
    """Distinct display names for models compared together: folder names, with parent folders added where two
    checkpoints share a name (runs/a/small_cnn, runs/b/small_cnn -> a/small_cnn, b/small_cnn), else numbered."""
    parts = [[p for p in str(getattr(clf, "checkpoint", "") or "").replace("\\", "/").split("/") if p] or [clf.name]
             for clf in models]
    keys = [p[-1] for p in parts]
    for key in set(keys):
        group = [i for i, k in enumerate(keys) if k == key]
        for depth in range(2, max(len(parts[i]) for i in group) + 1) if len(group) > 1 else ():
            longer = ["/".join(parts[i][-depth:]) for i in group]
            if len(set(longer)) == len(group):
                for i, k in zip(group, longer):
                    keys[i] = k
                break
    seen: dict[str, int] = defaultdict(int)
    out = []
    for k in keys:  # the same checkpoint twice: number the repeats
        seen[k] += 1
        out.append(k if seen[k] == 1 else f"{k} ({seen[k]})")
    return out


def stratified_sample(y: np.ndarray, n_max: int, seed: int = 0) -> np.ndarray:
    """Up to n_max indices keeping the class ratio (all of them when there are fewer)."""
    if len(y) <= n_max:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(y == c), max(1, int(round(n_max * np.mean(y == c)))), replace=False)
             for c in np.unique(y)]
    return np.sort(np.concatenate(picks))
