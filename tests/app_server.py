"""Start the app built by `build_demo` from a temp checkpoints folder, independent of the repository's checkpoints/.

Used by the API and browser tests: each test module gets its own demo and its own server.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).parents[1]
SAMPLES = REPO_ROOT / "sample_images"
SAMPLE_SET = "sample_images (shipped)"  # the only named test set (not the folders under EYEBENCH_DATA)
MODEL_NAMES = ("cnn_untrained", "svm_fitted")  # checkpoint folder names = model names in the app
BROKEN = "broken_model"
PRECOMPUTED = "held-out test people (precomputed)"  # the app's name for a held-out bundle's test set
LIVE = "synthetic (EYEBENCH_DATA)"

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from the app under test


def make_checkpoints(root: Path, svm) -> Path:
    """Two tiny loadable checkpoints (an untrained small_cnn with a stored band, a fitted SVM) and one broken folder."""
    from eyebench import create_classifier

    torch.manual_seed(0)
    cnn = create_classifier("small_cnn")
    cnn.uncertain_band = [0.3, 0.7]
    cnn.info = {"note": "untrained test model"}
    cnn.save_pretrained(root / MODEL_NAMES[0])
    (root / MODEL_NAMES[0] / "history.json").write_text(json.dumps(
        [{"epoch": 1, "train_loss": 0.7, "val_loss": 0.69, "train_accuracy": 0.5, "val_accuracy": 0.55},
         {"epoch": 2, "train_loss": 0.6, "val_loss": 0.65, "train_accuracy": 0.6, "val_accuracy": 0.6}]))
    svm.save_pretrained(root / MODEL_NAMES[1])
    broken = root / BROKEN
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "config.json").write_text("{ this is not json")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """The demo of the checkpoints under `checkpoints` (loaded as app.py loads them), launched without blocking."""

    def __init__(self, checkpoints: Path):
        from eyebench import workbench

        self.models, self.notices = workbench.load_all(checkpoints)
        self.demo = None
        self.url = ""

    def start(self):
        from eyebench.app import MAX_FILE_SIZE, build_demo

        self.demo = build_demo(self.models, self.notices, samples=SAMPLES, datasets={SAMPLE_SET: SAMPLES})
        port = free_port()
        self.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                         show_error=True, max_file_size=MAX_FILE_SIZE)
        self.url = f"http://127.0.0.1:{port}/"
        return self

    def close(self):
        if self.demo is not None:
            self.demo.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, fitted_svm):
    """The app on a free loopback port with two tiny models and one broken checkpoint (one per test module)."""
    srv = AppServer(make_checkpoints(tmp_path_factory.mktemp("app_checkpoints"), fitted_svm)).start()
    yield srv
    srv.close()


def bundle_checkpoints(root: Path, trained_cnn: Path, svm_checkpoint: Path, mrl_dir: Path) -> int:
    """root/checkpoints with cnn and svm on one split and root/heldout, a bundle of both on the synthetic data; the
    bundle's number of test images."""
    import shutil

    from eyebench.data.dataset import load_dataset
    from eyebench.evaluate.heldout import build_bundle, write_bundle
    from eyebench.models.checkpoint import load_classifier

    shutil.copytree(trained_cnn, root / "checkpoints" / "cnn")
    shutil.copytree(svm_checkpoint, root / "checkpoints" / "svm")
    split = json.loads((trained_cnn / "config.json").read_text())["split"]
    config = json.loads((root / "checkpoints" / "svm" / "config.json").read_text())
    (root / "checkpoints" / "svm" / "config.json").write_text(json.dumps({**config, "split": split}))
    models = {n: load_classifier(root / "checkpoints" / n) for n in ("cnn", "svm")}
    rows, summary = build_bundle(models, load_dataset([mrl_dir]), sweep_max=8, command="eyebench heldout (test)",
                                 progress=False)
    write_bundle(root / "heldout", rows, summary)
    return len(rows)


@pytest.fixture(scope="module")
def heldout_app(tmp_path_factory, trained_cnn, svm_checkpoint, mrl_dir):
    """cnn and svm share one split and are in a bundle; cnn_new is a checkpoint the bundle does not know."""
    import shutil

    from eyebench import workbench
    from eyebench.app import MAX_FILE_SIZE, build_demo

    root = tmp_path_factory.mktemp("heldout_app")
    n_test = bundle_checkpoints(root, trained_cnn, svm_checkpoint, mrl_dir)
    shutil.copytree(trained_cnn, root / "checkpoints" / "cnn_new")
    data = bytearray((root / "checkpoints" / "cnn_new" / "model.safetensors").read_bytes())
    data[-1] ^= 1  # other weights: not what the bundle was computed from
    (root / "checkpoints" / "cnn_new" / "model.safetensors").write_bytes(bytes(data))
    loaded, notices = workbench.load_all(root / "checkpoints")
    demo = build_demo(loaded, notices, samples=SAMPLES, datasets={LIVE: mrl_dir}, heldout=root / "heldout")
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, show_error=True,
                max_file_size=MAX_FILE_SIZE)
    yield {"url": f"http://127.0.0.1:{port}/", "n_test": n_test}
    demo.close()
