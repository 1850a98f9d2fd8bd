"""Videos made in code that once lost the face, run end to end with the shipped small_cnn and student: the astronaut
on a light-grey background (the tracker used to report every frame without an eye there), and a face whose open AND
closed eyes are both pasted rendered crops (samples.render_eye and samples.render_eye_photo), not the photo's own.
Each video is 7 s at 15 frames/s with a few short blinks, one long closure and a short face-less gap; the counted
blinks and long closures must equal the schedule's exactly and no frame that shows the face may be missing."""
import cv2
import numpy as np
import pytest
from conftest import REPO_ROOT

from eyebench.results import EyeState
from eyebench.samples import render_eye, render_eye_photo
from eyebench.video.pipeline import analyse_video
from eyebench.video.synthetic import (CLOSED, NO_FACE, OPEN, FaceScene, blink_schedule,
                                      demo_scene, render_schedule, write_video)
from eyebench.video.temporal import TemporalParams

FPS = 15.0
MODELS = ("small_cnn", "student")
LIGHT_GREY = 208


@pytest.fixture(scope="module")
def models():
    from eyebench.models.checkpoint import load_classifier

    return {name: load_classifier(REPO_ROOT / "checkpoints" / name) for name in MODELS}


def schedule_7s():
    """105 frames at 15 frames/s: blinks of 3, 2 and 3 frames (200, 133, 200 ms), one closure of 18 frames (1.2 s),
    each with a half-closed frame before and after; three frames without a face; the head rolling +-5 degrees."""
    return blink_schedule(105, FPS, [(15, 3), (40, 2), (60, 18), (92, 3)], no_face=(30, 31, 32), roll_deg=5.0)


def expected_counts(schedule):
    """(blinks, long closures) of the schedule by the default temporal parameters (a closure lasts frames / fps)."""
    p = TemporalParams()
    ms = [(b - a + 1) * 1000.0 / schedule.fps for a, b in schedule.closures()]
    return sum(m < p.max_blink_ms for m in ms), sum(m > p.long_closure_ms for m in ms)


def on_background(scene: FaceScene, value: int) -> FaceScene:
    """The scene with everything outside the face picture (frames without a face included) set to grey `value`."""
    h, w = scene.background.shape[:2]
    ox, oy = scene.origin
    outside = np.ones((h, w), bool)
    outside[oy:h - oy, ox:w - ox] = False  # the face is centred: its margins are the same on both sides (+-1 px)
    outside &= np.all(scene.base == scene.background, axis=2)  # never a pixel of the face itself
    scene.background = np.full_like(scene.background, value)
    for image in (scene.base, *scene.pasted.values()):
        image[outside] = value
    return scene


def check_video(analysis, schedule, names):
    blinks, long_closures = expected_counts(schedule)
    assert (blinks, long_closures) == (3, 1)  # the schedule is what this file says it is
    no_face = {i for i, s in enumerate(schedule.states) if s == NO_FACE}
    assert len(analysis.rows) == len(schedule.states)
    lost = [(r.frame, r.status, len(r.eyes)) for r in analysis.rows
            if r.frame not in no_face and (r.status == "missing" or len(r.eyes) != 2)]
    assert lost == [], f"frames showing the face without both eyes: {lost[:10]} ({len(lost)} in all)"
    truth = schedule.closures()
    for name in names:
        s = analysis.timelines[name].summary()
        events = [(e["kind"], e["start_frame"], e["end_frame"]) for e in s["events"]]
        assert (s["blinks"], s["long_closures"]) == (blinks, long_closures), (name, events)
        assert s["closures"] == 0 and s["incomplete_closures"] == 0 and len(events) == len(truth), (name, events)
        for (a, b), (_, fa, fb) in zip(truth, events):
            assert abs(a - fa) <= 2 and abs(b - fb) <= 2, (name, truth, events)
        assert s["frames_without_eye"] == len(no_face), (name, s["frames_without_eye"])
        frame_p = [r.frame_p(name) for r in analysis.rows if r.frame not in no_face]
        assert not np.isnan(frame_p).any(), name


def test_face_on_a_light_grey_background(tmp_path, models):
    scene = on_background(demo_scene(), LIGHT_GREY)  # the astronaut's own open eyes, rendered closed ones
    frame = scene.render(OPEN)
    assert frame.shape == (480, 640, 3) and (frame[0, 0] == LIGHT_GREY).all() and (frame[-1, -1] == LIGHT_GREY).all()
    assert (scene.render(NO_FACE) == LIGHT_GREY).all()
    schedule = schedule_7s()
    path = write_video(tmp_path / "grey.avi", render_schedule(scene, schedule), FPS)
    check_video(analyse_video(path, models), schedule, MODELS)


def rendered_crops(kind):
    """{"open": (right, left), "closed": (right, left)} RGB eye crops, all drawn in code (different seeds)."""
    if kind == "render_eye":
        make = lambda label, seed: render_eye(label, size=88, seed=seed, rgb=True)  # noqa: E731
    else:
        make = lambda label, seed: render_eye_photo(label, seed=seed)  # noqa: E731
    return {OPEN: (make(EyeState.OPEN, 1), make(EyeState.OPEN, 2)), CLOSED: (make(EyeState.CLOSED, 3), make(EyeState.CLOSED, 4))}


@pytest.mark.parametrize("kind", ["render_eye", "render_eye_photo"])
def test_face_with_pasted_open_and_closed_eyes(tmp_path, models, kind):
    face = cv2.cvtColor(cv2.imread(str(REPO_ROOT / "sample_images" / "astronaut_face.jpg")), cv2.COLOR_BGR2RGB)
    scene = FaceScene(face, rendered_crops(kind))
    x, y, w, h = scene.boxes["right"]
    assert not np.array_equal(scene.pasted[OPEN][y:y + h, x:x + w], scene.base[y:y + h, x:x + w])  # not her own eyes
    schedule = schedule_7s()
    path = write_video(tmp_path / f"{kind}.avi", render_schedule(scene, schedule), FPS)
    check_video(analyse_video(path, models), schedule, MODELS)
