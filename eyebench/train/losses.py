"""Training losses: per-image BCE/CE with label smoothing, loss truncation (--drop-hardest) and distillation."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import TrainConfig


def per_image_loss(logits: torch.Tensor, y: torch.Tensor, num_logits: int, label_smoothing: float) -> torch.Tensor:
    """Each image's loss: BCE on one closed logit or CE on two, toward e/2 and 1 - e/2 with label smoothing e."""
    if num_logits == 1:
        target = y.float() * (1 - label_smoothing) + label_smoothing / 2
        return F.binary_cross_entropy_with_logits(logits[:, 0], target, reduction="none")
    return F.cross_entropy(logits, y, label_smoothing=label_smoothing, reduction="none")


def truncated_mean(losses: torch.Tensor, drop: float) -> torch.Tensor:
    """Mean of the losses without the highest `drop` share of them (loss truncation against noisy labels)."""
    k = int(len(losses) * drop)
    return losses.mean() if k == 0 else torch.topk(losses, len(losses) - k, largest=False).values.mean()


def drop_share(drop_hardest: float, epoch: int, epochs: int) -> float:
    """--drop-hardest's share at this epoch: ramped in linearly over the first sixth of the epochs."""
    return drop_hardest * min(1.0, epoch / max(1, epochs // 6))


def distill_loss(student_logit: torch.Tensor, teacher_logit: torch.Tensor, T: float) -> torch.Tensor:
    """Soft-target loss between closed-vs-open logits at temperature T (scaled by T^2, Hinton et al.)."""
    soft = torch.sigmoid(teacher_logit / T)
    return F.binary_cross_entropy_with_logits(student_logit / T, soft) * T * T


def teacher_logits(teachers: list, x01: torch.Tensor) -> torch.Tensor:
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


def batch_loss(losses: torch.Tensor, closed_logit: torch.Tensor, x01: torch.Tensor, epoch: int, config: TrainConfig,
               teachers: list | None = None) -> torch.Tensor:
    """The loss a step minimises: the mean per-image loss (without the hardest share with --drop-hardest), mixed
    with the distillation loss toward the teachers' logits when there are teachers."""
    loss = truncated_mean(losses, drop_share(config.drop_hardest, epoch, config.epochs))
    if not teachers:
        return loss
    kd = distill_loss(closed_logit, teacher_logits(teachers, x01), config.kd_temperature)
    return config.kd_alpha * kd + (1 - config.kd_alpha) * loss
