"""A committee's map: the weighted mean of its members' maps (each member explained by its own family's method)."""
from __future__ import annotations

import numpy as np

from .normalise import normalise_map


def weighted_map(maps: list[np.ndarray], weights) -> np.ndarray:
    """The members' [0, 1] maps averaged with the shares |w_i| / sum |w|, scaled back to [0, 1]."""
    w = np.abs(np.asarray(weights, dtype=np.float64))
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    heat = sum(wi * np.asarray(m, np.float64) for wi, m in zip(w, maps))
    return normalise_map(heat, maps[0].shape[:2])
