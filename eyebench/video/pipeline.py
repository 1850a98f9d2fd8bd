"""Read a video frame by frame (bounded memory), track the eyes, classify them with every model, analyse over time.

Per frame, each model's p(closed) of the frame is the mean of its p(closed) over the frame's tracked eyes (both eyes
blink together; one eye is used when only one is tracked); a frame with no usable eye is missing (NaN). The temporal
analysis (eyebench.video.temporal) then runs per model with that model's own uncertain band (or one given band).
Only the current frame and the crops of at most `batch_frames` frames waiting to be classified are held in memory.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from ..errors import EyebenchError
from ..faces.aspect_ratio import EyeAspectRatio
from ..threads import single_image_threads
from .landmark_tracking import LandmarkTracker, make_tracker
from .temporal import TemporalParams, Timeline, analyse_series
from .tracking import TrackerOptions

MAX_SIDE = 4096  # frames wider or taller than this are refused (a limit on memory and time per frame)
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class VideoError(EyebenchError):
    """A video that cannot be analysed; the message is one line naming the file and the problem."""


@dataclasses.dataclass
class VideoInfo:
    """What the container says about a video (frame_count may be 0 when it does not say)."""

    path: str
    fps: float
    frame_count: int
    width: int
    height: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _capture(path):
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own console messages would hide our error line
    import cv2

    return cv2, cv2.VideoCapture(str(path))


def open_video(path, max_side: int = MAX_SIDE):
    """(capture, VideoInfo) of a readable video, or a VideoError saying why not."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: " + ("a folder, not a video" if path.is_dir() else "no such file"))
    if path.suffix.lower() in PICTURE_SUFFIXES:
        raise VideoError(f"{path}: a picture, not a video (use `python -m eyebench predict` for pictures)")
    cv2, cap = _capture(path)
    if not cap.isOpened():
        raise VideoError(f"{path}: not a video OpenCV can open (unknown container, or not a video at all)")
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps, count = float(cap.get(cv2.CAP_PROP_FPS) or 0.0), int(max(0, cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
    if max(w, h) > max_side:
        cap.release()
        raise VideoError(f"{path}: resolution {w}x{h} is above the limit of {max_side} pixels per side")
    return cap, VideoInfo(str(path), fps if 0 < fps < 1000 else 0.0, count, w, h)


def iter_frames(path, max_side: int = MAX_SIDE, fps: float | None = None, info_out: list | None = None):
    """Yield (index, time in seconds, RGB frame) one at a time. Times are index / `fps` when it is given, else the
    decoder's timestamps counted from the first frame's (right for a variable frame rate too); a frame whose timestamp
    is missing or not later than the last one's comes one frame interval (the container's rate) after it. A video
    that yields no frame, or that has neither timestamps nor a frame rate, is a VideoError."""
    cap, info = open_video(path, max_side)
    if info_out is not None:
        info_out.append(info)
    import cv2

    index, first, last = 0, 0.0, 0.0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if max(bgr.shape[:2]) > max_side:
                raise VideoError(f"{path}: frame {index} is {bgr.shape[1]}x{bgr.shape[0]}, above the limit of "
                                 f"{max_side} pixels per side")
            stamp = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            first = stamp if index == 0 else first
            t = index / fps if fps else stamp - first
            if index and not t > last + 1e-6:  # no usable timestamp: one frame interval after the last frame
                if not info.fps:
                    raise VideoError(f"{path}: frame {index} has no timestamp and the video states no frame rate "
                                     "(re-encode it, or give one with `python -m eyebench video --fps`)")
                t = last + 1 / info.fps
            last = t
            yield index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        cap.release()
    if index == 0:
        what = "zero frames" if info.frame_count == 0 else f"{info.frame_count} frames announced but none decodable"
        raise VideoError(f"{path}: {what} (empty video, or a codec OpenCV cannot decode)")


@dataclasses.dataclass
class FrameRow:
    """One frame's tracking result and every model's p(closed) per eye (same order as `eyes`)."""

    frame: int
    time_s: float
    status: str
    roll_deg: float
    eyes: list[tuple[str, tuple[int, int, int, int], str]]  # (side, box, eye status)
    p_closed: dict[str, list[float]]
    yaw_deg: float | None = None  # head pose from the landmarks (None without them)
    pitch_deg: float | None = None
    openings: list[float | None] = dataclasses.field(default_factory=list)  # eyelid opening per eye

    def frame_p(self, model: str) -> float:
        """The frame's p(closed) for a model: the mean over its eyes, NaN without an eye."""
        values = [v for v in self.p_closed.get(model, []) if not np.isnan(v)]
        return float(np.mean(values)) if values else float("nan")


@dataclasses.dataclass
class VideoAnalysis:
    """Everything one run gives: the video's info, per-frame rows, one timeline per model, timings."""

    info: VideoInfo
    rows: list[FrameRow]
    timelines: dict[str, Timeline]
    tracker: dict
    seconds: dict[str, float]  # wall time per stage: "decode", "track", "classify:<model>", "total"

    @property
    def frames_per_second(self) -> float:
        return len(self.rows) / self.seconds["total"] if self.seconds.get("total") else 0.0


def _params_for(clf, band, params: TemporalParams) -> TemporalParams:
    """The temporal parameters for one model: its own uncertain band unless a band is given (0.5 without either)."""
    chosen = band or getattr(clf, "uncertain_band", None) or (0.5, 0.5)
    return dataclasses.replace(params, band=tuple(float(b) for b in chosen))


class _Classifier:
    """Classifies the crops of pending frames in one call per model (batching amortises each model's call cost)."""

    def __init__(self, models: dict, seconds: dict):
        self.models, self.seconds = models, seconds
        self.pending: list[tuple[int, float, object]] = []

    def flush(self, rows: list[FrameRow]) -> None:
        crops = [e.crop for _, _, fe in self.pending for e in fe.eyes]
        probs = {}
        for name, clf in self.models.items():
            t0 = time.perf_counter()
            if isinstance(clf, EyeAspectRatio):  # the landmark baseline: the eyelid openings the tracker measured
                probs[name] = clf.p_closed([e.opening for _, _, fe in self.pending for e in fe.eyes])
                continue
            with single_image_threads():  # a few small crops: one torch thread is faster than contended ones
                probs[name] = clf.predict_proba(crops)[:, 1] if crops else np.zeros(0)
            self.seconds[f"classify:{name}"] = self.seconds.get(f"classify:{name}", 0.0) + time.perf_counter() - t0
        k = 0
        for index, t, fe in self.pending:
            n = len(fe.eyes)
            pose = fe.pose
            rows.append(FrameRow(index, t, fe.status, round(fe.roll_deg, 2),
                                 [(e.side, e.box, e.status) for e in fe.eyes],
                                 {name: [float(v) for v in p[k:k + n]] for name, p in probs.items()},
                                 None if pose is None else round(pose.yaw, 2),
                                 None if pose is None else round(pose.pitch, 2),
                                 [e.opening for e in fe.eyes]))
            k += n
        self.pending = []


def analyse_video(path, models: dict, options: TrackerOptions | None = None, params: TemporalParams | None = None,
                  band=None, max_side: int = MAX_SIDE, fps: float | None = None, batch_frames: int = 16,
                  progress: bool = False, max_frames: int | None = None, landmark_baseline: bool = True) -> VideoAnalysis:
    """Track and classify every frame of a video with every model ({name: classifier}), then analyse each model's
    p(closed) series over time. `band` overrides every model's uncertain band; `max_frames` stops early. With
    landmarks (MediaPipe) and `landmark_baseline`, the eye aspect ratio is analysed beside the models."""
    from tqdm.auto import tqdm

    if max_frames is not None and max_frames < 1:
        raise EyebenchError(f"max_frames must be at least 1, got {max_frames}")
    options, params = options or TrackerOptions(), params or TemporalParams()
    tracker, seconds, rows, info = make_tracker(options), {"decode": 0.0, "track": 0.0}, [], []
    if landmark_baseline and isinstance(tracker, LandmarkTracker) and models:
        models = {**models, EyeAspectRatio.name: EyeAspectRatio()}
    batch = _Classifier(models, seconds)
    frames = iter_frames(path, max_side, fps, info)
    start = time.perf_counter()
    bar = None
    while max_frames is None or len(rows) + len(batch.pending) < max_frames:
        t0 = time.perf_counter()
        item = next(frames, None)
        seconds["decode"] += time.perf_counter() - t0
        if item is None:
            break
        if bar is None:
            bar = tqdm(total=info[0].frame_count or None, desc="video", unit="frame", disable=not progress)
        t0 = time.perf_counter()
        batch.pending.append((item[0], item[1], tracker.update(item[2])))
        seconds["track"] += time.perf_counter() - t0
        if len(batch.pending) >= batch_frames:
            batch.flush(rows)
        bar.update(1)
    frames.close()
    batch.flush(rows)
    seconds["total"] = time.perf_counter() - start
    if bar is not None:
        bar.close()
    times = np.array([r.time_s for r in rows])
    timelines = {name: analyse_series(times, [r.frame_p(name) for r in rows], _params_for(clf, band, params))
                 for name, clf in models.items()}
    return VideoAnalysis(info[0], rows, timelines, options.to_dict(), seconds)
