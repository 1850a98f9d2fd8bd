"""The one-cycle learning rate and AdamW beta1 as pure functions of the global step (OneCycleLR's cosine curves)."""
from __future__ import annotations

import math

WARMUP = 0.2  # share of the steps the learning rate rises over
DIV_FACTOR, FINAL_DIV_FACTOR = 25.0, 1e4  # start at max_lr / 25, end at max_lr / 25 / 1e4
MAX_BETA1, BASE_BETA1 = 0.95, 0.85  # beta1 falls while the learning rate rises, and rises again


def warmup_fraction(total_steps: int, pct: float = WARMUP) -> float:
    """The warm-up share; nudged where pct * total_steps == 1, which would put the peak at step 0 (0 / 0)."""
    return pct if abs(pct * total_steps - 1.0) > 1e-9 else 1.25 * pct


def _cos(start: float, end: float, pct: float) -> float:
    """Cosine from `start` to `end` as pct goes from 0 to 1 (the arithmetic of torch's OneCycleLR, to the bit)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def one_cycle(step: int, total_steps: int, max_lr: float) -> tuple[float, float]:
    """(learning rate, AdamW beta1) after `step` of `total_steps` optimiser steps: warm-up, then cosine decay."""
    initial = max_lr / DIV_FACTOR
    peak = float(warmup_fraction(total_steps) * total_steps) - 1
    if step <= peak:
        pct = step / peak
        return _cos(initial, max_lr, pct), _cos(MAX_BETA1, BASE_BETA1, pct)
    pct = (step - peak) / (total_steps - 1 - peak)
    return _cos(max_lr, initial / FINAL_DIV_FACTOR, pct), _cos(BASE_BETA1, MAX_BETA1, pct)


def set_step(optimizer, step: int, total_steps: int, max_lrs: list[float]) -> None:
    """Give every parameter group its learning rate and beta1 for `step` (each group peaks at its own max_lr)."""
    for group, max_lr in zip(optimizer.param_groups, max_lrs):
        group["lr"], beta1 = one_cycle(step, total_steps, max_lr)
        group["betas"] = (beta1, *group["betas"][1:])
