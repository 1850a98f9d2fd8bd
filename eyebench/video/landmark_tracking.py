"""Eyes over video frames by MediaPipe landmarks: the face mesh every frame from the previous frame's face region,
face detection again only when the face is lost; level eye crops on the eye corners, eyelid opening and head pose.

Per frame: while a face is followed, the mesh runs on the region its last landmarks give (MediaPipe's tracking
rule); a mesh face score below MIN_FACE_SCORE means the face is lost, and the frame is searched again with both face
detectors (the largest face, or the face nearest the one followed). The eye boxes and crops come from the mesh's
eye corners as in a photo (faces.mesh_faces.cut_eyes), so a closed eye is cut where the open one was.
"""
from __future__ import annotations

import math

import numpy as np

from ..faces import finder_notice
from ..faces.landmarks import (
    MIN_FACE_SCORE,
    face_mesh,
    face_region_from_detection,
    face_region_from_mesh,
)
from ..faces.mesh_faces import cut_eyes, detect_faces, face_from_mesh
from .options import TrackerOptions
from .tracking import EyeTracker, FrameEyes, TrackedEye


def make_tracker(options: TrackerOptions | None = None):
    """The landmark tracker (MediaPipe), or the Haar tracker (video.tracking) where LiteRT cannot run."""
    return EyeTracker(options) if finder_notice() else LandmarkTracker(options)


class LandmarkTracker:
    """Feed frames in order with `update(rgb)`; each call returns that frame's `FrameEyes` (with head pose and
    eyelid openings)."""

    def __init__(self, options: TrackerOptions | None = None):
        self.options = options or TrackerOptions()
        self.region = None  # the face region for the next frame's mesh
        self.centre: tuple[float, float] | None = None  # where the followed face was
        self.frame = -1

    def update(self, rgb: np.ndarray) -> FrameEyes:
        """Mesh on the followed region (detection when there is none or the face was lost), then the eye crops."""
        self.frame += 1
        mesh, detected = None, False
        if self.region is not None:
            mesh, score = face_mesh(rgb, self.region)
            if score < MIN_FACE_SCORE:
                mesh = None
        if mesh is None:
            mesh, detected = self._detect(rgb), True
        if mesh is None:
            self.region, self.centre = None, None
            return FrameEyes([], 0.0, True)
        self.region = face_region_from_mesh(mesh)
        self.centre = (self.region.cx, self.region.cy)
        face = face_from_mesh(mesh, 1.0, rgb.shape)
        status = "detected" if detected else "tracked"
        eyes = []
        for cut in cut_eyes(rgb, face):  # the photo's rule: too small eyes give none, a profile its near eye
            eye = TrackedEye(cut.side, cut.region.cx, cut.region.cy, cut.region.side, status, cut.crop)
            eye.opening = cut.opening
            eyes.append(eye)
        return FrameEyes(eyes, face.pose.roll, detected, face.pose)

    def _detect(self, rgb: np.ndarray):
        """The mesh of the face to follow: the one nearest the face followed before, else the largest."""
        found = detect_faces(rgb)
        if self.centre is not None and len(found) > 1:
            cx, cy = self.centre
            found.sort(key=lambda d: math.hypot((d.box[0] + d.box[2]) / 2 - cx, (d.box[1] + d.box[3]) / 2 - cy))
        for d in found[:2]:
            mesh, score = face_mesh(rgb, face_region_from_detection(d.box, d.keypoints))
            if score >= MIN_FACE_SCORE:
                return mesh
        return None
