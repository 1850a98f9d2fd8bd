"""The Review tab's handlers without a browser: audit a labelled folder, decide, undo, export a manifest."""
import csv
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT, draw_eye, write_png

from eyebench.evaluate.audit import review_rows


@pytest.fixture
def review(tmp_path):
    from eyebench.app.common import Bench
    from eyebench.app.review_tab import ReviewTab
    from eyebench.models.checkpoint import load_classifier

    rng = np.random.default_rng(0)
    for i in range(12):
        is_open = i % 2 == 0
        write_png(tmp_path / "set" / ("open" if is_open else "closed") / f"p{i:02d}_0001.png", draw_eye(is_open, rng, 48))
    bench = Bench({"student": load_classifier(REPO_ROOT / "checkpoints" / "student")}, [], REPO_ROOT / "sample_images",
                  {"mine": tmp_path / "set"})
    return ReviewTab(bench)


def test_review_decide_undo_and_export(review):
    session, image, heat, map_name, info, progress, gallery = review.audit(["student"], "mine", None, {})
    assert len(session["rows"]) == 12 and "reviewed 0 of 12" in progress and len(gallery) == 12
    assert Path(image).is_file() and Path(heat).is_file() and map_name == "map of student"
    stored = {}
    first = session["rows"][0]["path"]
    session, stored, *_ = review.decide("closed" if session["rows"][0]["label"] == "open" else "open", session, stored)
    session, stored, *_ = review.decide("excluded", session, stored)
    session, stored, *_ = review.decide("unsure", session, stored)
    session, stored, *shown = review.undo(session, stored)  # takes back "unsure" and shows that image again
    assert session["index"] == 2 and "reviewed 2 of 12" in shown[-1]
    rows = review_rows(session["rows"], stored[session["key"]])
    assert len(rows) == 11  # the excluded image is left out
    relabelled = next(r for r in rows if r["path"] == first)
    assert relabelled["label"] != relabelled["original_label"] and relabelled["reviewed_at"]
    exported = review.export(session, stored)
    with open(exported, newline="") as fh:
        assert list(csv.DictReader(fh)) == [{k: str(v) for k, v in r.items()} for r in rows]


def test_review_refuses_the_precomputed_set_and_needs_an_audit(review):
    import gradio as gr

    from eyebench.app.common import PRECOMPUTED

    with pytest.raises(gr.Error, match="numbers, not pictures"):
        review.audit(["student"], PRECOMPUTED, None, {})
    with pytest.raises(gr.Error, match="Press Audit first"):
        review.export(None, {})
