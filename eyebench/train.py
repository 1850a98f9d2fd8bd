"""Training: person-disjoint split, one readable loop for torch models, calibration, evaluation, checkpoint."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data.dataset import Dataset, load_dataset, load_images
from .data.splits import SPLITS, split_by_subject
from .data.transforms import augment
from .config import CLOSED
from .evaluate.calibration import ECE_DEFINITION, expected_calibration_error, fit_temperature
from .evaluate.thresholds import fit_band
from .models.base import proba_from_logits
from .evaluate.report import evaluate_arrays
from .models.registry import create_classifier
from .models.torch_base import TorchClassifier


def balanced_weights(dataset: Dataset) -> np.ndarray:
    """Per-sample weights so classes are equally likely within each source, and sources weigh by sqrt(size)."""
    sources = np.array([s.source for s in dataset.samples])
    y = dataset.labels
    w = np.zeros(len(y))
    names = sorted(set(sources.tolist()))
    shares = np.sqrt([np.sum(sources == n) for n in names])
    shares = shares / shares.sum()
    for name, share in zip(names, shares):
        for c in (0, 1):
            m = (sources == name) & (y == c)
            if m.any():
                w[m] = share / 2 / m.sum()
    return w / w.sum()


def selection_score(metrics_by_source: dict) -> float:
    """Mean over sources of validation balanced accuracy: each domain counts, whatever its size."""
    vals = [m["balanced_accuracy"] for m in metrics_by_source.values() if m.get("balanced_accuracy") is not None]
    return float(np.mean(vals)) if vals else 0.0


def warmup_fraction(total_steps: int, pct: float = 0.2) -> float:
    """OneCycleLR's warm-up share; nudged where pct * total_steps == 1, which makes OneCycleLR divide by zero."""
    return pct if abs(pct * total_steps - 1.0) > 1e-9 else 1.25 * pct


def train_torch(clf: TorchClassifier, x_train, train: Dataset, x_val, val: Dataset, epochs: int = 20,
                batch_size: int = 128, lr: float = 3e-3, weight_decay: float = 1e-4, patience: int = 6,
                seed: int = 0, aug_strength: float = 1.0, out: Path | None = None, log=print) -> list[dict]:
    """AdamW + OneCycleLR + balanced sampling + augmentation; keeps the epoch with the best validation score."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = clf.net
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net.to(device)
    steps = max(1, len(train) // batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps,
                                                pct_start=warmup_fraction(epochs * steps))
    scaler = torch.amp.GradScaler(enabled=device.type == "cuda")
    weights = torch.as_tensor(balanced_weights(train))
    xt, yt = torch.as_tensor(x_train), torch.as_tensor(train.labels)
    history, best, bad_epochs = [], (-1.0, None), 0
    for epoch in range(1, epochs + 1):
        net.train()
        idx = torch.multinomial(weights, steps * batch_size, replacement=True, generator=gen).view(steps, batch_size)
        tot_loss = tot_ok = seen = 0
        bar = tqdm(idx, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False)
        for b in bar:
            x = augment(xt[b].permute(0, 3, 1, 2).float().div_(255.0), gen, aug_strength)
            x, y = clf.normalise(x).to(device), yt[b].to(device)
            with torch.autocast(device.type, enabled=device.type == "cuda"):
                logits = net(x)
                loss = (F.binary_cross_entropy_with_logits(logits[:, 0], y.float()) if clf.num_logits == 1
                        else F.cross_entropy(logits, y))
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            with torch.no_grad():
                ok = ((clf.closed_logit(logits.float()) > 0).long() == y).sum().item()
            tot_loss, tot_ok, seen = tot_loss + loss.item() * len(y), tot_ok + ok, seen + len(y)
            bar.set_postfix(loss=f"{tot_loss / seen:.4f}", acc=f"{tot_ok / seen:.4f}")
        net.to("cpu")
        val_eval = evaluate_arrays(clf, x_val, val)
        row = {"epoch": epoch, "train_loss": tot_loss / seen, "train_accuracy": tot_ok / seen,
               "val_loss": val_eval["loss"], "val_accuracy": val_eval["overall"]["accuracy"],
               "val_balanced_accuracy": val_eval["overall"]["balanced_accuracy"],
               "val_score": selection_score(val_eval["per_source"]), "lr": sched.get_last_lr()[0]}
        history.append(row)
        improved = row["val_score"] > best[0]
        log(f"epoch {epoch}: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f} | "
            f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.4f} score {row['val_score']:.4f}"
            + (" *" if improved else ""))
        if improved:
            best, bad_epochs = (row["val_score"], {k: v.clone() for k, v in net.state_dict().items()}), 0
            if out is not None:  # keep the best weights on disk as training goes
                clf.save_pretrained(out)
        else:
            bad_epochs += 1
        if out is not None:
            (Path(out) / "history.json").write_text(json.dumps(history, indent=1))
        if bad_epochs >= patience:
            log(f"early stop: no validation improvement for {patience} epochs")
            break
        net.to(device)
    net.to("cpu").load_state_dict(best[1])
    net.eval()
    return history


def run_training(model: str, data: list[str], out: str, epochs: int = 20, batch_size: int = 128, lr: float = 3e-3,
                 seed: int = 0, val_frac: float = 0.15, test_frac: float = 0.15, patience: int = 6,
                 model_args: dict | None = None, target_risk: float = 0.01, command: str = "", log=print) -> dict:
    """Train `model` on person-disjoint splits of `data`, calibrate on val, test once, save to `out`."""
    t0 = time.time()
    torch.manual_seed(seed)
    np.random.seed(seed)
    clf = create_classifier(model, **(model_args or {}))
    dataset = load_dataset(data)
    cfg = clf.data_config
    arrays, dataset = load_images(dataset, cfg.input_size, cfg.channels)
    if dataset.skipped:
        log(f"skipped {len(dataset.skipped)} files: {dataset.report()['skipped_reasons']} "
            f"(first: {dataset.skipped[0][0]})")
    split = split_by_subject(dataset, val_frac, test_frac, seed)
    parts = {}
    for name in SPLITS:
        keep = set(split[name])
        mask = np.array([s.subject in keep for s in dataset.samples])
        parts[name] = (arrays[mask], dataset.subset(mask))
        log(f"{name}: {mask.sum()} images, {len(keep)} subjects, {parts[name][1].report()['per_class']}")
    (x_tr, d_tr), (x_va, d_va), (x_te, d_te) = parts["train"], parts["val"], parts["test"]
    out_dir = Path(out)
    history: list[dict] | dict
    if isinstance(clf, TorchClassifier):
        history = train_torch(clf, x_tr, d_tr, x_va, d_va, epochs=epochs, batch_size=batch_size, lr=lr,
                              patience=patience, seed=seed, out=out_dir, log=log)
    else:
        history = clf.fit(x_tr, d_tr.labels, x_va, d_va.labels, seed=seed, log=log)
    calibration = calibrate(clf, x_va, d_va.labels, target_risk)
    log(f"calibrated on validation: temperature {clf.temperature:.3f}, ECE {calibration['ece_before']:.4f} -> "
        f"{calibration['ece_after']:.4f}; uncertain band {calibration['band']['band']} "
        f"(coverage {calibration['band']['coverage']:.3f}, risk {calibration['band']['selective_risk']})")
    val_eval, test_eval = evaluate_arrays(clf, x_va, d_va), evaluate_arrays(clf, x_te, d_te)
    clf.info = {
        "train_command": command,
        "trained": {"epochs_run": len(history) if isinstance(history, list) else None, "seed": seed,
                    "batch_size": batch_size, "lr": lr, "seconds": round(time.time() - t0, 1)},
        "data": dataset.report(),
        "split": {**split, "seed": seed, "val_frac": val_frac, "test_frac": test_frac,
                  "n_images": {k: len(v[1]) for k, v in parts.items()}},
        "calibration": calibration,
        "metrics": {"val": _strip(val_eval), "test": _strip(test_eval)},
    }
    clf.save_pretrained(out_dir)
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    (out_dir / "split.json").write_text(json.dumps(split, indent=1))
    log(f"saved {out_dir} in {time.time() - t0:.0f}s; test accuracy {test_eval['overall']['accuracy']:.4f}")
    return clf.info


def calibrate(clf, x_val: np.ndarray, y_val: np.ndarray, target_risk: float = 0.01) -> dict:
    """Fit the temperature (torch models) and the uncertain band on validation subjects; store both on `clf`."""
    scores = clf.scores_prepared(x_val)
    before = proba_from_logits(scores, clf.temperature)
    if isinstance(clf, TorchClassifier):
        clf.temperature = fit_temperature(scores, y_val)
    after = proba_from_logits(scores, clf.temperature)
    band = fit_band(y_val, after[:, CLOSED], target_risk)
    clf.uncertain_band = band["band"]
    return {"fitted_on": "validation subjects", "temperature": clf.temperature,
            "ece_before": expected_calibration_error(y_val, before),
            "ece_after": expected_calibration_error(y_val, after), "ece_definition": ECE_DEFINITION, "band": band}


def _strip(ev: dict) -> dict:
    """Metrics to keep in config.json: no loss, per-subject table limited to the worst ten."""
    return {k: (dict(list(v.items())[:10]) if k == "per_subject" else v) for k, v in ev.items() if k != "loss"}
