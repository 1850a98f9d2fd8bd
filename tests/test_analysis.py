"""Full analysis of several models on the same images, and `restrict` (the --split of report/robustness)."""
import json
import shutil
from types import SimpleNamespace

import pytest
from conftest import IMAGES_PER_SUBJECT, N_SUBJECTS, write_broken_files

from eyebench import load_classifier
from eyebench.data.dataset import load_dataset, load_images
from eyebench.data.splits import SavedSplit
from eyebench.evaluate.analysis import analyse_models, restrict
from eyebench.evaluate.calibration import ECE_DEFINITION
from eyebench.evaluate.confidence import mcnemar
from eyebench.evaluate.report import evaluate_model

N = N_SUBJECTS * IMAGES_PER_SUBJECT
ROW_KEYS = {"name", "checkpoint", "n", "accuracy", "balanced_accuracy", "recall_closed", "recall_open", "roc_auc",
            "confusion_matrix", "per_source", "worst_subject", "per_subject", "ece", "ece_definition", "brier",
            "reliability", "risk_coverage", "band", "subsets", "bootstrap_accuracy", "bootstrap_recall_closed"}


@pytest.fixture(scope="module")
def two_models(trained_cnn, svm_checkpoint):
    return [load_classifier(trained_cnn), load_classifier(svm_checkpoint)]


@pytest.fixture(scope="module")
def analysis(two_models, mrl_dir, session_cache):
    return analyse_models(two_models, load_dataset(mrl_dir), bootstrap=30, sweep_max=6, progress=False)


def test_keys_and_rows(analysis, two_models):
    record = analysis.to_dict()  # the JSON form: what the CLI writes and the app sends
    assert set(record) == {"models", "data", "paired", "sweeps"}
    assert list(analysis.models) == ["small_cnn", "lbp_hog_svm"]
    for name, row in record["models"].items():
        assert ROW_KEYS <= set(row), ROW_KEYS - set(row)
        assert row["n"] == N and sum(map(sum, row["confusion_matrix"])) == N
        assert row["ece_definition"] == ECE_DEFINITION and 0 <= row["ece"] <= 1 and 0 <= row["brier"] <= 1
        assert len(row["reliability"]) == 15 and sum(b["n"] for b in row["reliability"]) == N
        assert len(row["risk_coverage"]["risk"]) == N
        assert row["band"]["n"] == N and row["band"]["band"] is not None  # both checkpoints carry a band
        ci = row["bootstrap_accuracy"]
        assert ci["n_boot"] == 30 and ci["n_subjects"] == N_SUBJECTS and ci["low"] <= row["accuracy"] <= ci["high"]
        assert row["bootstrap_recall_closed"]["estimate"] == row["recall_closed"]
        assert {r["factor"] for r in row["subsets"]} >= {"glasses", "gender", "source"}
    assert analysis.data["n_read"] == N
    json.dumps(record)  # plain data: the CLI writes it, the app sends it


def test_same_numbers_as_evaluate(analysis, two_models, mrl_dir):
    for clf, row in zip(two_models, analysis.models.values()):
        ev, _ = evaluate_model(clf, load_dataset(mrl_dir))
        for key in ("n", "accuracy", "balanced_accuracy", "recall_closed", "roc_auc", "confusion_matrix"):
            assert getattr(row, key) == getattr(ev, key), key


def test_paired_mcnemar(analysis, two_models, mrl_dir):
    assert len(analysis.paired) == 1
    pair = analysis.paired[0]
    assert (pair["a"], pair["b"]) == ("small_cnn", "lbp_hog_svm")
    ds = load_dataset(mrl_dir)
    preds = []
    for clf in two_models:
        arrays, _ = load_images(ds, clf.data_config.input_size, clf.data_config.channels, progress=False)
        preds.append((clf.proba_prepared(arrays)[:, 1] >= 0.5).astype(int))
    expected = mcnemar(ds.labels, *preds)
    assert {k: pair[k] for k in expected} == expected
    assert pair["accuracy_a"] == pytest.approx(analysis.models["small_cnn"].accuracy)


def test_sweeps_cover_every_model(analysis):
    sweeps = analysis.sweeps
    assert sweeps.n == 6 and len(sweeps.sweeps) == 9
    for block in sweeps.sweeps.values():
        assert set(block.models) == {"small_cnn", "lbp_hog_svm"}


def test_unreadable_files_are_dropped_for_every_model(two_models, mrl_dir, tmp_path):
    dirty = tmp_path / "mrl"
    shutil.copytree(mrl_dir, dirty)
    broken = write_broken_files(dirty / "s0002", subject=2)
    result = analyse_models(two_models[:1], load_dataset(dirty), sweeps=False, subsets=False, progress=False)
    row = result.models["small_cnn"]
    assert row.n == N and "subsets" not in row.to_dict() and "sweeps" not in result.to_dict()
    assert result.data["n_skipped"] == len(broken) and result.paired == []


def test_same_checkpoint_twice_gives_two_rows(trained_cnn, mrl_dir):
    models = [load_classifier(trained_cnn), load_classifier(trained_cnn)]
    result = analyse_models(models, load_dataset(mrl_dir), sweeps=False, subsets=False, progress=False)
    assert list(result.models) == ["small_cnn", "small_cnn (2)"]
    pair = result.paired[0]
    assert pair["p_value"] == 1.0 and pair["method"] == "no discordant pairs"


# -- restrict: --split keeps the subjects that every model's saved split put in that part ------------------
def fake(name, split):
    """A stand-in checkpoint with what `restrict` reads: its name, folder and saved split."""
    return SimpleNamespace(name=name, checkpoint=f"ckpt/{name}", split=SavedSplit.from_record(split))


def test_restrict_intersects_the_saved_splits(mrl_dir):
    ds = load_dataset(mrl_dir)
    a = fake("a", {"train": ["s0003", "s0004", "s0005", "s0006"], "val": [], "test": ["s0001", "s0002"]})
    b = fake("b", {"train": ["s0001", "s0004", "s0005", "s0006"], "val": [], "test": ["s0002", "s0003"]})
    assert restrict(ds, [a, b], None) is ds
    assert set(restrict(ds, [a], "test").subjects) == {"s0001", "s0002"}
    both = restrict(ds, [a, b], "test")
    assert set(both.subjects) == {"s0002"} and len(both) == IMAGES_PER_SUBJECT
    assert set(restrict(ds, [a, b], "train").subjects) == {"s0004", "s0005", "s0006"}
    with pytest.raises(ValueError, match="no image belongs to the val subjects"):
        restrict(ds, [a, b], "val")


def test_restrict_needs_a_saved_split(mrl_dir):
    with pytest.raises(ValueError, match="ckpt/c has no saved split"):
        restrict(load_dataset(mrl_dir), [fake("c", None)], "test")


def test_restrict_with_a_trained_checkpoint(trained_cnn, mrl_dir):
    clf = load_classifier(trained_cnn)
    test = restrict(load_dataset(mrl_dir), [clf], "test")
    assert set(test.subjects) == set(clf.info["split"]["test"])
    result = analyse_models([clf], test, sweeps=False, progress=False)
    assert result.models["small_cnn"].n == len(test)
    stored = clf.info["metrics"]["test"]["overall"]
    assert result.models["small_cnn"].accuracy == stored["accuracy"]  # the test numbers saved at training
