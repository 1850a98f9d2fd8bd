"""Training: person-disjoint split, one readable loop for torch models, calibration, evaluation, checkpoint."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data.dataset import Dataset, load_dataset, load_images
from .data.splits import SPLITS, check_disjoint, split_by_subject, split_mask
from .data.transforms import augment
from .config import CLOSED
from .evaluate.calibration import ECE_DEFINITION, expected_calibration_error, fit_temperature
from .evaluate.thresholds import band_groups, fit_band
from .models.base import proba_from_logits
from .evaluate.report import evaluate_arrays
from .models.checkpoint import load_classifier
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


HARD_PEOPLE_CAP = 4.0  # --hard-people never draws a person more than 4x more (or less) often than balanced sampling
HARD_PEOPLE_MIN_IMAGES = 50  # --hard-people weighs people with fewer training images as one pool per source


def person_reweight(log_w: torch.Tensor, loss_sum: torch.Tensor, count: torch.Tensor, step: float) -> torch.Tensor:
    """One epoch's update of the people's log sampling factors: + step x (their mean loss - the mean loss), capped."""
    seen = count > 0
    if not seen.any():
        return log_w
    excess = torch.zeros_like(log_w)
    excess[seen] = loss_sum[seen] / count[seen] - loss_sum.sum() / count.sum()
    cap = float(np.log(HARD_PEOPLE_CAP))
    return (log_w + step * excess).clamp_(-cap, cap)


def truncated_mean(losses: torch.Tensor, drop: float) -> torch.Tensor:
    """Mean of the losses without the highest `drop` share of them (loss truncation against noisy labels)."""
    k = int(len(losses) * drop)
    return losses.mean() if k == 0 else torch.topk(losses, len(losses) - k, largest=False).values.mean()


def drop_share(drop_hardest: float, epoch: int, epochs: int) -> float:
    """--drop-hardest's share at this epoch: ramped in linearly over the first sixth of the epochs."""
    return drop_hardest * min(1.0, epoch / max(1, epochs // 6))


def selection_score(metrics_by_source: dict) -> float:
    """Mean over sources of validation balanced accuracy: each domain counts, whatever its size."""
    vals = [m["balanced_accuracy"] for m in metrics_by_source.values() if m.get("balanced_accuracy") is not None]
    return float(np.mean(vals)) if vals else 0.0


def warmup_fraction(total_steps: int, pct: float = 0.2) -> float:
    """OneCycleLR's warm-up share; nudged where pct * total_steps == 1, which makes OneCycleLR divide by zero."""
    return pct if abs(pct * total_steps - 1.0) > 1e-9 else 1.25 * pct


def ema_update(ema: dict, net: torch.nn.Module, decay: float, step: int) -> None:
    """Move the running average of `net`'s weights and BN statistics toward them (warm-up: early steps weigh more)."""
    d = min(decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if v.dtype.is_floating_point:
                ema[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                ema[k].copy_(v)


def _distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, initialising the process group once (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def distill_loss(student_logit: torch.Tensor, teacher_logit: torch.Tensor, T: float) -> torch.Tensor:
    """Soft-target loss between closed-vs-open logits at temperature T (scaled by T^2, Hinton et al.)."""
    soft = torch.sigmoid(teacher_logit / T)
    return F.binary_cross_entropy_with_logits(student_logit / T, soft) * T * T


def teacher_logits(teachers: list[TorchClassifier], x01: torch.Tensor) -> torch.Tensor:
    """Mean calibrated closed logit of the teachers on a [0, 1] batch, adapted to each teacher's input."""
    outs = []
    with torch.no_grad():
        for t in teachers:
            cfg = t.data_config
            x = F.interpolate(x01, size=(cfg.input_size, cfg.input_size), mode="bilinear", align_corners=False) \
                if x01.shape[-1] != cfg.input_size else x01
            x = x.mean(1, keepdim=True) if cfg.channels == 1 and x.shape[1] == 3 else x.expand(-1, cfg.channels, -1, -1)
            outs.append(t.closed_logit(t.net(t.normalise(x)).float()) / t.temperature)
    return torch.stack(outs).mean(0)


def train_torch(clf: TorchClassifier, x_train, train: Dataset, x_val, val: Dataset, epochs: int = 20,
                batch_size: int = 128, lr: float = 3e-3, weight_decay: float = 1e-4, patience: int = 6,
                seed: int = 0, aug_strength: float = 1.0, out: Path | None = None, resume: bool = False,
                teachers: list[TorchClassifier] | None = None, kd_alpha: float = 0.7, kd_temperature: float = 2.0,
                epoch_size: int | None = None, ema_decay: float = 0.0, bf16: bool = False, glasses: float = 0.0,
                label_smoothing: float = 0.0, hard_people: float = 0.0, drop_hardest: float = 0.0,
                log=print) -> list[dict]:
    """AdamW + OneCycleLR + balanced sampling + augmentation (+ distillation, + weight EMA); keeps the best val epoch.

    With `ema_decay` > 0 an exponential moving average of the weights is what is validated and kept.
    With `label_smoothing` e the hard targets become e/2 and 1 - e/2 (the same for one logit or two).
    With `bf16` the forward pass runs under bfloat16 autocast (on CPU too; weights and optimiser stay float32);
    otherwise only CUDA uses autocast (float16 with loss scaling).
    With `hard_people` s > 0, after every epoch each training person is drawn exp(s x the summed excess of their mean
    training loss) times as often, capped at HARD_PEOPLE_CAP either way (people with fewer than HARD_PEOPLE_MIN_IMAGES
    training images count as one pool per source).
    With `drop_hardest` d > 0 every batch leaves out its highest-loss share d of images from the loss (ramped in over
    the first sixth of the epochs): images whose label disagrees with what the network learned from the rest stop
    pulling on it (loss truncation, as in co-teaching's small-loss selection, for noisy labels).

    Saves a resumable state (`resume.pt`, tensors only, loaded with weights_only=True) after every epoch.
    Under torchrun each process takes its share of every batch and gradients are averaged (DDP).
    """
    rank, world = _distributed()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    net = clf.net.to(device)
    model, ddp_trainable = net, None  # under torchrun: a DDP wrapper, (re)built when the trainable set changes
    for t in teachers or []:
        t.net.to(device).eval()
    steps = max(1, (epoch_size or len(train)) // batch_size)
    size = clf.data_config.input_size  # x_train may be larger (distillation: the teachers' input size)
    total_steps = epochs * steps
    opt = torch.optim.AdamW(clf.param_groups(lr, weight_decay))
    max_lrs = [g["lr"] for g in opt.param_groups]
    scaler = torch.amp.GradScaler(enabled=device.type == "cuda" and not bf16)  # bfloat16 needs no loss scaling
    autocast = {"device_type": device.type, "enabled": device.type == "cuda" or bf16,
                **({"dtype": torch.bfloat16} if bf16 else {})}
    base_weights = torch.as_tensor(balanced_weights(train))
    people = band_groups(train.subjects, [s.source for s in train.samples], HARD_PEOPLE_MIN_IMAGES)
    person_names, person = np.unique(people.astype(str), return_inverse=True)
    person = torch.as_tensor(person)
    log_w = torch.zeros(len(person_names), dtype=torch.float64)  # --hard-people: log sampling factor per person
    xt, yt = torch.as_tensor(x_train), torch.as_tensor(train.labels)
    history, best_score, best_state, bad_epochs, start = [], -1.0, None, 0, 1
    resume_file = Path(out) / "resume.pt" if out is not None else None
    state, ema = None, None
    if resume and resume_file is not None and resume_file.exists():
        state = torch.load(resume_file, map_location="cpu", weights_only=True)
        net.load_state_dict(state["model"])
    if ema_decay:  # the average starts from the weights training starts from (or the saved average on resume)
        start_from = state["ema"] if state is not None and "ema" in state else net.state_dict()
        ema = {k: v.detach().clone().to(device) for k, v in start_from.items()}
    saved_sched = state["scheduler"] if state is not None else None
    same_length = saved_sched is not None and int(saved_sched["total_steps"]) == total_steps
    first_step = 0
    if saved_sched is not None and not same_length:
        # resumed with another length (more --epochs, another --batch-size): the new one-cycle schedule goes on
        # from the step already reached (the old scheduler state would stop at its own total and raise)
        opt.load_state_dict(state["optimizer"])  # before the scheduler, which reads the groups' initial_lr
        first_step = min(int(saved_sched["last_epoch"]), total_steps)
        log(f"resume: schedule length changed ({saved_sched['total_steps']} -> {total_steps} steps); "
            f"continuing the new schedule at step {first_step}")
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lrs, total_steps=total_steps,
                                                pct_start=warmup_fraction(total_steps), last_epoch=first_step - 1)
    if state is not None:
        if same_length:  # after creating the scheduler, which sets the lr and momentum of step 0
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(saved_sched)
        gen.set_state(state["generator"])
        if "torch_rng" in state:  # dropout and drop-path draw from the global generator
            torch.set_rng_state(state["torch_rng"])
        best_state, best_score = state["best_model"], float(state["best_score"])
        bad_epochs, start = int(state["bad_epochs"]), int(state["epoch"]) + 1
        history = json.loads((Path(out) / "history.json").read_text())[: start - 1]
        if "person_log_weights" in state:
            log_w = state["person_log_weights"]
        log(f"resumed from {resume_file} after epoch {start - 1}")
    for epoch in range(start, epochs + 1):
        stage = clf.set_stage(epoch, epochs)
        trainable = tuple(p.requires_grad for p in net.parameters())
        if world > 1 and trainable != ddp_trainable:
            # DDP fixes the parameters it reduces when it is built: staged unfreezing needs a new wrapper
            model, ddp_trainable = torch.nn.parallel.DistributedDataParallel(
                net, device_ids=[device.index] if device.type == "cuda" else None), trainable
        model.train()
        weights = base_weights * torch.exp(log_w)[person] if hard_people else base_weights
        idx = torch.multinomial(weights, steps * batch_size, replacement=True, generator=gen).view(steps, batch_size)
        idx = idx[:, rank::world]  # every process draws the same batches and keeps its share
        tot_loss = tot_ok = seen = 0
        loss_sum, count = torch.zeros((2, len(person_names)), dtype=torch.float64)  # per person, this epoch
        bar = tqdm(idx, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False, disable=rank != 0)
        for b in bar:
            x01 = augment(xt[b].permute(0, 3, 1, 2).float().div_(255.0), gen, aug_strength, glasses).to(device)
            y = yt[b].to(device)
            x_in = x01 if x01.shape[-1] == size else F.interpolate(x01, size=(size, size), mode="area")
            with torch.autocast(**autocast):
                logits = model(clf.normalise(x_in)).float()
                losses = (F.binary_cross_entropy_with_logits(logits[:, 0], y.float() * (1 - label_smoothing)
                                                             + label_smoothing / 2, reduction="none")
                          if clf.num_logits == 1 else F.cross_entropy(logits, y, label_smoothing=label_smoothing,
                                                                      reduction="none"))
                loss = truncated_mean(losses, drop_share(drop_hardest, epoch, epochs)) if drop_hardest else losses.mean()
                if teachers:
                    kd = distill_loss(clf.closed_logit(logits.float()), teacher_logits(teachers, x01), kd_temperature)
                    loss = kd_alpha * kd + (1 - kd_alpha) * loss
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            if ema is not None:
                ema_update(ema, net, ema_decay, sched.last_epoch)
            with torch.no_grad():
                ok = ((clf.closed_logit(logits.float()) > 0).long() == y).sum().item()
                if hard_people:
                    loss_sum.index_add_(0, person[b], losses.detach().double().cpu())
                    count.index_add_(0, person[b], torch.ones(len(b), dtype=torch.float64))
            tot_loss, tot_ok, seen = tot_loss + loss.item() * len(y), tot_ok + ok, seen + len(y)
            bar.set_postfix(loss=f"{tot_loss / seen:.4f}", acc=f"{tot_ok / seen:.4f}")
        if hard_people:
            if world > 1:  # every process updates the same weights from the whole batch
                import torch.distributed as dist

                stats = torch.stack([loss_sum, count]).to(device)
                dist.all_reduce(stats)
                loss_sum, count = stats.cpu()
            log_w = person_reweight(log_w, loss_sum, count, hard_people)
        stop = False
        if rank == 0:  # per-epoch validation runs where the network is; calibration and the test run on the CPU
            live = None
            if ema is not None:  # validate (and keep) the averaged weights; training goes on from the live ones
                live = {k: v.clone() for k, v in net.state_dict().items()}
                net.load_state_dict(ema)
            val_eval = evaluate_arrays(clf, x_val, val)
            row = {"epoch": epoch, "stage": stage, "train_loss": tot_loss / seen, "train_accuracy": tot_ok / seen,
                   "val_loss": val_eval["loss"], "val_accuracy": val_eval["overall"]["accuracy"],
                   "val_balanced_accuracy": val_eval["overall"]["balanced_accuracy"],
                   "val_score": selection_score(val_eval["per_source"]), "lr": sched.get_last_lr()[-1]}
            if hard_people:  # the people drawn most often from the next epoch on, with their sampling factor
                top = torch.argsort(log_w, descending=True)[:3].tolist()
                row["hard_people"] = {str(person_names[i]): round(float(torch.exp(log_w[i])), 3) for i in top}
            history.append(row)
            improved = row["val_score"] > best_score
            log(f"epoch {epoch} [{stage}]: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f} | "
                f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.4f} score {row['val_score']:.4f}"
                + (" *" if improved else ""))
            if improved:
                best_score, best_state, bad_epochs = row["val_score"], {k: v.clone() for k, v in net.state_dict().items()}, 0
                if out is not None:  # keep the best weights on disk as training goes
                    clf.save_pretrained(out)
            else:
                bad_epochs += 1
            if live is not None:
                net.load_state_dict(live)
            if out is not None:
                (Path(out) / "history.json").write_text(json.dumps(history, indent=1))
                torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                            "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "best_model": best_state,
                            "best_score": best_score, "bad_epochs": bad_epochs, "epoch": epoch,
                            "person_log_weights": log_w,
                            **({"ema": ema} if ema is not None else {})}, resume_file)
            stop = bad_epochs >= patience
            if stop:
                log(f"early stop: no validation improvement for {patience} epochs")
        if world > 1:  # every process stops together
            import torch.distributed as dist

            flag = torch.tensor([int(stop)], device=device)
            dist.broadcast(flag, 0)
            stop = bool(flag.item())
        if stop:
            break
    net.to("cpu")
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return history


def run_training(model: str, data: list[str], out: str, epochs: int = 20, batch_size: int = 128, lr: float = 3e-3,
                 seed: int = 0, val_frac: float = 0.15, test_frac: float = 0.15, patience: int = 6,
                 model_args: dict | None = None, target_risk: float = 0.01, command: str = "",
                 resume: bool = False, teachers: list[str] | None = None, kd_alpha: float = 0.7,
                 kd_temperature: float = 2.0, epoch_size: int | None = None, pretrained: bool = False,
                 init_weights: str | None = None, storage_dtype: str = "float32", split: dict | None = None,
                 aug_strength: float = 1.0, ema_decay: float = 0.0, band_rule: str = "per-person",
                 bf16: bool = False, glasses: float = 0.0, label_smoothing: float = 0.0, hard_people: float = 0.0,
                 drop_hardest: float = 0.0, log=print) -> dict | None:
    """Train `model` on person-disjoint splits of `data`, calibrate on val, test once, save to `out`."""
    if not 0 <= glasses <= 1:
        raise ValueError(f"--glasses is a share of the training images, from 0 to 1 (got {glasses})")
    if not 0 <= label_smoothing < 0.5:
        raise ValueError(f"--label-smoothing must be at least 0 and below 0.5 (got {label_smoothing})")
    if hard_people < 0:
        raise ValueError(f"--hard-people is a step size of at least 0 (got {hard_people}; 0 = off)")
    if not 0 <= drop_hardest < 0.5:
        raise ValueError(f"--drop-hardest is a share of each batch, at least 0 and below 0.5 (got {drop_hardest})")
    t0 = time.time()
    torch.manual_seed(seed)
    np.random.seed(seed)
    clf = create_classifier(model, **(model_args or {}))
    clf.storage_dtype = storage_dtype
    init = initialise(clf, pretrained, init_weights, log)
    teacher_models = [load_classifier(t) for t in teachers or []]
    if teacher_models and split is None:  # a student must not be tested on people its teachers learned from
        split = shared_split(teacher_models)
    dataset = load_dataset(data)
    cfg = clf.data_config
    arrays, dataset = load_images(dataset, cfg.input_size, cfg.channels)
    if dataset.skipped:
        log(f"skipped {len(dataset.skipped)} files: {dataset.report()['skipped_reasons']} "
            f"(first: {dataset.skipped[0][0]})")
    # training images at the largest input any teacher needs; the student's own size is made from them
    train_size = max([cfg.input_size] + [t.data_config.input_size for t in teacher_models])
    train_arrays = arrays if train_size == cfg.input_size else load_images(dataset, train_size, cfg.channels)[0]
    split = split or split_by_subject(dataset, val_frac, test_frac, seed)
    check_disjoint(split)
    parts, masks = {}, {}
    for name in SPLITS:
        keep = set(split[name])
        masks[name] = np.array([s.subject in keep for s in dataset.samples])
        parts[name] = (arrays[masks[name]], dataset.subset(masks[name]))
        log(f"{name}: {masks[name].sum()} images, {len(keep)} subjects, {parts[name][1].report()['per_class']}")
    (_, d_tr), (x_va, d_va), (x_te, d_te) = parts["train"], parts["val"], parts["test"]
    x_tr = train_arrays[masks["train"]]
    out_dir = Path(out)
    history: list[dict] | dict
    if isinstance(clf, TorchClassifier):
        history = train_torch(clf, x_tr, d_tr, x_va, d_va, epochs=epochs, batch_size=batch_size, lr=lr,
                              patience=patience, seed=seed, out=out_dir, resume=resume, teachers=teacher_models,
                              kd_alpha=kd_alpha, kd_temperature=kd_temperature, epoch_size=epoch_size,
                              aug_strength=aug_strength, ema_decay=ema_decay, bf16=bf16, glasses=glasses,
                              label_smoothing=label_smoothing, hard_people=hard_people,
                              drop_hardest=drop_hardest, log=log)
        if _distributed()[0] != 0:
            return None
        clf.round_to_storage()
    else:
        history = clf.fit(x_tr, d_tr.labels, x_va, d_va.labels, seed=seed, log=log)
    calibration = calibrate(clf, x_va, d_va.labels, target_risk, validation_groups(d_va), band_rule)
    log(f"calibrated on validation: temperature {clf.temperature:.3f}, ECE {calibration['ece_before']:.4f} -> "
        f"{calibration['ece_after']:.4f}; uncertain band {calibration['band']['band']} "
        f"(coverage {calibration['band']['coverage']:.3f}, risk {calibration['band']['selective_risk']})")
    val_eval, test_eval = evaluate_arrays(clf, x_va, d_va), evaluate_arrays(clf, x_te, d_te)
    clf.info = {
        "train_command": command,
        "trained": {"epochs_run": len(history) if isinstance(history, list) else None, "seed": seed,
                    "batch_size": batch_size, "lr": lr, "seconds": round(time.time() - t0, 1),
                    "machine": training_machine(),
                    "aug_strength": aug_strength, "epoch_size": epoch_size, "ema_decay": ema_decay or None,
                    "autocast": "bfloat16" if bf16 else None, "glasses": glasses or None,
                    "label_smoothing": label_smoothing or None, "hard_people": hard_people or None,
                    "drop_hardest": drop_hardest or None,
                    "initialisation": init, "storage_dtype": storage_dtype,
                    "distillation": {"teachers": teachers, "alpha": kd_alpha, "temperature": kd_temperature}
                    if teachers else None},
        "data": dataset.report(),
        "split": {**split, "seed": seed, "val_frac": val_frac, "test_frac": test_frac,
                  "n_images": {k: len(v[1]) for k, v in parts.items()},
                  "by_source": {src: {k: sorted({s.subject for s in v[1].samples if s.source == src}) for k, v in parts.items()}
                                for src in dataset.sources}},
        "calibration": calibration,
        "metrics": {"val": _strip(val_eval), "test": _strip(test_eval)},
    }
    clf.save_pretrained(out_dir)
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    (out_dir / "split.json").write_text(json.dumps(split, indent=1))
    (out_dir / "resume.pt").unlink(missing_ok=True)  # training finished: the resumable state is not needed
    log(f"saved {out_dir} in {time.time() - t0:.0f}s; test accuracy {test_eval['overall']['accuracy']:.4f}")
    return {**clf.info, "metrics": {**clf.info["metrics"], "test": {**clf.info["metrics"]["test"],
                                                                   "per_subject_all": test_eval["per_subject"]}}}


def training_machine() -> str:
    """Where this training ran, for the model card: the GPU if one was used, else the CPU cores."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} GPU, torch {torch.__version__}"
    return f"{os.cpu_count()} CPU cores, torch {torch.__version__}"


def shared_split(teachers: list) -> dict:
    """The split every teacher was trained with (they must agree), reused for the student."""
    splits = [{k: t.info.get("split", {}).get(k) for k in SPLITS} for t in teachers]
    if not splits[0]["train"] or any(s != splits[0] for s in splits):
        raise ValueError("teachers must share one saved split (train them on the same data and seed)")
    return splits[0]


def initialise(clf, pretrained: bool, init_weights: str | None, log=print) -> str:
    """Start from hub weights (--pretrained), a safetensors file (--init-weights), or from scratch."""
    if pretrained and init_weights:
        raise ValueError("give either --pretrained or --init-weights, not both")
    if (pretrained or init_weights) and not hasattr(clf, "init_from_state"):
        raise ValueError(f"{clf.name} cannot take pretrained weights")
    if init_weights:
        from safetensors.torch import load_file

        info = clf.init_from_state(load_file(init_weights))
        log(f"initialised from {init_weights}: {info['loaded']} tensors")
        return f"init-weights {Path(init_weights).name} ({info['loaded']} tensors)"
    if pretrained:
        info = clf.init_pretrained_hub()
        log(f"initialised from timm hub {clf.hub_name}: {info['loaded']} tensors")
        return f"timm hub {clf.hub_name}"
    return "random (from scratch)"


def calibrate(clf, x_val: np.ndarray, y_val: np.ndarray, target_risk: float = 0.01, groups=None,
              band_rule: str = "per-person") -> dict:
    """Fit the temperature (torch models) and the uncertain band on validation subjects; store both on `clf`.

    With `groups` (band_groups of the validation images), `per-person` makes the band hold the target risk for every
    person and `pooled` only over all images (the riskiest person is reported either way).
    """
    if band_rule not in ("per-person", "pooled"):
        raise ValueError(f"unknown band rule {band_rule!r}: use per-person or pooled")
    scores = clf.scores_prepared(x_val)
    before = proba_from_logits(scores, clf.temperature)
    if isinstance(clf, TorchClassifier):
        clf.temperature = fit_temperature(scores, y_val)
    after = proba_from_logits(scores, clf.temperature)
    band = fit_band(y_val, after[:, CLOSED], target_risk, groups=groups, per_group=band_rule == "per-person")
    clf.uncertain_band = band["band"]
    return {"fitted_on": "validation subjects", "temperature": clf.temperature,
            "ece_before": expected_calibration_error(y_val, before),
            "ece_after": expected_calibration_error(y_val, after), "ece_definition": ECE_DEFINITION, "band": band}


def recalibrate(checkpoint: str, data: list[str], target_risk: float = 0.01, band_rule: str = "per-person",
                command: str = "", log=print) -> dict:
    """Refit a saved checkpoint's temperature and band on its own validation subjects; rewrite config and card."""
    clf = load_classifier(checkpoint)
    split = clf.info.get("split")
    if not split:
        raise ValueError(f"{checkpoint}: has no saved split, so its validation subjects are unknown")
    cfg = clf.data_config
    arrays, dataset = load_images(load_dataset(data), cfg.input_size, cfg.channels)
    parts = {name: split_mask(dataset, split, name) for name in ("val", "test")}
    expected = split.get("n_images", {})
    for name, mask in parts.items():
        if name in expected and int(mask.sum()) != int(expected[name]):
            raise ValueError(f"{checkpoint}: the data given holds {int(mask.sum())} {name} images, training had "
                             f"{expected[name]}: pass the same --data folders it was trained on")
    (x_va, d_va), (x_te, d_te) = [(arrays[m], dataset.subset(m)) for m in parts.values()]
    if isinstance(clf, TorchClassifier):
        clf.temperature = 1.0  # refitted from the raw logits, as after training
    calibration = calibrate(clf, x_va, d_va.labels, target_risk, validation_groups(d_va), band_rule)
    if command:
        calibration["command"] = command
    clf.info["calibration"] = calibration
    clf.info["metrics"] = {"val": _strip(evaluate_arrays(clf, x_va, d_va)), "test": _strip(evaluate_arrays(clf, x_te, d_te))}
    clf.save_pretrained(checkpoint, weights=False)  # the weights are untouched: only config.json and the card change
    b = calibration["band"]
    log(f"{checkpoint}: temperature {clf.temperature:.3f}, band {[round(v, 4) for v in b['band']]} ({b['rule']}; "
        f"validation coverage {100 * b['coverage']:.2f}%, reached: {b['reached']})")
    return calibration


def validation_groups(val: Dataset) -> np.ndarray:
    """The people the band's risk is measured in: each validation person, small ones pooled per source."""
    return band_groups(val.subjects, [s.source for s in val.samples])


def _strip(ev: dict) -> dict:
    """Metrics to keep in config.json: no loss, per-subject table limited to the worst ten."""
    return {k: (dict(list(v.items())[:10]) if k == "per_subject" else v) for k, v in ev.items() if k != "loss"}
