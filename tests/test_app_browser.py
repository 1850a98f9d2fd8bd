"""The Gradio app in headless Chromium (Debian `chromium` driven by Python Playwright), with a fake webcam.

Skipped when /usr/bin/chromium or the `playwright` package is missing (`.ci/run` installs both). Screenshots of
every tab land in tests/artifacts/ (git-ignored).
"""
from __future__ import annotations

import json
import re

import pytest
from app_server import MODEL_NAMES, SAMPLES, server  # noqa: F401  (module-scoped app fixture)
from chromium import ARTIFACTS, app_page, browser, open_tab, require_browser, shot  # noqa: F401

N_SAMPLES = sum(1 for r in json.loads((SAMPLES / "samples.json").read_text()) if r["label"])  # labelled sample pictures

LABEL = re.compile(r"\b(OPEN|CLOSED|UNCERTAIN)\b")
sync_api = require_browser()
expect = sync_api.expect


@pytest.fixture
def page(browser, server):
    """A fresh browser context (its own Gradio session) on the app, loaded and ready."""
    with app_page(browser, server.url) as pg:
        yield pg


def expect_every_model_result(page, n_eyes: int = 1):
    expect(page.locator("[id^=model-result-]")).to_have_count(len(MODEL_NAMES))
    for i in range(len(MODEL_NAMES)):
        expect(page.locator(f"#model-result-{i}")).to_have_text(LABEL)
        expect(page.locator(f"#model-maps-{i} img")).to_have_count(n_eyes)
    for name in MODEL_NAMES:
        expect(page.get_by_text(f"{name} maps")).to_be_visible()


def run_evaluation(page):
    open_tab(page, "Evaluate")
    page.get_by_role("button", name="Evaluate", exact=True).click()
    plot = page.locator("#confusion-plot")
    expect(plot.locator(".js-plotly-plot")).to_be_visible()
    return plot


# -- tests ---------------------------------------------------------------------------------------------------
def test_upload_shows_every_models_label_and_map(page):
    page.locator("#predict-image input[type=file]").set_input_files(str(SAMPLES / "synthetic_closed_0.png"))
    expect_every_model_result(page)
    expect(page.locator("#predict-message")).to_have_text("Classified the whole image as one eye crop.")
    shot(page, "tab_predict")


def test_face_upload_finds_two_eyes(page):
    page.locator("#predict-image input[type=file]").set_input_files(str(SAMPLES / "astronaut_face.jpg"))
    expect(page.locator("#predict-message")).to_have_text(re.compile(r"2 eye\(s\) found in 1 face\(s\)\.\s*face 1: yaw "))
    expect_every_model_result(page, n_eyes=2)
    shot(page, "tab_predict_face")


def test_clicking_a_sample_classifies_it(page):
    page.locator('button:has(img[src$="/astronaut_face.jpg"])').click()  # one of gr.Examples' thumbnails
    expect(page.locator("#predict-message")).to_have_text(re.compile(r"2 eye\(s\) found in 1 face\(s\)\.\s*face 1: yaw "))
    expect_every_model_result(page, n_eyes=2)


def test_bad_upload_shows_a_readable_message(page, tmp_path):
    junk = tmp_path / "notes.png"
    junk.write_text("this is not a picture")
    page.locator("#predict-image input[type=file]").set_input_files(str(junk))
    expect(page.get_by_text(re.compile("Cannot use this file: not a readable image")).first).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)
    shot(page, "predict_bad_upload")


def test_webcam_picture_is_classified(page):
    page.get_by_label("treat the whole image as one eye crop").check()  # the fake camera shows no face
    page.locator("#predict-image").get_by_role("button", name="Capture from camera").click()
    page.get_by_text("Click to Access Webcam").click()
    video = page.locator("#predict-image video")
    page.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0", arg=video.element_handle())
    page.locator("#predict-image").get_by_role("button", name="capture photo").click()
    expect(page.locator("#predict-image img[src]").first).to_be_visible()
    page.get_by_role("button", name="Classify").click()
    expect_every_model_result(page)
    shot(page, "predict_webcam")


def test_evaluation_shows_the_confusion_matrices(page):
    plot = run_evaluation(page)
    for name in MODEL_NAMES:
        expect(plot).to_contain_text(name)  # one subplot title per model
    expect(plot).to_contain_text("Confusion matrices")
    expect(page.locator("#eval-note")).to_contain_text(f"{N_SAMPLES} images read, 0 skipped")
    expect(page.locator("#metrics-table")).to_contain_text(MODEL_NAMES[1])
    expect(page.locator("#eval-mistakes img").first).to_be_visible()  # untrained models: mistakes to show
    shot(page, "tab_evaluate")


def test_threshold_before_any_evaluation_says_so(page):
    open_tab(page, "Threshold")
    low = page.locator("#band-low input[type=number]")
    low.fill("0.2")
    low.press("Tab")
    expect(page.locator("#band-stats")).to_contain_text("Run an evaluation first")
    expect(page.get_by_text("Run an evaluation first (Evaluate tab), then tune its models here.").first).to_be_visible()


def test_threshold_sliders_change_the_coverage(page):
    stats = page.locator("#band-stats")
    run_evaluation(page)
    open_tab(page, "Threshold")
    expect(stats).to_contain_text("coverage")
    expect(stats).to_contain_text(f"{MODEL_NAMES[0]} · band [0.300, 0.700]")  # the model's stored band
    before = stats.inner_text()

    def move(slider: str, value: str, expected_band: str):
        box = page.locator(f"#band-{slider} input[type=number]")
        box.fill(value)
        box.press("Tab")
        expect(stats).to_contain_text(expected_band)

    move("low", "0.001", "band [0.001, 0.700]")
    move("high", "0.999", "band [0.001, 0.999]")
    wide = stats.inner_text()
    assert wide != before
    move("low", "0.5", "band [0.500, 0.999]")
    move("high", "0.5", "band [0.500, 0.500]")
    expect(stats).to_contain_text("coverage 100.00%")  # a point band accepts everything

    # the range input itself (pointer/keyboard users): a keyboard step moves the band and the text follows
    page.locator("#band-high input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    expect(stats).to_contain_text("band [0.500, 0.501]")
    expect(page.locator("#band-csv")).to_be_hidden()  # shown under the buttons once exported
    page.get_by_role("button", name="Export uncertain images (CSV)").click()
    expect(page.locator("#band-csv")).to_contain_text(f"uncertain_{MODEL_NAMES[0]}")
    shot(page, "tab_threshold")


def test_robustness_tab(page):
    open_tab(page, "Robustness")
    page.get_by_role("button", name="Run robustness").click()
    expect(page.locator("#robustness-note")).to_contain_text("images per level")
    expect(page.locator("#robustness-sweeps .js-plotly-plot")).to_be_visible()
    for name in MODEL_NAMES:
        expect(page.locator("#robustness-sweeps")).to_contain_text(name)
    shot(page, "tab_robustness")


def test_models_tab_lists_models_and_the_skipped_folder(page):
    open_tab(page, "Models")
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_text(re.compile(r"skipped broken_model")).first).to_be_visible()
    for name in MODEL_NAMES:
        expect(panel.get_by_text(re.compile(rf"^{name} \(")).first).to_be_visible()
    panel.get_by_text(re.compile(rf"^{MODEL_NAMES[0]} \(")).first.click()  # open its accordion: card and curves
    expect(panel.get_by_text(re.compile("parameters")).first).to_be_visible()
    shot(page, "tab_models")

