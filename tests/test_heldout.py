"""The held-out bundle: built from a checkpoint's test people, read back, hash-checked, equal to `evaluate`."""
from __future__ import annotations

import json

import pytest

from eyebench.data.dataset import load_dataset
from eyebench.evaluate.heldout import (
    BundleError,
    HeldoutBundle,
    build_bundle,
    weights_sha256,
    write_bundle,
)
from eyebench.evaluate.metrics import classification_metrics
from eyebench.evaluate.report import evaluate_model
from eyebench.models.checkpoint import load_classifier


@pytest.fixture(scope="module")
def bundle_dir(trained_cnn, mrl_dir, tmp_path_factory):
    models = {"cnn": load_classifier(trained_cnn)}
    rows, summary = build_bundle(models, load_dataset([mrl_dir]), sweep_max=6, command="test command", progress=False)
    return write_bundle(tmp_path_factory.mktemp("heldout"), rows, summary)


def test_bundle_holds_the_test_people_only_with_metadata_and_no_pixels(bundle_dir, trained_cnn):
    bundle = HeldoutBundle(bundle_dir)
    test = set(json.loads((trained_cnn / "config.json").read_text())["split"]["test"])
    assert set(bundle.dataset.subjects.tolist()) == test
    header = (bundle_dir / "predictions.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == ["file", "source", "subject", "label", "height", "width"]
    assert "glasses" in header and "p_closed:cnn" in header
    assert bundle.record.command == "test command"
    assert "test command" in (bundle_dir / "README.md").read_text()


def test_bundle_accuracy_equals_evaluate_on_the_test_split(bundle_dir, trained_cnn, mrl_dir):
    clf = load_classifier(trained_cnn)
    row, used = evaluate_model(clf, load_dataset([mrl_dir]), "test")
    bundle = HeldoutBundle(bundle_dir)
    assert len(bundle.dataset) == row.n
    assert classification_metrics(bundle.dataset.labels, bundle.proba("cnn"))["accuracy"] == pytest.approx(row.accuracy)


def test_bundle_sweeps_are_keyed_by_model_with_one_value_per_level(bundle_dir):
    sweeps = HeldoutBundle(bundle_dir).record.sweeps
    assert sweeps.models == ["cnn"] and sweeps.n > 0
    for block in sweeps.sweeps.values():
        assert len(block.models["cnn"]["accuracy"]) == len(block.levels)


def test_weight_hash_detects_a_changed_checkpoint(bundle_dir, trained_cnn, tmp_path):
    import shutil

    bundle = HeldoutBundle(bundle_dir)
    assert bundle.matches("cnn", trained_cnn)
    changed = tmp_path / "cnn"
    shutil.copytree(trained_cnn, changed)
    data = bytearray((changed / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (changed / "model.safetensors").write_bytes(bytes(data))
    assert weights_sha256(changed) != weights_sha256(trained_cnn)
    assert not bundle.matches("cnn", changed)
    assert not bundle.matches("other", trained_cnn)


def test_models_with_different_test_people_are_refused(trained_cnn, mrl_dir):
    a, b = load_classifier(trained_cnn), load_classifier(trained_cnn)
    b.info["split"] = {**b.info["split"], "test": ["s0001"]}
    with pytest.raises(BundleError, match="other people"):
        build_bundle({"a": a, "b": b}, load_dataset([mrl_dir]), progress=False)
    b.info.pop("split")
    with pytest.raises(BundleError, match="no saved split"):
        build_bundle({"a": a, "b": b}, load_dataset([mrl_dir]), progress=False)


def test_a_folder_without_a_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(BundleError, match="cannot read"):
        HeldoutBundle(tmp_path)
