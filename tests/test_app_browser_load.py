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


def expect_filled(page, tab: str, table: str, note: str, note_text: str, plots: dict[str, int | None]):
    """A tab, opened without pressing its button: the table names both models, the note says where the numbers come
    from, and each plot has data (`plots`: element id -> its number of traces, or None for at least one)."""
    open_tab(page, tab)
    for name in ("cnn", "svm"):
        expect(page.locator(f"#{table}")).to_contain_text(name)
    expect(page.locator(f"#{note}")).to_contain_text(note_text)
    for plot, traces in plots.items():
        expect(page.locator(f"#{plot} .js-plotly-plot")).to_be_visible()
        found = page.locator(f"#{plot}").evaluate(PLOT_TRACES)
        assert found == traces if traces is not None else found > 0, (plot, found)


def test_evaluate_is_filled_as_the_page_opens(page):
    expect_filled(page, "Evaluate", "metrics-table", "eval-note", "Precomputed held-out results",
                  {"confusion-plot": 2, "curves-plot": None})  # a confusion matrix per model
    expect(page.locator("#metrics-table")).to_contain_text("worst subject")
    shot(page, "load_evaluate")


def test_robustness_is_filled_as_the_page_opens(page):
    expect_filled(page, "Robustness", "robustness-table", "robustness-note", "stored sweeps",
                  {"robustness-bars": 2, "robustness-sweeps": None})  # a bar series per model
    # each subset's n is written once under its name, at 11 px or more (no tiny overlapping labels on the bars)
    ticks = page.locator("#robustness-bars .xtick text")
    expect(ticks.first).to_contain_text("n=")
    sizes = ticks.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 11, sizes
    assert page.locator("#robustness-bars .bartext").count() == 0
    shot(page, "load_robustness")
