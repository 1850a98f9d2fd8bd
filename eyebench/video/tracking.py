"""Eyes over video frames, the fallback where MediaPipe cannot run (see landmark_tracking.py): Haar detection
(faces.locate_eyes) every N frames, template tracking, smoothed and held boxes, roll-levelled crops.

Per frame the tracker gives each eye of the largest face (the picture's left eye is the person's `right`) as a square
box and a crop cut with the face's in-plane roll undone: the roll is the angle of the line through the two eye
centres, and each crop is taken from the frame rotated about the eye centre by that angle, so the eye line is
horizontal in every crop (the models were trained on level eyes).

Stability rules:
- **motion**: a grey template of the region around the tracked eyes (brows and nose bridge included, so that a blink
  changes only part of it) is looked for in the next frame near where it was (normalised cross-correlation); its
  shift moves every box. A best match below `min_match` means the face is gone: the eyes are dropped at once (a frame
  without a face is `missing`, never classified through stale boxes). The template is refreshed at every detection.
- **detection** runs on every `detect_every`-th frame (1 = every frame), and on every frame while no eye is tracked,
  on a copy scaled to at most `detect_width` pixels wide (boxes scaled back). A whole frame is one eye (side "crop")
  only when locate_eyes says it is eye-crop sized or a close-up of one eye, judged on the unscaled frame. A detected box updates its eye by exponential smoothing of centre and size:
  new = smoothing * detected + (1 - smoothing) * tracked (smoothing 1 = no smoothing).
- **two faces**: while an eye is followed, detection looks at the two largest faces and keeps the one whose eyes lie
  nearest the followed ones, so a passenger who comes closer does not take the track over.
- **outliers**: while the template still matches, a detection whose centre is more than `gate` box sizes from the
  tracked eye, or whose size differs by more than that share, is ignored (the eye cascades sometimes answer an
  eyebrow, and eyes placed by face geometry when the cascades miss closed eyes can sit off the eye); after
  `max_rejects` such detections in a row it is taken (the track was the wrong one). Eyes placed by face geometry
  (both boxes of one size on one line: faces.py's fallback when the cascades miss closed eyes) are weak evidence:
  they start a track or smooth a near one, but never replace a followed track.
- **hold**: an eye the detector misses keeps its (template-tracked) box (status `held`) for up to `hold_frames` frames
  after its last accepted detection, or up to `follow_frames` while the template still finds the face (the Haar
  detectors often lose a face whose eyes are closed, so a long closure would otherwise drop the eyes), then is
  dropped; a frame with no eye left is `missing`.
- the **roll** is smoothed like the boxes, kept while only one eye is known, and reset to 0 beyond `max_roll_deg`
  (a pair of boxes that steep is taken to be a wrong detection).
"""
from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from ..faces import EyeBox, HeadPose, locate_eyes
from .options import TrackerOptions

SIDES = ("right", "left")  # the person's right eye is on the picture's left: picture order
WHOLE_FRAME_EYE = ("crop", "close-up")  # how locate_eyes found a whole-picture eye that a video frame may be


def detect_eyes(rgb: np.ndarray, max_faces: int = 1) -> list[EyeBox]:
    """The eyes of the largest face by faces.locate_eyes' rule (the app's and the CLI's); the whole frame as one eye
    only when it is eye-crop sized or a close-up of one eye. A frame without a face gives no eye here, where a single
    picture would be classified whole "in doubt": in a video that is a frame without a usable eye."""
    search = locate_eyes(rgb, max_faces=max_faces)
    return search.eyes if search.how == "faces" or search.how in WHOLE_FRAME_EYE else []


@dataclasses.dataclass
class TrackedEye:
    """One eye in one frame: side, square box (x, y, size) in frame pixels, status and its roll-levelled crop."""

    side: str  # "right" / "left" (the person's), or "crop" when the whole frame is one eye
    cx: float
    cy: float
    size: float
    status: str  # "detected" (this frame), "tracked" (no detection run this frame) or "held" (detection missed it)
    crop: np.ndarray | None = None
    opening: float | None = None  # eyelid opening from the landmarks (None with the Haar tracker)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the square box, rounded to pixels."""
        half = self.size / 2
        return (int(round(self.cx - half)), int(round(self.cy - half)), int(round(self.size)), int(round(self.size)))


@dataclasses.dataclass
class FrameEyes:
    """The tracker's answer for one frame: its eyes (picture order), the roll used, and whether detection ran."""

    eyes: list[TrackedEye]
    roll_deg: float
    detected: bool
    pose: HeadPose | None = None  # head pose from the landmarks (None with the Haar tracker)

    @property
    def status(self) -> str:
        """'missing' when no usable eye, else the best status of its eyes."""
        if not self.eyes:
            return "missing"
        statuses = {e.status for e in self.eyes}
        return next(s for s in ("detected", "tracked", "held") if s in statuses)


@dataclasses.dataclass
class _Track:
    cx: float
    cy: float
    size: float
    last_seen: int  # frame index of the last accepted detection
    rejects: int = 0  # detections ignored as outliers in a row


class EyeTracker:
    """Feed frames in order with `update(rgb)`; each call returns that frame's `FrameEyes`."""

    def __init__(self, options: TrackerOptions | None = None, detector=detect_eyes):
        self.options = options or TrackerOptions()
        self.detector = detector  # (rgb, max_faces=1) -> list of faces.EyeBox
        self.tracks: dict[str, _Track] = {}
        self.template: tuple[np.ndarray, int, int] | None = None  # grey patch and its top-left corner
        self.roll = 0.0
        self.frame = -1

    def update(self, rgb: np.ndarray) -> FrameEyes:
        """Follow, detect (every N frames), smooth, hold and cut the roll-levelled crops of one RGB frame."""
        self.frame += 1
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        following = self._follow(gray)
        detect = self.frame % self.options.detect_every == 0 or not self.tracks  # searching: every frame
        found = self._detect(rgb, following) if detect else set()
        self._drop_stale(following)
        self._update_roll()
        if detect and self.tracks:
            self.template = self._cut_template(gray)
        eyes = []
        for side in sorted(self.tracks, key=lambda k: self.tracks[k].cx):
            t = self.tracks[side]
            status = "detected" if side in found else \
                "tracked" if not detect and self.frame - t.last_seen < self.options.detect_every else "held"
            eye = TrackedEye(side, t.cx, t.cy, t.size, status)
            eye.crop = levelled_crop(rgb, eye.cx, eye.cy, eye.size, self.roll if side != "crop" else 0.0)
            eyes.append(eye)
        return FrameEyes(eyes, self.roll if eyes else 0.0, detect)

    def _follow(self, gray: np.ndarray) -> bool:
        """Move the tracks with the template's best match near its last place; False (and no tracks) if it is gone."""
        if self.template is None or not self.tracks:
            return False
        tpl, x0, y0 = self.template
        th, tw = tpl.shape
        m = max(8, tw // 4)
        ax, ay = max(0, x0 - m), max(0, y0 - m)
        area = gray[ay:y0 + th + m, ax:x0 + tw + m]
        if area.shape[0] < th or area.shape[1] < tw:
            score, dx, dy = -1.0, 0, 0
        else:
            _, score, _, (bx, by) = cv2.minMaxLoc(cv2.matchTemplate(area, tpl, cv2.TM_CCOEFF_NORMED))
            dx, dy = ax + bx - x0, ay + by - y0
        if score < self.options.min_match:
            self.tracks, self.template = {}, None  # the face left the picture (or changed beyond recognition)
            return False
        for t in self.tracks.values():
            t.cx, t.cy = t.cx + dx, t.cy + dy
        self.template = (tpl, x0 + dx, y0 + dy)
        return True

    def _cut_template(self, gray: np.ndarray) -> tuple[np.ndarray, int, int] | None:
        """The grey region around the tracked eyes (0.6 box sizes beyond them sideways, 0.5 above and below)."""
        ts = list(self.tracks.values())
        size = max(t.size for t in ts)
        x0 = int(max(0, min(t.cx for t in ts) - 1.1 * size))
        x1 = int(min(gray.shape[1], max(t.cx for t in ts) + 1.1 * size))
        y0 = int(max(0, min(t.cy for t in ts) - size))
        y1 = int(min(gray.shape[0], max(t.cy for t in ts) + size))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        return gray[y0:y1, x0:x1].copy(), x0, y0

    def _detect(self, rgb: np.ndarray, following: bool) -> set[str]:
        """Run the detector on a (scaled) copy and fold its boxes into the tracks; the sides accepted."""
        h, w = rgb.shape[:2]
        scale = min(1.0, self.options.detect_width / w)
        small = rgb if scale == 1.0 else cv2.resize(rgb, (int(round(w * scale)), int(round(h * scale))),
                                                     interpolation=cv2.INTER_AREA)
        boxes = [b for b in self.detector(small, max_faces=2 if following else 1) if b.side in SIDES or scale == 1.0]
        if following:  # two people in view: keep the face followed, though the other may look larger now
            boxes = self._followed_face(boxes, scale)
        if any(b.side in SIDES for b in boxes):
            boxes = [b for b in boxes if b.side in SIDES]
            self.tracks.pop("crop", None)
        elif boxes:  # the whole frame is one eye (a close-up video): no face eyes to follow
            boxes, self.tracks = boxes[:1], {k: t for k, t in self.tracks.items() if k == "crop"}
        weak = placed_by_geometry(boxes)
        found = set()
        for box in boxes:
            side = box.side if box.side in SIDES else "crop"
            if side in found:
                continue
            cx, cy, size = (box.x + box.w / 2) / scale, (box.y + box.h / 2) / scale, max(box.w, box.h) / scale
            if self._fold(side, cx, cy, size, following, weak):
                found.add(side)
        return found

    def _followed_face(self, boxes: list, scale: float) -> list:
        """The boxes of the face whose eyes lie nearest the tracked ones (frame pixels; `scale` is the detection's)."""
        faces = sorted({b.face for b in boxes})
        if len(faces) < 2:
            return boxes
        cx = np.mean([t.cx for t in self.tracks.values()])
        cy = np.mean([t.cy for t in self.tracks.values()])

        def distance(face: int) -> float:
            own = [b for b in boxes if b.face == face]
            return math.hypot(np.mean([b.x + b.w / 2 for b in own]) / scale - cx,
                              np.mean([b.y + b.h / 2 for b in own]) / scale - cy)

        nearest = min(faces, key=distance)
        return [b for b in boxes if b.face == nearest]

    def _fold(self, side: str, cx: float, cy: float, size: float, following: bool, weak: bool = False) -> bool:
        """Take one detection into its eye's track (new, smoothed, or replacing it); False if ignored as an outlier.
        A weak detection (eyes placed by face geometry) never replaces a followed track."""
        t, o = self.tracks.get(side), self.options
        if t is None:
            self.tracks[side] = _Track(cx, cy, size, self.frame)
            return True
        far = math.hypot(cx - t.cx, cy - t.cy) > o.gate * t.size or abs(size - t.size) > o.gate * t.size
        if far and following and (weak or t.rejects < o.max_rejects):
            t.rejects += 0 if weak else 1
            return False
        a = 1.0 if far else o.smoothing
        t.cx, t.cy, t.size = a * cx + (1 - a) * t.cx, a * cy + (1 - a) * t.cy, a * size + (1 - a) * t.size
        t.last_seen, t.rejects = self.frame, 0
        return True

    def _drop_stale(self, following: bool) -> None:
        o = self.options
        limit = max(o.follow_frames if following else o.hold_frames, o.detect_every - 1)
        for side in [k for k, t in self.tracks.items() if self.frame - t.last_seen > limit]:
            del self.tracks[side]

    def _update_roll(self) -> None:
        if "right" in self.tracks and "left" in self.tracks:
            r, l_ = self.tracks["right"], self.tracks["left"]
            angle = math.degrees(math.atan2(l_.cy - r.cy, l_.cx - r.cx))
            if abs(angle) <= self.options.max_roll_deg:
                a = self.options.smoothing
                self.roll = a * angle + (1 - a) * self.roll
            else:
                self.roll = 0.0
        elif not self.tracks:
            self.roll = 0.0


def placed_by_geometry(boxes: list) -> bool:
    """Whether a face's two eyes look placed by faces.py's face geometry (its fallback when the eye cascades find no
    eye, as with closed eyes) rather than found: both boxes then have one size and one top edge."""
    return len(boxes) == 2 and boxes[0].w == boxes[1].w and boxes[0].y == boxes[1].y and boxes[0].side in SIDES


def levelled_crop(rgb: np.ndarray, cx: float, cy: float, size: float, roll_deg: float) -> np.ndarray:
    """The square crop of side `size` centred on (cx, cy) of the frame rotated by `roll_deg` about that centre (so an
    eye line tilted by roll_deg comes out horizontal); pixels beyond the frame repeat its border."""
    side = max(1, int(round(size)))
    m = cv2.getRotationMatrix2D((float(cx), float(cy)), float(roll_deg), 1.0)
    m[0, 2] += side / 2 - cx
    m[1, 2] += side / 2 - cy
    return cv2.warpAffine(rgb, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
