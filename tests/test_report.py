"""`eyebench report`: one self-contained HTML file (plotly.js inlined, images as data URIs) with every section."""
import re
from html.parser import HTMLParser

import pytest
from plotly.offline import get_plotlyjs

from eyebench.cli import main

SECTIONS = ["Metrics", "Confusion matrices", "Risk-coverage and calibration", "Subsets", "Perturbation sweeps",
            "Where each model looks"]


class Outline(HTMLParser):
    """Collects h2 titles, script sources and image sources."""

    def __init__(self):
        super().__init__()
        self.h2, self.scripts, self.images, self.links, self._in_h2 = [], [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")
        elif tag == "script":
            self.scripts.append(attrs.get("src"))
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "link":
            self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data


@pytest.fixture(scope="module")
def report(trained_cnn, svm_checkpoint, mrl_dir, tmp_path_factory, session_cache):
    out = tmp_path_factory.mktemp("report") / "x.html"
    rc = main(["report", "--model", str(trained_cnn), "--model", str(svm_checkpoint), "--data", str(mrl_dir),
               "--out", str(out), "--bootstrap", "20", "--sweep-images", "6"])
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    outline = Outline()
    outline.feed(text)
    return text, outline


def test_report_has_every_section(report):
    text, outline = report
    assert outline.h2 == SECTIONS
    assert "Reliability diagram" in text and "Risk-coverage" in text  # the two figures of that section
    assert "Paired comparison (McNemar, same images)" in text
    assert "95% CI (subjects)" in text and "ECE: top-label ECE" in text
    for name in ("small_cnn", "lbp_hog_svm"):
        assert name in text
    for sweep in ("rotation_deg", "yaw_deg", "glasses", "blur_sigma", "gamma", "noise_sigma", "jpeg_quality",
                  "downscale_px"):
        assert f"{sweep}: accuracy" in text
    assert "Made by <code>python -m eyebench" in text


def test_report_is_self_contained(report):
    text, outline = report
    plotly_js = get_plotlyjs()
    assert plotly_js in text  # plotly.js itself, inlined
    assert all(src is None for src in outline.scripts)  # no <script src=...> at all
    assert outline.links == []  # no external stylesheet
    ours = text.replace(plotly_js, "")  # the library mentions its CDN in its own code; our markup must not
    assert re.search(r"<script[^>]*\bsrc\s*=", ours, re.I) is None
    assert re.search(r"""(src|href)\s*=\s*["']?https?://""", ours, re.I) is None
    assert "cdn.plot.ly" not in ours


def test_report_images_are_data_uris(report):
    _, outline = report
    assert outline.images and all(src.startswith("data:image/png;base64,") for src in outline.images)
    # 3 open + 3 closed examples, each shown plain and with one map per model
    assert len(outline.images) == 6 * (1 + 2)


def test_report_with_split_and_one_model(trained_cnn, mrl_dir, tmp_path, capsys):
    out = tmp_path / "test_split.html"
    rc = main(["report", "--model", str(trained_cnn), "--data", str(mrl_dir), "--split", "test", "--out", str(out),
               "--bootstrap", "10", "--sweep-images", "4"])
    assert rc == 0 and f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    assert "Paired comparison" not in text  # one model: nothing to pair
    assert "too few for a subject-level interval" in text  # one test subject: no CI, and the report says why


def test_report_without_saved_split_is_an_error(svm_checkpoint, tmp_path, mrl_dir, capsys):
    from eyebench import load_classifier

    clf = load_classifier(svm_checkpoint)
    clf.info = {}
    bare = tmp_path / "bare_svm"
    clf.save_pretrained(bare)
    rc = main(["report", "--model", str(bare), "--data", str(mrl_dir), "--split", "test", "--out", str(tmp_path / "r.html")])
    assert rc == 2 and "has no saved split" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_report_renders_offline_in_chromium(report, tmp_path):
    """The report opens from disk with every network request refused, and plotly draws each figure."""
    from chromium import CHROMIUM, CHROMIUM_ARGS, require_browser

    sync_api = require_browser()
    text, _ = report
    path = tmp_path / "report.html"
    path.write_text(text, encoding="utf-8")
    n_figures = text.count('class="plotly-graph-div"')
    assert n_figures >= 8
    refused = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route(lambda url: not url.startswith(("file:", "data:")),
                   lambda route: (refused.append(route.request.url), route.abort()))
        page.goto(path.as_uri())
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_figures}",
                               timeout=60_000)
        headings = page.locator("h2").all_inner_texts()
        images_ok = page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        browser.close()
    assert {"Metrics", "Confusion matrices", "Subsets", "Perturbation sweeps"} <= set(headings)
    assert images_ok
    assert refused == []


def test_metric_table_keeps_long_source_and_model_names_apart():
    from eyebench.evaluate.results import CheckpointEvaluation
    from eyebench.formatters.evaluation import format_table

    m = {"n": 325, "accuracy": 0.97, "balanced_accuracy": 0.96, "recall_closed": 0.95, "recall_open": 0.99,
         "roc_auc": 0.99}
    row = CheckpointEvaluation(name="runs/a_long_model_name", checkpoint="", metrics=m, seconds=0.0,
                               per_source={"my_eye_dataset": m, "cew": m}, per_subject={}, worst_subject=None,
                               band=None, leak=None)
    lines = format_table([row]).splitlines()
    assert lines[1].split()[:3] == ["a_long_model_name", "all", "325"]
    assert lines[2].split()[:2] == ["my_eye_dataset", "325"]
    assert all(line.index("0.9700") == lines[0].index(" acc ") + 1 for line in lines[1:])  # columns stay aligned
