"""Robustness: metrics per metadata subset (glasses, reflections, ...) and per perturbation level, per model."""
from __future__ import annotations

import contextvars
import hashlib
import os
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from ..data.dataset import Dataset
from ..results import EyeState
from ..threads import single_image_threads
from .metrics import classification_metrics
from .perturbations import ANGLE_NOTE, SWEEPS, perturb_batch
from .results import CURVES, SweepCurves, SweepResults
from .thresholds import band_metrics

if TYPE_CHECKING:
    from ..models.base import Classifier

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
        row = {"factor": factor, "value": level, "n": int(m.sum()), "n_open": int((y[m] != EyeState.CLOSED).sum()),
               "n_closed": int((y[m] == EyeState.CLOSED).sum()), "accuracy": met["accuracy"],
               "recall_closed": met["recall_closed"], "recall_open": met["recall_open"]}
        if band:
            bm = band_metrics(y[m], proba[m, EyeState.CLOSED], band)
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
        for part, keep in (("", m), ("_open", m & (y != EyeState.CLOSED)), ("_closed", m & (y == EyeState.CLOSED))):
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


def sweep_models(models: list[Classifier], images: np.ndarray, y: np.ndarray, sweeps: dict | None = None,
                 progress=True) -> SweepResults:
    """Accuracy and closed recall per perturbation level for every model, on the same perturbed images.

    Each level perturbs the raw crops once (`perturb_batch`, so the noise seeds are the images' positions as
    always); the perturbed batch is converted once per input form (size, channels) and that same prepared batch goes
    to every model of that form. A prepared batch identical to an earlier one (the identity levels: rotation 0,
    blur 0, gamma 1.0, ...) reuses its predictions instead of running the models again. The numbers are those of
    `clf.predict_proba(perturb_batch(images, name, level))` per model and level.

    `progress`: True for a tqdm bar, False for none, or a callable `(fraction, text)` (e.g. a gr.Progress).
    """
    sweeps = sweeps or {k: v[1] for k, v in SWEEPS.items()}
    keys = model_keys(models)
    levels = [(name, level) for name, lv in sweeps.items() for level in lv]
    report = Reporter(progress, "perturbation sweeps", len(levels) * len(models))
    probas: list[list[np.ndarray | None]] = [[None] * len(models) for _ in levels]
    seen: dict[tuple, int] = {}  # (input form, digest of the prepared batch) -> the first level that had it
    forms = input_forms(models)
    per_block = max(1, BLOCK_IMAGES // max(1, len(images)))
    for start in range(0, len(levels), per_block):  # a block of levels at a time bounds the prepared arrays held
        block = range(start, min(start + per_block, len(levels)))
        tasks, copies = [], []
        for j in block:
            name, level = levels[j]
            report.note(f"perturbing: {name} {level}")
            raw = perturb_batch(images, name, level)
            for form, members in forms.items():
                batch = raw if form[0] == "own" else models[members[0]].prepare(raw)
                digest = (form, batch.shape, hashlib.blake2b(np.ascontiguousarray(batch).data).digest())
                if digest in seen:
                    copies += [(j, seen[digest], i) for i in members]
                    continue
                seen[digest] = j
                tasks += [(i, batch, j, form[0] == "own") for i in members]
        results = run_models(models, [(i, batch, raw) for i, batch, _, raw in tasks],
                             lambda t: report.advance(1, "{} on {} {}".format(keys[tasks[t][0]], *levels[tasks[t][2]])))
        for (i, _, j, _), proba in zip(tasks, results):
            probas[j][i] = proba
        for j, first, i in copies:
            probas[j][i] = probas[first][i]
        if copies:
            report.advance(len(copies), "levels with an input seen before (identity levels): predictions reused")
    report.close()
    curves: dict[str, dict[str, dict[str, list]]] = {}  # sweep -> model -> curve -> one value per level
    for (name, level), row in zip(levels, probas):
        for key, proba in zip(keys, row):
            met = classification_metrics(y, proba)
            res = curves.setdefault(name, {}).setdefault(key, {k: [] for k in CURVES})
            for k in res:
                res[k].append(met[k])
    return SweepResults(ANGLE_NOTE, int(len(y)), {name: SweepCurves(list(sweeps[name]), models)
                                                  for name, models in curves.items()})


# -- running several models at once ----------------------------------------------------------------------------
# Prepared arrays held at once while sweeping: 4096 images are 16 MB at 64x64 gray, 48 MB at 64x64 RGB.
BLOCK_IMAGES = 4096


def input_forms(models: list) -> dict:
    """Models grouped by the input they take: (input_size, channels) -> model indices for models that prepare raw
    crops the shared way (`BaseClassifier.prepare`, then `proba_prepared`); ("own", i) -> [i] for any other model,
    which gets the raw crops through its own `predict_proba`."""
    from ..models.base import BaseClassifier

    forms: dict = defaultdict(list)
    for i, clf in enumerate(models):
        shared = (isinstance(clf, BaseClassifier) and type(clf).prepare is BaseClassifier.prepare
                  and type(clf).predict_proba is BaseClassifier.predict_proba)
        forms[(clf.data_config.input_size, clf.data_config.channels) if shared else None].append(i)
    if None in forms:  # one model at a time: each takes the raw crops
        forms.update({("own", i): [i] for i in forms.pop(None)})
    return dict(forms)


def run_models(models: list, tasks: list, done=None) -> list:
    """p per task, for tasks `(model index, batch, raw)`: `models[i].predict_proba(batch)` when raw, else
    `models[i].proba_prepared(batch)`.

    Several models run at once, one torch thread each, on up to `os.cpu_count()` worker threads, and one model
    never on two threads at once. On a 2-core machine that others share this beats one model at a time with two
    torch threads: threads of one model wait on each other whenever another process holds a core (measured on a
    busy machine: six models on 300 images took 19.7 s and 14.9 s of CPU that way, 5.5 s and 5.2 s of CPU as two
    one-thread workers). The numbers are the same: the models' outputs do not depend on the thread count or the
    batch. `done(t)` is called on the calling thread as each task finishes (for progress bars and callbacks that are
    not thread-safe).
    """
    results: list = [None] * len(tasks)
    if not tasks:
        return results
    workers = min(len({id(models[i]) for i, _, _ in tasks}), os.cpu_count() or 1, MAX_WORKERS)

    def run(t):
        i, batch, raw = tasks[t]
        return models[i].predict_proba(batch) if raw else models[i].proba_prepared(batch)

    if workers <= 1:  # one model: on this thread, with its usual threads
        for t in range(len(tasks)):
            results[t] = run(t)
            if done:
                done(t)
        return results
    for i in sorted({i for i, _, _ in tasks}):  # torch.fx traces (BatchNorm folding) patch torch.nn.Module for
        if hasattr(models[i], "inference_net"):  # every thread while they run: trace each model first, here
            models[i].inference_net()
    _side_by_side(tasks, run, lambda t: id(models[tasks[t][0]]), workers, results, done)
    return results


def _side_by_side(tasks: list, run, owner, workers: int, results: list, done) -> None:
    """`results[t] = run(t)` for every task on `workers` pool threads, never two tasks of one `owner(t)` at once."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    cond = threading.Condition()
    todo, busy, finished, errors = list(range(len(tasks))), set(), [], []
    alive = [workers]

    def next_task():
        """The first task whose model no other worker is running (None when nothing is left), under `cond`."""
        while not errors and todo:
            t = next((t for t in todo if owner(t) not in busy), None)
            if t is not None:
                todo.remove(t)
                busy.add(owner(t))
                return t
            cond.wait()
        return None

    def worker():
        try:
            with single_image_threads(threads):
                while True:
                    with cond:
                        t = next_task()
                    if t is None:
                        return
                    try:
                        results[t] = run(t)
                    except BaseException as exc:  # noqa: BLE001 - raised again on the calling thread
                        errors.append(exc)
                    with cond:
                        busy.discard(owner(t))
                        finished.append(t)
                        cond.notify_all()
        finally:
            with cond:
                alive[0] -= 1
                cond.notify_all()

    futures = [_pool().submit(contextvars.copy_context().run, worker) for _ in range(workers)]
    reported = 0
    while True:
        with cond:
            while reported == len(finished) and alive[0]:
                cond.wait()
            new, reported, over = finished[reported:], len(finished), not alive[0]
        for t in new:
            if done and not errors:
                done(t)
        if over and reported == len(finished):
            break
    for f in futures:
        f.result()
    if errors:
        raise errors[0]


MAX_WORKERS = 8
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The worker threads, made once and reused: each thread that runs a model keeps its own malloc arena and OpenMP
    team, so new threads per call would grow a long-running app's memory."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(min(MAX_WORKERS, os.cpu_count() or 1), thread_name_prefix="eyebench-sweep")
        return _POOL


class Reporter:
    """Where progress goes: a tqdm bar (`progress` True), a callable `(fraction, text)`, or nowhere (False)."""

    def __init__(self, progress, desc: str, total: int):
        self.callback = progress if callable(progress) else None
        self.bar = tqdm(total=total, desc=desc, unit="run", disable=progress is not True, leave=False)
        self.total, self.count, self.desc = max(1, total), 0, desc

    def note(self, text: str) -> None:
        """Say what is being done without moving the bar."""
        if self.callback:
            self.callback(self.count / self.total, f"{self.desc}: {text}")

    def advance(self, n: int, text: str) -> None:
        self.count += n
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(n)
        if self.callback:
            self.callback(min(1.0, self.count / self.total), f"{self.desc}: {text}")

    def close(self) -> None:
        self.bar.close()


def scaled(progress, start: float, end: float):
    """A progress callable mapped onto [start, end] of a larger job; True/False pass through unchanged."""
    if not callable(progress):
        return progress
    return lambda fraction, text: progress(start + (end - start) * fraction, text)


def model_key(clf) -> str:
    """Display name of a loaded model: its checkpoint folder name, else its registry name."""
    ckpt = clf.checkpoint
    return ckpt.rstrip("/").split("/")[-1] if ckpt else clf.name


def model_keys(models: list) -> list[str]:
    """Distinct display names for models compared together: folder names, with parent folders added where two
    checkpoints share a name (runs/a/small_cnn, runs/b/small_cnn -> a/small_cnn, b/small_cnn), else numbered."""
    parts = [[p for p in str(clf.checkpoint).replace("\\", "/").split("/") if p] or [clf.name]
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
