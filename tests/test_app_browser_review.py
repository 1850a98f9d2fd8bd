"""The Review tab driven by keyboard in headless Chromium (as in test_app_browser.py): audit the shipped sample set,
relabel three images, exclude one, undo one, export, and read the manifest row by row; decisions survive a reload.
Skipped when /usr/bin/chromium or `playwright` is missing."""
from __future__ import annotations

import csv
import io
import re

import pytest
from app_server import SAMPLE_SET, server  # noqa: F401  (module-scoped app fixture)
from chromium import app_page, browser, require_browser, shot  # noqa: F401

sync_api = require_browser()
expect = sync_api.expect
N_LABELLED = 8  # the labelled pictures of sample_images (samples.json; the face photo has no single label)


@pytest.fixture
def page(browser, server):
    with app_page(browser, server.url) as pg:
        yield pg


def audit(page):
    page.get_by_role("tab", name="Review").click()
    page.locator("#review-run").click()
    expect(page.locator("#review-progress")).to_contain_text(f"of {N_LABELLED}")


def current(page) -> tuple[str, str]:
    """(path, label) of the image on screen."""
    text = page.locator("#review-info").inner_text()
    path, label = re.search(r"^(\S+)\s*\n?\s*label (OPEN|CLOSED)", text, re.M).groups()
    return path, label.lower()


def press(page, key: str, reviewed: int):
    page.locator("body").press(key)
    expect(page.locator("#review-progress")).to_contain_text(f"reviewed {reviewed} of {N_LABELLED}")


def test_review_by_keyboard_and_export(page):
    audit(page)
    expect(page.locator("#review-progress")).to_contain_text(f"reviewed 0 of {N_LABELLED}")
    relabelled = {}
    for k in range(3):  # relabel three: the key of the other class
        path, label = current(page)
        relabelled[path] = "closed" if label == "open" else "open"
        press(page, "c" if label == "open" else "o", k + 1)
        expect(page.locator("#review-info")).not_to_contain_text(path)  # moved on to the next image
    excluded, _ = current(page)
    press(page, "x", 4)
    press(page, "z", 3)  # undo: the exclusion is taken back, its image shown again
    assert current(page)[0] == excluded
    press(page, "ArrowRight", 3)  # moving decides nothing
    shot(page, "review_tab")

    page.locator("#review-export-run").click()
    link = page.locator("#review-export a").first
    expect(link).to_be_attached()
    body = page.request.get(link.get_attribute("href")).text()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == N_LABELLED  # nothing excluded in the end
    assert list(rows[0]) == ["path", "label", "subject", "original_label", "decision", "reviewed_at"]
    for row in rows:
        if row["path"] in relabelled:
            assert row["label"] == relabelled[row["path"]] == row["decision"] != row["original_label"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row["reviewed_at"])
        else:
            assert row["label"] == row["original_label"] and row["decision"] == "not reviewed"
            assert row["reviewed_at"] == ""

    page.reload()  # the decisions are kept in this browser
    audit(page)
    expect(page.locator("#review-progress")).to_contain_text(f"reviewed 3 of {N_LABELLED}")


def test_keys_do_nothing_outside_the_review_tab(page):
    page.locator("body").press("o")
    expect(page.get_by_role("tab", name="Predict")).to_have_attribute("aria-selected", "true")
