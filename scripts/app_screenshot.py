"""Regenerate the README's screenshots in Chromium: docs/app.png (app.py on the shipped checkpoints, Evaluate tab) and
docs/video.png (`python -m eyebench video` on the synthetic demo video with student, small_cnn and resnet18).

Usage: python scripts/app_screenshot.py [app|video] [OUT.png]   (needs Debian chromium and the playwright package)
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 180) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the app did not answer at {url} within {seconds:.0f} s")


def app_screenshot(out: str) -> None:
    """The Evaluate tab of app.py on the precomputed held-out results."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_role("tab", name="Evaluate").click()
            page.get_by_role("button", name="Evaluate", exact=True).click()
            page.locator("#confusion-plot .js-plotly-plot").wait_for()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ROOT / out), full_page=False)
            browser.close()
    finally:
        app.terminate()
        app.wait(30)


def video_screenshot(out: str) -> None:
    """The top of timeline.html written by `video` for the 12-second synthetic demo video (blinks, one long closure)."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from eyebench.video.synthetic import demo_video

    with tempfile.TemporaryDirectory() as tmp:
        demo_video(Path(tmp) / "demo.avi", seconds=12)
        models = [a for m in ("student", "small_cnn", "resnet18") for a in ("--model", str(ROOT / "checkpoints" / m))]
        subprocess.run([sys.executable, "-m", "eyebench", "video", "demo.avi", *models, "--out", "demo_eyes"],
                       cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, stdout=subprocess.DEVNULL)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 760})
            page.goto((Path(tmp) / "demo_eyes" / "timeline.html").as_uri())
            page.locator(".js-plotly-plot").first.wait_for()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ROOT / out), full_page=False)
            browser.close()


def main(what: str = "app", out: str | None = None) -> int:
    if what not in ("app", "video"):
        raise SystemExit("usage: python scripts/app_screenshot.py [app|video] [OUT.png]")
    out = out or f"docs/{what}.png"
    (app_screenshot if what == "app" else video_screenshot)(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
