"""Occlusion maps: how much p(target) drops when each patch of the input is greyed out (any classifier)."""
from __future__ import annotations

import numpy as np

from .normalise import normalise_map


def occlusion_map(clf, image: np.ndarray, target: int | None = None, patch: int = 12, stride: int = 4) -> np.ndarray:
    """(H, W) map in [0, 1]: the drop in p(target) when a patch centred there is replaced by the mean."""
    base = clf.prepare([image])[0]
    p0 = clf.proba_prepared(base[None])[0]
    target = int(p0[1] >= 0.5) if target is None else target
    size = base.shape[0]
    fill = base.mean(axis=(0, 1), keepdims=True).astype(np.uint8)
    starts = range(0, size - patch + 1, stride)
    variants, boxes = [], []
    for y in starts:
        for x in starts:
            v = base.copy()
            v[y:y + patch, x:x + patch] = fill
            variants.append(v)
            boxes.append((y, x))
    drops = p0[target] - clf.proba_prepared(np.stack(variants))[:, target]
    heat, count = np.zeros((size, size)), np.zeros((size, size))
    for (y, x), d in zip(boxes, drops):
        heat[y:y + patch, x:x + patch] += max(d, 0.0)
        count[y:y + patch, x:x + patch] += 1
    return normalise_map(heat / np.maximum(count, 1), np.asarray(image).shape[:2])
