"""From data folders to a checkpoint: person-disjoint split, training, calibration on validation, one test, save."""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from ..config import CLASS_NAMES, THIN_NOTE
from ..data.dataset import Dataset, DataSpec, as_dataset, describe, load_images
from ..data.splits import SPLITS, SavedSplit, check_disjoint, split_by_subject
from ..errors import EyebenchError
from ..evaluate.calibration import (
    ECE_DEFINITION,
    expected_calibration_error,
    fit_temperature,
)
from ..evaluate.report import evaluate_arrays
from ..evaluate.robustness import thin_conditions
from ..evaluate.thresholds import band_groups, fit_band
from ..models.base import proba_from_logits
from ..models.checkpoint import load_classifier, short_message
from ..models.registry import create_classifier
from ..models.torch_base import TorchClassifier
from ..results import EyeState
from .config import TrainConfig
from .loop import distributed, train_torch
from .resume import RESUME_FILE


def run_training(model: str, data: DataSpec | Dataset, out: str, config: TrainConfig = TrainConfig(),
                 split: dict | None = None, command: str = "", log=print, split_from: str | None = None) -> dict | None:
    """Train `model` on person-disjoint splits of `data` (the given `split`, the people of checkpoint `split_from`'s
    split, or a new one; a DataSpec is scanned after the model and teachers are checked), calibrate on val, test once,
    save to `out`; returns the saved info with every test person's result (None on the other processes under torchrun)."""
    t0 = time.time()
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    check_out_folder(out, config.teachers)
    clf = new_classifier(model, config.model_args)
    clf.storage_dtype = config.storage_dtype
    init = initialise(clf, config.pretrained, config.init_weights, log)
    teachers = [load_classifier(t) for t in config.teachers or []]
    not_torch = [t for t, c in zip(config.teachers or [], teachers) if not isinstance(c, TorchClassifier)]
    if not_torch:  # distillation runs the teachers' networks on the training batches
        raise EyebenchError(f"--teacher must be a torch checkpoint (a committee's members can be teachers): "
                         f"{', '.join(not_torch)}")
    dataset = as_dataset(data)
    if split_from:
        split = reuse_split(split_from, dataset, log)
    if teachers:  # a student must not be tested on people its teachers learned from
        if split is None:  # the teachers' own split, recorded as the first teacher's (they all share it)
            split, split_from = shared_split(teachers), config.teachers[0]
        check_teachers_split(teachers, split)
    dataset, split, parts, x_tr = _split_data(clf, dataset, split, teachers, config, log)
    thin = thin_conditions(parts["train"][1], parts["val"][1])
    if thin:
        log(f"WARNING {THIN_NOTE}:\n  " + "\n  ".join(thin))
    (_, d_tr), (x_va, d_va), (x_te, d_te) = parts["train"], parts["val"], parts["test"]
    out_dir = Path(out)
    if isinstance(clf, TorchClassifier):
        history = train_torch(clf, x_tr, d_tr, x_va, d_va, config, out=out_dir, teachers=teachers, log=log)
        if distributed()[0] != 0:
            return None
        clf.round_to_storage()
    else:
        fitted = clf.fit(x_tr, d_tr.labels, x_va, d_va.labels, seed=config.seed, log=log)
        history = getattr(clf, "search_", fitted)  # the C search: fit returns the estimator itself (sklearn contract)
    calibration = calibrate(clf, x_va, d_va.labels, config.target_risk, validation_groups(d_va), config.band_rule)
    band = calibration["band"]
    log(f"calibrated on validation: temperature {clf.temperature:.3f}, ECE {calibration['ece_before']:.4f} -> "
        f"{calibration['ece_after']:.4f}; uncertain band {band['band']} "
        f"(coverage {band['coverage']:.3f}, risk {band['selective_risk']})")
    val_eval, test_eval = evaluate_arrays(clf, x_va, d_va), evaluate_arrays(clf, x_te, d_te)
    trained = {"epochs_run": len(history) if isinstance(history, list) else None, **config.recorded(),
               "seconds": round(time.time() - t0, 1), "machine": training_machine(), "initialisation": init}
    clf.info = {"train_command": command, "trained": trained, "data": dataset.report(),
                "split": _split_record(split, config, parts, dataset, split_from, thin), "calibration": calibration,
                "metrics": {"val": _strip(val_eval), "test": _strip(test_eval)}}
    clf.save_pretrained(out_dir)
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    (out_dir / "split.json").write_text(json.dumps(split, indent=1))
    (out_dir / RESUME_FILE).unlink(missing_ok=True)  # training finished: the resumable state is not needed
    test = test_eval["overall"]
    log(f"saved {out_dir} in {time.time() - t0:.0f}s; test accuracy {test['accuracy']:.4f}")
    metrics = clf.info["metrics"]  # with every test person's result, which config.json keeps only the worst ten of
    return {**clf.info, "metrics": {**metrics, "test": {**metrics["test"], "per_subject_all": test_eval["per_subject"]}}}


def new_classifier(model: str, model_args: dict | None):
    """The untrained classifier, refused at once (before any data is read) when its --model-arg values do not make a
    working model."""
    try:
        clf = create_classifier(model, **(model_args or {}))
        clf.check_input()
    except (TypeError, ValueError, RuntimeError, AssertionError, ZeroDivisionError) as exc:
        given = " ".join(f"{k}={json.dumps(v)}" for k, v in (model_args or {}).items())
        raise EyebenchError(f"--model-arg {given}: not a working {model} ({short_message(exc)})") from None
    return clf


def check_out_folder(out: str, teachers: list[str] | None = None) -> None:
    """Refuse an --out that is a teacher (its checkpoint would be replaced) or a folder holding other files than a
    checkpoint (its README.md and config.json would be overwritten)."""
    folder = Path(out)
    if any(folder.resolve() == Path(t).resolve() for t in teachers or []):
        raise EyebenchError(f"--out {out} is one of the --teacher checkpoints: write the student to a folder of its own")
    checkpoint = any((folder / name).is_file() for name in ("config.json", RESUME_FILE))
    if folder.is_dir() and any(folder.iterdir()) and not checkpoint:
        raise EyebenchError(f"--out {out} already holds files and no checkpoint (config.json): give a new or empty "
                         "folder, so that none of its files is overwritten")


def _split_data(clf, dataset: Dataset, split: dict | None, teachers: list, config: TrainConfig, log):
    """Read the images at the classifier's input, split them by person: (dataset, split, {part: (arrays, subset)},
    the training arrays at the largest input any teacher needs, from which the student's own size is made)."""
    for line in describe(dataset.report()):  # layouts, where the subjects came from, and every warning
        log(line)
    cfg = clf.data_config
    arrays, dataset = load_images(dataset, cfg.input_size, cfg.channels)
    if dataset.skipped:
        log(f"skipped {len(dataset.skipped)} files: {dataset.report()['skipped_reasons']} "
            f"(first: {dataset.skipped[0][0]})")
    train_size = max([cfg.input_size] + [t.data_config.input_size for t in teachers])
    train_arrays = arrays if train_size == cfg.input_size else load_images(dataset, train_size, cfg.channels)[0]
    split = split or split_by_subject(dataset, config.val_frac, config.test_frac, config.seed)
    check_disjoint(split)
    parts, masks = {}, {}
    for name in SPLITS:
        keep = set(split[name])
        masks[name] = np.array([s.subject in keep for s in dataset.samples])
        parts[name] = (arrays[masks[name]], dataset.subset(masks[name]))
        log(f"{name}: {masks[name].sum()} images, {len(keep)} subjects, {parts[name][1].report()['per_class']}")
    for name in ("train", "val"):  # a classifier learns, and its temperature and band are fitted, on both classes
        missing = [c for i, c in enumerate(CLASS_NAMES) if not np.any(parts[name][1].labels == i)]
        if missing:
            raise EyebenchError(f"the {name} people have no {' or '.join(missing)} images "
                             f"({parts[name][1].report()['per_class']}): training needs both classes in train and "
                             f"validation; add images of the missing class, or people who have both")
    return dataset, split, parts, train_arrays[masks["train"]]


def _split_record(split: dict, config: TrainConfig, parts: dict, dataset: Dataset, split_from: str | None,
                  thin: list[str]) -> dict:
    """The split as config.json keeps it: the people of each part, the settings, image counts, the conditions the
    validation people rarely show (`thin_conditions`), people per source, and the checkpoint whose people were reused
    (`from`, with --split-from)."""
    return {**split, "seed": config.seed, "val_frac": config.val_frac, "test_frac": config.test_frac,
            "n_images": {k: len(v[1]) for k, v in parts.items()},
            "thin_in_validation": thin,
            "by_source": {src: {k: sorted({s.subject for s in v[1].samples if s.source == src})
                                for k, v in parts.items()} for src in dataset.sources},
            **({"from": split_from} if split_from else {})}


def training_machine() -> str:
    """Where this training ran, for the model card: the GPU if one was used, else the CPU cores."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} GPU, torch {torch.__version__}"
    return f"{os.cpu_count()} CPU cores, torch {torch.__version__}"


def reuse_split(checkpoint: str, dataset: Dataset, log=print) -> dict:
    """The people of a saved checkpoint's split, for retraining on more images of them: people of `dataset` that the
    saved split does not know go to train (they cannot be anyone's validation or test person)."""
    saved = saved_split(checkpoint)
    known = set().union(*(saved[k] for k in SPLITS))
    present = set(dataset.subjects.tolist())
    if not present & known:
        raise EyebenchError(f"--split-from {checkpoint}: none of its people are in this data (is it the same data, read "
                         f"with the same --subject-from rule?)")
    new = sorted(present - known)
    if new:
        log(f"--split-from {checkpoint}: {len(new)} people of this data are not in its split and go to train "
            f"(first: {', '.join(new[:3])})")
    return {"train": saved["train"] + new, "val": saved["val"], "test": saved["test"]}


def saved_split(checkpoint: str) -> dict:
    """The train/val/test people a checkpoint written by `train` was trained, calibrated and tested with."""
    path = Path(checkpoint) / "split.json"
    if not path.is_file():
        raise EyebenchError(f"{checkpoint}: no split.json (not a checkpoint written by eyebench train)")
    try:
        split = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EyebenchError(f"{path}: not a split file ({exc})") from None
    parts = [split.get(k) or [] for k in SPLITS] if isinstance(split, dict) else None
    if parts is None or not all(isinstance(v, list) and all(isinstance(p, str) for p in v) for v in parts):
        raise EyebenchError(f"{path}: not a split file (an object with the lists of people train, val and test)")
    return SavedSplit.from_record(split).parts()


def check_teachers_split(teachers: list, split: dict) -> None:
    """Refuse a split whose validation or test people a teacher learned from."""
    for t in teachers:
        seen = set(t.split.train) & (set(split["val"]) | set(split["test"]))
        if seen:
            raise EyebenchError(f"a teacher was trained on {len(seen)} validation or test people of this split "
                             f"(first: {sorted(seen)[0]}): distil on the teachers' own split")


def shared_split(teachers: list) -> dict:
    """The split every teacher was trained with (they must agree), reused for the student."""
    message = "teachers must share one saved split (train them on the same data and seed)"
    return SavedSplit.shared({str(i): t.split for i, t in enumerate(teachers)}, needs="train", missing=message,
                             differ=message).parts()


def initialise(clf, pretrained: bool, init_weights: str | None, log=print) -> str:
    """Start from hub weights (--pretrained), a safetensors file (--init-weights), or from scratch."""
    if pretrained and init_weights:
        raise EyebenchError("give either --pretrained or --init-weights, not both")
    if (pretrained or init_weights) and not hasattr(clf, "init_from_state"):
        raise EyebenchError(f"{clf.name} cannot take pretrained weights (--pretrained, --init-weights): only the timm "
                         "models (resnet18, resnet34, vit_scratch, dinov2_*) can")
    if init_weights:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(init_weights)
        except FileNotFoundError:
            raise
        except (SafetensorError, OSError) as exc:
            raise EyebenchError(f"--init-weights {init_weights}: not a readable .safetensors file ({exc})") from None
        info = clf.init_from_state(state)
        if not info["loaded"]:
            raise EyebenchError(f"--init-weights {init_weights}: none of its {len(state)} tensors fits {clf.name} (other "
                             f"names or shapes, e.g. {', '.join(list(state)[:3])}): give weights of this architecture")
        log(f"initialised from {init_weights}: {info['loaded']} tensors")
        return f"init-weights {Path(init_weights).name} ({info['loaded']} tensors)"
    if pretrained:
        try:
            info = clf.init_pretrained_hub()
        except OSError as exc:  # no internet, or the hub does not answer
            raise EyebenchError(f"--pretrained: could not get the timm hub weights {clf.hub_name} ({short_message(exc)}); "
                             "offline, give a downloaded .safetensors file with --init-weights instead") from None
        log(f"initialised from timm hub {clf.hub_name}: {info['loaded']} tensors")
        return f"timm hub {clf.hub_name}"
    return "random (from scratch)"


def calibrate(clf, x_val: np.ndarray, y_val: np.ndarray, target_risk: float = 0.01, groups=None,
              band_rule: str = "per-person") -> dict:
    """Fit the temperature (models that fit one: torch models, the committee) and the uncertain band on validation
    subjects; store both on `clf`.

    With `groups` (band_groups of the validation images), `per-person` makes the band hold the target risk for every
    person and `pooled` only over all images (the riskiest person is reported either way).
    """
    if band_rule not in ("per-person", "pooled"):
        raise EyebenchError(f"unknown band rule {band_rule!r}: use per-person or pooled")
    scores = clf.scores_prepared(x_val)
    before = proba_from_logits(scores, clf.temperature)
    if clf.fits_temperature:
        clf.temperature = fit_temperature(scores, y_val)
    after = proba_from_logits(scores, clf.temperature)
    band = fit_band(y_val, after[:, EyeState.CLOSED], target_risk, groups=groups, per_group=band_rule == "per-person")
    clf.uncertain_band = band["band"]
    return {"fitted_on": "validation subjects", "temperature": clf.temperature,
            "ece_before": expected_calibration_error(y_val, before),
            "ece_after": expected_calibration_error(y_val, after), "ece_definition": ECE_DEFINITION, "band": band}


def recalibrate(checkpoint, data: DataSpec | Dataset, target_risk: float | None = None,
                band_rule: str | None = None, command: str = "", log=print, flip_average: bool | None = None,
                zoom_average: float | None = None) -> dict:
    """Refit a saved checkpoint's temperature and band on its own validation subjects; rewrite config and card.
    `checkpoint` is its folder or the classifier loaded from it; `data` a Dataset (scanned once for several
    checkpoints) or a DataSpec to scan. `target_risk` and `band_rule` None keep the ones its band was fitted with
    (0.01 per person when unrecorded); `flip_average` True or False switches flip averaging on or off first,
    `zoom_average` sets zoom averaging's scale (1 is off); None keeps the checkpoint's setting."""
    clf = load_classifier(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else checkpoint
    checkpoint = clf.checkpoint
    fitted = (clf.info.get("calibration") or {}).get("band") or {}
    target_risk = fitted.get("target_risk", 0.01) if target_risk is None else target_risk
    band_rule = band_rule or fitted.get("rule", "per person").replace(" ", "-")
    views = {k: v for k, v in (("flip_average", flip_average), ("zoom_average", zoom_average)) if v is not None}
    if views:
        clf.data_config = dataclasses.replace(clf.data_config, **views)
        clf.model_args = {**clf.model_args, **views}
    (x_va, d_va), (x_te, d_te) = split_parts(checkpoint, clf.split, data, clf.data_config)
    if clf.fits_temperature:
        clf.temperature = 1.0  # refitted from the raw logits, as after training
    calibration = calibrate(clf, x_va, d_va.labels, target_risk, validation_groups(d_va), band_rule)
    if command:
        calibration["command"] = command
    clf.info["calibration"] = calibration
    clf.info["metrics"] = {"val": _strip(evaluate_arrays(clf, x_va, d_va)),
                           "test": _strip(evaluate_arrays(clf, x_te, d_te))}
    clf.save_pretrained(checkpoint, weights=False)  # the weights are untouched: only config.json and the card change
    b = calibration["band"]
    log(f"{checkpoint}: temperature {clf.temperature:.3f}, band {[round(v, 4) for v in b['band']]} ({b['rule']}; "
        f"validation coverage {100 * b['coverage']:.2f}%, reached: {b['reached']})"
        + ("; flip averaging " + ("on" if clf.data_config.flip_average else "off") if flip_average is not None else "")
        + (f"; zoom averaging {clf.data_config.zoom_average:g} x" if zoom_average is not None else ""))
    return calibration


def split_parts(name: str, split: SavedSplit, data: DataSpec | Dataset, cfg) -> list[tuple]:
    """[(arrays, Dataset) of the validation people, the same of the test people] of a saved `split` in `data`, read at
    `cfg`'s input; the data must hold as many images of them as training had (else ValueError naming `name`)."""
    if not split:
        raise EyebenchError(f"{name}: has no saved split, so its validation subjects are unknown")
    arrays, dataset = load_images(as_dataset(data), cfg.input_size, cfg.channels)
    masks = [split.mask(dataset, part, name) for part in ("val", "test")]
    return [(arrays[m], dataset.subset(m)) for m in masks]


def validation_groups(val: Dataset) -> np.ndarray:
    """The people the band's risk is measured in: each validation person, small ones pooled per source."""
    return band_groups(val.subjects, [s.source for s in val.samples])


def _strip(ev: dict) -> dict:
    """Metrics to keep in config.json: no loss, per-subject table limited to the worst ten."""
    return {k: (dict(list(v.items())[:10]) if k == "per_subject" else v) for k, v in ev.items() if k != "loss"}
