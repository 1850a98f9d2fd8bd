"""Shared fixtures: synthetic eye crops written in the three data layouts, broken files, and small checkpoints.

Everything is generated in code from fixed seeds, so the suite needs no download and no real data; the few
tests that use the real MRL/CEW copies call `real_data_dir()` and are skipped when it is absent.
"""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from eyebench.results import EyeState

REPO_ROOT = Path(__file__).parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

N_SUBJECTS = 6
IMAGES_PER_SUBJECT = 8  # half open, half closed
# CEW/LFW-style person names used for the class-folder copy (one per MRL subject)
PERSONS = ("Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Edsger_Dijkstra", "Barbara_Liskov", "Donald_Knuth")
CLASS_FOLDERS = {EyeState.OPEN: "open", EyeState.CLOSED: "Closed_Eyes"}  # `Closed_Eyes` exercises the folder aliases

# keep torch from competing for the two cores with itself
torch.set_num_threads(1)


# -- synthetic images ------------------------------------------------------------------------------------
def draw_eye(is_open: bool, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A grayscale uint8 eye crop: an eye-shaped ellipse with a dark iris (open) or a dark lid line (closed)."""
    skin = int(rng.integers(150, 200))
    img = np.full((size, size), skin, np.uint8)
    c = size // 2 + int(rng.integers(-2, 3))
    axes = (int(size * 0.38), int(size * rng.uniform(0.16, 0.22)))
    if is_open:
        cv2.ellipse(img, (c, c), axes, 0, 0, 360, int(rng.integers(215, 245)), -1)  # white of the eye
        cv2.circle(img, (c + int(rng.integers(-3, 4)), c), int(size * rng.uniform(0.13, 0.17)),
                   int(rng.integers(10, 50)), -1)  # iris and pupil
        cv2.ellipse(img, (c, c), axes, 0, 0, 360, skin - 60, 1)  # eyelid outline
    else:
        cv2.ellipse(img, (c, c - 2), (axes[0], axes[1] // 2 + 1), 0, 10, 170, int(rng.integers(20, 60)), 2)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def mrl_name(subject: int, image: int, eyestate: int, gender: int = 0, glasses: int = 0, reflections: int = 0,
             lighting: int = 1, sensor: int = 1) -> str:
    """An MRL Eye Dataset file name (eyestate: 0 closed, 1 open)."""
    return f"s{subject:04d}_{image:05d}_{gender}_{glasses}_{eyestate}_{reflections}_{lighting}_{sensor:02d}.png"


def write_png(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")
    return path


def write_mrl_dataset(root: Path, n_subjects: int = N_SUBJECTS, per_subject: int = IMAGES_PER_SUBJECT,
                      seed: int = 0) -> list[dict]:
    """MRL-named PNGs under root/sSSSS/; returns one record per image (path, label, subject, person, ...)."""
    rng = np.random.default_rng(seed)
    records, image_id = [], 0
    for s in range(1, n_subjects + 1):
        for k in range(per_subject):
            is_open = k % 2 == 0
            image_id += 1
            glasses = int(k % 4 >= 2)
            name = mrl_name(s, image_id, int(is_open), gender=s % 2, glasses=glasses)
            path = write_png(root / f"s{s:04d}" / name, draw_eye(is_open, rng, size=int(rng.integers(40, 72))))
            records.append({"path": path, "label": EyeState.OPEN if is_open else EyeState.CLOSED, "subject": f"s{s:04d}",
                            "person": PERSONS[(s - 1) % len(PERSONS)], "number": k + 1, "side": "LR"[k % 4 >= 2],
                            "glasses": "yes" if glasses else "no", "angle": str(5 * k)})
    return records


def write_class_folders(root: Path, records: list[dict]) -> Path:
    """Copy the images into open/ and Closed_Eyes/ with CEW-like names `Person_Name_0001_L.png`."""
    for r in records:
        dest = root / CLASS_FOLDERS[r["label"]] / f"{r['person']}_{r['number']:04d}_{r['side']}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(r["path"], dest)
    return root


def write_manifest(csv_path: Path, records: list[dict]) -> Path:
    """A CSV manifest `path,label,subject,glasses,angle` with paths relative to the CSV's folder."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "subject", "glasses", "angle"])
        for r in records:
            rel = Path(os.path.relpath(r["path"], csv_path.parent))
            w.writerow([rel.as_posix(), "open" if r["label"] == EyeState.OPEN else "closed", r["person"], r["glasses"], r["angle"]])
    return csv_path


def write_broken_files(folder: Path, subject: int = 99) -> dict[str, Path]:
    """Unreadable files with labelled MRL names: zero bytes, random bytes, a truncated PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(123)
    good = cv2.imencode(".png", draw_eye(True, rng, 48))[1].tobytes()
    files = {
        "empty": folder / mrl_name(subject, 90001, 1),
        "random": folder / mrl_name(subject, 90002, 0),
        "truncated": folder / mrl_name(subject, 90003, 1),
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    files["truncated"].write_bytes(good[: len(good) // 2])
    return files


def prepared_arrays(records: list[dict], size: int = 64, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, size, size, channels) inputs and labels for the given records (as `load_images` would give)."""
    from eyebench.data.images import decode_image, to_model_input

    x = np.stack([to_model_input(decode_image(r["path"]), size, channels) for r in records])
    return x, np.array([r["label"] for r in records], dtype=np.int64)


def dataset_of(records: list[dict], source: str = "mrl"):
    """An in-memory `Dataset` of the given records (subject and label from the record, MRL-like metadata)."""
    from eyebench.data.dataset import Dataset, Sample

    return Dataset([Sample(str(r["path"]), r["label"], r["subject"], source,
                           {"glasses": r["glasses"], "angle": r["angle"]}) for r in records])


def real_data_dir(name: str) -> Path:
    """A real data folder in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data {path} is not present (expected next to the repository in shared/data/)")
    return path


# -- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    """EYEBENCH_CACHE for session-scoped fixtures (checkpoints trained once for many tests)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("EYEBENCH_CACHE", str(tmp_path_factory.mktemp("session_cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test decodes into its own cache folder, never ~/.cache/eyebench."""
    cache = tmp_path / "eyebench_cache"
    monkeypatch.setenv("EYEBENCH_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """The synthetic images in all three layouts: {'mrl', 'classes', 'manifest', 'records'}."""
    root = tmp_path_factory.mktemp("synthetic")
    records = write_mrl_dataset(root / "mrl")
    return {"mrl": root / "mrl", "classes": write_class_folders(root / "classes", records),
            "manifest": write_manifest(root / "lists" / "eyes.csv", records), "records": records}


@pytest.fixture(scope="session")
def mrl_dir(synthetic) -> Path:
    return synthetic["mrl"]


@pytest.fixture(scope="session")
def records(synthetic) -> list[dict]:
    return synthetic["records"]


@pytest.fixture(scope="session")
def trained_cnn(synthetic, session_cache, tmp_path_factory) -> Path:
    """A small_cnn checkpoint trained for one epoch on the synthetic MRL folder through the CLI."""
    from eyebench.cli import main

    out = tmp_path_factory.mktemp("ckpt") / "small_cnn"
    rc = main(["train", "small_cnn", "--data", str(synthetic["mrl"]), "--out", str(out), "--epochs", "1",
               "--batch-size", "32"])
    assert rc == 0
    return out


@pytest.fixture(scope="session")
def fitted_svm(records):
    """An lbp_hog_svm fitted on subjects 1-4 (validation: 5-6) of the synthetic data."""
    from eyebench import create_classifier

    train = [r for r in records if r["subject"] <= "s0004"]
    val = [r for r in records if r["subject"] > "s0004"]
    clf = create_classifier("lbp_hog_svm")
    clf.fit(*prepared_arrays(train), *prepared_arrays(val), log=lambda *_: None)
    return clf


@pytest.fixture
def untrained_cnn():
    """small_cnn with seed-fixed random weights."""
    from eyebench import create_classifier

    torch.manual_seed(0)
    return create_classifier("small_cnn")


@pytest.fixture(scope="session")
def svm_checkpoint(fitted_svm, tmp_path_factory) -> Path:
    """The fitted SVM saved as a checkpoint folder, with the split it was fitted on (s0001-4 / s0005 / s0006)."""
    out = tmp_path_factory.mktemp("ckpt") / "lbp_hog_svm"
    fitted_svm.info = {"split": {"train": ["s0001", "s0002", "s0003", "s0004"], "val": ["s0005"], "test": ["s0006"]}}
    fitted_svm.uncertain_band = [0.3, 0.7]
    fitted_svm.save_pretrained(out)
    fitted_svm.info, fitted_svm.uncertain_band = {}, None  # the session fixture stays as it was
    return out
