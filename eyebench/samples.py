"""Make the project's own sample images: crops of scikit-image's public-domain astronaut and rendered eyes."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from .config import CLASS_NAMES, CLOSED, OPEN


def render_eye(label: int, size: int = 88, seed: int = 0, rgb: bool = False) -> np.ndarray:
    """A synthetic eye crop (uint8): an open eye (sclera, iris, pupil, glint) or a closed lid with lashes."""
    rng = np.random.default_rng(seed)
    skin = rng.uniform(120, 190)
    yy, xx = np.mgrid[0:size, 0:size]
    img = skin + 25 * (yy / size - 0.5) + rng.normal(0, 4, (size, size))
    cx, cy = size / 2 + rng.uniform(-4, 4), size / 2 + rng.uniform(-4, 4)
    w, h = size * rng.uniform(0.32, 0.4), size * rng.uniform(0.14, 0.2)
    c, s = (int(cx), int(cy)), (int(w), int(h))
    brow_y = int(cy - size * 0.3)
    cv2.ellipse(img, (int(cx), brow_y + 10), (int(w * 1.1), 10), 0, 200, 340, skin - 70, 5)
    if label == OPEN:
        cv2.ellipse(img, c, s, 0, 0, 360, min(235, skin + 55), -1)
        r = int(h * rng.uniform(0.95, 1.15))
        cv2.circle(img, c, r, rng.uniform(40, 90), -1)
        cv2.circle(img, c, max(2, r // 2), 15, -1)
        cv2.circle(img, (c[0] + r // 3, c[1] - r // 3), max(1, r // 5), 245, -1)
        cv2.ellipse(img, c, s, 0, 180, 360, skin - 80, 3)
        cv2.ellipse(img, c, s, 0, 0, 180, skin - 40, 2)
    else:
        cv2.ellipse(img, (c[0], c[1] - int(h * 0.3)), (s[0], int(h * 0.6)), 0, 0, 180, skin - 85, 3)
        for t in np.linspace(0.2, 0.8, 7):
            x0 = int(cx - w + 2 * w * t)
            y0 = int(cy - h * 0.3 + np.sin(np.pi * t) * h * 0.6)
            cv2.line(img, (x0, y0), (x0 + int(rng.uniform(-3, 3)), y0 + 6), skin - 90, 1)
    img = cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (3, 3), 0)
    if rgb:
        tint = np.array([1.0, 0.85, 0.75])
        img = np.clip(img[:, :, None] * tint[None, None, :], 0, 255).astype(np.uint8)
    return img


def make_samples(out_dir) -> list[dict]:
    """Write sample images plus `samples.json` (file, label or null, provenance) into `out_dir`."""
    from skimage import data

    from .faces import find_eyes

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []

    def save(name: str, image: np.ndarray, label: int | None, provenance: str):
        arr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(out / name), arr)
        rows.append({"file": name, "label": None if label is None else CLASS_NAMES[label], "provenance": provenance})

    astro = data.astronaut()
    src = "scikit-image `data.astronaut()` (NASA photo of Eileen Collins, public domain)"
    face = astro[30:300, 120:360]
    save("astronaut_face.jpg", face, None, f"{src}, cropped to the face; full-face input for eye detection")
    for eye in find_eyes(astro):
        save(f"astronaut_eye_{eye.side}_open.png", eye.crop, OPEN, f"{src}, eye cut by eyebench.faces.find_eyes")
    for i in range(2):
        save(f"synthetic_open_{i}.png", render_eye(OPEN, seed=10 + i, rgb=bool(i)), OPEN,
             "rendered by eyebench.samples.render_eye (synthetic drawing)")
        save(f"synthetic_closed_{i}.png", render_eye(CLOSED, seed=20 + i, rgb=bool(i)), CLOSED,
             "rendered by eyebench.samples.render_eye (synthetic drawing)")
    (out / "samples.json").write_text(json.dumps(rows, indent=1) + "\n")
    return rows
