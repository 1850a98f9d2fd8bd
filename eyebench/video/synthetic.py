"""Videos made in code: eye crops pasted into a face picture on a known open / half / closed schedule, with head roll
and frames without a face (the tests' ground truth and `bench`'s 640x480 input)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np

from ..errors import EyebenchError
from ..faces import find_eyes
from ..results import EyeState

OPEN, HALF, CLOSED, NO_FACE = "open", "half", "closed", "none"
FRAME_SIZE = (640, 480)  # width, height


@dataclasses.dataclass
class Schedule:
    """What each frame shows: the eye state ("open", "half", "closed" or "none" for no face) and the head roll."""

    states: list[str]
    rolls: list[float]
    fps: float

    def closures(self) -> list[tuple[int, int]]:
        """(first, last) frame of each run of closed frames (half-closed frames are transitions, not closed)."""
        closed = np.array([s == CLOSED for s in self.states], np.int8)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], closed, [0]])))
        return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]

    def perclos(self) -> float:
        """Closed frames / frames with a face (half-closed frames count as not closed)."""
        with_face = [s for s in self.states if s != NO_FACE]
        return sum(s == CLOSED for s in with_face) / len(with_face)


def blink_schedule(n_frames: int, fps: float, closures: list[tuple[int, int]], half_before: int = 1,
                   half_after: int = 1, squints: tuple[tuple[int, int], ...] = (), no_face: tuple[int, ...] = (),
                   roll_deg: float = 0.0, roll_period_s: float = 4.0) -> Schedule:
    """`closures` as (first frame, closed frames), each with `half_before` half-closed frames before it and
    `half_after` after it; `squints` (first frame, frames) half-closed only; `no_face` frames show no face; the head
    rolls between -roll_deg and +roll_deg with the given period."""
    states = [OPEN] * n_frames
    for start, length in squints:
        states[start:start + length] = [HALF] * len(states[start:start + length])
    for start, length in closures:
        for i in range(max(0, start - half_before), min(n_frames, start + length + half_after)):
            states[i] = CLOSED if start <= i < start + length else HALF
    for i in no_face:
        states[i] = NO_FACE
    rolls = [roll_deg * float(np.sin(2 * np.pi * i / (fps * roll_period_s))) for i in range(n_frames)]
    return Schedule(states, rolls, fps)


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image[:, :, :3]


class FaceScene:
    """A face picture placed in a frame; `render(state, roll)` pastes that state's eye crops into its eye boxes."""

    def __init__(self, face_rgb: np.ndarray, crops: dict[str, tuple[np.ndarray, np.ndarray]],
                 frame_size: tuple[int, int] = FRAME_SIZE, face_height: float = 0.9, paste_scale: float = 1.0):
        """`crops`: {"open": (right, left), "closed": (...), ["half": (...)]} eye crops (gray or RGB) of the person's
        right eye (the picture's left) and left eye; a missing "half" is the average of open and closed."""
        w, h = frame_size
        scale = face_height * h / face_rgb.shape[0]
        face = cv2.resize(_rgb(face_rgb), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        fh, fw = face.shape[:2]
        self.origin = ((w - fw) // 2, (h - fh) // 2)
        self.background = np.full((h, w, 3), 96, np.uint8)
        self.background[:, :, 2] = 120
        self.base = self.background.copy()
        self.base[self.origin[1]:self.origin[1] + fh, self.origin[0]:self.origin[0] + fw] = face
        eyes = {e.side: e for e in find_eyes(_rgb(face_rgb), max_faces=1)}
        if set(eyes) != {"right", "left"}:
            raise EyebenchError("the face picture must show two eyes that faces.find_eyes finds")
        self.boxes = {s: _scaled_box((e.x * scale + self.origin[0], e.y * scale + self.origin[1], e.w * scale,
                                      e.h * scale), paste_scale) for s, e in eyes.items()}
        crops = dict(crops)
        if HALF not in crops:
            crops[HALF] = tuple(cv2.addWeighted(_rgb(o), 0.5, cv2.resize(_rgb(c), _rgb(o).shape[1::-1]), 0.5, 0)
                                for o, c in zip(crops[OPEN], crops[CLOSED]))
        self.pasted = {state: self._paste(pair) for state, pair in crops.items()}

    def _paste(self, pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The face with the two crops pasted into its eye boxes: each crop's brightness and contrast matched to the
        face's own eye region, blended in through a soft elliptical mask that is zero at the box's border."""
        frame = self.base.astype(np.float32)
        for side, crop in zip(("right", "left"), pair):
            x, y, w, h = self.boxes[side]
            region = frame[y:y + h, x:x + w]
            patch = cv2.resize(_rgb(crop), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
            gray = patch.mean(axis=2, keepdims=True)
            patch = (gray - gray.mean()) / max(float(gray.std()), 1.0) * region.std(axis=(0, 1)) \
                + region.mean(axis=(0, 1))
            mask = np.zeros((h, w), np.float32)
            cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.40), int(h * 0.36)), 0, 0, 360, 1.0, -1)
            mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 20))[:, :, None]
            frame[y:y + h, x:x + w] = mask * patch + (1 - mask) * region
        return np.clip(frame, 0, 255).astype(np.uint8)

    def render(self, state: str, roll_deg: float = 0.0) -> np.ndarray:
        """One RGB frame: the face with `state` eyes rolled by `roll_deg` degrees (no face for "none")."""
        if state == NO_FACE:
            return self.background.copy()
        frame = self.pasted[state]
        if roll_deg:
            (x, y, _, _), (x2, y2, w2, h2) = self.boxes["right"], self.boxes["left"]
            centre = ((x + x2 + w2) / 2, (y + y2 + h2) / 2)
            m = cv2.getRotationMatrix2D(centre, -roll_deg, 1.0)  # positive roll: the eye line goes down to the right
            frame = cv2.warpAffine(frame, m, frame.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
        return frame


def _scaled_box(box: tuple[float, float, float, float], scale: float) -> tuple[int, int, int, int]:
    """The box scaled by `scale` about its centre, in whole pixels."""
    x, y, w, h = box
    nw, nh = int(round(w * scale)), int(round(h * scale))
    return (int(round(x + (w - nw) / 2)), int(round(y + (h - nh) / 2)), nw, nh)


def write_video(path, frames, fps: float, fourcc: str = "MJPG") -> Path:
    """Write RGB frames (an iterable of one size) to a video file; MJPG in .avi reads back everywhere OpenCV does."""
    path = Path(path)
    writer = None
    try:
        for frame in frames:
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), (w, h))
                if not writer.isOpened():
                    raise OSError(f"OpenCV cannot write {fourcc} video to {path}")
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        if writer is not None:
            writer.release()
    return path


def render_schedule(scene: FaceScene, schedule: Schedule):
    """The frames of a schedule, one at a time."""
    for state, roll in zip(schedule.states, schedule.rolls):
        yield scene.render(state, roll)


def demo_scene(face_path=None) -> FaceScene:
    """The astronaut face of sample_images with its own open eyes and rendered closed eyes (samples.render_eye)."""
    from ..samples import render_eye

    face_path = Path(face_path) if face_path else Path(__file__).parents[2] / "sample_images" / "astronaut_face.jpg"
    bgr = cv2.imread(str(face_path))
    if bgr is None:
        raise FileNotFoundError(f"face picture {face_path} is missing or unreadable")
    face = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    eyes = {e.side: e.crop for e in find_eyes(face, max_faces=1)}
    closed = tuple(render_eye(EyeState.CLOSED, size=88, seed=s, rgb=True) for s in (20, 21))
    return FaceScene(face, {OPEN: (eyes["right"], eyes["left"]), CLOSED: closed})


def demo_video(path, seconds: float = 10.0, fps: float = 30.0, roll_deg: float = 6.0) -> tuple[Path, Schedule]:
    """A 640x480 video of the demo scene blinking every ~2.5 s (one long closure), with roll and a face-less gap."""
    n = int(round(seconds * fps))
    step = int(2.5 * fps)
    closures = [(s, 4) for s in range(step // 2, n - 10, step)]
    if closures:
        closures[-1] = (closures[-1][0], min(int(0.8 * fps), n - closures[-1][0] - 2))
    schedule = blink_schedule(n, fps, closures, no_face=tuple(range(n // 2 + 3, n // 2 + 5)), roll_deg=roll_deg)
    scene = demo_scene()
    return write_video(path, render_schedule(scene, schedule), fps), schedule
