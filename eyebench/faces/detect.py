"""BlazeFace face detection (MediaPipe's short- and full-range models): anchors, decoding, weighted box merging."""
from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np

from .runtime import run_model


@dataclasses.dataclass(frozen=True)
class DetectorSpec:
    """One BlazeFace model: its file, input side, anchor layout and score threshold (MediaPipe's graph options)."""

    file: str
    size: int
    grids: tuple[tuple[int, int], ...]  # (feature-map side, anchors per cell), in the model's output order
    min_score: float


SHORT_RANGE = DetectorSpec("face_detection_short_range.tflite", 128, ((16, 2), (8, 6)), 0.5)
FULL_RANGE = DetectorSpec("face_detection_full_range_sparse.tflite", 192, ((48, 1),), 0.6)
MERGE_IOU = 0.3  # MediaPipe's min_suppression_threshold for the weighted merge of overlapping boxes


@dataclasses.dataclass
class FaceDetection:
    """A face box (x0, y0, x1, y1) in picture pixels, its six keypoints (right eye, left eye, nose tip, mouth centre,
    right ear, left ear: the person's sides) as a (6, 2) array, and its score."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float


@functools.cache
def anchors(spec: DetectorSpec) -> np.ndarray:
    """Anchor centres (n, 2) in [0, 1]: every cell of each feature map, row by row, each repeated per anchor (the
    anchors have a fixed unit size, so only centres matter)."""
    centres = []
    for side, per_cell in spec.grids:
        ys, xs = np.mgrid[0:side, 0:side]
        cells = np.stack([(xs.ravel() + 0.5) / side, (ys.ravel() + 0.5) / side], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """The picture scaled to fit a size x size square, centred on black; with the scale and the pad (x, y) used."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.zeros((size, size, 3), np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    out[py:py + nh, px:px + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else
                                             cv2.INTER_LINEAR)
    return out, scale, px, py


def detect(rgb: np.ndarray, spec: DetectorSpec, min_score: float | None = None) -> list[FaceDetection]:
    """The faces one BlazeFace model finds in an RGB picture (letterboxed to its input), merged, best first."""
    square, scale, px, py = letterbox(rgb, spec.size)
    regressors, scores = run_model(spec.file, (square.astype(np.float32) / 127.5 - 1.0)[None])
    raw, logit = regressors[0], np.clip(scores[0, :, 0].astype(np.float64), -100, 100)
    score = 1 / (1 + np.exp(-logit))
    keep = score >= (spec.min_score if min_score is None else min_score)
    if not keep.any():
        return []
    a, raw, score = anchors(spec)[keep], raw[keep] / spec.size, score[keep]
    cx, cy = raw[:, 0] + a[:, 0], raw[:, 1] + a[:, 1]
    boxes = np.stack([cx - raw[:, 2] / 2, cy - raw[:, 3] / 2, cx + raw[:, 2] / 2, cy + raw[:, 3] / 2], axis=1)
    points = raw[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    found = []
    for box, pts, s in merge(boxes, points, score):  # back from the letterbox to picture pixels
        box = (box * spec.size - [px, py, px, py]) / scale
        found.append(FaceDetection(tuple(float(v) for v in box), (pts * spec.size - [px, py]) / scale, float(s)))
    return found


def merge(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: each cluster of boxes overlapping the best remaining one by more
    than MERGE_IOU becomes their score-weighted mean (keypoints too), keeping the best score."""
    order = list(np.argsort(-scores))
    out = []
    while order:
        best = order[0]
        overlap = iou(boxes[best], boxes[order])
        cluster = [i for i, o in zip(order, overlap) if o > MERGE_IOU]
        w = scores[cluster][:, None]
        out.append(((boxes[cluster] * w).sum(0) / w.sum(), (points[cluster] * w[:, :, None]).sum(0) / w.sum(),
                    float(scores[best])))
        order = [i for i, o in zip(order, overlap) if o <= MERGE_IOU]
    return out


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one (x0, y0, x1, y1) box with each of (n, 4) others."""
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1]) + (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area - inter, 1e-9)
