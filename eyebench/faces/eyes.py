"""What a face search gives: faces (box, landmarks, head pose), their eye crops, a message; and drawing them."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np


@dataclasses.dataclass
class EyeBox:
    """One eye found in a picture: box (x, y, w, h) in picture pixels, which eye, and the crop (RGB)."""

    x: int
    y: int
    w: int
    h: int
    side: str  # "left"/"right" (the person's), or "crop" when the input was already an eye crop
    crop: np.ndarray
    face: int = 0  # which face it belongs to: 0 the largest, 1 the next, ...
    opening: float | None = None  # eyelid opening (iris model's lid height / eye width), when landmarks gave it
    contour: np.ndarray | None = None  # the iris model's 16 eyelid points (x, y) in picture pixels


@dataclasses.dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees: yaw > 0 turned toward the picture's right, pitch > 0 looking up, roll > 0 the eye
    line sloping down to the picture's right."""

    yaw: float
    pitch: float
    roll: float

    def describe(self) -> str:
        """'yaw +12, pitch -3, roll +5 degrees'."""
        return f"yaw {self.yaw:+.0f}, pitch {self.pitch:+.0f}, roll {self.roll:+.0f} degrees"


@dataclasses.dataclass
class Face:
    """One face: box (x, y, w, h), detector score, the 468 mesh landmarks (x, y, z; None for a Haar face), head
    pose, distance between the eye centres (pixels) and a note when its eyes are not classified (too small, ...)."""

    box: tuple[int, int, int, int]
    score: float
    mesh: np.ndarray | None = None
    pose: HeadPose | None = None
    eye_distance: float = 0.0
    note: str = ""


@dataclasses.dataclass
class EyeSearch:
    """The eyes to classify in a picture and a sentence for the user saying how they were found."""

    eyes: list[EyeBox]
    how: str  # "faces"; whole image: "crop" (eye-crop sized), "close-up", "doubt" or "forced" (asked for); "none"
    message: str
    placed: int = 0  # eyes placed by the face's geometry (Haar fallback; weaker evidence than eyes found)
    votes: int = 0  # Haar detections confirming the clearest face (the fallback's confidence)
    faces: list[Face] = dataclasses.field(default_factory=list)
    finder: str = "mediapipe"  # "mediapipe" (face detection and landmarks) or "haar" (the fallback)


WHOLE_IMAGE_HINT = ("To classify it anyway, tick 'treat the whole image as one eye crop' (app) or pass --whole-image "
                    "(command line).")
LESS_RELIABLE = ("Eyes were found with OpenCV's Haar cascades because the MediaPipe face models cannot run here "
                 "({why}); answers on faces are less reliable.")
MESH_EDGES = ((33, 133), (263, 362), (1, 152), (10, 152), (61, 291), (234, 454))  # a light sketch of the mesh


def _fitted_scale(text: str, width: float, most: float) -> float:
    """The font scale at which `text` is about `width` pixels wide, at most `most` (labels stay over their box)."""
    (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1)
    return max(0.3, min(most, width / max(w, 1)))


def draw_eyes(rgb: np.ndarray, eyes: list[EyeBox], labels: list[str] | None = None,
              faces: list[Face] | None = None) -> np.ndarray:
    """A copy of the picture with each face's box, landmarks (lightly) and pose, and each eye's box and label (text
    sized to its box, so that the labels of small faces do not run into each other)."""
    out = np.ascontiguousarray(np.asarray(rgb).copy())
    thick = max(1, out.shape[1] // 300)
    most = max(0.4, out.shape[1] / 1200)
    for face in faces or []:
        x, y, w, h = face.box
        cv2.rectangle(out, (x, y), (x + w, y + h), (250, 200, 40), thick)
        if face.mesh is not None:
            for px, py in face.mesh[::3, :2].astype(int):
                cv2.circle(out, (int(px), int(py)), max(1, thick // 2), (200, 200, 255), -1)
        text = face.note or (face.pose.describe().replace(" degrees", "") if face.pose else "")
        if text:
            scale = _fitted_scale(text, 1.3 * w, most)
            cv2.putText(out, text, (x, min(out.shape[0] - 4, y + h + int(22 * scale) + 4)), cv2.FONT_HERSHEY_SIMPLEX,
                        scale, (250, 200, 40), max(1, int(thick * scale / most)), cv2.LINE_AA)
    for i, e in enumerate(eyes):
        if e.side == "crop":
            continue
        colour = (230, 60, 60) if labels and "closed" in labels[i] else (40, 200, 80)
        cv2.rectangle(out, (e.x, e.y), (e.x + e.w, e.y + e.h), colour, thick)
        if labels:
            scale = _fitted_scale(labels[i], 1.1 * e.w, most)
            cv2.putText(out, labels[i], (e.x, max(12, e.y - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour,
                        max(1, int(thick * scale / most)), cv2.LINE_AA)
    return out
