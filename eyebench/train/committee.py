"""Fit a committee of trained checkpoints: member weights, then its own temperature and band, on validation people."""
from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np

from ..config import pct
from ..data.dataset import Dataset, DataSpec
from ..errors import EyebenchError
from ..evaluate.calibration import fit_temperature
from ..evaluate.metrics import people_balanced_accuracy
from ..evaluate.report import evaluate_arrays
from ..models.base import input_views, weights_sha256
from ..models.checkpoint import load_classifier
from ..models.registry import create_classifier
from ..results import EyeState
from .pipeline import (
    _strip,
    calibrate,
    check_out_folder,
    split_parts,
    validation_groups,
)

OBJECTIVE = ("people-balanced log loss on the validation people (mean over people, small ones pooled per source, of "
             "their mean log loss) of sigmoid(sum_i w_i z_i / T), z_i the members' calibrated closed logits and T "
             "fitted for each candidate; candidates: weights on a grid over the simplex (w_i >= 0, sum 1)")


def simplex_grid(n_members: int, step: float) -> np.ndarray:
    """Every weight vector with entries in multiples of `step` (which must divide 1) that sum to 1."""
    parts = round(1 / step)
    if parts < 1 or abs(parts * step - 1) > 1e-9:
        raise EyebenchError(f"--grid-step must divide 1 (e.g. 0.1, 0.05, 0.25), got {step}")
    rows = [c for c in itertools.product(range(parts + 1), repeat=n_members) if sum(c) == parts]
    return np.array(rows, dtype=np.float64) / parts


def people_log_loss(scores: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """Mean over groups (validation people) of their mean log loss at the temperature that fits `scores` best."""
    z = np.asarray(scores, np.float64) / fit_temperature(scores, y)
    t = (np.asarray(y) == EyeState.CLOSED).astype(float)
    nll = np.logaddexp(0, -z) * t + np.logaddexp(0, z) * (1 - t)
    groups = np.asarray(groups, dtype=object)
    return float(np.mean([nll[groups == g].mean() for g in np.unique(groups)]))


def fit_member_weights(z: np.ndarray, y: np.ndarray, groups: np.ndarray, step: float = 0.1) -> tuple[np.ndarray, dict]:
    """The grid weights with the lowest people-balanced log loss on validation (`OBJECTIVE`), and the search record:
    the loss of the chosen weights, of equal weights and of each member alone."""
    grid = simplex_grid(len(z), step)
    losses = np.array([people_log_loss(w @ z, y, groups) for w in grid])
    best = int(np.argmin(losses))
    alone = [people_log_loss(zi, y, groups) for zi in z]
    return grid[best], {"objective": OBJECTIVE, "grid_step": step, "candidates": len(grid),
                        "loss": float(losses[best]), "equal_weights_loss": people_log_loss(z.mean(0), y, groups),
                        "members_alone_loss": alone}


def fit_committee(members: list[str], data: DataSpec | Dataset, out: str, target_risk: float = 0.01,
                  band_rule: str = "per-person", grid_step: float = 0.1, flip_average: bool = False, command: str = "",
                  log=print, zoom_average: float = 1.0) -> dict:
    """Make the committee checkpoint `out` from the member checkpoints (which must share one saved split): weights
    fitted on the members' validation people, then the committee's own temperature and band on the same people,
    metrics on validation and test people, written as model.safetensors + config.json + card (+ split.json). With
    `flip_average` or `zoom_average` the committee averages over those views of the crop, and its weights are fitted on
    the members' logits averaged the same way."""
    out_dir = Path(out).resolve()
    if len(members) < 2:
        raise EyebenchError("a committee needs at least two --member checkpoints")
    if any(Path(m).resolve() == out_dir for m in members):
        raise EyebenchError(f"--out {out} is one of the members: write the committee to a folder of its own")
    check_out_folder(out)
    loaded = [load_classifier(m) for m in members]
    clf = create_classifier("committee", members=[os.path.relpath(Path(m).resolve(), out_dir) for m in members],
                            **({"flip_average": True} if flip_average else {}),
                            **({"zoom_average": zoom_average} if zoom_average != 1 else {}))
    clf.attach(loaded, [weights_sha256(m) for m in members])
    clf.member_temperatures = np.array([m.temperature for m in loaded], dtype=np.float64)
    split = clf.split
    (x_va, d_va), (x_te, d_te) = split_parts(f"the members' split ({members[0]})", split, data, clf.data_config)
    groups = validation_groups(d_va)
    z = np.mean([clf.member_logits(v) for v in input_views(x_va, clf.data_config)], axis=0)  # as the committee scores
    clf.weights, search = fit_member_weights(z, d_va.labels, groups, grid_step)
    log(f"weights {dict(zip(members, np.round(clf.weights, 3).tolist()))} on {len(d_va)} validation images of "
        f"{len(set(d_va.subjects.tolist()))} people: people-balanced log loss {search['loss']:.4f} (equal weights "
        f"{search['equal_weights_loss']:.4f}; alone " + ", ".join(f"{v:.4f}" for v in search["members_alone_loss"]) + ")")
    calibration = calibrate(clf, x_va, d_va.labels, target_risk, groups, band_rule)
    val_eval, test_eval = evaluate_arrays(clf, x_va, d_va), evaluate_arrays(clf, x_te, d_te)
    clf.info = {"train_command": command, "split": split.to_dict(), "calibration": calibration,
                "committee": _record(members, loaded, clf, search, z, d_va),
                "metrics": {"val": _strip(val_eval), "test": _strip(test_eval)}}
    clf.save_pretrained(out_dir)
    (out_dir / "split.json").write_text(json.dumps(split.parts(), indent=1))
    band, overall = test_eval.get("band") or {}, test_eval["overall"]
    log(f"saved {out}: temperature {clf.temperature:.3f}, band {[round(b, 4) for b in clf.uncertain_band]}; test "
        f"accuracy {pct(overall['accuracy'])}, the band answers {pct(band.get('coverage'))} of test images "
        f"with accuracy {pct(None if band.get('selective_risk') is None else 1 - band['selective_risk'])}")
    return clf.info


def _record(members: list[str], loaded: list, clf, search: dict, z: np.ndarray, val) -> dict:
    """config.json["committee"]: each member (folder as given, architecture, weight, temperature used, weight hash,
    validation accuracy and people-balanced accuracy alone), the committee's on validation, and the weight search."""
    y, people = val.labels, val.subjects

    def scores(s):
        pred = (s >= 0).astype(int)
        return {"val_accuracy": float((pred == y).mean()), "val_people_balanced_accuracy":
                people_balanced_accuracy(y, pred, people)}

    rows = [{"checkpoint": name, "stored_as": path, "architecture": m.name, "weight": float(w), "temperature": float(t),
             "weights_sha256": h, **scores(zi)}
            for name, path, m, w, t, h, zi in zip(members, clf.member_paths, loaded, clf.weights,
                                                  clf.member_temperatures, clf.member_sha256, z)]
    return {"members": rows, "committee": scores(clf.weights @ z), "search": search}
