"""Deletion sanity score: how fast the predicted class's probability falls as the most salient pixels are removed."""
from __future__ import annotations

import cv2
import numpy as np


def deletion_curve(clf, image: np.ndarray, heat: np.ndarray, steps: int = 10) -> dict:
    """Remove pixels (set to the image mean) in order of saliency; p(target) after each step and its area.

    A lower area means the map found pixels the model really relies on; compare with a random order.
    """
    batch = clf.prepare([image])[0]
    size = batch.shape[0]
    h = cv2.resize(np.asarray(heat, np.float32), (size, size)).ravel()
    p0 = clf.proba_prepared(batch[None])[0]
    target = int(p0[1] >= 0.5)
    fill = batch.mean(axis=(0, 1)).astype(np.uint8)

    def curve(order: np.ndarray) -> list[float]:
        variants = []
        for k in range(steps + 1):
            v = batch.reshape(-1, batch.shape[2]).copy()
            v[order[: int(len(order) * k / steps)]] = fill
            variants.append(v.reshape(batch.shape))
        return clf.proba_prepared(np.stack(variants))[:, target].tolist()

    salient = curve(np.argsort(-h, kind="stable"))
    rand = curve(np.random.default_rng(0).permutation(len(h)))
    return {"target": target, "fractions": [k / steps for k in range(steps + 1)], "saliency": salient,
            "random": rand, "auc_saliency": float(np.mean(salient)), "auc_random": float(np.mean(rand))}
