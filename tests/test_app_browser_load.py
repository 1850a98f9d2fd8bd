"""The app opened on a held-out bundle, in headless Chromium, without pressing any button: Evaluate and Robustness are
already filled from the precomputed results (table rows with the model names, plots with data).

Screenshots land in tests/artifacts/load_*.png.
"""
from __future__ import annotations

import pytest

from app_server import heldout_app  # noqa: F401  (module-scoped app fixture)
from chromium import app_page, browser, open_tab, require_browser, shot  # noqa: F401

expect = require_browser().expect

PLOT_TRACES = "el => (el.querySelector('.js-plotly-plot') || {data: []}).data.length"


@pytest.fixture
def page(browser, heldout_app):
    with app_page(browser, heldout_app["url"]) as pg:
        yield pg


def test_evaluate_is_filled_as_the_page_opens(page):
    open_tab(page, "Evaluate")
    table = page.locator("#metrics-table")
    expect(table).to_contain_text("cnn")
    expect(table).to_contain_text("svm")
    expect(table).to_contain_text("worst subject")
    expect(page.locator("#eval-note")).to_contain_text("Precomputed held-out results")
    expect(page.locator("#confusion-plot .js-plotly-plot")).to_be_visible()
    expect(page.locator("#curves-plot .js-plotly-plot")).to_be_visible()
    assert page.locator("#confusion-plot").evaluate(PLOT_TRACES) == 2  # a confusion matrix per model
    assert page.locator("#curves-plot").evaluate(PLOT_TRACES) > 0
    shot(page, "load_evaluate")


def test_robustness_is_filled_as_the_page_opens(page):
    open_tab(page, "Robustness")
    table = page.locator("#robustness-table")
    expect(table).to_contain_text("cnn")
    expect(table).to_contain_text("svm")
    expect(page.locator("#robustness-note")).to_contain_text("stored sweeps")
    expect(page.locator("#robustness-bars .js-plotly-plot")).to_be_visible()
    expect(page.locator("#robustness-sweeps .js-plotly-plot")).to_be_visible()
    assert page.locator("#robustness-bars").evaluate(PLOT_TRACES) == 2  # a bar series per model
    assert page.locator("#robustness-sweeps").evaluate(PLOT_TRACES) > 0
    # each subset's n is written once under its name, at 11 px or more (no tiny overlapping labels on the bars)
    ticks = page.locator("#robustness-bars .xtick text")
    expect(ticks.first).to_contain_text("n=")
    sizes = ticks.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 11, sizes
    assert page.locator("#robustness-bars .bartext").count() == 0
    shot(page, "load_robustness")
