"""Shared headless-Chromium settings for browser tests (Debian chromium driven by Python Playwright)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 60_000  # two busy cores: model runs and first page load can be slow
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def require_browser():
    """Skip the calling test module unless chromium and playwright are installed; return playwright.sync_api."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)",
                    allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="browser tests need the `playwright` Python package "
                                                             "(pip install -r requirements.txt)")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (screenshots go to tests/artifacts/)."""
    sync_api = require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def app_page(browser, url: str):
    """A fresh browser context (its own Gradio session) on the app, loaded, failing on any script error."""
    expect = require_browser().expect
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["camera"], origin=url.rstrip("/"))
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(url)
    expect(pg.get_by_role("tab", name="Predict")).to_be_visible()
    yield pg
    context.close()
    assert not [e for e in errors if "ResizeObserver" not in e], errors  # no script errors in the page


def open_tab(page, name: str):
    """Click a tab and wait until it is the selected one."""
    page.get_by_role("tab", name=name).click()
    require_browser().expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


def shot(page, name: str):
    """A full-page screenshot in tests/artifacts/NAME.png, after plots have had time to draw."""
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
