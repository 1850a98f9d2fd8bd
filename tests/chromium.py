"""Shared headless-Chromium settings for browser tests (Debian chromium driven by Python Playwright)."""
from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
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
