"""The live mode without a browser: the online temporal analysis equals the batch one frame for frame, and the live
handler counts the blinks of a synthetic face stream, drops overlapping frames and starts over on reset."""
import numpy as np
import pytest
from conftest import REPO_ROOT

from eyebench.video.temporal import OnlineTimeline, TemporalParams, analyse_series


def random_series(rng, n):
    times = np.cumsum(rng.uniform(0.05, 0.2, n))
    p = rng.choice([0.02, 0.5, 0.97, np.nan], size=n, p=[0.5, 0.15, 0.25, 0.1])
    return times, np.repeat(p, rng.integers(1, 6, n))[:n]  # runs, so that closures and long gaps happen


@pytest.mark.parametrize("seed", range(40))
def test_online_analysis_equals_the_batch_one(seed):
    rng = np.random.default_rng(seed)
    times, p = random_series(rng, int(rng.integers(1, 200)))
    params = TemporalParams(band=(0.2, 0.8) if seed % 2 else (0.5, 0.5), perclos_window_s=[1.0, 3.0, 60.0][seed % 3])
    online = OnlineTimeline(params)
    states = [online.update(t, v) for t, v in zip(times, p)]
    batch = analyse_series(times, p, params)
    assert states == list(batch.state)
    assert online.summary() == batch.summary()
    np.testing.assert_allclose(online.window_perclos, batch.perclos)


def test_online_analysis_counts_a_blink_when_it_ends():
    online = OnlineTimeline(TemporalParams(band=(0.2, 0.8)))
    for i, p in enumerate([0.0] * 5 + [0.9] * 3):
        online.update(i / 10, p)
    assert online.summary()["blinks"] == 0 and online.summary()["incomplete_closures"] == 1  # still closed
    online.update(0.8, 0.5)  # uncertain: the eye is still taken to be closed
    assert online.summary()["blinks"] == 0
    assert online.update(0.9, 0.1) == "open" and online.summary()["blinks"] == 1
    with pytest.raises(ValueError, match="increasing"):
        online.update(0.9, 0.1)
    with pytest.raises(ValueError, match="median"):
        OnlineTimeline(TemporalParams(median_frames=3))


@pytest.fixture(scope="module")
def live():
    from eyebench.app.common import Bench
    from eyebench.app.live_tab import LiveMode
    from eyebench.models.checkpoint import load_classifier

    student = load_classifier(REPO_ROOT / "checkpoints" / "student")
    return LiveMode(Bench({"student": student}, [], REPO_ROOT / "sample_images", {}))


def test_live_handler_counts_blinks_and_drops_overlapping_frames(live):
    import gradio as gr

    from eyebench.video.synthetic import CLOSED, OPEN, demo_scene

    scene = demo_scene()
    session, out = None, None
    for state in [OPEN] * 4 + [CLOSED] * 2 + [OPEN] * 3:
        eyes, counts, session = out = live.frame(scene.render(state), "student", session)
    assert "right eye: OPEN" in eyes and "left eye: OPEN" in eyes and "p(closed)" in eyes
    assert "Blinks: **1**" in counts and "PERCLOS (last 60 s)" in counts and "frames/s handled" in counts
    assert session.timeline.summary()["frames"] == 9
    session.busy = True  # a frame arriving while the last one is still being handled is dropped
    dropped = live.frame(scene.render(OPEN), "student", session)
    assert dropped == (gr.skip(),) * 3  # nothing changes on the page
    session.busy = False
    assert session.timeline.summary()["frames"] == 9 and out[2] is session
    no_face = live.frame(np.full((480, 640, 3), 90, np.uint8), "student", session)
    assert "No eye found" in no_face[0] and "1 without an eye" in no_face[1]
    assert live.reset(session) == ("", "", None) and session.ended  # a frame still in flight returns it: ended
    _, counts, fresh = live.frame(scene.render(OPEN), "student", session)
    assert fresh is not session and "Blinks: **0**" in counts and "1 frames" in counts


def test_live_mode_is_in_the_video_tab_without_public_api(live):
    import gradio as gr

    with gr.Blocks() as demo:
        live.build()
    streams = [d for d in demo.config["dependencies"] if d["targets"] and d["targets"][0][1] == "stream"]
    assert len(streams) == 1 and streams[0]["stream_every"] == pytest.approx(0.15)
    assert all(fn.api_visibility != "public" for fn in demo.fns.values())


def test_live_handler_takes_odd_frames_without_raising(live):
    import gradio as gr

    from eyebench.video.synthetic import OPEN, demo_scene

    face = demo_scene().render(OPEN)
    session = None
    usable = [np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1), np.uint8), face.mean(axis=2).astype(np.uint8),
              np.dstack([face, np.full(face.shape[:2], 255, np.uint8)]), face[:, :, :1],
              np.zeros((3000, 4000, 3), np.uint8)]
    for frame in usable:
        eyes, counts, session = live.frame(frame, "student", session)
        assert ("No eye found" in eyes or "right eye: OPEN" in eyes) and "frames/s handled" in counts
    assert session.timeline.summary()["frames"] == len(usable)
    for odd in (np.zeros((0, 0, 3), np.uint8), face.astype(np.float32) / 255, np.zeros((48, 64, 2), np.uint8),
                np.zeros(5, np.uint8)):
        eyes, counts, same = live.frame(odd, "student", session)
        assert eyes.startswith("**Unusable frame** (shape ") and "\n" not in eyes
        assert counts == gr.skip() and same is session
    assert session.timeline.summary()["frames"] == len(usable)  # skipped frames are not counted


def test_live_frames_per_second_is_measured_between_handled_frames():
    from eyebench.app.live_tab import FPS_WINDOW_S, LiveSession

    session = LiveSession("student", None, None, start=100.0)
    session.handled.append(100.001)
    assert session.frames_per_second(100.001) == 0.0  # one frame just after the start: no rate yet (not 1000/s)
    session.handled.extend([100.201, 100.401])
    assert session.frames_per_second(100.401) == pytest.approx(5.0)
    session.handled.append(100.401 + FPS_WINDOW_S)  # the first three have left the window
    assert session.frames_per_second(100.401 + FPS_WINDOW_S) == pytest.approx(1 / FPS_WINDOW_S)


def test_a_clock_that_repeats_a_time_does_not_stop_the_stream(live, monkeypatch):
    """A coarse clock (about 15 ms on some systems) can give two frames one time: the timeline still increases."""
    import eyebench.app.live_tab as live_tab
    from eyebench.video.synthetic import OPEN, demo_scene

    monkeypatch.setattr(live_tab.time, "perf_counter", lambda: 500.0)
    face, session = demo_scene().render(OPEN), None
    for _ in range(3):
        eyes, counts, session = live.frame(face, "student", session)
        assert "right eye: OPEN" in eyes
    times = session.timeline.times
    assert len(times) == 3 and all(b > a for a, b in zip(times, times[1:]))
