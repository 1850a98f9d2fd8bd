"""Faces and their eye crops by MediaPipe: BlazeFace boxes, the face mesh on each, crops cut on the eye corners."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..config import EYE_CROP_SCALE
from .detect import FULL_RANGE, SHORT_RANGE, FaceDetection, detect, iou
from .eyes import EyeBox, Face
from .landmarks import (
    EYE_CORNERS,
    MIN_FACE_SCORE,
    Region,
    eye_opening,
    eye_region,
    eyelid_contour,
    face_mesh,
    face_region_from_detection,
)
from .pose import head_pose

CROP_SCALE = EYE_CROP_SCALE  # the eye crop's side as a multiple of the eye-corner distance (config.py says why)
MIN_EYE_WIDTH = 6.0  # pixels between an eye's corners below which it is too small to classify
PROFILE_YAW = 50.0  # degrees of yaw beyond which the far eye is hidden: only the near one is answered
SAME_FACE_IOU = 0.3  # boxes of the two detectors overlapping by more are one face


def detect_faces(rgb: np.ndarray) -> list[FaceDetection]:
    """Faces by both BlazeFace models (short range for near faces, full range for small ones), one box per face,
    largest first."""
    found = sorted(detect(rgb, SHORT_RANGE) + detect(rgb, FULL_RANGE), key=lambda d: -d.score)
    kept: list[FaceDetection] = []
    for d in found:
        if not kept or iou(np.array(d.box), np.array([k.box for k in kept])).max() <= SAME_FACE_IOU:
            kept.append(d)
    return sorted(kept, key=lambda d: -(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))


def face_from_mesh(mesh: np.ndarray, score: float, shape: tuple) -> Face:
    """A Face from its landmarks: box around them (clipped to the picture), head pose, distance between the eyes."""
    h, w = shape[:2]
    x0, y0 = np.clip(mesh[:, :2].min(0), 0, [w - 1, h - 1]).astype(int)
    x1, y1 = np.clip(mesh[:, :2].max(0), 0, [w - 1, h - 1]).astype(int)
    centres = [mesh[list(EYE_CORNERS[s]), :2].mean(0) for s in ("right", "left")]
    return Face((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), score, mesh, head_pose(mesh),
                float(np.hypot(*(centres[1] - centres[0]))))


def find_faces(rgb: np.ndarray, max_faces: int) -> list[Face]:
    """The largest faces (at most `max_faces`) with their mesh and pose; detections the mesh rejects are dropped."""
    faces = []
    for d in detect_faces(rgb):
        mesh, score = face_mesh(rgb, face_region_from_detection(d.box, d.keypoints))
        if score >= MIN_FACE_SCORE:
            faces.append(face_from_mesh(mesh, d.score, rgb.shape))
        if len(faces) == max_faces:
            break
    return faces


def eye_width(mesh: np.ndarray, side: str) -> float:
    """Pixels between one eye's corners."""
    a, b = (mesh[i, :2] for i in EYE_CORNERS[side])
    return float(np.hypot(*(a - b)))


def visible_sides(face: Face) -> tuple[str, ...]:
    """The eyes of a face to answer for: both, or only the near one of a profile face (|yaw| > PROFILE_YAW)."""
    if face.pose and abs(face.pose.yaw) > PROFILE_YAW:
        # turned toward the picture's right (yaw > 0), the face's picture-right side, its left eye, is the far one
        return ("right",) if face.pose.yaw > 0 else ("left",)
    return ("right", "left")


def eye_crop(rgb: np.ndarray, mesh: np.ndarray, side: str, scale: float = CROP_SCALE) -> tuple[np.ndarray, Region]:
    """One eye's square crop, level with its corners, `scale` x their distance wide; and the region it came from."""
    region = eye_region(mesh, side, scale)
    side_px = max(8, int(round(region.side)))
    return region.crop(rgb, side_px), region


@dataclasses.dataclass
class EyeCut:
    """One eye cut from a face's landmarks: side, its level crop, the region it came from, eyelid contour and
    opening."""

    side: str
    crop: np.ndarray
    region: Region
    contour: np.ndarray
    opening: float


def cut_eyes(rgb: np.ndarray, face: Face, scale: float = CROP_SCALE) -> list[EyeCut]:
    """The eyes of one face to classify (photos and video alike): none, with `face.note` set, when they are too small;
    only the near one of a profile face (noted); each cut level on its corners, with its eyelid opening."""
    widths = {s: eye_width(face.mesh, s) for s in visible_sides(face)}
    if max(widths.values()) < MIN_EYE_WIDTH:
        face.note = f"eyes too small ({max(widths.values()):.0f} px wide, {MIN_EYE_WIDTH:.0f} needed)"
        return []
    if len(widths) == 1:
        face.note = f"profile (yaw {face.pose.yaw:+.0f}): only the near eye"
    cuts = []
    for side in widths:
        crop, region = eye_crop(rgb, face.mesh, side, scale)
        contour = eyelid_contour(rgb, face.mesh, side)
        cuts.append(EyeCut(side, crop, region, contour, eye_opening(contour)))
    return sorted(cuts, key=lambda c: c.region.cx)


def face_eyes(rgb: np.ndarray, face: Face, index: int, scale: float = CROP_SCALE) -> list[EyeBox]:
    """The eye crops of one face as boxes of the picture (picture order), each with its eyelid opening."""
    eyes = []
    for cut in cut_eyes(rgb, face, scale):
        half, size = cut.region.side / 2, int(round(cut.region.side))
        x, y = int(round(cut.region.cx - half)), int(round(cut.region.cy - half))
        eyes.append(EyeBox(x, y, size, size, cut.side, cut.crop, index, cut.opening, cut.contour))
    return eyes
