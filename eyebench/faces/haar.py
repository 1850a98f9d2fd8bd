"""The fallback eye finder: OpenCV Haar cascades (faces, eyes, tilted faces), and the close-up-of-one-eye test."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from .eyes import EyeBox, EyeSearch

_CASCADES: dict[str, cv2.CascadeClassifier] = {}


def _cascade(name: str) -> cv2.CascadeClassifier:
    if name not in _CASCADES:
        path = cv2.data.haarcascades + name
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError(f"OpenCV Haar cascade {name} is missing (opencv-python-headless<5 ships them)")
        _CASCADES[name] = cascade
    return _CASCADES[name]


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


FACE_CASCADE = "haarcascade_frontalface_default.xml"
EYE_CASCADES = ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml")
# where the eyes sit in a Haar face box (centre x, centre y, width as shares of the face box): used when the eye
# cascades find nothing in a face, as happens with closed eyes
EYES_IN_FACE = ((0.30, 0.38), (0.70, 0.38))
EYE_SHARE_OF_FACE = 0.28


CLEAR_FACE_VOTES = 15  # overlapping face detections that make a face clear enough to place its eyes by geometry
# (real faces gave 23-44 in the tests, false faces in close-ups of one eye 6-8)
CLOSE_UP_MAX_SIDE, CLOSE_UP_ASPECT = 400, (0.8, 2.5)  # size and width/height of a typical close-up of one eye


def haar_search(rgb: np.ndarray, gray: np.ndarray, max_faces: int) -> EyeSearch:
    """Eyes in faces by the Haar cascades (placed by the face's geometry when the eye cascades find none in a clear
    face), then in faces tilted by about TILTS_DEG either way (eyes the eye detector sees only); `gray` equalised."""
    search = _eyes_of_faces(rgb, gray, _faces(gray, max_faces))
    for tilt in TILTS_DEG if not search.eyes else ():  # the face detector misses faces tilted beyond about 20 degrees
        # only faces whose eyes the eye detector saw: eyes placed by geometry in a turned picture were false faces
        # (a cat, a coffee cup) in the tests; of a face found both ways, the clearer one
        found = [t for t in (_tilted_search(rgb, gray, roll, max_faces) for roll in (tilt, -tilt))
                 if t.eyes and not t.placed]
        if found:
            return max(found, key=lambda t: t.votes)
    return search


def close_up_reason(gray: np.ndarray) -> str:
    """Why a picture without a face looks like a close-up of one eye, or "" when it does not."""
    h, w = gray.shape
    scale = min(1.0, 320 / max(h, w))
    small = cv2.resize(gray, (max(1, int(w * scale)), max(1, int(h * scale)))) if scale < 1 else gray
    sh, sw = small.shape
    weak = [b for name in EYE_CASCADES for b in _boxes(small, name, max(8, min(sh, sw) // 6), neighbors=1)]
    if any(bw * bh >= 0.12 * sw * sh for _, _, bw, bh in weak):
        return "an eye detection covers much of it"
    if max(h, w) <= CLOSE_UP_MAX_SIDE and CLOSE_UP_ASPECT[0] <= w / h <= CLOSE_UP_ASPECT[1]:
        return f"its size, {w}x{h}, and shape"
    return ""


def _faces(gray: np.ndarray, max_faces: int) -> list[tuple[tuple, int]]:
    """The largest faces (box, how many overlapping detections confirm it), at most `max_faces`."""
    h, w = gray.shape
    size = max(40, min(h, w) // 10)
    boxes, votes = _cascade(FACE_CASCADE).detectMultiScale2(gray, scaleFactor=1.1, minNeighbors=5, minSize=(size, size))
    found = [(tuple(int(v) for v in b), int(n)) for b, n in zip(boxes, np.ravel(votes))] if len(boxes) else []
    return sorted(found, key=lambda f: -f[0][2] * f[0][3])[:max_faces]


TILTS_DEG = (25.0, 40.0)  # head tilts tried (each way), in this order, when the upright picture shows no face


def _tilted_search(rgb: np.ndarray, gray: np.ndarray, roll: float, max_faces: int) -> EyeSearch:
    """The eyes of faces tilted by `roll` degrees: looked for in the picture turned upright by that angle, each crop
    cut there (level, as the models were trained), each box placed back on the picture around its eye's centre."""
    h, w = gray.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), roll, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    big_w, big_h = int(h * sin + w * cos), int(h * cos + w * sin)  # the whole picture stays in the turned canvas
    turn[:, 2] += (big_w - w) / 2, (big_h - h) / 2
    upright = cv2.warpAffine(gray, turn, (big_w, big_h), borderMode=cv2.BORDER_REPLICATE)
    found = _eyes_of_faces(cv2.warpAffine(rgb, turn, (big_w, big_h), borderMode=cv2.BORDER_REPLICATE), upright,
                           _faces(upright, max_faces))
    back = cv2.invertAffineTransform(turn)
    eyes = []
    for e in found.eyes:
        cx, cy = back @ np.array([e.x + e.w / 2, e.y + e.h / 2, 1.0])
        x, y = int(np.clip(cx - e.w / 2, 0, w - 1)), int(np.clip(cy - e.h / 2, 0, h - 1))
        eyes.append(EyeBox(x, y, min(e.w, w - x), min(e.h, h - y), e.side, e.crop, e.face))
    tilted = f"found in a face tilted by about {abs(roll):g} degrees (each cut level)."
    message = found.message.replace("found.", tilted, 1)
    return EyeSearch(eyes, "faces", message, found.placed, found.votes, finder="haar")


def _eyes_of_faces(rgb: np.ndarray, gray: np.ndarray, faces: list[tuple[tuple, int]]) -> EyeSearch:
    """The eyes of each face: found by the eye cascades, else placed by the geometry of a clear face (a face with
    few detections and no eye in it is taken for a false one: close-ups of one eye can look like a small face)."""
    eyes, placed = [], 0
    for i, (face, votes) in enumerate(faces):
        found = _eyes_in_face(rgb, gray, face)
        if not found and votes >= CLEAR_FACE_VOTES:
            found = _eyes_from_face_geometry(rgb, face)
            placed += len(found)
        eyes += [dataclasses.replace(e, face=i) for e in found]
    message = f"{len(eyes)} eye(s) found."
    if placed:
        message += (f" {placed} of them placed where eyes sit in the face: the eye detector found none there "
                    "(it often misses closed eyes).")
    return EyeSearch(eyes, "faces", message, placed, max([v for _, v in faces], default=0), finder="haar")


def _eyes_in_face(rgb: np.ndarray, gray: np.ndarray, face: tuple) -> list[EyeBox]:
    """The (at most two) eyes the eye cascades find in the upper part of one face, left to right in the picture."""
    fx, fy, fw, fh = face
    top = gray[fy:fy + int(fh * 0.6), fx:fx + fw]
    found = _dedupe([b for name in EYE_CASCADES for b in _boxes(top, name, max(8, fw // 10))])
    found = sorted(found, key=lambda b: -b[2] * b[3])[:2]
    eyes = []
    for ex, ey, ew, eh in sorted(found, key=lambda b: b[0]):
        eyes.append(_eye_box(rgb, fx + ex, fy + ey, ew, eh, _side(ex + ew / 2, fw)))
    return eyes


def _eyes_from_face_geometry(rgb: np.ndarray, face: tuple) -> list[EyeBox]:
    """Both eyes of a face placed by where eyes sit in a Haar face box."""
    fx, fy, fw, fh = face
    side = int(fw * EYE_SHARE_OF_FACE)
    return [_eye_box(rgb, int(fx + cx * fw - side / 2), int(fy + cy * fh - side / 2), side, side, _side(cx * fw, fw))
            for cx, cy in EYES_IN_FACE]


def _side(centre_x: float, face_width: float) -> str:
    return "right" if centre_x < face_width / 2 else "left"  # the person's right eye is on the picture's left


def _eye_box(rgb: np.ndarray, x: int, y: int, w: int, h: int, side: str) -> EyeBox:
    crop, (cx, cy, cw, ch) = _square_crop(rgb, x, y, w, h)
    return EyeBox(cx, cy, cw, ch, side, crop)


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
