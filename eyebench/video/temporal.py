"""Eye state over time from a per-frame p(closed) series: hysteresis states, closures, blinks, blink rate, PERCLOS.

Pure numpy on two arrays of one length: `times` (seconds, increasing) and `p_closed` (the classifier's p(closed) of
each frame, NaN where the frame has no usable eye). Definitions, all in one place:

- **Missing frame**: p(closed) is NaN (no face / eye found). It has no state of its own; a run of missing frames no
  longer than `max_gap_ms` is bridged (the eye keeps the state it had, so one lost frame does not split a closure);
  a longer run forgets the state (it is `unknown` again until a decisive frame).
- **Hysteresis on the uncertain band** (low, high) on p(closed): a frame with p >= high is decisive for `closed`,
  p <= low decisive for `open`; a frame inside the band (low < p < high) neither opens nor closes a blink: it keeps the
  current state and is flagged `uncertain`. Before the first decisive frame the state is `unknown`. With
  low == high the band is a plain threshold (p >= high closed).
- **Median smoothing** (optional, `median_frames` odd, 1 = off): each frame's p is replaced by the median of the
  p of the usable frames in the centred window of that many frames, before the hysteresis. Missing frames stay missing.
- **Closure**: a maximal run of frames whose (bridged) state is `closed`. It starts at the time of its first closed
  frame and ends at the time of the first frame after it; its duration is end - start (a single closed frame lasts
  one frame interval). A closure touching the start or the end of the video, or a gap longer than `max_gap_ms`, is
  `complete: false` (its true length is unknown).
- **Kinds**: a complete closure shorter than `max_blink_ms` is a `blink`; any closure longer than `long_closure_ms` is
  a `long_closure` (an incomplete one too, once its observed part is that long); a complete closure in between is a
  `closure`; shorter than `min_closure_ms` is dropped as noise; an incomplete short one is `incomplete`.
- **Blink rate**: blinks per minute of observed time (frames with an eye x the median frame interval); None under
  `MIN_RATE_S` seconds observed (a rate from a few frames, 600/min for one blink in 0.1 s, means nothing).
- **PERCLOS**: the share of time the eyes are closed: closed frames / frames with an eye and a known state, over the
  whole video (`perclos`) and over a sliding window of `perclos_window_s` seconds ending at each frame (the window
  (t - window, t]); `perclos_max` is the largest windowed value over windows that fit inside the video (None when the
  video is shorter than one window). Uncertain frames count with the state they keep; missing and unknown frames are
  left out of both numerator and denominator.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import EyebenchError
from ..results import FrameState

_CODE = {FrameState.UNKNOWN: 0, FrameState.OPEN: 1, FrameState.CLOSED: 2}
_NAME = {v: k for k, v in _CODE.items()}


@dataclasses.dataclass
class TemporalParams:
    """The parameters of the temporal analysis (see the module docstring for what each one means)."""

    band: tuple[float, float] = (0.5, 0.5)  # the model's uncertain band on p(closed): (low, high)
    median_frames: int = 1  # odd window of the median filter on p(closed); 1 = none
    max_blink_ms: float = 500.0  # a closure shorter than this is a blink
    long_closure_ms: float = 500.0  # a closure longer than this is a long closure
    min_closure_ms: float = 0.0  # closures shorter than this are ignored
    max_gap_ms: float = 250.0  # runs of frames without an eye up to this long are bridged
    perclos_window_s: float = 60.0  # length of the sliding PERCLOS window

    def __post_init__(self):
        low, high = (float(b) for b in self.band)
        if not 0.0 <= low <= high <= 1.0:
            raise EyebenchError(f"uncertain band must satisfy 0 <= low <= high <= 1, got {self.band}")
        if self.median_frames < 1 or self.median_frames % 2 == 0:
            raise EyebenchError(f"median_frames must be an odd number >= 1, got {self.median_frames}")
        if self.max_blink_ms < 0:
            raise EyebenchError(f"max_blink_ms must be >= 0, got {self.max_blink_ms}")
        if self.max_blink_ms > self.long_closure_ms:
            raise EyebenchError(f"max_blink_ms ({self.max_blink_ms}) must not exceed long_closure_ms ({self.long_closure_ms})")
        if self.perclos_window_s <= 0 or self.max_gap_ms < 0 or self.min_closure_ms < 0:
            raise EyebenchError("perclos_window_s must be > 0; max_gap_ms and min_closure_ms >= 0")
        self.band = (low, high)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "band": list(self.band)}


@dataclasses.dataclass
class Closure:
    """One closure event: frames [start_frame, end_frame] closed, times in seconds, duration in ms, its kind."""

    kind: str  # "blink", "closure", "long_closure" or "incomplete"
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    duration_ms: float
    complete: bool

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def frame_interval(times: np.ndarray) -> float:
    """The median spacing of the timestamps in seconds (0 for fewer than two frames)."""
    times = np.asarray(times, float)
    return float(np.median(np.diff(times))) if len(times) > 1 else 0.0


def median_smooth(p_closed: np.ndarray, frames: int) -> np.ndarray:
    """Centred running median over `frames` frames of the usable (non-NaN) values; missing frames stay NaN."""
    p = np.asarray(p_closed, float)
    if frames <= 1 or len(p) == 0:
        return p.copy()
    half = frames // 2
    padded = np.pad(p, half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, frames)
    out = np.full(len(p), np.nan)
    usable = ~np.isnan(p)
    if usable.any():
        with np.errstate(all="ignore"):
            out[usable] = np.nanmedian(windows[usable], axis=1)
    return out


def long_gaps(times: np.ndarray, missing: np.ndarray, max_gap_ms: float) -> np.ndarray:
    """Missing frames that belong to a run of missing frames lasting longer than `max_gap_ms` (the run's frames times
    the frame interval: first missing frame to the frame after the last one)."""
    times, missing = np.asarray(times, float), np.asarray(missing, bool)
    out = np.zeros(len(missing), bool)
    dt = frame_interval(times)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], missing.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        end = times[stop] if stop < len(times) else times[-1] + dt
        if 1000 * (end - times[start]) > max_gap_ms + 1e-9:
            out[start:stop] = True
    return out


def hysteresis(times: np.ndarray, p_closed: np.ndarray, band: tuple[float, float],
               max_gap_ms: float = 250.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame (state, held, uncertain) by the band's hysteresis (module docstring).

    `state`: "open", "closed", "unknown" or "missing" (no eye) per frame; `held`: the state the eye is taken to be in,
    missing frames of a bridged gap included (those of a longer gap are "unknown"); `uncertain`: usable frames inside
    the band.
    """
    p = np.asarray(p_closed, float)
    low, high = band
    missing = np.isnan(p)
    forget = long_gaps(times, missing, max_gap_ms)
    held = np.zeros(len(p), np.int8)
    uncertain = (~missing) & (p > low) & (p < high)
    current = _CODE[FrameState.UNKNOWN]
    for i, value in enumerate(p):
        if forget[i]:
            current = _CODE[FrameState.UNKNOWN]
        elif not missing[i]:
            if value >= high:
                current = _CODE[FrameState.CLOSED]
            elif value <= low:
                current = _CODE[FrameState.OPEN]
        held[i] = current
    held_names = np.array([_NAME[c] for c in held], dtype=object)
    state = held_names.copy()
    state[missing] = FrameState.MISSING
    return state, held_names, uncertain


def closures(times: np.ndarray, held: np.ndarray, missing: np.ndarray, params: TemporalParams) -> list[Closure]:
    """Closure events (runs of held `closed`), with their kind by duration (module docstring)."""
    times = np.asarray(times, float)
    n, dt = len(times), frame_interval(times)
    closed = np.asarray(held) == FrameState.CLOSED
    events = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], closed.astype(np.int8), [0]])))
    for start, run_stop in zip(edges[::2], edges[1::2]):  # closed frames start .. run_stop-1
        complete = start > 0 and run_stop < n and held[start - 1] != FrameState.UNKNOWN and held[run_stop] != FrameState.UNKNOWN
        stop = run_stop
        while stop - 1 > start and missing[stop - 1]:
            stop -= 1  # a closure ends after its last frame seen closed, not inside the gap after it
        end_s = times[stop] if stop < n else times[-1] + dt
        duration = 1000 * (end_s - times[start])
        kind = _kind(duration, complete, params)
        if kind:
            events.append(Closure(kind, int(start), int(stop - 1), float(times[start]), float(end_s),
                                  round(float(duration), 3), bool(complete)))
    return events


def _kind(duration_ms: float, complete: bool, params: TemporalParams) -> str | None:
    if duration_ms > params.long_closure_ms:
        return "long_closure"
    if duration_ms < params.min_closure_ms:
        return None
    if not complete:
        return "incomplete"
    return "blink" if duration_ms < params.max_blink_ms else "closure"


def perclos_series(times: np.ndarray, held: np.ndarray, missing: np.ndarray, window_s: float) -> np.ndarray:
    """PERCLOS over the window (t - window_s, t] ending at each frame (NaN where the window has no known state)."""
    times = np.asarray(times, float)
    known = (~np.asarray(missing, bool)) & (np.asarray(held) != FrameState.UNKNOWN)
    closed = known & (np.asarray(held) == FrameState.CLOSED)
    c_known = np.concatenate([[0], np.cumsum(known)])
    c_closed = np.concatenate([[0], np.cumsum(closed)])
    first = np.searchsorted(times, times - window_s, side="right")
    idx = np.arange(len(times)) + 1
    n_known = c_known[idx] - c_known[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_known > 0, (c_closed[idx] - c_closed[first]) / np.maximum(n_known, 1), np.nan)


@dataclasses.dataclass
class Timeline:
    """The temporal analysis of one p(closed) series: per-frame arrays, the closure events and the summary."""

    times: np.ndarray
    p_closed: np.ndarray  # as given
    p_smoothed: np.ndarray  # after the median (equal to p_closed when median_frames is 1)
    state: np.ndarray
    held: np.ndarray
    uncertain: np.ndarray
    perclos: np.ndarray  # sliding-window PERCLOS at each frame
    events: list[Closure]
    params: TemporalParams

    def summary(self) -> dict:
        """The numbers a blink or drowsiness study reports, with the parameters used."""
        return summarise(self)


def analyse_series(times, p_closed, params: TemporalParams | None = None) -> Timeline:
    """Smoothing, hysteresis, closure events and sliding PERCLOS of one p(closed) series."""
    params = params or TemporalParams()
    times, p = np.asarray(times, float), np.asarray(p_closed, float)
    if times.shape != p.shape or times.ndim != 1:
        raise EyebenchError(f"times and p_closed must be 1-D arrays of one length, got {times.shape} and {p.shape}")
    if len(times) > 1 and np.any(np.diff(times) <= 0):
        raise EyebenchError("times must be strictly increasing")
    smoothed = median_smooth(p, params.median_frames)
    state, held, uncertain = hysteresis(times, smoothed, params.band, params.max_gap_ms)
    missing = np.isnan(smoothed)
    events = closures(times, held, missing, params)
    return Timeline(times, p, smoothed, state, held, uncertain,
                    perclos_series(times, held, missing, params.perclos_window_s), events, params)


def summarise(t: Timeline) -> dict:
    """Counts, blink rate and PERCLOS of a timeline (definitions in the module docstring)."""
    n, dt = len(t.times), frame_interval(t.times)
    missing = t.state == FrameState.MISSING
    known = (~missing) & (t.held != FrameState.UNKNOWN)
    full = t.times >= t.times[0] + t.params.perclos_window_s - dt / 2 if n else np.zeros(0, bool)
    windowed = t.perclos[full & ~np.isnan(t.perclos)]
    return _summary(t.times, int(missing.sum()), int(t.uncertain.sum()), int(((~missing) & (t.held == FrameState.UNKNOWN)).sum()),
                    t.events, float((t.held[known] == FrameState.CLOSED).mean()) if known.any() else None,
                    float(windowed.max()) if len(windowed) else None, t.params)


MIN_RATE_S = 5.0  # observed seconds below which no blink rate is given


def _summary(times: np.ndarray, n_missing: int, n_uncertain: int, n_unknown: int, events: list[Closure],
             perclos: float | None, perclos_max: float | None, params: TemporalParams) -> dict:
    """The summary dict of `summarise` and `OnlineTimeline.summary` from their counts."""
    n, dt = len(times), frame_interval(times)
    observed_s = float((n - n_missing) * dt)
    kinds = [e.kind for e in events]
    blinks = [e for e in events if e.kind == "blink"]
    return {
        "frames": n, "duration_s": float(times[-1] - times[0] + dt) if n else 0.0, "frame_interval_s": dt,
        "frames_without_eye": n_missing, "frames_uncertain": n_uncertain, "frames_unknown": n_unknown,
        "observed_s": observed_s,
        "blinks": len(blinks), "closures": kinds.count("closure"), "long_closures": kinds.count("long_closure"),
        "incomplete_closures": kinds.count("incomplete"),
        "blink_rate_per_min": len(blinks) / (observed_s / 60) if observed_s >= MIN_RATE_S else None,
        "mean_blink_ms": float(np.mean([e.duration_ms for e in blinks])) if blinks else None,
        "perclos": perclos, "perclos_max": perclos_max, "perclos_window_s": params.perclos_window_s,
        "events": [e.to_dict() for e in events], "parameters": params.to_dict(),
    }


class OnlineTimeline:
    """The same analysis one frame at a time (a live stream): `update(t, p)` gives that frame's state at once, and
    `summary()` at any point equals `analyse_series(...).summary()` of the frames so far (median_frames must be 1:
    a centred median needs frames not yet seen). An open closure is counted only once it ends (or at the summary,
    as incomplete); a gap of missing frames is judged when the next usable frame arrives."""

    def __init__(self, params: TemporalParams | None = None):
        self.params = params or TemporalParams()
        if self.params.median_frames != 1:
            raise EyebenchError("the online analysis has no median smoothing (median_frames must be 1)")
        self.times: list[float] = []
        self.window_perclos: list[float] = []  # sliding PERCLOS ending at each frame
        self.events: list[Closure] = []
        self.current = FrameState.UNKNOWN
        self.gap_start: int | None = None  # first frame of the current run of missing frames
        self.run: tuple[int, bool] | None = None  # the open closure: (first frame, whether the state before is known)
        self.last_closed = -1  # last usable frame of the open closure
        self.window: list[tuple[float, bool]] = []  # (time, closed) of the known frames in the PERCLOS window
        self.counts = {"missing": 0, "uncertain": 0, "unknown": 0, "known": 0, "closed": 0}

    def update(self, time_s: float, p_closed: float) -> str:
        """Take the next frame (times strictly increasing; p NaN without an eye) -> its state ("open", "closed",
        "unknown" or "missing"), as the batch analysis gives it."""
        i, t, p = len(self.times), float(time_s), float(p_closed)
        if self.times and t <= self.times[-1]:
            raise EyebenchError("times must be strictly increasing")
        self.times.append(t)
        if np.isnan(p):
            self.counts["missing"] += 1
            self.gap_start = i if self.gap_start is None else self.gap_start
            self._slide(t)
            return FrameState.MISSING
        if self.gap_start is not None:
            if 1000 * (t - self.times[self.gap_start]) > self.params.max_gap_ms + 1e-9:
                self._end_run(self.gap_start, False)  # a long gap: the state is forgotten
                self.current = FrameState.UNKNOWN
            self.gap_start = None
        low, high = self.params.band
        new = FrameState.CLOSED if p >= high else FrameState.OPEN if p <= low else self.current
        self.counts["uncertain"] += int(low < p < high)
        if new == FrameState.CLOSED and self.current != FrameState.CLOSED:
            self.run = (i, i > 0 and self.current != FrameState.UNKNOWN)
        elif new != FrameState.CLOSED and self.current == FrameState.CLOSED:
            self._end_run(i, new != FrameState.UNKNOWN)
        self.current = new
        self.last_closed = i if new == FrameState.CLOSED else self.last_closed
        known = new != FrameState.UNKNOWN
        self.counts["unknown"] += int(not known)
        self.counts["known"] += int(known)
        self.counts["closed"] += int(new == FrameState.CLOSED)
        if known:
            self.window.append((t, new == FrameState.CLOSED))
        self._slide(t)
        return new

    def _slide(self, t: float) -> None:
        """Drop known frames out of the window (t - window, t] and note the window's PERCLOS at this frame."""
        start = t - self.params.perclos_window_s
        k = next((j for j, (tj, _) in enumerate(self.window) if tj > start), len(self.window))
        del self.window[:k]
        self.window_perclos.append(sum(c for _, c in self.window) / len(self.window) if self.window else np.nan)

    def _closure(self, complete: bool, end_s: float) -> Closure | None:
        start, _ = self.run
        duration = 1000 * (end_s - self.times[start])
        kind = _kind(duration, complete, self.params)
        return Closure(kind, start, self.last_closed, self.times[start], float(end_s), round(float(duration), 3),
                       bool(complete)) if kind else None

    def _end_run(self, stop: int, known_after: bool) -> None:
        """Close the open closure (if any) at frame `stop` (the first frame no longer held closed)."""
        if self.run is not None and self.current == FrameState.CLOSED:
            event = self._closure(self.run[1] and known_after, self.times[self.last_closed + 1])
            self.events += [event] if event else []
        self.run = None

    def summary(self) -> dict:
        """The summary of the frames so far (a closure still open counts as incomplete), as `summarise` gives it."""
        times, events = np.asarray(self.times, float), list(self.events)
        dt = frame_interval(times)
        if self.run is not None and self.current == FrameState.CLOSED:
            end = self.last_closed + 1
            event = self._closure(False, times[end] if end < len(times) else times[-1] + dt)
            events += [event] if event else []
        c = self.counts
        pc = np.asarray(self.window_perclos)
        full = times >= times[0] + self.params.perclos_window_s - dt / 2 if len(times) else np.zeros(0, bool)
        windowed = pc[full & ~np.isnan(pc)]
        return _summary(times, c["missing"], c["uncertain"], c["unknown"], events,
                        c["closed"] / c["known"] if c["known"] else None,
                        float(windowed.max()) if len(windowed) else None, self.params)
