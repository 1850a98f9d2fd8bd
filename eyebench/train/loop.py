"""The training loop for torch models: one readable epoch loop (AdamW, one-cycle schedule, validation, resume, DDP)."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data.dataset import Dataset
from ..data.transforms import augment
from ..evaluate.report import evaluate_arrays
from ..models.torch_base import TorchClassifier
from .config import TrainConfig
from .ema import ModelEma
from .losses import batch_loss, per_image_loss
from .resume import (
    RESUME_FILE,
    Progress,
    check_recipe,
    load_state,
    restore,
    run_recipe,
    save_state,
)
from .samplers import PersonSampler
from .schedule import one_cycle, set_step

WEIGHT_DECAY = 1e-4


def distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, initialising the process group once (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def selection_score(metrics_by_source: dict) -> float:
    """Mean over sources of validation balanced accuracy: each domain counts, whatever its size."""
    vals = [m["balanced_accuracy"] for m in metrics_by_source.values() if m.get("balanced_accuracy") is not None]
    return float(np.mean(vals)) if vals else 0.0


class DistributedNet:
    """The module the forward pass runs through: the network, or under torchrun a DDP wrapper around it, rebuilt
    whenever staged unfreezing changes the trainable set (DDP fixes the parameters it reduces when it is built)."""

    def __init__(self, net: torch.nn.Module, device: torch.device, world: int):
        self.net, self.device, self.world, self.module, self._trainable = net, device, world, net, None

    def for_epoch(self) -> torch.nn.Module:
        trainable = tuple(p.requires_grad for p in self.net.parameters())
        if self.world > 1 and trainable != self._trainable:
            self.module, self._trainable = torch.nn.parallel.DistributedDataParallel(
                self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None), trainable
        return self.module.train()


def _precision(device: torch.device, bf16: bool) -> tuple[dict, torch.amp.GradScaler]:
    """torch.autocast arguments and the loss scaler: bfloat16 autocast with --bf16 (on the CPU too, no loss
    scaling), float16 with loss scaling on CUDA otherwise, plain float32 on the CPU."""
    autocast = {"device_type": device.type, "enabled": device.type == "cuda" or bf16,
                **({"dtype": torch.bfloat16} if bf16 else {})}
    return autocast, torch.amp.GradScaler(enabled=device.type == "cuda" and not bf16)


def _averaged(clf: TorchClassifier, ema: ModelEma | None) -> TorchClassifier:
    """The classifier that is validated and kept: `clf` itself, or a shallow copy of it holding the averaged network."""
    if ema is None:
        return clf
    shadow = copy.copy(clf)
    shadow.net = ema.module
    return shadow


def _validate(clf: TorchClassifier, x_val, val: Dataset) -> dict:
    """Validation metrics for the history: loss, accuracy, balanced accuracy and the selection score."""
    ev = evaluate_arrays(clf, x_val, val)
    overall = ev["overall"]
    return {"val_loss": ev["loss"], "val_accuracy": overall["accuracy"],
            "val_balanced_accuracy": overall["balanced_accuracy"], "val_score": selection_score(ev["per_source"])}


def _stop_together(stop: bool, world: int, device: torch.device) -> bool:
    """Rank 0's early-stop decision, broadcast so that every process stops at the same epoch."""
    if world <= 1:
        return stop
    import torch.distributed as dist

    flag = torch.tensor([int(stop)], device=device)
    dist.broadcast(flag, 0)
    return bool(flag.item())


def train_torch(clf: TorchClassifier, x_train, train: Dataset, x_val, val: Dataset, config: TrainConfig = TrainConfig(),
                out: Path | None = None, teachers: list[TorchClassifier] | None = None, log=print) -> list[dict]:
    """AdamW + one-cycle schedule + balanced sampling + augmentation (+ distillation, + weight averaging); keeps the
    weights of the best validation epoch in `clf` and returns the history (one row per epoch).

    `config.resume` continues from `out`/resume.pt, written after every epoch (with more epochs: the longer schedule
    goes on from the step reached). Under torchrun each process takes its share of every batch and gradients are
    averaged (DDP); only rank 0 validates and returns a history. The loss and sampling options are in losses.py and
    samplers.py; `config.bf16` runs the forward pass in bfloat16 autocast (weights and optimiser stay float32).
    """
    rank, world = distributed()
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    net = clf.net.to(device)
    for t in teachers or []:
        t.net.to(device).eval()
    steps = max(1, (config.epoch_size or len(train)) // config.batch_size)
    total_steps = config.epochs * steps
    size = clf.data_config.input_size  # x_train may be larger (distillation: the teachers' input size)
    opt = torch.optim.AdamW(clf.param_groups(config.lr, WEIGHT_DECAY))
    max_lrs = [g["lr"] for g in opt.param_groups]
    autocast, scaler = _precision(device, config.bf16)
    sampler = PersonSampler(train, config.hard_people, config.person_cap)
    wrapper = DistributedNet(net, device, world)
    progress, state = Progress(), None
    xt, yt = torch.as_tensor(x_train), torch.as_tensor(train.labels)
    recipe = run_recipe(clf, train, val, config)
    if config.resume and out is not None and (Path(out) / RESUME_FILE).exists():
        state = load_state(out)
        check_recipe(state, recipe, out)
        progress = restore(state, out, net, opt, gen)
        sampler.log_w = state.get("person_log_weights", sampler.log_w)
        log(f"resumed from {Path(out) / RESUME_FILE} after epoch {progress.epoch} (step {progress.step} of "
            f"{total_steps})")
    elif config.resume:
        log(f"--resume: no {Path(out or '.') / RESUME_FILE} to continue from, so training starts at epoch 1")
    ema = ModelEma(net, config.ema_decay, state.get("ema") if state else None) if config.ema_decay else None
    for epoch in range(progress.epoch + 1, config.epochs + 1):
        stage, model = clf.set_stage(epoch, config.epochs), wrapper.for_epoch()
        batches = sampler.draw(gen, steps, config.batch_size)[:, rank::world]  # same draws everywhere, own share
        tot_loss = tot_ok = seen = 0
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", leave=False, disable=rank != 0)
        for b in bar:
            x01 = augment(xt[b].permute(0, 3, 1, 2).float().div_(255.0), gen, config.aug_strength, config.glasses,
                          config.zoom_out)
            x01, y = x01.to(device), yt[b].to(device)
            with torch.autocast(**autocast):
                logits = model(clf.normalise(x01 if x01.shape[-1] == size else
                                             F.interpolate(x01, size=(size, size), mode="area"))).float()
                losses = per_image_loss(logits, y, clf.num_logits, config.label_smoothing)
                closed = clf.closed_logit(logits)
                loss = batch_loss(losses, closed, x01, epoch, config, teachers)
            set_step(opt, progress.step, total_steps, max_lrs)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            progress.step += 1
            if ema is not None:
                ema.update(net, progress.step)
            sampler.record(b, losses)
            tot_loss, seen = tot_loss + loss.item() * len(y), seen + len(y)
            tot_ok += int(((closed > 0).long() == y).sum())
            bar.set_postfix(loss=f"{tot_loss / seen:.4f}", acc=f"{tot_ok / seen:.4f}")
        sampler.end_epoch(world, device)
        progress.epoch, stop = epoch, False
        if rank == 0:  # per-epoch validation runs where the network is; calibration and the test run on the CPU
            kept = _averaged(clf, ema)  # what is validated and kept: the averaged weights with --ema
            row = {"epoch": epoch, "stage": stage, "train_loss": tot_loss / seen, "train_accuracy": tot_ok / seen,
                   **_validate(kept, x_val, val), "lr": one_cycle(progress.step, total_steps, max_lrs[-1])[0]}
            if sampler.hard_people:  # the people drawn most often from the next epoch on, with their sampling factor
                row["hard_people"] = sampler.hardest()
            stop = _end_epoch(kept, row, progress, config, out, log)
            if out is not None:
                save_state(out, net, opt, gen, progress, sampler.log_w, ema, recipe)
        if _stop_together(stop, world, device):
            break
    return _finish(net, progress)


def _end_epoch(kept: TorchClassifier, row: dict, progress: Progress, config: TrainConfig, out: Path | None,
               log) -> bool:
    """Record and log the epoch, keep the best weights (the average with --ema), also on disk; True to stop early."""
    progress.history.append(row)
    improved = progress.improve(row["val_score"], kept.net)
    log(f"epoch {row['epoch']} [{row['stage']}]: train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.4f} | "
        f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.4f} score {row['val_score']:.4f}"
        + (" *" if improved else ""))
    if improved and out is not None:  # keep the best weights on disk as training goes
        kept.save_pretrained(out)
    if progress.bad_epochs >= config.patience:
        log(f"early stop: no validation improvement for {config.patience} epochs")
        return True
    return False


def _finish(net: torch.nn.Module, progress: Progress) -> list[dict]:
    """Back to the CPU with the best epoch's weights, in eval mode; the history rows."""
    net.to("cpu")
    if progress.best_state is not None:
        net.load_state_dict(progress.best_state)
    net.eval()
    return progress.history
