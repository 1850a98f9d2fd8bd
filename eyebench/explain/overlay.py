"""Draw an explanation map over its image (RGB, JET colours) and encode images for HTML."""
from __future__ import annotations

import base64

import cv2
import numpy as np


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """RGB uint8 image with a [0, 1] map blended on top (red = most important)."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    rgb = np.repeat(img[:, :, None], 3, axis=2) if img.ndim == 2 else img[:, :, :3]
    heat = cv2.resize(np.asarray(heat, np.float32), (rgb.shape[1], rgb.shape[0]))
    colour = cv2.cvtColor(cv2.applyColorMap(np.uint8(255 * np.clip(heat, 0, 1)), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return np.clip((1 - alpha) * rgb.astype(np.float32) + alpha * colour, 0, 255).astype(np.uint8)


def png_data_uri(rgb: np.ndarray, size: int | None = None) -> str:
    """A `data:image/png;base64,...` URI for embedding an RGB image in HTML."""
    img = np.asarray(rgb)
    if size:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_NEAREST if img.shape[0] < size else cv2.INTER_AREA)
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    ok, buf = cv2.imencode(".png", bgr)
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode()
