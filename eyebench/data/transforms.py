"""Batched training augmentations for eye crops on uint8 tensors (flip, affine, framing, photometric, blur, noise, erasing, glasses)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..config import ZOOM_OUT_RANGE


def augment(x: torch.Tensor, generator: torch.Generator, strength: float = 1.0, glasses: float = 0.0,
            zoom_out: float = 0.0) -> torch.Tensor:
    """(n, C, H, W) float in [0, 1] -> augmented copy in [0, 1]; `strength` scales every range.

    `glasses` is the share of images that get synthetic glasses (frame edge + infrared glare spots) and `zoom_out` the
    share framed wider (the eye shrunk to ZOOM_OUT_RANGE of its size, the border filled with the crop's edge pixels);
    0 draws nothing, so runs without them are unchanged.
    """
    n, c, h, w = x.shape
    g, s = generator, strength

    def u(lo, hi, size=(n,)):
        return lo + (hi - lo) * torch.rand(size, generator=g)

    flip = torch.rand(n, generator=g) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    # small rotation, scale and shift (the crop detector is never perfectly centred)
    angle = u(-15, 15) * s * math.pi / 180
    scale = 1 + u(-0.12, 0.12) * s
    if zoom_out > 0:
        wider = torch.rand(n, generator=g) < zoom_out
        scale = torch.where(wider, scale * u(*ZOOM_OUT_RANGE), scale)
    tx, ty = u(-0.08, 0.08) * s, u(-0.08, 0.08) * s
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # low resolution (webcam eyes are often 20-30 px): downscale then upscale
    low = torch.rand(n, generator=g) < 0.3 * s
    if low.any():
        side = int(torch.randint(12, max(13, h // 2), (1,), generator=g))
        small = F.interpolate(x[low], size=(side, side), mode="area")
        x[low] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    # blur
    blur = torch.rand(n, generator=g) < 0.2 * s
    if blur.any():
        k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
        k2 = (k[:, None] * k[None, :] / 256.0).expand(c, 1, 5, 5)
        x[blur] = F.conv2d(F.pad(x[blur], (2, 2, 2, 2), mode="replicate"), k2, groups=c)
    # brightness, contrast, gamma
    gamma = torch.exp(u(-0.4, 0.4) * s).view(n, 1, 1, 1)
    x = x.clamp(1e-4, 1).pow(gamma)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + u(-0.35, 0.35) * s).view(n, 1, 1, 1) + mean + (u(-0.15, 0.15) * s).view(n, 1, 1, 1)
    # sensor noise
    noisy = (torch.rand(n, generator=g) < 0.3 * s).view(n, 1, 1, 1)
    x = x + noisy * torch.randn(x.shape, generator=g) * u(0.01, 0.06).view(n, 1, 1, 1)
    # random erasing of a small box (occlusion by glasses frames, hair, glare)
    erase = torch.rand(n, generator=g) < 0.25 * s
    for i in torch.nonzero(erase).flatten().tolist():
        eh, ew = int(torch.randint(h // 8, h // 3, (1,), generator=g)), int(torch.randint(w // 8, w // 3, (1,), generator=g))
        y0, x0 = int(torch.randint(0, h - eh, (1,), generator=g)), int(torch.randint(0, w - ew, (1,), generator=g))
        x[i, :, y0:y0 + eh, x0:x0 + ew] = torch.rand(1, generator=g)
    if glasses > 0:
        x = add_glasses(x.clamp(0, 1), torch.rand(n, generator=g) < glasses, g)
    return x.clamp(0, 1)


def add_glasses(x: torch.Tensor, chosen: torch.Tensor, generator: torch.Generator, spots: int = 3) -> torch.Tensor:
    """Synthetic glasses on the chosen images: a dark curved frame edge and 1-`spots` saturated glare spots."""
    n, _, h, w = x.shape
    g = generator

    def u(lo, hi):
        return (lo + (hi - lo) * torch.rand(n, generator=g)).view(n, 1, 1, 1)

    yy, xx = torch.linspace(0, 1, h).view(1, 1, h, 1), torch.linspace(0, 1, w).view(1, 1, 1, w)
    # frame: a parabola y = y0 + bend * (x - 0.5)^2 (rim above or below the eye), darkened with soft edges
    edge = yy - u(0.05, 0.95) - u(-0.8, 0.8) * (xx - 0.5) ** 2
    frame = (1 - edge.abs() / u(0.015, 0.04)).clamp(0, 1) * (torch.rand(n, generator=g) < 0.7).view(n, 1, 1, 1)
    framed = x * (1 - frame * u(0.3, 0.7))
    # glare: slightly wide ellipses whose cores saturate (infrared reflections on the lenses)
    light = torch.zeros(n, 1, h, w)
    count = torch.randint(1, spots + 1, (n,), generator=g).view(n, 1, 1, 1)
    for k in range(spots):
        sy = u(0.015, 0.06)
        d2 = ((yy - u(0.2, 0.8)) / sy) ** 2 + ((xx - u(0.1, 0.9)) / (sy * u(1.0, 1.8))) ** 2
        light = torch.maximum(light, (u(1.0, 2.5) * torch.exp(-d2 / 2)).clamp(max=1) * (k < count))
    return torch.where(chosen.view(n, 1, 1, 1), 1 - (1 - framed) * (1 - light), x)
