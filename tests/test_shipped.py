"""The checkpoints shipped in checkpoints/: they load without pickle, stay small, document how they were made, and work."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eyebench.config import CLASS_NAMES
from eyebench.data.images import decode_image
from eyebench.data.splits import check_disjoint
from eyebench.explain import explain_map
from eyebench.models.checkpoint import load_classifier
from eyebench.workbench import sample_dataset

REPO_ROOT = Path(__file__).parents[1]
SHIPPED = sorted(p.parent for p in (REPO_ROOT / "checkpoints").glob("*/config.json"))
SAMPLES = REPO_ROOT / "sample_images"
MAX_BYTES = 50 * 1024 * 1024
DATA = "--data ../shared/data/mrl --data ../shared/data/cew"
DEVDATA = "--data .devdata/mrl --data .devdata/cew"


def test_checkpoints_are_shipped():
    assert SHIPPED, "checkpoints/ holds no checkpoint folder"


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_checkpoint_is_documented_and_small(folder):
    config = json.loads((folder / "config.json").read_text())
    assert (folder / "model.safetensors").stat().st_size < MAX_BYTES
    command = config["train_command"]
    assert command.startswith(f"python -m eyebench train {config['architecture']} ")
    card = (folder / "README.md").read_text()
    assert command in card, "the model card must record the exact train command"
    split = json.loads((folder / "split.json").read_text())
    check_disjoint(split)
    assert split["test"] and split["val"] and split["train"]
    low, high = config["uncertain_band"]
    assert 0.0 <= low <= high <= 1.0
    recalibrated = config["calibration"].get("command")
    if recalibrated:
        assert recalibrated in card and f"--model {folder.relative_to(REPO_ROOT)}" in recalibrated


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_train_all_script_holds_every_recorded_command(folder):
    """scripts/train_all.sh retrains what ships: each card's train (and calibrate) command is in it."""
    script = (REPO_ROOT / "scripts" / "train_all.sh").read_text().replace("$DATA", DATA)
    config = json.loads((folder / "config.json").read_text())
    # the GPU route trains on a pixel-identical copy in .devdata (see the script); on a CPU the same command uses $DATA
    command = config["train_command"].replace(DEVDATA, DATA)
    assert command in script or command.replace("python -m", "#   python -m") in script
    recalibrated = config["calibration"].get("command")
    if recalibrated:
        assert recalibrated in script


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_checkpoint_classifies_the_real_sample_eyes(folder):
    clf = load_classifier(folder)
    real = [s for s in sample_dataset(SAMPLES).samples if s.meta["kind"] == "astronaut"]  # photos, not drawings
    assert real, "sample_images/ lost its labelled real eye photos"
    images = [decode_image(s.path) for s in real]
    proba = clf.predict_proba(images)
    assert proba.shape == (len(images), len(CLASS_NAMES))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert proba.argmax(axis=1).tolist() == [s.label for s in real]
    heat = explain_map(clf, images[0])
    assert heat.ndim == 2 and np.isfinite(heat).all()
