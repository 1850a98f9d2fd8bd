"""Find eyes in a face or scene photo with OpenCV Haar cascades and cut square eye crops."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

_CASCADES: dict[str, cv2.CascadeClassifier] = {}
EYE_CROP_MIN = 32  # images smaller than this (both sides) are treated as an eye crop already


def _cascade(name: str) -> cv2.CascadeClassifier:
    if name not in _CASCADES:
        path = cv2.data.haarcascades + name
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError(f"OpenCV Haar cascade {name} is missing (opencv-python-headless<5 ships them)")
        _CASCADES[name] = cascade
    return _CASCADES[name]


@dataclasses.dataclass
class EyeBox:
    """One eye found in a picture: box (x, y, w, h) in picture pixels, which eye, and the crop (RGB)."""

    x: int
    y: int
    w: int
    h: int
    side: str  # "left"/"right" as seen in the picture, or "crop" when the input was already an eye crop
    crop: np.ndarray


def _boxes(gray: np.ndarray, cascade: str, min_size: int, **kw) -> list[tuple[int, int, int, int]]:
    found = _cascade(cascade).detectMultiScale(gray, scaleFactor=1.1, minNeighbors=kw.get("neighbors", 5),
                                               minSize=(min_size, min_size))
    return [tuple(int(v) for v in b) for b in (found if len(found) else [])]


def _square_crop(rgb: np.ndarray, x: int, y: int, w: int, h: int, pad: float = 0.15) -> tuple[np.ndarray, tuple]:
    side = int(max(w, h) * (1 + 2 * pad))
    cx, cy = x + w // 2, y + h // 2
    x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
    x1, y1 = min(rgb.shape[1], x0 + side), min(rgb.shape[0], y0 + side)
    return rgb[y0:y1, x0:x1].copy(), (x0, y0, x1 - x0, y1 - y0)


def find_eyes(rgb: np.ndarray, max_faces: int = 4) -> list[EyeBox]:
    """Eye crops in an RGB picture: faces first, then eyes (plain and glasses cascades) in each face's upper half.

    A small or eye-sized picture (no face found and the picture looks like a crop) is returned whole as
    one crop; an empty list means no eye was found.
    """
    rgb = np.asarray(rgb)
    gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb)
    h, w = gray.shape
    if max(h, w) <= 160 or (0.6 < w / h < 1.7 and max(h, w) <= 240 and not _boxes(gray, "haarcascade_frontalface_default.xml", 60)):
        return [EyeBox(0, 0, w, h, "crop", rgb)]
    eyes: list[EyeBox] = []
    faces = sorted(_boxes(gray, "haarcascade_frontalface_default.xml", max(40, min(h, w) // 10)),
                   key=lambda b: -b[2] * b[3])[:max_faces]
    for fx, fy, fw, fh in faces:
        top = gray[fy:fy + int(fh * 0.6), fx:fx + fw]
        found = _boxes(top, "haarcascade_eye.xml", max(8, fw // 10))
        found += _boxes(top, "haarcascade_eye_tree_eyeglasses.xml", max(8, fw // 10))
        found = _dedupe(found)
        found = sorted(found, key=lambda b: -b[2] * b[3])[:2]
        for ex, ey, ew, eh in sorted(found, key=lambda b: b[0]):
            crop, (cx, cy, cw, ch) = _square_crop(rgb, fx + ex, fy + ey, ew, eh)
            side = "right" if (ex + ew / 2) < fw / 2 else "left"  # the person's right eye is on the picture's left
            eyes.append(EyeBox(cx, cy, cw, ch, side, crop))
    return eyes


def _dedupe(boxes: list[tuple], iou_max: float = 0.3) -> list[tuple]:
    kept: list[tuple] = []
    for b in sorted(boxes, key=lambda b: -b[2] * b[3]):
        if all(_iou(b, k) <= iou_max for k in kept):
            kept.append(b)
    return kept


def _iou(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / float(aw * ah + bw * bh - inter)


def draw_eyes(rgb: np.ndarray, eyes: list[EyeBox], labels: list[str] | None = None) -> np.ndarray:
    """A copy of the picture with each eye's box (and label) drawn on it."""
    out = np.ascontiguousarray(np.asarray(rgb).copy())
    for i, e in enumerate(eyes):
        if e.side == "crop":
            continue
        colour = (40, 200, 80)
        if labels and "closed" in labels[i]:
            colour = (230, 60, 60)
        thick = max(1, out.shape[1] // 300)
        cv2.rectangle(out, (e.x, e.y), (e.x + e.w, e.y + e.h), colour, thick)
        if labels:
            cv2.putText(out, labels[i], (e.x, max(12, e.y - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                        max(0.4, out.shape[1] / 1200), colour, thick, cv2.LINE_AA)
    return out
