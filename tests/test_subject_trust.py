"""A class folder given as the data, subjects read from counter-like names, and what the evaluation says about them."""
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import draw_eye, mrl_name, write_png

from eyebench.data.splits import SavedSplit
from eyebench.config import DataConfig
from eyebench.data.dataset import describe, load_dataset, scan_folder
from eyebench.evaluate.confidence import subject_bootstrap
from eyebench.evaluate.report import MIN_GROUP_N, evaluate_model, worst_group
from eyebench.evaluate.results import CheckpointEvaluation
from eyebench.formatters.evaluation import format_table
from eyebench.results import EyeState


def eyes(root: Path, names_by_class: dict[int, list[str]], size: int = 32) -> Path:
    """Small eye PNG/JPGs under root/open and root/closed with the given file names."""
    rng = np.random.default_rng(11)
    for label, names in names_by_class.items():
        for name in names:
            write_png(root / ("open" if label == EyeState.OPEN else "closed") / name, draw_eye(label == EyeState.OPEN, rng, size))
    return root


def counter_set(root: Path) -> Path:
    """A colour set numbered by a counter, not by person: `open/_660.jpg` and `closed/_660.jpg` are two people."""
    return eyes(root, {EyeState.OPEN: [f"_{k}.jpg" for k in (660, 135, 7, 12, 45, 300, 301, 512, 88, 90, 91, 17)],
                       EyeState.CLOSED: [f"_{k}.jpg" for k in (660, 135, 7, 12, 2, 3, 4, 5, 6, 8, 9, 10)]})


def named_set(root: Path) -> Path:
    """LFW/CEW-style names: five people, a left and a right eye each per class."""
    people = ["Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Edsger_Dijkstra", "Barbara_Liskov"]
    return eyes(root, {label: [f"{p}_{k + 1:04d}_{side}.png" for p in people for k, side in enumerate("LR")]
                       for label in (EyeState.OPEN, EyeState.CLOSED)})


# -- a class folder given as the data ------------------------------------------------------------------------------
def test_a_class_folder_given_directly_is_that_class(tmp_path):
    mine = named_set(tmp_path / "mine")
    for folder, label in (("open", EyeState.OPEN), ("closed", EyeState.CLOSED)):
        ds = scan_folder(mine / folder)
        assert len(ds) == 10 and ds.skipped == [] and set(ds.labels.tolist()) == {label}
        assert ds.sources[folder]["layout"] == "class-folders" and ds.report()["subjects_trusted"]
    aliased = eyes(tmp_path / "Closed_Eyes", {})  # an alias names the class too
    write_png(aliased / "x.png", draw_eye(False, np.random.default_rng(0), 32))
    assert scan_folder(aliased).labels.tolist() == [EyeState.CLOSED]


def test_a_class_folder_given_by_a_relative_path_is_that_class(tmp_path, monkeypatch):
    named_set(tmp_path / "mine")
    monkeypatch.chdir(tmp_path / "mine" / "open")
    ds = load_dataset(".")
    assert len(ds) == 10 and set(ds.labels.tolist()) == {EyeState.OPEN}


def test_a_subfolder_of_eyebench_data_is_read_as_its_class(tmp_path, monkeypatch):
    from eyebench.workbench import dataset_choices, open_dataset

    mine = named_set(tmp_path / "mine")
    monkeypatch.setenv("EYEBENCH_DATA", str(mine))
    choices = dataset_choices(sample_dir=tmp_path / "no_samples")
    for folder, label in (("open", EyeState.OPEN), ("closed", EyeState.CLOSED)):
        ds = open_dataset(choices[f"mine/{folder} (EYEBENCH_DATA)"], sample_dir=tmp_path / "no_samples")
        assert len(ds) == 10 and ds.skipped == [] and set(ds.labels.tolist()) == {label}
    whole = open_dataset(choices["mine (EYEBENCH_DATA)"], sample_dir=tmp_path / "no_samples")
    assert np.bincount(whole.labels).tolist() == [10, 10]


def test_a_class_subfolder_wins_over_the_folder_given_and_a_name_still_conflicts(tmp_path):
    root = eyes(tmp_path / "open", {EyeState.OPEN: ["Ada_0001_L.png"]})  # root/open/open/...: open
    rng = np.random.default_rng(1)
    inner = write_png(root / "closed" / "Ada_0002_L.png", draw_eye(False, rng, 32))
    plain = write_png(root / "Ada_0003_L.png", draw_eye(True, rng, 32))
    wrong = write_png(root / mrl_name(1, 1, 0), draw_eye(False, rng, 32))  # MRL: closed, in the open folder
    ds = scan_folder(root)
    labels = {s.path: s.label for s in ds.samples}
    assert labels[str(inner)] == EyeState.CLOSED and labels[str(plain)] == EyeState.OPEN
    assert labels[str(root / "open" / "Ada_0001_L.png")] == EyeState.OPEN
    assert ds.skipped == [(str(wrong), "conflict: the MRL name says closed, the class folder says open")]


# -- subjects read from names that look like counters ---------------------------------------------------------------
def test_counter_names_are_warned_about_and_not_trusted(tmp_path):
    ds = scan_folder(counter_set(tmp_path / "colour"))
    report = ds.report()
    assert report["subjects_trusted"] is False and ds.sources["colour"]["subjects_trusted"] is False
    (warning,) = report["warnings"]
    assert warning.startswith("colour: 24 of 24 images have file names that look like counters, not people")
    assert "4 of these subjects hold images of both classes" in warning
    assert re.search(r"e\.g\. open/(_(660|135|7|12))\.jpg and closed/\1\.jpg are one subject", warning)
    assert "subject column" in warning and "--subject-from" in warning
    assert f"WARNING {warning}" in describe(report)
    assert "merged across the two classes" in ds.sources["colour"]["subjects_doubt"]


def test_counter_names_under_one_class_only_are_warned_about_too(tmp_path):
    ds = scan_folder(eyes(tmp_path / "frames", {EyeState.OPEN: [f"IMG_{k:04d}_{s}.png" for k in range(6) for s in "LR"]}
                          | {EyeState.CLOSED: [f"{k}.png" for k in range(10)] + ["0.jpg"]}))
    (warning,) = ds.report()["warnings"]
    assert "look like counters" in warning and "both classes" not in warning
    assert not ds.report()["subjects_trusted"]


@pytest.mark.parametrize("make", [named_set, lambda root: eyes(root, {
    EyeState.OPEN: [mrl_name(s, 10 * s + k, 1) for s in (1, 2, 3) for k in range(4)],
    EyeState.CLOSED: [mrl_name(s, 10 * s + k + 5, 0) for s in (1, 2, 3) for k in range(4)]})])
def test_person_names_and_mrl_names_stay_trusted(tmp_path, make):
    report = scan_folder(make(tmp_path / "people")).report()
    assert report["warnings"] == [] and report["subjects_trusted"] is True


def test_cew_style_crops_of_numbered_photos_stay_trusted(tmp_path):
    """CEW: open eyes named by LFW person, closed eyes by their numbered source photo (one face each)."""
    people = ("Aaron_Guiel", "GL_Peiris", "Mark_Sacco")
    crops = [f"closed_eye_{k:04d}.jpg_face_{k}_{s}.jpg" for k in range(1, 5) for s in "LR"]
    root = eyes(tmp_path / "cew", {EyeState.OPEN: [f"{p}_0001_{s}.jpg" for p in people for s in "LR"], EyeState.CLOSED: crops})
    report = scan_folder(root).report()
    assert report["warnings"] == [] and report["subjects_trusted"] is True


def test_a_manifest_subject_column_is_trusted_even_with_counter_names(tmp_path):
    root = counter_set(tmp_path / "colour")
    rows = ["path,label,subject"] + [f"{p.relative_to(root)},{p.parent.name},person{k % 6}"
                                     for k, p in enumerate(sorted(root.rglob("*.jpg")))]
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    report = scan_folder(root).report()
    assert report["warnings"] == [] and report["subjects_trusted"] is True
    (root / "manifest.csv").write_text("\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n")  # no subject column
    assert scan_folder(root).report()["subjects_trusted"] is False


def test_a_subject_rule_replaces_the_counters(tmp_path):
    for person in ("ann", "ben", "cid"):
        counter_set(tmp_path / "people" / person)
    ds = load_dataset([tmp_path / "people"], subject_from="folder")
    assert set(ds.subjects.tolist()) == {"ann", "ben", "cid"}
    assert ds.report()["warnings"] == [] and ds.report()["subjects_trusted"]


def test_one_subject_or_one_per_image_is_not_trusted(tmp_path):
    same = eyes(tmp_path / "same", {EyeState.OPEN: [f"Ada_{k:04d}_L.png" for k in range(6)],
                                    EyeState.CLOSED: [f"Ada_{k:04d}_R.png" for k in range(6)]})
    each = eyes(tmp_path / "each", {EyeState.OPEN: [f"Ada{k}.png" for k in range(6)], EyeState.CLOSED: [f"Bob{k}.png" for k in range(6)]})
    for folder in (same, each):
        report = scan_folder(folder).report()
        assert len(report["warnings"]) == 1 and report["subjects_trusted"] is False


def test_a_mix_is_trusted_only_when_every_source_is(tmp_path):
    ds = load_dataset([named_set(tmp_path / "people"), counter_set(tmp_path / "colour")])
    assert ds.report()["subjects_trusted"] is False
    people_only = ds.subset(np.array([s.source == "people" for s in ds.samples]))
    assert people_only.subjects_trusted and people_only.subject_doubts == []
    assert ds.subject_doubts == ["colour: subjects read from file names that look like counters, 4 merged across "
                                 "the two classes"]


# -- what the evaluation says ---------------------------------------------------------------------------------------
def test_the_bootstrap_says_when_subjects_may_not_be_people():
    y = np.tile([0, 1], 30)
    subjects = np.repeat([f"p{i}" for i in range(6)], 10)
    trusted = subject_bootstrap(y, y, subjects, n_boot=50)
    assert trusted["subjects_trusted"] is True and trusted["note"] is None and trusted["low"] is not None
    doubted = subject_bootstrap(y, y, subjects, n_boot=50, doubts=["colour: subjects read from counters"])
    assert doubted["subjects_trusted"] is False and doubted["low"] == trusted["low"]
    assert doubted["note"] == "colour: subjects read from counters: the interval may not be over people"
    few = subject_bootstrap(y[:20], y[:20], subjects[:20], doubts=["x: why"])
    assert few["low"] is None and few["note"].startswith("x: why: the interval") and "2 subjects" in few["note"]


class Always:
    """A stand-in classifier: p(closed) 0.9 for every image."""
    name, checkpoint, info, uncertain_band = "always_closed", "", {}, None
    data_config = DataConfig(input_size=32, channels=1)
    split = SavedSplit()  # trained on nobody here

    def proba_prepared(self, arrays):
        return np.tile([0.1, 0.9], (len(arrays), 1))


def test_evaluate_carries_the_doubt_and_names_no_small_worst_subject(tmp_path):
    row, _ = evaluate_model(Always(), load_dataset(counter_set(tmp_path / "colour")), bootstrap=30)
    ci = row.bootstrap_accuracy
    assert ci["subjects_trusted"] is False and "look like counters" in ci["note"] and "not be over people" in ci["note"]
    assert row.per_subject and max(v["n"] for v in row.per_subject.values()) < MIN_GROUP_N
    assert row.worst_subject is None
    assert f"none has n>={MIN_GROUP_N}" in format_table([row])
    trusted, _ = evaluate_model(Always(), load_dataset(named_set(tmp_path / "people")), bootstrap=30)
    assert trusted.bootstrap_accuracy["subjects_trusted"] is True and trusted.bootstrap_accuracy["note"] is None


def test_the_worst_subject_is_named_only_among_big_groups():
    per = {"tiny": {"n": 3, "accuracy": 0.0}, "big": {"n": MIN_GROUP_N, "accuracy": 0.8},
           "bigger": {"n": 50, "accuracy": 0.9}}
    assert worst_group(per) == {"subject": "big", "n": MIN_GROUP_N, "accuracy": 0.8, "min_n": MIN_GROUP_N}
    assert worst_group({"tiny": per["tiny"], "small": {"n": MIN_GROUP_N - 1, "accuracy": 0.5}}) is None
    assert worst_group({}) is None
    m = {"n": 10, "accuracy": 0.5, "balanced_accuracy": 0.5, "recall_closed": 1.0, "recall_open": 0.0, "roc_auc": None}
    def row(per_subject, worst):
        return CheckpointEvaluation(name="m", checkpoint="", metrics=m, seconds=0.0, per_source={},
                                    per_subject=per_subject, worst_subject=worst, band=None, leak=None)

    none_big = format_table([row({"tiny": per["tiny"]}, None)])
    assert f"none has n>={MIN_GROUP_N}" in none_big and "tiny" not in none_big
    named = format_table([row(per, worst_group(per))])
    assert "big 0.8000 (n=20)" in named
