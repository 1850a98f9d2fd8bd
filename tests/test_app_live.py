"""The live mode in headless Chromium: a video made in code (the demo face blinking on a known schedule) is Chromium's
fake camera (`--use-file-for-fake-video-capture`, a Y4M file), streamed into the Video tab's live mode, whose blink
count must rise above 0. Uses the shipped student (checkpoints/student); skipped without chromium or playwright."""
from __future__ import annotations

import re
import shutil

import cv2
import pytest
from app_server import REPO_ROOT, AppServer
from chromium import CHROMIUM, CHROMIUM_ARGS, app_page, open_tab, require_browser, shot

sync_api = require_browser()
expect = sync_api.expect
FPS = 10
STUDENT = REPO_ROOT / "checkpoints" / "student"


def write_y4m(path, frames, fps: int = FPS):
    """RGB frames (one size, even sides) as an uncompressed 4:2:0 Y4M file: a header line, then per frame `FRAME`
    and the Y, U and V planes."""
    with open(path, "wb") as f:
        for i, rgb in enumerate(frames):
            h, w = rgb.shape[:2]
            if i == 0:
                f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            f.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory):
    """3 s at 10 frames/s, looped by Chromium: open eyes with two 200 ms blinks (short enough that a frame sampled
    every few hundred ms sees at most one closed frame, so the closure it measures stays a blink)."""
    from eyebench.video.synthetic import blink_schedule, demo_scene, render_schedule

    schedule = blink_schedule(3 * FPS, FPS, [(8, 2), (22, 2)], half_before=0, half_after=0)
    return write_y4m(tmp_path_factory.mktemp("camera") / "blinks.y4m", render_schedule(demo_scene(), schedule))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    if not (STUDENT / "model.safetensors").is_file():
        pytest.skip(f"the live browser test needs the shipped student checkpoint at {STUDENT}")
    root = tmp_path_factory.mktemp("live_checkpoints")
    shutil.copytree(STUDENT, root / "student")
    srv = AppServer(root).start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def camera_browser(fake_camera):
    """A Chromium of its own whose fake camera plays the generated video."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=CHROMIUM_ARGS + [f"--use-file-for-fake-video-capture={fake_camera}"])
        yield b
        b.close()


def test_live_mode_counts_the_blinks_of_the_fake_camera(camera_browser, live_server):
    with app_page(camera_browser, live_server.url) as page:
        open_tab(page, "Video")
        live = page.locator("#live-webcam")
        live.scroll_into_view_if_needed()
        live.get_by_text("Click to Access Webcam").click()
        video = live.locator("video")
        page.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0", arg=video.element_handle())
        live.get_by_role("button", name="capture photo").click()  # in a streaming image: start streaming
        counts = page.locator("#live-counts")
        expect(counts).to_contain_text("frames/s handled")
        expect(page.locator("#live-eyes")).to_contain_text(re.compile(r"eye: (OPEN|CLOSED)"))
        expect(counts).to_contain_text(re.compile(r"Blinks: [1-9]"), timeout=90_000)
        shot(page, "video_live")
        page.locator("#live-reset").click()
        expect(counts).not_to_contain_text(re.compile(r"Blinks: [1-9]"))
