"""Eyes over time: the temporal logic on exact p(closed) series, the tracker, the video pipeline's errors, and videos
made in code (eye crops pasted into a face on a known schedule, with head roll and frames without a face) run end to
end with a template stub classifier (always) and the shipped student and small_cnn on real MRL crops (with
../shared)."""
import json
import math
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO_ROOT, draw_eye, real_data_dir

from eyebench.video.options import TrackerOptions
from eyebench.video.pipeline import VideoError, analyse_video, iter_frames
from eyebench.video.synthetic import (CLOSED, OPEN, FaceScene, blink_schedule, demo_scene,
                                      render_schedule, write_video)
from eyebench.video.temporal import (
    TemporalParams,
    analyse_series,
    median_smooth,
    perclos_series,
)
from eyebench.video.tracking import EyeTracker, levelled_crop

FPS = 10.0


def series(p, fps=FPS, **kw):
    p = np.asarray(p, float)
    return analyse_series(np.arange(len(p)) / fps, p, TemporalParams(**kw))


# -- temporal logic on exact series -------------------------------------------------------------------------
def test_hysteresis_keeps_the_state_inside_the_band():
    p = [0.1, 0.5, 0.95, 0.5, 0.6, 0.1, 0.5]
    t = series(p, band=(0.2, 0.8))
    assert list(t.state) == ["open", "open", "closed", "closed", "closed", "open", "open"]
    assert list(t.uncertain) == [False, True, False, True, True, False, True]
    first_uncertain = series([0.5, 0.5, 0.9, 0.1], band=(0.2, 0.8))
    assert list(first_uncertain.state) == ["unknown", "unknown", "closed", "open"]
    assert first_uncertain.events[0].kind == "incomplete"  # not known whether the eye was open before


def test_uncertain_frames_neither_open_nor_close_a_blink():
    p = np.full(40, 0.05)
    p[10:13] = 0.5  # a squint: uncertain only, no blink
    p[20:23], p[23] = 0.95, 0.5  # a blink whose last frame is uncertain: it stays closed one frame longer
    t = series(p, band=(0.2, 0.8))
    assert [(e.kind, e.start_frame, e.end_frame) for e in t.events] == [("blink", 20, 23)]
    assert t.events[0].duration_ms == pytest.approx(400.0)


def test_closure_kinds_durations_and_blink_rate():
    p = np.full(600, 0.0)  # 60 s at 10 frames/s
    p[50:53] = 1.0  # 300 ms: blink
    p[100:105] = 1.0  # exactly 500 ms: neither shorter than max_blink_ms nor longer than long_closure_ms
    p[200:215] = 1.0  # 1500 ms: long closure
    p[300:302] = 1.0  # 200 ms: blink
    p[595:] = 1.0  # still closed when the video ends: incomplete
    t = series(p)
    kinds = [(e.kind, e.start_frame, e.end_frame, e.duration_ms, e.complete) for e in t.events]
    assert kinds == [("blink", 50, 52, 300.0, True), ("closure", 100, 104, 500.0, True),
                     ("long_closure", 200, 214, 1500.0, True), ("blink", 300, 301, 200.0, True),
                     ("incomplete", 595, 599, 500.0, False)]
    s = t.summary()
    assert (s["blinks"], s["closures"], s["long_closures"], s["incomplete_closures"]) == (2, 1, 1, 1)
    assert s["blink_rate_per_min"] == pytest.approx(2.0)  # 2 blinks in 60 s observed
    assert s["mean_blink_ms"] == pytest.approx(250.0)
    assert s["perclos"] == pytest.approx(30 / 600)
    short = series(np.array([0.0, 1.0, 0.0])).summary()  # one blink in 0.3 s: a rate would read 200/min
    assert short["blinks"] == 1 and short["blink_rate_per_min"] is None
    assert s["parameters"]["band"] == [0.5, 0.5]
    short = series(p, max_blink_ms=250, long_closure_ms=400, min_closure_ms=250)
    assert [e.kind for e in short.events] == ["closure", "long_closure", "long_closure", "long_closure"]


def test_missing_frames_are_bridged_or_forget_the_state():
    p = np.full(60, 0.0)
    p[10:20] = 1.0
    p[14] = np.nan  # one lost frame inside a closure: bridged, one closure
    p[30:40] = np.nan  # 1 s without an eye: the state is forgotten
    p[40:43] = 1.0  # closed as soon as the eye is back: not known when it closed
    t = series(p, max_gap_ms=250)
    assert [(e.start_frame, e.end_frame, e.complete) for e in t.events] == [(10, 19, True), (40, 42, False)]
    assert t.state[14] == "missing" and t.held[14] == "closed"
    assert set(t.held[30:40]) == {"unknown"}
    s = t.summary()
    assert s["frames_without_eye"] == 11
    assert s["perclos"] == pytest.approx(12 / 49)  # 12 closed (the bridged frame is not seen) of 49 with an eye


def test_a_closure_ends_at_its_last_frame_seen_closed():
    p = np.full(30, 0.0)
    p[10:14] = 1.0
    p[14:16] = np.nan  # lost for 200 ms right after: bridged, but the closure is not stretched over the gap
    t = series(p)
    assert [(e.start_frame, e.end_frame, e.duration_ms) for e in t.events] == [(10, 13, 400.0)]


def test_sliding_perclos_window():
    times = np.arange(10) / 1.0
    held = np.array(["open"] * 5 + ["closed"] * 5, dtype=object)
    missing = np.zeros(10, bool)
    missing[9] = True
    pc = perclos_series(times, held, missing, window_s=4.0)  # window (t - 4, t]: 4 frames
    assert pc[3] == 0.0 and pc[5] == pytest.approx(1 / 4) and pc[8] == 1.0
    assert pc[9] == 1.0  # the missing frame is left out of the window
    t = series([0.0] * 20 + [1.0] * 10, fps=1.0, perclos_window_s=10.0)
    assert t.summary()["perclos_max"] == 1.0 and t.summary()["perclos"] == pytest.approx(1 / 3)
    assert series([0.0] * 5, fps=1.0, perclos_window_s=60.0).summary()["perclos_max"] is None  # shorter than a window


def test_median_smoothing_removes_one_frame_spikes_and_keeps_missing_frames():
    p = np.array([0.0, 0.0, 1.0, 0.0, 0.0, np.nan, 1.0, 1.0, 1.0])
    smooth = median_smooth(p, 3)
    assert smooth[2] == 0.0 and np.isnan(smooth[5]) and smooth[7] == 1.0
    assert [e.start_frame for e in series(p, median_frames=3).events] == [6]


@pytest.mark.parametrize("kw", [dict(band=(0.8, 0.2)), dict(median_frames=2), dict(max_blink_ms=600),
                                dict(max_blink_ms=-5), dict(perclos_window_s=0)])
def test_bad_parameters_are_refused(kw):
    with pytest.raises(ValueError):
        TemporalParams(**kw)


def test_series_must_be_aligned_and_increasing():
    with pytest.raises(ValueError, match="one length"):
        analyse_series([0, 1], [0.1])
    with pytest.raises(ValueError, match="increasing"):
        analyse_series([0, 0], [0.1, 0.2])


def test_timeline_shades_the_band_and_every_closure_in_each_models_panel():
    from eyebench.video.outputs import KIND_COLOURS, timeline_figure
    from eyebench.video.pipeline import FrameRow, VideoAnalysis, VideoInfo

    p = np.full(60, 0.05)
    p[10:13], p[30:45] = 0.95, 0.95  # a blink and a long closure
    t = series(p, band=(0.2, 0.8))
    rows = [FrameRow(i, float(x), "tracked", 0.0, [], {}) for i, x in enumerate(t.times)]
    analysis = VideoAnalysis(VideoInfo("v.avi", FPS, 60, 64, 48), rows, {"a": t, "b": t}, {}, {"total": 1.0})
    shapes = timeline_figure(analysis).layout.shapes
    colours = ["rgba(127,127,127,0.15)", KIND_COLOURS["blink"], KIND_COLOURS["long_closure"]]
    assert [(s.fillcolor, s.yref.split()[0]) for s in shapes] == [(c, y) for y in ("y", "y2") for c in colours]
    assert (shapes[0].y0, shapes[0].y1, shapes[1].x0, shapes[1].x1) == (0.2, 0.8, 1.0, 1.3)


# -- tracking ------------------------------------------------------------------------------------------------
def test_levelled_crop_undoes_the_roll():
    img = np.full((200, 200, 3), 200, np.uint8)
    cv2.line(img, (40, 100), (160, 100), (0, 0, 0), 3)
    m = cv2.getRotationMatrix2D((100.0, 100.0), -20.0, 1.0)  # the line now goes down to the right by 20 degrees
    rolled = cv2.warpAffine(img, m, (200, 200), borderValue=(200, 200, 200))
    crop = levelled_crop(rolled, 100, 100, 100, roll_deg=20.0)
    dark_rows = np.flatnonzero((crop[:, :, 0] < 100).sum(axis=1) > 30)
    assert crop.shape == (100, 100, 3) and dark_rows.min() >= 46 and dark_rows.max() <= 54  # horizontal again


class FakeBox:
    def __init__(self, x, y, w, side):
        self.x, self.y, self.w, self.h, self.side, self.face = x, y, w, w, side, 0


class ScriptedDetector:
    """Answers a list of detections (one list of FakeBox per call)."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self, rgb, max_faces=1):
        self.calls += 1
        return self.answers.pop(0) if self.answers else []


def textured_frame(seed=0, shift=(0, 0)):
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (0, 0), 3)
    return np.roll(base, shift, axis=(0, 1))


def test_tracker_smooths_holds_rejects_outliers_and_reports_a_lost_face():
    eyes = [FakeBox(100, 100, 40, "right"), FakeBox(180, 100, 40, "left")]
    moved = [FakeBox(104, 100, 40, "right"), FakeBox(180, 100, 40, "left")]
    eyebrow = [FakeBox(100, 60, 30, "right"), FakeBox(180, 100, 40, "left")]
    det = ScriptedDetector([eyes, moved, eyebrow, [], []])
    tracker = EyeTracker(TrackerOptions(detect_every=1, smoothing=0.5, hold_frames=1, follow_frames=2), detector=det)
    frame = textured_frame()
    first = tracker.update(frame)
    assert [(e.side, e.status) for e in first.eyes] == [("right", "detected"), ("left", "detected")]
    assert tracker.update(frame).eyes[0].cx == pytest.approx(122.0)  # half way to the new detection (124)
    third = tracker.update(frame)  # the eyebrow is ignored while the face still matches the template
    assert third.eyes[0].status == "held" and third.eyes[0].cy == pytest.approx(120.0)
    assert tracker.update(frame).status == "held"  # nothing detected: kept while the template finds the face
    fifth = tracker.update(frame)  # the right eye's last detection was 3 frames ago (follow_frames 2), the left's 2
    assert [(e.side, e.status) for e in fifth.eyes] == [("left", "held")]
    assert tracker.update(frame).status == "missing"
    assert third.roll_deg == pytest.approx(0.0, abs=1.0) and third.eyes[0].crop.shape[:2] == (40, 40)


def test_tracker_follows_motion_between_detections_and_drops_eyes_when_the_face_leaves():
    det = ScriptedDetector([[FakeBox(100, 100, 40, "right"), FakeBox(180, 100, 40, "left")]])
    tracker = EyeTracker(TrackerOptions(detect_every=10, hold_frames=20), detector=det)
    tracker.update(textured_frame())
    moved = tracker.update(textured_frame(shift=(3, 5)))  # the picture moved 5 px right, 3 px down
    assert moved.status == "tracked" and det.calls == 1
    assert (moved.eyes[0].cx, moved.eyes[0].cy) == pytest.approx((125.0, 123.0))
    gone = tracker.update(np.full((240, 320, 3), 90, np.uint8))  # no face: the template no longer matches
    assert gone.status == "missing" and gone.eyes == [] and det.calls == 2  # and it searches again at once


# -- the pipeline's errors -----------------------------------------------------------------------------------
def test_clear_one_line_errors_for_bad_input(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    cases = {text: "not a video", empty: "not a video", tmp_path / "nothing.avi": "no such file",
             tmp_path: "a folder, not a video",
             REPO_ROOT / "sample_images" / "astronaut_face.jpg": "a picture, not a video"}
    for path, words in cases.items():
        with pytest.raises(VideoError, match=words) as info:
            analyse_video(path, {})
        assert "\n" not in str(info.value) and str(path) in str(info.value)
    small = write_video(tmp_path / "small.avi", [np.zeros((48, 64, 3), np.uint8)] * 2, 10)
    with pytest.raises(VideoError, match=r"64x48 is above the limit of 32"):
        analyse_video(small, {}, max_side=32)
    with pytest.raises(ValueError, match="max_frames must be at least 1"):
        analyse_video(small, {}, max_frames=0)
    header_only = tmp_path / "truncated.avi"
    header_only.write_bytes(small.read_bytes()[:300])
    with pytest.raises(VideoError, match="not a video|zero frames|none decodable"):
        analyse_video(header_only, {})


def test_frames_are_read_one_at_a_time(tmp_path):
    path = write_video(tmp_path / "v.avi", (np.full((48, 64, 3), i * 20, np.uint8) for i in range(5)), 10)
    frames = iter_frames(path)
    index, t, rgb = next(frames)
    assert (index, t, rgb.shape) == (0, 0.0, (48, 64, 3))
    assert [i for i, _, _ in frames] == [1, 2, 3, 4]


class FakeCapture:
    """A decoder stand-in: 64x48 frames with the given timestamps (ms) and the frame rate the container states."""

    def __init__(self, stamps_ms, fps):
        self.stamps, self.fps, self.read_count = list(stamps_ms), fps, 0

    def isOpened(self):
        return True

    def get(self, prop):
        stamp = self.stamps[self.read_count - 1] if self.read_count else 0.0
        return {cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48, cv2.CAP_PROP_FPS: self.fps,
                cv2.CAP_PROP_FRAME_COUNT: len(self.stamps), cv2.CAP_PROP_POS_MSEC: stamp}[prop]

    def read(self):
        if self.read_count == len(self.stamps):
            return False, None
        self.read_count += 1
        return True, np.zeros((48, 64, 3), np.uint8)

    def release(self):
        pass


@pytest.mark.parametrize("stamps, fps, given, times", [
    ([0, 100, 200, 225, 250], 20, None, [0, 0.1, 0.2, 0.225, 0.25]),  # variable frame rate: the decoder's times
    ([1400, 1500, 1600], 10, None, [0, 0.1, 0.2]),  # counted from the first frame
    ([0, 0, 0, 0], 10, None, [0, 0.1, 0.2, 0.3]),  # no timestamps: the container's rate
    ([0, 100, 100, 300], 10, None, [0, 0.1, 0.2, 0.3]),  # a repeated timestamp: one frame interval on
    ([0, 100, 200, 225], 20, 4.0, [0, 0.25, 0.5, 0.75]),  # --fps: index / fps
])
def test_frame_times_follow_the_decoders_timestamps(tmp_path, monkeypatch, stamps, fps, given, times):
    from eyebench.video import pipeline

    monkeypatch.setattr(pipeline, "_capture", lambda path: (cv2, FakeCapture(stamps, fps)))
    (tmp_path / "v.mp4").write_bytes(b"")
    assert [t for _, t, _ in iter_frames(tmp_path / "v.mp4", fps=given)] == pytest.approx(times)


def test_a_video_without_timestamps_or_frame_rate_is_refused_in_one_line(tmp_path, monkeypatch):
    from eyebench.video import pipeline

    monkeypatch.setattr(pipeline, "_capture", lambda path: (cv2, FakeCapture([0, 0, 0], 0)))
    (tmp_path / "v.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match=r"v.mp4: frame 1 has no timestamp and the video states no frame rate"):
        analyse_video(tmp_path / "v.mp4", {})
    assert [t for _, t, _ in iter_frames(tmp_path / "v.mp4", fps=5)] == [0, 0.2, 0.4]


# -- videos made in code, end to end -------------------------------------------------------------------------
def schedule_300():
    """30 s at 10 frames/s: 3 blinks (one with a half-closed frame after it), a squint that is no blink, one long
    closure, two frames without a face, the head rolling +-6 degrees."""
    return blink_schedule(300, FPS, [(30, 3), (120, 2), (200, 12), (260, 3)], half_before=1, half_after=0,
                          squints=((80, 3), (33, 1)), no_face=(160, 161), roll_deg=6.0)


def face_picture():
    return cv2.cvtColor(cv2.imread(str(REPO_ROOT / "sample_images" / "astronaut_face.jpg")), cv2.COLOR_BGR2RGB)


def check_against_schedule(analysis, schedule, model):
    """Blink count exact, every closure's start and end within 2 frames, PERCLOS within 1 percentage point."""
    s = analysis.timelines[model].summary()
    truth = schedule.closures()
    found = [(e["start_frame"], e["end_frame"]) for e in s["events"]]
    assert s["blinks"] == 3 and s["long_closures"] == 1 and len(found) == len(truth), (model, s["events"])
    for (a, b), (fa, fb) in zip(truth, found):
        assert abs(a - fa) <= 2 and abs(b - fb) <= 2, (model, truth, found)
    assert abs(s["perclos"] - schedule.perclos()) <= 0.01, (model, s["perclos"], schedule.perclos())
    assert s["frames_without_eye"] >= 2
    missing = {r.frame for r in analysis.rows if r.status == "missing"}
    assert {160, 161} <= missing and len(missing) <= 4  # the face-less frames, plus at most a re-detection each


class TemplateStub:
    """A stand-in classifier: p(closed) from how much better the centre of the closed reference eye matches a crop
    than the centre of the open one (best normalised correlation over small shifts and three scales)."""

    name, uncertain_band = "stub", [0.2, 0.8]

    def __init__(self, open_crop, closed_crop):
        self.refs = [self._gray(c, 40)[10:30, 6:34] for c in (open_crop, closed_crop)]

    @staticmethod
    def _gray(crop, size):
        gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        return cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)

    def _match(self, crop, ref):
        return max(float(cv2.matchTemplate(self._gray(crop, size), ref, cv2.TM_CCOEFF_NORMED).max())
                   for size in (34, 40, 48))

    def predict_proba(self, crops):
        out = []
        for crop in crops:
            c_open, c_closed = (self._match(crop, ref) for ref in self.refs)
            p = 1 / (1 + math.exp(-15 * (c_closed - c_open)))
            out.append([1 - p, p])
        return np.array(out).reshape(-1, 2)


def test_synthetic_video_with_a_stub_classifier(tmp_path):
    rng = np.random.default_rng(3)
    opened, closed = draw_eye(True, rng, 64), draw_eye(False, rng, 64)
    scene = FaceScene(face_picture(), {OPEN: (opened, cv2.flip(opened, 1)), CLOSED: (closed, cv2.flip(closed, 1))})
    schedule = schedule_300()
    path = write_video(tmp_path / "blinks.avi", render_schedule(scene, schedule), FPS)
    x, y, w, h = scene.boxes["right"]
    stub = TemplateStub(scene.pasted[OPEN][y:y + h, x:x + w], scene.pasted[CLOSED][y:y + h, x:x + w])
    tracemalloc.start()
    analysis = analyse_video(path, {"stub": stub})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    check_against_schedule(analysis, schedule, "stub")
    assert peak < 60e6  # 300 decoded 640x480 frames would be 276 MB: frames are not kept
    assert analysis.info.width == 640 and analysis.info.fps == FPS and len(analysis.rows) == 300


def test_a_steadily_tilted_head_is_found_and_its_eyes_levelled(tmp_path):
    scene = demo_scene()  # the photo's own open eyes, drawn closed ones
    schedule = blink_schedule(90, FPS, [(20, 3), (50, 3), (75, 3)])
    schedule.rolls[:] = [35.0] * 90  # beyond what the upright face detector finds
    path = write_video(tmp_path / "tilted.avi", render_schedule(scene, schedule), FPS)
    x, y, w, h = scene.boxes["right"]
    stub = TemplateStub(scene.pasted[OPEN][y:y + h, x:x + w], scene.pasted[CLOSED][y:y + h, x:x + w])
    analysis = analyse_video(path, {"stub": stub})
    s = analysis.timelines["stub"].summary()
    assert s["blinks"] == 3 and s["frames_without_eye"] == 0, s["events"]
    assert abs(abs(float(np.median([r.roll_deg for r in analysis.rows]))) - 35) < 8  # the crops are cut level


def test_the_followed_face_is_kept_when_another_one_grows_larger():
    face = demo_scene().render(OPEN)

    def frame(left_larger: bool):
        canvas = np.full((480, 1280, 3), 128, np.uint8)
        for k, scale in enumerate((1.0, 0.9) if left_larger else (0.9, 1.0)):
            f = cv2.resize(face, None, fx=scale, fy=scale)
            x0, y0 = k * 640 + (640 - f.shape[1]) // 2, (480 - f.shape[0]) // 2
            canvas[y0:y0 + f.shape[0], x0:x0 + f.shape[1]] = f
        return canvas

    tracker = EyeTracker()
    halves = ["".join("L" if e.cx < 640 else "R" for e in tracker.update(frame(i < 5)).eyes) for i in range(30)]
    assert halves == ["LL"] * 30  # the right face is the larger one from frame 5 on


MRL_OPEN, MRL_CLOSED = "s0001/s0001_01963_0_0_1_0_0_01.png", "s0001/s0001_00523_0_0_0_0_0_01.png"


@pytest.fixture(scope="module")
def real_video(tmp_path_factory):
    mrl = real_data_dir("mrl")
    if not (mrl / MRL_OPEN).is_file() or not (mrl / MRL_CLOSED).is_file():
        pytest.skip(f"{MRL_OPEN} / {MRL_CLOSED} are not in {mrl}")
    opened, closed = (cv2.imread(str(mrl / name), cv2.IMREAD_GRAYSCALE) for name in (MRL_OPEN, MRL_CLOSED))
    scene = FaceScene(face_picture(), {OPEN: (opened, cv2.flip(opened, 1)), CLOSED: (closed, cv2.flip(closed, 1))})
    schedule = schedule_300()
    return write_video(tmp_path_factory.mktemp("video") / "mrl_blinks.avi", render_schedule(scene, schedule), FPS), \
        schedule


def test_video_command_says_how_frames_were_timed(tmp_path, capsys):
    from eyebench.cli import main
    from eyebench.video.synthetic import demo_video

    path, _ = demo_video(tmp_path / "demo.avi", seconds=1.0)
    student = str(REPO_ROOT / "checkpoints" / "student")
    for extra, said in (([], "frame times from the video timestamps: one frame every 33.3 ms (the file states 30 "
                             "frames/s;"), (["--fps", "10"], "frame times from --fps 10: one frame every 100.0 ms")):
        assert main(["video", str(path), "--model", student, "--out", str(tmp_path / "out"), "--max-frames", "8",
                     "--overwrite", *extra]) == 0  # the second run replaces the first one's files
        assert said in capsys.readouterr().out


def test_shipped_student_and_small_cnn_on_real_eye_crops(real_video):
    from eyebench.models.checkpoint import load_classifier

    path, schedule = real_video
    models = {name: load_classifier(REPO_ROOT / "checkpoints" / name) for name in ("student", "small_cnn")}
    analysis = analyse_video(path, models)
    for name in models:
        check_against_schedule(analysis, schedule, name)
        assert analysis.timelines[name].params.band == tuple(models[name].uncertain_band)


def test_video_command_writes_csv_json_and_an_offline_timeline(real_video, tmp_path, capsys):
    from eyebench.cli import main

    path, _ = real_video
    out = tmp_path / "out"
    rc = main(["video", str(path), "--model", str(REPO_ROOT / "checkpoints" / "student"), "--out", str(out),
               "--max-frames", "60", "--perclos-window", "5"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "frames/s" in printed and "student: 1 blink (" in printed
    summary = json.loads((out / "summary.json").read_text())
    s = summary["models"]["student"]
    assert s["frames"] == 60 and s["blinks"] == 1 and s["parameters"]["perclos_window_s"] == 5.0
    assert summary["tracker"]["detect_every"] == 3 and summary["video"]["width"] == 640
    lines = (out / "frames.csv").read_text().splitlines()
    assert lines[0].startswith("time_s,frame,eye,x,y,w,h,roll_deg,yaw_deg,pitch_deg,eyelid_opening,tracking,student_p_closed")
    assert len(lines) > 100  # two eyes per frame
    page = (out / "timeline.html").read_text()
    assert "plotly" in page.lower() and "<script src=\"http" not in page and "student" in page


def test_video_command_refuses_bad_input_in_one_line(tmp_path, capsys):
    from eyebench.cli import main

    bad = tmp_path / "clip.mp4"
    bad.write_text("hello")
    rc = main(["video", str(bad), "--model", str(REPO_ROOT / "checkpoints" / "student"), "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "not a video" in err


def test_bench_video_reports_frames_per_second_per_model(tmp_path, capsys):
    from eyebench.cli import main
    from eyebench.video.synthetic import demo_video

    path, _ = demo_video(tmp_path / "demo.avi", seconds=1.5, fps=30)
    out = tmp_path / "bench.json"
    assert main(["bench", "--video", str(path), "--model", str(REPO_ROOT / "checkpoints" / "student"),
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "video pipeline (decode, track, classify)" in printed and "640x480, 45 frames" in printed
    rows = json.loads(out.read_text())
    assert [r["model"] for r in rows] == ["(tracking only)", "student"]
    assert all(r["frames"] == 45 and r["frames_per_second"] > 0 and r["frames_per_cpu_second"] > 0 for r in rows)
    assert "classify:student" in rows[1]["seconds"] and rows[1]["width"] == 640


def test_app_video_tab_analyses_an_upload(tmp_path):
    import gradio as gr

    from eyebench.app import build_demo
    from eyebench.app.common import Bench
    from eyebench.app.video_tab import EVENT_COLUMNS, VideoTab
    from eyebench.models.checkpoint import load_classifier
    from eyebench.video.synthetic import demo_video

    student = load_classifier(REPO_ROOT / "checkpoints" / "student")
    path, schedule = demo_video(tmp_path / "demo.avi", seconds=3, fps=30)
    tab = VideoTab(Bench({"student": student}, [], REPO_ROOT / "sample_images", {}))
    figure, summary, events, files = tab.analyse(str(path), ["student"])
    assert "90 frames" in summary and "**student**: 0 blinks" in summary and "1 long closure," in summary
    # the landmark baseline (eye aspect ratio) is analysed beside the chosen models and sees the same closure
    assert "**eye_aspect_ratio**: 0 blinks" in summary
    assert [e[:2] for e in events] == [["eye_aspect_ratio", "long_closure"], ["student", "long_closure"]]
    assert all(len(e) == len(EVENT_COLUMNS) and abs(e[5] - schedule.closures()[0][0]) <= 2 for e in events)
    assert sorted(Path(f).name for f in files) == ["frames.csv", "summary.json", "timeline.html"]
    assert len(figure.data) >= 2
    with pytest.raises(gr.Error, match="Upload a video"):
        tab.analyse(None, ["student"])
    bad = tmp_path / "bad.mp4"
    bad.write_text("no")
    with pytest.raises(gr.Error, match="not a video") as info:
        tab.analyse(str(bad), ["student"])
    assert info.value.message.startswith("bad.mp4: ")  # the upload's name, not its path on the server
    demo = build_demo({"student": student})
    assert "/video" in {f"/{d.get('api_name')}" for d in demo.config["dependencies"]}
