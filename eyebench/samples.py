"""Make the project's own sample images: crops of scikit-image's public-domain astronaut, drawn and rendered eyes."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from .config import CLASS_NAMES
from .results import EyeState


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
    if label == EyeState.OPEN:
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


def _smooth_noise(rng, h: int, w: int, sigma: float) -> np.ndarray:
    """Gaussian-blurred noise with unit spread: skin texture at the scale `sigma` (pixels)."""
    n = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    return n / (n.std() + 1e-6)


def _blend(img: np.ndarray, mask: np.ndarray, colour, alpha: float = 1.0) -> None:
    """Paint `colour` over `img` in place where `mask` (0-1) is set."""
    m = np.clip(mask, 0, 1)[..., None] * alpha
    img[:] = img * (1 - m) + np.asarray(colour, np.float32) * m


def _curve(h: int, w: int, xs, ys, thickness: int, blur: float) -> np.ndarray:
    """A soft 0-1 mask of the polyline (xs, ys)."""
    m = np.zeros((h, w), np.float32)
    cv2.polylines(m, [np.stack([xs, ys], 1).astype(np.int32)], False, 1.0, thickness, cv2.LINE_AA)
    return cv2.GaussianBlur(m, (0, 0), blur) if blur else m


def _hairs(layer: np.ndarray, rng, roots, angle, length, bend) -> None:
    """Draw one gently curved hair per root (x, y) into `layer`: an angle, a length and a bend each."""
    for (x0, y0), a, ln, b in zip(roots, angle, length, bend):
        pts = [(x0 + ln * k / 4 * np.cos(a + b * k / 4), y0 + ln * k / 4 * np.sin(a + b * k / 4)) for k in range(5)]
        cv2.polylines(layer, [np.array(pts, np.int32)], False, float(rng.uniform(0.6, 1.0)), 1, cv2.LINE_AA)


def _lashes(h: int, w: int, rng, xs, line, cx: float, ew: float, down: bool, n: int) -> np.ndarray:
    """A lid margin along `line` and `n` lashes fanning out towards the corners (down for a closed lid)."""
    layer = _curve(h, w, xs[3:-3], line[3:-3], 2, 0.7)
    u = rng.uniform(0.05, 0.97, n)
    x0 = cx - ew + 2 * ew * u
    spread = (u - 0.45) * 1.5
    angle = (np.pi / 2 - spread if down else -np.pi / 2 + spread) + rng.normal(0, 0.12, n)
    length = (6 + 14 * np.sin(np.pi * u) ** 0.6) * rng.uniform(0.7, 1.15, n) * w / 320
    bend = rng.uniform(0.1, 0.3, n) * np.sign(spread + 1e-3) * (1 if down else -1)
    _hairs(layer, rng, zip(x0, np.interp(x0, xs, line)), angle, length, bend)
    return np.clip(cv2.GaussianBlur(layer, (0, 0), 0.5), 0, 1)


def _face_skin(rng, h: int, w: int, cx: float, cy: float, ew: float, eh: float, xs, tilt) -> np.ndarray:
    """Lit, textured skin with the eye socket's shadow, the upper-lid crease and an eyebrow of single hairs."""
    skin = np.array([rng.uniform(200, 228), rng.uniform(150, 178), rng.uniform(125, 150)], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 + 0.10 * (0.5 - xx / w) + 0.08 * (0.5 - yy / h)  # light from the upper left
    texture = 1 + sum(a * _smooth_noise(rng, h, w, s) for a, s in ((0.025, 30), (0.012, 3), (0.01, 0.8)))
    img = skin[None, None, :] * (light * texture)[..., None]
    socket = np.exp(-(((xx - cx) / (1.45 * ew)) ** 2 + ((yy - cy + 0.3 * eh) / (2.6 * eh)) ** 2))
    inner = np.exp(-(((xx - (cx - 1.05 * ew)) / (0.25 * ew)) ** 2 + ((yy - cy) / (1.2 * eh)) ** 2))
    lid = np.exp(-(((xx - cx) / (0.7 * ew)) ** 2 + ((yy - (cy - 0.8 * eh)) / (0.55 * eh)) ** 2))
    img *= ((1 - 0.13 * socket) * (1 - 0.12 * inner) * (1 + 0.07 * lid))[..., None]
    t = np.linspace(0, 1, len(xs))
    crease = cy - 1.55 * eh + tilt - 0.5 * eh * np.sin(np.pi * t) ** 0.9
    keep = (t > 0.12) & (t < 0.95)
    img *= (1 - 0.22 * _curve(h, w, xs[keep], crease[keep], 3, 2.5))[..., None]
    brow, n = cy - rng.uniform(2.9, 3.2) * eh, int(1400 * w / 320)
    u = rng.uniform(0, 1, n) ** 0.9
    roots = zip(cx - 1.15 * ew + 2.4 * ew * u, brow - 0.9 * eh * np.sin(np.pi * np.minimum(1, u * 1.1))
                + rng.normal(0, 1, n) * 0.32 * eh * (1.2 - np.abs(u - 0.45)))
    layer = np.zeros((h, w), np.float32)  # inner hairs point up, outer ones lie along the brow
    _hairs(layer, rng, roots, np.deg2rad(-60 + 75 * u + rng.normal(0, 12, n)), rng.uniform(7, 16, n) * w / 320,
           np.zeros(n))
    hair = (rng.uniform(55, 80), rng.uniform(38, 52), rng.uniform(28, 38))
    _blend(img, np.clip(cv2.GaussianBlur(layer, (0, 0), 0.6), 0, 1), hair, 0.85)
    return img


def _closed_lid(img: np.ndarray, rng, xs, tilt, cx: float, cy: float, ew: float, eh: float) -> None:
    """A closed eye: the lid bulging over the eyeball, a downward-curved lash line, lashes and the shadow under them."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.linspace(0, 1, len(xs))
    line = cy + 0.4 * eh * np.sin(np.pi * t) ** 1.3 + tilt
    bulge = np.exp(-(((xx - cx) / (0.85 * ew)) ** 2 + ((yy - (cy - 0.45 * eh)) / (0.9 * eh)) ** 2))
    across = np.exp(-((xx - cx) / (0.95 * ew)) ** 6)
    gap = np.interp(xx, xs, line) - yy  # > 0 above the lash line
    above = cv2.GaussianBlur(np.exp(-np.clip(gap, 0, None) / (0.3 * eh)), (0, 0), 1)
    under = cv2.GaussianBlur((np.exp(gap / (0.35 * eh)) * (gap < 0) * across).astype(np.float32), (0, 0), 2)
    img *= ((1 + 0.05 * bulge) * (1 - 0.18 * across * above) * (1 - 0.2 * under))[..., None]
    _blend(img, _lashes(h, w, rng, xs, line, cx, ew, down=True, n=int(170 * w / 320)), (30, 22, 20), 0.95)


def _open_eye(img: np.ndarray, rng, xs, tilt, cx: float, cy: float, ew: float, eh: float) -> None:
    """An open eye: shaded sclera, a textured iris with pupil and catchlight, lashes above, the lower lid's rim."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.linspace(0, 1, len(xs))
    up, lo = cy - eh * np.sin(np.pi * t) ** 0.75 + tilt, cy + 0.75 * eh * np.sin(np.pi * t) ** 1.2 + tilt
    eye = np.zeros((h, w), np.uint8)
    cv2.fillPoly(eye, [np.concatenate([np.stack([xs, up], 1), np.stack([xs, lo], 1)[::-1]]).astype(np.int32)], 1)
    opening = cv2.GaussianBlur(eye.astype(np.float32), (0, 0), 0.8)
    sclera = np.array([235, 228, 222], np.float32) * (1 - 0.25 * np.exp(-((yy - (cy - eh)) / (0.6 * eh)) ** 2))[..., None]
    corner = np.exp(-(((xx - (cx - 0.95 * ew)) / (0.12 * ew)) ** 2 + ((yy - cy) / (0.4 * eh)) ** 2))[..., None]
    _blend(img, opening, sclera * (1 - 0.2 * corner) + np.array([200, 110, 110], np.float32) * 0.2 * corner)
    ix, iy, r = cx + rng.uniform(-0.08, 0.08) * ew, cy - 0.1 * eh, 1.05 * eh
    d = np.hypot(xx - ix, yy - iy)
    streaks = 1 + 0.18 * np.cos(np.arctan2(yy - iy, xx - ix) * 37 + 3 * _smooth_noise(rng, h, w, 3))
    iris = np.array([rng.uniform(70, 110), rng.uniform(45, 70), rng.uniform(25, 40)], np.float32)
    _blend(img, np.clip(r - d, 0, 1) * opening, iris * (streaks * (1 - 0.45 * (d / r) ** 3))[..., None])
    _blend(img, np.clip(0.42 * r - d, 0, 1) * opening, (12, 10, 10))
    _blend(img, np.clip(0.13 * r - np.hypot(xx - ix - 0.3 * r, yy - iy + 0.3 * r), 0, 1), (250, 250, 250), 0.9)
    _blend(img, _lashes(h, w, rng, xs, up, cx, ew, down=False, n=int(120 * w / 320)), (30, 22, 20), 0.95)
    _blend(img, _curve(h, w, xs[10:-10], lo[10:-10] + 1, 1, 0.8), (120, 80, 70), 0.5)


def render_eye_photo(label: int, width: int = 320, height: int = 256, seed: int = 0) -> np.ndarray:
    """A colour close-up of one eye (RGB uint8) rendered like a photograph: lit skin with texture, an eyebrow of
    single hairs, the socket's shadow and the lid crease, and an open eye (sclera, iris, pupil, catchlight, lashes)
    or a closed one (lid, downward-curved lash line, lashes, shadow under them); light sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    cx, cy = w * rng.uniform(0.47, 0.53), h * rng.uniform(0.6, 0.64)
    ew, eh = w * rng.uniform(0.27, 0.31), h * rng.uniform(0.12, 0.15)  # half the eye's width, half its opening
    t = np.linspace(0, 1, 200)
    xs, tilt = cx - ew + 2 * ew * t, -0.12 * eh * (t - 0.5)  # the outer corner (right) a little higher
    img = _face_skin(rng, h, w, cx, cy, ew, eh, xs, tilt)
    (_closed_lid if label == EyeState.CLOSED else _open_eye)(img, rng, xs, tilt, cx, cy, ew, eh)
    img = cv2.GaussianBlur(img, (0, 0), 0.7) + rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


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
        save(f"astronaut_eye_{eye.side}_open.png", eye.crop, EyeState.OPEN, f"{src}, eye cut by eyebench.faces.find_eyes")
    drawing = "drawn by eyebench.samples.render_eye: a simple synthetic drawing (ellipses and lines), not photo-like"
    for i in range(2):
        save(f"synthetic_open_{i}.png", render_eye(EyeState.OPEN, seed=10 + i, rgb=bool(i)), EyeState.OPEN, drawing)
        save(f"synthetic_closed_{i}.png", render_eye(EyeState.CLOSED, seed=20 + i, rgb=bool(i)), EyeState.CLOSED, drawing)
    for label, seed in CLOSE_UPS:
        name = CLASS_NAMES[label]
        save(f"closeup_{name}_0.png", render_eye_photo(label, seed=seed), label,
             f"rendered by eyebench.samples.render_eye_photo({name} eye, 320x256, seed {seed}): a colour close-up of "
             "one eye drawn like a photograph (lit, textured skin, eyebrow hairs, lid crease, lashes"
             + (", the closed lid's downward-curved lash line and the shadow under it" if label == EyeState.CLOSED else
                ", sclera, iris, pupil and catchlight") + "); a rendering, not a photograph of a person")
    (out / "samples.json").write_text(json.dumps(rows, indent=1) + "\n")
    return rows


CLOSE_UPS = ((EyeState.CLOSED, 1), (EyeState.OPEN, 2))  # (label, seed) of the rendered close-ups in sample_images/
