"""What the app shows as the page opens (Evaluate and Robustness on the precomputed results), and the small things
around it: API output names, one-class and doubted-subject notes, the worst subject's n, per-person order, the
server log, the report's input crops. Handlers are called directly (no browser, no server)."""
from __future__ import annotations

import os
import shutil

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from app_server import MODEL_NAMES, SAMPLES, bundle_checkpoints, make_checkpoints

PRECOMPUTED = "held-out test people (precomputed)"


def handler(demo, name: str, first_output: str | None = None):
    """The one event function of the demo called `name` (a bound method of a tab), with this first output."""
    fns = [fn for fn in demo.fns.values()
           if fn.name == name and first_output in (None, fn.outputs[0].label if fn.outputs else None)]
    assert len(fns) == 1, [fn.name for fn in demo.fns.values()]
    return fns[0]


def by_label(outputs: dict) -> dict:
    return {component.label: value for component, value in outputs.items()}


@pytest.fixture(scope="module")
def bundle_demo(tmp_path_factory, trained_cnn, svm_checkpoint, mrl_dir):
    """The app of two models (cnn, svm) that a held-out bundle holds, as app_server's heldout_app builds it."""
    from eyebench import workbench
    from eyebench.app import build_demo

    root = tmp_path_factory.mktemp("load_app")
    bundle_checkpoints(root, trained_cnn, svm_checkpoint, mrl_dir)
    loaded, notices = workbench.load_all(root / "checkpoints")
    return build_demo(loaded, notices, samples=SAMPLES, datasets={"live": mrl_dir}, heldout=root / "heldout")


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory, fitted_svm, records):
    """The app of the two tiny models with an open-eyes-only test set (no bundle)."""
    from eyebench import workbench
    from eyebench.app import build_demo
    from eyebench.results import EyeState

    root = tmp_path_factory.mktemp("tiny_app")
    opened = root / "open_only" / "open"
    opened.mkdir(parents=True)
    for r in [r for r in records if r["label"] == EyeState.OPEN][:6]:
        shutil.copy(r["path"], opened / f"{r['person']}_{r['number']:04d}_{r['side']}.png")
    models, notices = workbench.load_all(make_checkpoints(root / "checkpoints", fitted_svm))
    return build_demo(models, notices, samples=SAMPLES, datasets={"open only": root / "open_only"})


# -- 1. Evaluate and Robustness filled as the page opens ------------------------------------------------------
def test_evaluate_opens_on_the_precomputed_results(bundle_demo):
    load = handler(bundle_demo, "opening", "Evaluation notes")
    shown = by_label(load.fn())
    assert [c.label for c in load.outputs] == ["Evaluation notes", "Metrics", "Confusion matrices",
                                               "ROC and risk-coverage", "Downloads"]
    assert load.api_visibility == "private" and load.targets[0][1] == "load"
    table = shown["Metrics"]
    assert list(table["model"]) == ["cnn", "svm"] and (table["n"] > 0).all()
    assert "Precomputed held-out results" in shown["Evaluation notes"]
    assert len([t for t in shown["Confusion matrices"].data if t.type == "heatmap"]) == 2
    assert shown["ROC and risk-coverage"].data
    assert sorted(p.rsplit("/", 1)[1] for p in shown["Downloads"]) == ["evaluation.json", "predictions.csv"]
    assert load.fn() is load.fn()  # made once, then handed to every visitor


def test_evaluate_opening_matches_the_button_on_the_defaults(bundle_demo):
    """What the page opens on is what Evaluate answers for the default choice (every model, held-out people, 200)."""
    opening = by_label(handler(bundle_demo, "opening", "Evaluation notes").fn())
    clicked = by_label(handler(bundle_demo, "evaluate").fn(["cnn", "svm"], PRECOMPUTED, None, 200))
    pd.testing.assert_frame_equal(opening["Metrics"], clicked["Metrics"])
    assert opening["Evaluation notes"] == clicked["Evaluation notes"]


def test_evaluate_opening_remakes_pruned_downloads(bundle_demo):
    load = handler(bundle_demo, "opening", "Evaluation notes")
    first = load.fn()
    for path in by_label(first)["Downloads"]:
        shutil.rmtree(path.rsplit("/", 1)[0], ignore_errors=True)
    again = by_label(load.fn())
    assert all(os.path.exists(p) for p in again["Downloads"])


def test_robustness_opens_on_the_stored_subsets_and_sweeps(bundle_demo):
    load = handler(bundle_demo, "opening", "Robustness notes")
    shown = by_label(load.fn())
    assert {"cnn", "svm"} <= set(shown["Subsets"]["model"])
    assert "stored sweeps" in shown["Robustness notes"]
    assert {t.name for t in shown["Sweeps"].data} == {"cnn", "svm"}
    assert shown["Closed recall per subset"].data


def test_empty_tables_have_column_names_not_numbers(bundle_demo):
    headers = {c.label: c.value["headers"] for c in bundle_demo.blocks.values()
               if isinstance(c, gr.Dataframe) and c.label in ("Metrics", "Subsets")}
    assert headers["Metrics"][:3] == ["model", "n", "accuracy %"] and headers["Subsets"][:2] == ["model", "factor"]


def test_no_bundle_no_opening(tiny_demo):
    assert not [fn for fn in tiny_demo.fns.values() if fn.name == "opening"]


# -- 2a. one class ---------------------------------------------------------------------------------------------
def test_one_class_set_says_which_metrics_mean_nothing(tiny_demo):
    out = by_label(handler(tiny_demo, "evaluate").fn(list(MODEL_NAMES), "open only", None, 0))
    note = out["Evaluation notes"]
    assert "One class only: every image is open (6)" in note
    assert "No closed-eye image in this test set: closed recall, ROC-AUC and the ROC curve are left empty" in note
    assert "Balanced accuracy" in note and "only the open recall" in note
    table = out["Metrics"]
    assert table["closed recall %"].isna().all() and table["ROC-AUC"].isna().all()


def test_two_class_set_has_no_class_note():
    from eyebench.app.evaluate_tab import class_note

    assert class_note({"per_class": {"open": 3, "closed": 4}}) == ""
    assert "every image is closed (4)" in class_note({"per_class": {"closed": 4}})


# -- 2b. subset bars -------------------------------------------------------------------------------------------
def test_subset_bars_name_n_once_per_subset_in_a_readable_font():
    from eyebench.evaluate.plots import subset_figure

    rows = [{"model": m, "factor": "glasses", "value": v, "n": n, "recall_closed": 0.9}
            for m in ("a", "b", "c") for v, n in ((0, 752), (1, 48))]
    fig = subset_figure(rows, "recall_closed")
    assert [t.textposition for t in fig.data] == ["none"] * 3  # no label drawn over each narrow bar
    assert list(fig.data[0].x) == ["glasses=0<br>n=752", "glasses=1<br>n=48"]
    assert fig.layout.xaxis.tickfont.size >= 11
    assert all(t.text[0].startswith("n=") for t in fig.data)


# -- 2c. per-person rejection ----------------------------------------------------------------------------------
def test_people_with_enough_images_come_first_worst_first():
    from eyebench.app.common import Bench
    from eyebench.app.threshold_tab import ThresholdTab
    from eyebench.evaluate.thresholds import ProbabilityCache, risk_coverage

    # "few" has 2 images, both rejected; "big" 30 images, a third rejected; "ok" 25 images, none rejected
    subjects = ["few"] * 2 + ["big"] * 30 + ["ok"] * 25
    y = np.array([0, 1] + [0, 1] * 15 + [0] * 25)
    p = np.array([0.5, 0.5] + [0.5] * 10 + [0.0, 1.0] * 10 + [0.0] * 25)
    cache = ProbabilityCache(y, subjects, ["s"] * len(y), [""] * len(y), {}, {"m": p},
                             {"m": risk_coverage(y, np.stack([1 - p, p], 1))})
    with gr.Blocks():
        tab = ThresholdTab(Bench({}, [], SAMPLES, {}), gr.State())
        tab.build()
    people = tab.threshold({"cache": cache}, "m", 0.4, 0.6)[tab.people]
    assert list(people["subject"]) == ["big", "ok", "few"]
    assert "fewer than 20 images last" in tab.people.label


# -- 2d. the report's input crops ------------------------------------------------------------------------------
def test_report_shows_the_input_crop_in_its_own_grey(fitted_svm, records):
    import base64

    import cv2

    from eyebench.evaluate.html import map_grid

    img = cv2.imread(str(records[0]["path"]), cv2.IMREAD_GRAYSCALE)[:, :, None]
    cell = map_grid([fitted_svm], [img], ["open"]).split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
    shown = cv2.imdecode(np.frombuffer(base64.b64decode(cell), np.uint8), cv2.IMREAD_UNCHANGED)
    assert shown.ndim == 2  # grey, not tinted by a colour map
    assert np.array_equal(shown, cv2.resize(img[:, :, 0], (96, 96), interpolation=cv2.INTER_NEAREST))


# -- 2e. API names ---------------------------------------------------------------------------------------------
def test_every_api_output_has_a_label_and_uploads_are_optional(bundle_demo):
    info = bundle_demo.get_api_info()["named_endpoints"]
    unnamed = {ep: [r["label"] for r in v["returns"] if r["label"].startswith("value_")] for ep, v in info.items()}
    assert not any(unnamed.values()), unnamed
    for ep in ("/evaluate", "/robustness", "/review"):
        zip_file = next(p for p in info[ep]["parameters"] if p["parameter_name"] == "zip_file")
        assert zip_file["parameter_has_default"] and zip_file["parameter_default"] is None
        assert all(p["parameter_has_default"] for p in info[ep]["parameters"]), ep


# -- 2f. skipped checkpoints in the server log -----------------------------------------------------------------
def test_a_skipped_checkpoint_is_printed_to_stderr(tmp_path, capsys):
    from eyebench import workbench
    from eyebench.app import build_demo

    broken = tmp_path / "checkpoints" / "damaged"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{ not json")
    models, notices = workbench.load_all(tmp_path / "checkpoints")
    assert not models and notices
    build_demo(models, notices, samples=SAMPLES, datasets={"samples": SAMPLES})
    err = capsys.readouterr().err
    assert "eyebench: skipped damaged:" in err


# -- 2g. worst subject and doubted subjects ---------------------------------------------------------------------
def _result(worst, trusted=None, per_subject=None, data=None, bootstrap_trusted=None):
    """An evaluation of one model "m" on 800 images, its worst subject `worst`; `trusted` the data's subjects_trusted."""
    from eyebench.evaluate.results import Analysis, ModelEvaluation

    data = data if data is not None else {} if trusted is None else {"subjects_trusted": trusted}
    ci = {"low": 0.8, "high": 0.95, **({} if bootstrap_trusted is None else {"subjects_trusted": bootstrap_trusted})}
    row = ModelEvaluation(
        name="m", checkpoint="", metrics={"n": 800, "accuracy": 0.9, "recall_closed": 0.9, "recall_open": 0.9,
                                          "roc_auc": 0.95},
        per_source={}, worst_subject=worst, per_subject=per_subject or {}, ece=0.01, ece_definition="", brier=0.0,
        reliability=[], risk_coverage={"aurc": 0.02}, band=None, bootstrap_accuracy=ci)
    return Analysis({"m": row}, data, [])


def test_worst_subject_shows_n_and_needs_the_minimum():
    from eyebench.app.evaluate_tab import metrics_table
    from eyebench.evaluate.report import MIN_GROUP_N

    named = metrics_table(_result({"subject": "s0024", "n": 752, "accuracy": 0.95478, "min_n": MIN_GROUP_N}))
    assert named["worst subject"][0] == "s0024 (95.48%, n=752)"
    for old_style in (True, False):  # worst of all named with min_n 0 (older results), or no worst (None)
        result = _result({"subject": "s0001", "n": 3, "accuracy": 0.0, "min_n": 0} if old_style else None,
                         per_subject={"s0001": {"n": 3, "accuracy": 0.0}})
        assert metrics_table(result)["worst subject"][0] == f"none with n>={MIN_GROUP_N}"
    assert metrics_table(_result(None))["worst subject"][0] is None  # no subject at all


def test_subjects_from_file_names_are_flagged_in_the_ci_column_and_note():
    from eyebench.app.evaluate_tab import CI_COLUMN, metrics_table, result_notes

    worst = {"subject": "s1", "n": 30, "accuracy": 0.9, "min_n": 20}
    for trusted in (None, True):  # a data report without the key counts as trusted
        assert CI_COLUMN in metrics_table(_result(worst, trusted)).columns
        assert "may not be people" not in result_notes(_result(worst, data={"per_class": {}}))
    doubted = metrics_table(_result(worst, False))
    ci = [c for c in doubted.columns if c.startswith("95% CI")]
    assert ci == ["95% CI (subjects from file names: may not be people)"] and doubted[ci[0]][0] == "80.00-95.00"
    note = result_notes(_result(worst, data={"per_class": {"open": 1, "closed": 1}, "subjects_trusted": False}))
    assert "Subjects read from file names may not be people" in note
    flagged = _result(worst, bootstrap_trusted=False)  # the bootstrap's own flag counts too
    assert "may not be people" in "".join(metrics_table(flagged).columns)
