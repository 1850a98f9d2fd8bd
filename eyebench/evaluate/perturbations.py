"""Controlled perturbations of real eye crops: rotation, yaw warp, glasses and glare, blur, light, noise, JPEG, scale, framing."""
from __future__ import annotations

import cv2
import numpy as np

from ..data.images import frame as framing

ANGLE_NOTE = ("The sweeps simulate head angle by warping real crops (in-plane rotation and a perspective warp "
              "approximating yaw); measured angles appear as subsets when the data has them: a manifest's angle "
              "column, or head_yaw and head_pitch from face photos (their head pose, from the face landmarks).")


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """In-plane rotation about the centre, borders replicated."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)  # pixel centres run 0 .. w - 1
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def yaw(img: np.ndarray, degrees: float) -> np.ndarray:
    """Perspective warp approximating a head turn: width shrinks by cos, the far side shrinks in height."""
    h, w = img.shape[:2]
    t = np.radians(abs(degrees))
    half = w / 2 * np.cos(t)
    far = h / 2 * (1 - 0.35 * np.sin(t))
    cx, cy = w / 2, h / 2
    near_x, far_x = (cx - half, cx + half) if degrees >= 0 else (cx + half, cx - half)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]]) if degrees >= 0 else np.float32([[w, 0], [0, 0], [0, h], [w, h]])
    dst = np.float32([[near_x, 0], [far_x, cy - far], [far_x, cy + far], [near_x, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def glasses(img: np.ndarray, level: int) -> np.ndarray:
    """0 none, 1 frame, 2 frame + small lens glare, 3 frame + big glare (the infrared failure case)."""
    out = img.copy()
    if level <= 0:
        return out
    h, w = img.shape[:2]
    thick = max(2, w // 22)
    dark = (25,) * (3 if out.ndim == 3 else 1)
    cv2.ellipse(out, (w // 2, h // 2), (int(w * 0.47), int(h * 0.36)), 0, 0, 360, dark, thick)  # lens rim
    cv2.line(out, (0, int(h * 0.3)), (int(w * 0.06), int(h * 0.34)), dark, thick)  # temple / bridge stub
    if level >= 2:
        r = (max(2, w // 14), max(2, h // 10)) if level == 2 else (max(3, w // 6), max(3, h // 5))
        glare = np.zeros(img.shape[:2], np.float32)
        cv2.ellipse(glare, (int(w * 0.62), int(h * 0.4)), r, -20, 0, 360, 1.0, -1)
        glare = cv2.GaussianBlur(glare, (0, 0), max(1, w / 40))
        glare = glare[:, :, None] if out.ndim == 3 else glare
        out = np.clip(out.astype(np.float32) * (1 - glare) + 250 * glare, 0, 255).astype(np.uint8)
    return out


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return img.copy() if sigma <= 0 else cv2.GaussianBlur(img, (0, 0), sigma)


def gamma(img: np.ndarray, g: float) -> np.ndarray:
    """Brightness by gamma: g < 1 brightens, g > 1 darkens."""
    lut = np.clip(255 * (np.arange(256) / 255.0) ** g, 0, 255).astype(np.uint8)
    return lut[img]


def noise(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Additive Gaussian noise with standard deviation `sigma` grey levels (seeded per call)."""
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return dec.reshape(img.shape)


def downscale(img: np.ndarray, side: int) -> np.ndarray:
    """Shrink to `side` pixels and back (a far-away or low-resolution eye)."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(img.shape)


SWEEPS: dict[str, tuple[callable, list]] = {
    "rotation_deg": (rotate, [-45, -30, -15, 0, 15, 30, 45]),
    "yaw_deg": (yaw, [-40, -20, 0, 20, 40]),
    "glasses": (glasses, [0, 1, 2, 3]),
    "blur_sigma": (blur, [0, 1, 2, 4]),
    "gamma": (gamma, [0.4, 0.7, 1.0, 1.5, 2.5]),
    "noise_sigma": (noise, [0, 8, 16, 32]),
    "jpeg_quality": (jpeg, [95, 50, 20, 10]),
    "downscale_px": (downscale, [96, 32, 24, 16]),
    "framing": (framing, [0.6, 0.8, 1.0, 1.25, 1.5]),
}
GLASSES_LEVELS = {0: "none", 1: "frame", 2: "frame + small glare", 3: "frame + big glare"}


def perturb_batch(images: np.ndarray, sweep: str, level) -> np.ndarray:
    """Apply one sweep level to every image of a uint8 batch (n, H, W[, C])."""
    fn = SWEEPS[sweep][0]
    if sweep == "noise_sigma":
        return np.stack([fn(im, level, seed=i) for i, im in enumerate(images)])
    return np.stack([fn(im, level) for im in images])
