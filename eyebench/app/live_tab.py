"""The Video tab's live mode: the webcam stream through one model -> each eye's state, the running blink count, PERCLOS."""
from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

import gradio as gr
import numpy as np

from .. import workbench
from .common import Bench, on_model_threads

if TYPE_CHECKING:  # names for the annotations only: the tab reaches them through workbench
    from ..video.landmark_tracking import LandmarkTracker
    from ..video.temporal import OnlineTimeline
    from ..video.tracking import EyeTracker

STREAM_EVERY_S = 0.15  # the browser sends a frame this often, and none while the last one is still being handled
TIME_LIMIT_S = 600  # one live run lasts at most this long (the webcam stops; start it again for more)
FPS_WINDOW_S = 5.0  # frames/s handled over this many last seconds
_BUSY = threading.Lock()  # guards LiveSession.busy


@dataclasses.dataclass
class LiveSession:
    """One visitor's live run: the tracker, the online temporal analysis, when it started and the frames handled."""

    model: str
    tracker: LandmarkTracker | EyeTracker  # workbench.live_tracker()
    timeline: OnlineTimeline  # workbench.live_timeline()
    start: float
    handled: deque = dataclasses.field(default_factory=deque)  # arrival times of the frames handled lately
    busy: bool = False
    ended: bool = False  # reset (or another model chosen): a frame still in flight must not bring it back

    def frames_per_second(self, now: float) -> float:
        """Frames handled per second between the first and the last of those of the last FPS_WINDOW_S seconds (0
        before two)."""
        while self.handled and self.handled[0] < now - FPS_WINDOW_S:
            self.handled.popleft()
        span = self.handled[-1] - self.handled[0] if self.handled else 0.0
        return (len(self.handled) - 1) / span if span > 0 else 0.0


def frame_rgb(image: np.ndarray) -> np.ndarray | None:
    """A webcam frame as RGB uint8 (gray and RGBA converted), or None unless it is an 8-bit picture of 1x1 or more."""
    if image.dtype != np.uint8 or image.size == 0 or image.ndim not in (2, 3) or \
            (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        return None
    gray = image.ndim == 2 or image.shape[2] == 1
    return np.ascontiguousarray(np.repeat(image.reshape(image.shape[:2])[:, :, None], 3, axis=2) if gray
                                else image[:, :, :3])


def eyes_markdown(frame: workbench.LiveFrame) -> str:
    """Each eye's side, state by the model's band (open / closed / uncertain), p(closed) and eye aspect ratio (the
    landmark baseline); the head pose when the landmarks gave it."""
    if not frame.eyes:
        return "**No eye found** in this frame (face the camera, with light on your face)."
    parts = []
    for eye in frame.eyes:
        side = "eye" if eye.side == "crop" else f"{eye.side} eye"
        ratio = "" if eye.opening is None else f", eye aspect ratio {eye.opening:.2f}: {eye.eye_aspect_ratio}"
        parts.append(f"**{side}: {eye.decision.text.upper()}** (p(closed) {eye.p_closed:.2f}{ratio})")
    pose = frame.pose
    return " · ".join(parts) + (f"<br>head pose: {pose.describe()}" if pose is not None else "")


def counts_markdown(summary: dict, fps: float) -> str:
    """The running blink count, closures, PERCLOS over the window and the frames/s handled."""
    perclos = summary["perclos_window"]
    perclos = "n/a" if perclos is None or np.isnan(perclos) else f"{100 * perclos:.1f}%"
    return (f"Blinks: **{summary['blinks']}** · closures: {summary['closures'] + summary['long_closures']} · "
            f"PERCLOS (last {summary['perclos_window_s']:g} s): **{perclos}** · {fps:.1f} frames/s handled · "
            f"{summary['frames']} frames, {summary['frames_without_eye']} without an eye")


class LiveMode:
    """Builds the live section and answers the stream: one frame at a time per session, late frames dropped."""

    def __init__(self, bench: Bench):
        self.bench = bench

    def new_session(self, name: str) -> LiveSession:
        band = tuple(self.bench.stored_band(name))
        return LiveSession(name, workbench.live_tracker(), workbench.live_timeline(band), time.perf_counter())

    @on_model_threads
    def frame(self, image, name, session):
        """One webcam frame -> (eyes markdown, counts markdown, session); a frame that arrives while the session's
        previous one is still being handled is dropped (the outputs are left as they are)."""
        if image is None:
            return gr.skip(), gr.skip(), session
        if name not in self.bench.models:
            raise gr.Error("Choose a model first.", print_exception=False)
        if session is None or session.model != name or session.ended:
            session = self.new_session(name)
        with _BUSY:
            if session.busy:
                return gr.skip(), gr.skip(), gr.skip()
            session.busy = True
        try:
            return self._handle(np.asarray(image), session)
        finally:
            session.busy = False

    @staticmethod
    def reset(session):
        """End the session (counts start again with the next frame) and clear the outputs."""
        if session is not None:
            session.ended = True
        return "", "", None

    def _handle(self, image: np.ndarray, session: LiveSession):
        rgb = frame_rgb(image)
        if rgb is None:
            message = f"**Unusable frame** (shape {image.shape}, {image.dtype}): not an 8-bit gray, RGB or RGBA picture"
            return message + "; skipped.", gr.skip(), session
        times = session.timeline.times  # a coarse clock can repeat a time: the timeline needs them increasing
        now = max(time.perf_counter(), session.start + (times[-1] + 1e-6 if times else 0.0))
        found = workbench.live_frame(self.bench.models[session.model], session.tracker, session.timeline, rgb,
                                     now - session.start)
        session.handled.append(now)
        return eyes_markdown(found), counts_markdown(found.summary, session.frames_per_second(now)), session

    def build(self):
        """Lay out the live section and wire the webcam stream and the reset button (no public API)."""
        names = list(self.bench.models)
        gr.Markdown("### Live webcam\nStart the webcam: each frame's eyes are tracked and classified by the chosen "
                    "model, with the running blink count and PERCLOS (share of time closed) over the last 60 s. "
                    "Frames that arrive while one is being handled are dropped, so it never lags behind.")
        with gr.Row():
            webcam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam", elem_id="live-webcam")
            with gr.Column():
                model = gr.Dropdown(names, value=("student" if "student" in names else names[0]) if names else None,
                                    label="Model", elem_id="live-model")
                eyes = gr.Markdown(elem_id="live-eyes")
                counts = gr.Markdown(elem_id="live-counts")
                reset = gr.Button("Reset counts", elem_id="live-reset")
        session = gr.State(None)
        webcam.stream(self.frame, [webcam, model, session], [eyes, counts, session], stream_every=STREAM_EVERY_S,
                      time_limit=TIME_LIMIT_S, api_name=False, show_progress="hidden")
        for event in (reset.click, model.change):
            event(self.reset, session, [eyes, counts, session], api_name=False, show_progress="hidden")
