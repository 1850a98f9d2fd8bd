"""The app opened on a held-out bundle, in headless Chromium: Evaluate, Threshold and Robustness as they look at startup.

Screenshots land in tests/artifacts/heldout_*.png.
"""
from __future__ import annotations

import pytest
from app_server import heldout_app  # noqa: F401  (module-scoped app fixture)
from chromium import app_page, browser, open_tab, require_browser, shot  # noqa: F401

expect = require_browser().expect


@pytest.fixture
def page(browser, heldout_app):
    with app_page(browser, heldout_app["url"]) as pg:
        yield pg


def test_evaluate_opens_on_the_precomputed_test_people(page, heldout_app):
    open_tab(page, "Evaluate")
    expect(page.get_by_label("Test set")).to_have_value("held-out test people (precomputed)")
    page.get_by_role("button", name="Evaluate", exact=True).click()
    expect(page.locator("#confusion-plot .js-plotly-plot")).to_be_visible()
    expect(page.locator("#eval-note")).to_contain_text("Precomputed held-out results")
    expect(page.locator("#metrics-table")).to_contain_text("cnn")
    expect(page.locator("#eval-mistakes")).to_be_hidden()  # no images shipped: no empty gallery (the note says why)
    shot(page, "heldout_evaluate")


def test_threshold_works_before_any_evaluation(page):
    open_tab(page, "Threshold")
    page.locator("#band-low input[type=number]").fill("0.2")
    page.locator("#band-low input[type=number]").press("Enter")
    expect(page.locator("#band-stats")).to_contain_text("accuracy on accepted")
    expect(page.locator("#band-histogram .js-plotly-plot")).to_be_visible()
    expect(page.locator("#band-three-way")).to_contain_text("uncertain")
    shot(page, "heldout_threshold")


def test_robustness_shows_the_bundle_subsets_and_sweeps(page):
    open_tab(page, "Robustness")
    page.get_by_role("button", name="Run robustness").click()
    expect(page.locator("#robustness-sweeps .js-plotly-plot")).to_be_visible()
    expect(page.locator("#robustness-note")).to_contain_text("stored sweeps")
    shot(page, "heldout_robustness")
