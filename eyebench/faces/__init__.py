"""A picture -> faces -> landmarks -> level eye crops (+ head pose): the one rule for which parts are classified."""
from __future__ import annotations

import cv2
import numpy as np

from .eyes import (
    LESS_RELIABLE,
    WHOLE_IMAGE_HINT,
    EyeBox,
    EyeSearch,
    Face,
    HeadPose,
    draw_eyes,
)
from .haar import close_up_reason, haar_search
from .mesh_faces import CROP_SCALE, face_eyes, find_faces
from .runtime import litert_problem

__all__ = ["EyeBox", "EyeSearch", "Face", "HeadPose", "draw_eyes", "find_eyes", "locate_eyes", "finder_notice"]

CROP_MAX_SIDE = 160  # a picture no larger than this is an eye crop already
UNIFORM_STD = 3.0  # grey-level spread below which a picture shows nothing to classify
MAX_FACES = 8  # faces answered in one picture (the largest)


def finder_notice() -> str:
    """'' when eyes are found with MediaPipe; else the notice that the Haar fallback is in use, and why."""
    why = litert_problem()
    return LESS_RELIABLE.format(why=why) if why else ""


def locate_eyes(rgb: np.ndarray, whole_image: bool = False, max_faces: int = MAX_FACES,
                crop_scale: float = CROP_SCALE) -> EyeSearch:
    """The one rule, shared by the app, the CLI and video, for which parts of a picture are classified as eyes.

    `whole_image`: the picture is one eye crop. Otherwise a nearly uniform picture is refused and a picture of eye-crop
    size (<= CROP_MAX_SIDE px) is one crop. Else faces are found (MediaPipe face detection and mesh; OpenCV Haar
    cascades, with a notice, where LiteRT cannot run) and each face's eyes are cut level on their corners. Only when
    no face is found is the whole picture classified as one eye, saying why it looks like a close-up of one eye or, in
    doubt, that it may not be one; faces whose eyes are too small are reported, not classified whole. `crop_scale`:
    each eye crop's side as a multiple of its eye-corner distance.
    """
    rgb = np.asarray(rgb)
    h, w = rgb.shape[:2]
    whole = [EyeBox(0, 0, w, h, "crop", rgb)]
    if whole_image:
        return EyeSearch(whole, "forced", "Classified the whole image as one eye crop, as asked (no eye detection).")
    plain = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    if float(plain.std()) < UNIFORM_STD:  # also a blank eye-sized picture: no model answer means anything there
        return EyeSearch([], "none", "No eye found in this picture: it is nearly uniform (no face, no eye). "
                                     + WHOLE_IMAGE_HINT)
    if max(h, w) <= CROP_MAX_SIDE:
        return EyeSearch(whole, "crop", "Classified the whole image as one eye crop.")
    notice = finder_notice()
    if notice:
        search = haar_search(rgb, cv2.equalizeHist(plain), max_faces)
        search.message = f"{search.message} {notice}" if search.eyes else search.message
        tried = "the Haar face and eye cascades"
    else:
        search = mesh_search(rgb, max_faces, crop_scale)
        tried = "MediaPipe face detection (near and far faces)"
    if search.eyes or search.faces:
        return search
    reason = close_up_reason(plain)
    if reason:
        return EyeSearch(whole, "close-up", f"No face found; the picture looks like a close-up of one eye ({reason}): "
                                            "classified the whole image as one eye crop.", finder=search.finder)
    return EyeSearch(whole, "doubt", f"Not sure this is one eye: {tried} found no face, and the picture does not look "
                                     "like a close-up of one eye, so the whole image was classified as one eye crop "
                                     "anyway. The answer means something only if the picture shows a single eye.",
                     finder=search.finder)


def mesh_search(rgb: np.ndarray, max_faces: int, crop_scale: float = CROP_SCALE) -> EyeSearch:
    """The eyes of every face MediaPipe finds (largest first), with a message saying what was found per face."""
    colour = rgb if rgb.ndim == 3 else cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    faces = find_faces(colour, max_faces)
    eyes = []
    for i, face in enumerate(faces):
        for eye in face_eyes(colour, face, i, crop_scale):
            if rgb.ndim == 2:
                eye.crop = eye.crop[..., 0]
            eyes.append(eye)
    if not faces:
        return EyeSearch([], "faces", "No face found.")
    message = f"{len(eyes)} eye(s) found in {len(faces)} face(s)."
    notes = [f"face {i + 1}: {f.note}" for i, f in enumerate(faces) if f.note]
    if notes:
        message += " " + "; ".join(notes) + "."
    return EyeSearch(eyes, "faces", message, faces=faces)


def find_eyes(rgb: np.ndarray, max_faces: int = MAX_FACES) -> list[EyeBox]:
    """Eye crops in an RGB picture by `locate_eyes`' rule; an empty list means no eye was found."""
    return locate_eyes(rgb, max_faces=max_faces).eyes
