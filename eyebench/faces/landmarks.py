"""The face mesh (468 landmarks) on a rotated face region, and the iris model's eyelid contour on an eye region."""
from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from .runtime import run_model

MESH_FILE, MESH_SIZE = "face_landmark.tflite", 192
IRIS_FILE, IRIS_SIZE = "iris_landmark.tflite", 64
FACE_SCALE = 1.5  # MediaPipe's face region: 1.5 x the detection box (or the landmarks' extent), square
EYE_SCALE = 2.3  # MediaPipe's eye region for the iris model: 2.3 x the eye-corner distance, square
MIN_FACE_SCORE = 0.5  # the mesh's face-presence score below which the region holds no face
# eye corners in the mesh, per person's side: (outer, inner); the person's right eye is on the picture's left
EYE_CORNERS = {"right": (33, 133), "left": (263, 362)}


@dataclasses.dataclass(frozen=True)
class Region:
    """A square region of a picture: centre, side (pixels) and angle (radians) of its x axis in the picture."""

    cx: float
    cy: float
    side: float
    angle: float

    def to_picture(self, size: int) -> np.ndarray:
        """The 2x3 affine map from a size x size crop of this region to picture pixels."""
        c, s, k = math.cos(self.angle), math.sin(self.angle), self.side / size
        return np.array([[c * k, -s * k, self.cx - (c - s) * k * size / 2],
                         [s * k, c * k, self.cy - (s + c) * k * size / 2]])

    def crop(self, rgb: np.ndarray, size: int, flip: bool = False) -> np.ndarray:
        """The region cut out as a size x size RGB picture (its x axis level); mirrored when `flip`."""
        out = cv2.warpAffine(rgb, self.to_picture(size), (size, size), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        return out[:, ::-1] if flip else out

    def points_to_picture(self, points: np.ndarray, size: int, flip: bool = False) -> np.ndarray:
        """Crop coordinates (n, 2+) of a size x size crop to picture pixels (x, y); z scaled like x and y."""
        pts = np.array(points, dtype=np.float64)
        if flip:
            pts[:, 0] = size - pts[:, 0]
        affine = self.to_picture(size)
        xy = pts[:, :2] @ affine[:, :2].T + affine[:, 2]
        if pts.shape[1] > 2:
            return np.column_stack([xy, pts[:, 2] * self.side / size])
        return xy


def region_from_points(points: np.ndarray, start: np.ndarray, end: np.ndarray, scale: float) -> Region:
    """A square region around points (their box's centre, its longer side x scale), turned so that the line from
    `start` to `end` is its x axis (MediaPipe's rect-from-detection/landmarks rule)."""
    x0, y0 = points[:, :2].min(0)
    x1, y1 = points[:, :2].max(0)
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    return Region((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * scale, angle)


def face_region_from_detection(box, keypoints: np.ndarray) -> Region:
    """The mesh's input region for a detected face: the box 1.5x, turned by the line from its right to left eye."""
    x0, y0, x1, y1 = box
    angle = math.atan2(keypoints[1][1] - keypoints[0][1], keypoints[1][0] - keypoints[0][0])
    return Region((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * FACE_SCALE, angle)


def face_region_from_mesh(mesh: np.ndarray) -> Region:
    """The next frame's mesh region from this frame's landmarks (eye corners 33 and 263 give the turn)."""
    return region_from_points(mesh, mesh[33], mesh[263], FACE_SCALE)


def face_mesh(rgb: np.ndarray, region: Region) -> tuple[np.ndarray, float]:
    """The 468 landmarks (x, y, z) in picture pixels of the face in `region`, and the face-presence score."""
    crop = region.crop(rgb, MESH_SIZE).astype(np.float32) / 255.0
    points, flag = run_model(MESH_FILE, crop[None])
    score = 1 / (1 + math.exp(-float(np.clip(flag.ravel()[0], -50, 50))))
    return region.points_to_picture(points.reshape(468, 3), MESH_SIZE), score


def eye_region(mesh: np.ndarray, side: str, scale: float = EYE_SCALE) -> Region:
    """A square region on one eye's corners (centred between them, `scale` x their distance), level with them; its
    x axis runs from the picture-left corner to the picture-right one."""
    a, b = (mesh[i, :2] for i in EYE_CORNERS[side])
    left, right = (a, b) if a[0] <= b[0] else (b, a)
    width = float(np.hypot(*(right - left)))
    angle = math.atan2(right[1] - left[1], right[0] - left[0])
    return Region(float(a[0] + b[0]) / 2, float(a[1] + b[1]) / 2, width * scale, angle)


# the iris model's first 16 contour points are the eyelids: 0 and 8 the corners, 1-7 the lower lid, 9-15 the upper
# lid (9 over 1 ... 15 over 7), for an eye seen as the person's right eye (the left one is mirrored first)
LOWER_LID, UPPER_LID = range(1, 8), range(9, 16)


def eyelid_contour(rgb: np.ndarray, mesh: np.ndarray, side: str) -> np.ndarray:
    """The iris model's 16 eyelid points (x, y) in picture pixels for one eye, from its crop at the mesh's corners
    (the person's left eye mirrored, as MediaPipe runs it)."""
    region = eye_region(mesh, side)
    flip = side == "left"
    crop = region.crop(rgb, IRIS_SIZE, flip=flip).astype(np.float32) / 127.5 - 1.0
    contour, _iris = run_model(IRIS_FILE, crop[None])
    return region.points_to_picture(contour.reshape(71, 3)[:16, :2], IRIS_SIZE, flip=flip)


def eyelid_contour_of_crop(rgb_crop: np.ndarray) -> np.ndarray:
    """The iris model's 16 eyelid points in a crop that shows one eye framed as the iris model expects (crop pixels)."""
    region = Region(rgb_crop.shape[1] / 2, rgb_crop.shape[0] / 2, float(max(rgb_crop.shape[:2])), 0.0)
    crop = region.crop(rgb_crop, IRIS_SIZE).astype(np.float32) / 127.5 - 1.0
    contour, _iris = run_model(IRIS_FILE, crop[None])
    return region.points_to_picture(contour.reshape(71, 3)[:16, :2], IRIS_SIZE)


def eye_opening(contour: np.ndarray) -> float:
    """Eyelid opening: the mean distance between matching upper and lower lid points (the middle five pairs) over
    the corner distance; an eye aspect ratio in the sense of Soukupova and Cech (2016)."""
    width = float(np.hypot(*(contour[8] - contour[0])))
    gaps = [np.hypot(*(contour[u] - contour[d])) for d, u in zip(LOWER_LID, UPPER_LID)][1:6]
    return float(np.mean(gaps)) / max(width, 1e-6)
