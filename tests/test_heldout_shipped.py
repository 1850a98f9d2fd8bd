"""The committed held-out bundle matches the shipped checkpoints (weight hashes, and `evaluate --split test` with data)."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO_ROOT, real_data_dir

from eyebench.evaluate.heldout import HeldoutBundle, weights_sha256
from eyebench.evaluate.metrics import classification_metrics

BUNDLE = REPO_ROOT / "results" / "heldout"
CHECKPOINTS = REPO_ROOT / "checkpoints"
SHIPPED = sorted(p.name for p in CHECKPOINTS.iterdir() if (p / "model.safetensors").exists())


@pytest.fixture(scope="module")
def bundle():
    return HeldoutBundle(BUNDLE)


def test_the_bundle_holds_every_shipped_checkpoint_with_its_current_weights(bundle):
    assert sorted(bundle.models) == SHIPPED
    for name in SHIPPED:
        assert weights_sha256(CHECKPOINTS / name) == bundle.record.models[name]["weights_sha256"], (
            f"checkpoints/{name} changed since results/heldout was made: re-run the command in results/heldout/README.md")


def test_the_bundle_is_small_numbers_only_and_big_enough(bundle):
    size = sum(f.stat().st_size for f in Path(BUNDLE).iterdir())
    assert size < 5_000_000
    assert len(bundle.dataset) >= 4000 and bundle.record.n_subjects >= 5
    assert not any(f.suffix.lower() in (".png", ".jpg", ".npy") for f in Path(BUNDLE).iterdir())
    assert set(bundle.record.sweeps.models) == set(SHIPPED)


def test_bundle_accuracies_equal_evaluate_on_the_test_split(bundle):
    from eyebench.data.dataset import load_dataset
    from eyebench.evaluate.report import evaluate_model
    from eyebench.models.checkpoint import load_classifier

    data = load_dataset([real_data_dir("mrl"), real_data_dir("cew")])
    for name in SHIPPED:
        row, _ = evaluate_model(load_classifier(CHECKPOINTS / name), data, "test")
        stored = classification_metrics(bundle.dataset.labels, bundle.proba(name))
        assert row.n == len(bundle.dataset)
        assert stored["accuracy"] == pytest.approx(row.accuracy, abs=1e-12), name
        assert stored["recall_closed"] == pytest.approx(row.recall_closed, abs=1e-12), name
