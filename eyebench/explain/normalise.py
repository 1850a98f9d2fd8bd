"""Scale any raw map (Grad-CAM, occlusion drops, feature contributions) to the input's (H, W) and to [0, 1]."""
from __future__ import annotations

import cv2
import numpy as np


def normalise_map(heat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a map to (H, W) and scale it to [0, 1] (all zeros stays zeros)."""
    heat = cv2.resize(np.asarray(heat, np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    heat -= heat.min()
    peak = heat.max()
    return (heat / peak if peak > 0 else heat).astype(np.float32)
