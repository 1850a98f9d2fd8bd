"""Start the Gradio app on a temp checkpoints folder, independent of what is in the repository's checkpoints/.

Used by the API and browser tests: each test module gets its own fresh import of `app` and its own server.
"""
from __future__ import annotations

import importlib
import json
import os
import socket
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).parents[1]
SAMPLES = REPO_ROOT / "sample_images"
MODEL_NAMES = ("cnn_untrained", "svm_fitted")  # checkpoint folder names = model names in the app
BROKEN = "broken_model"

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
    """A fresh `app` module imported with EYEBENCH_CHECKPOINTS=`checkpoints`, launched without blocking."""

    def __init__(self, checkpoints: Path):
        self.checkpoints = checkpoints
        self.module = None
        self.url = ""

    def start(self):
        saved = {k: os.environ.get(k) for k in ("EYEBENCH_CHECKPOINTS", "EYEBENCH_DATA")}
        os.environ["EYEBENCH_CHECKPOINTS"] = str(self.checkpoints)
        os.environ.pop("EYEBENCH_DATA", None)  # only the shipped sample_images as named test set
        try:
            if str(REPO_ROOT) not in sys.path:
                sys.path.insert(0, str(REPO_ROOT))
            sys.modules.pop("app", None)
            self.module = importlib.import_module("app")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        port = free_port()
        self.module.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                                show_error=True, max_file_size=self.module.MAX_FILE_SIZE)
        self.url = f"http://127.0.0.1:{port}/"
        return self

    def close(self):
        if self.module is not None:
            self.module.demo.close()
            sys.modules.pop("app", None)


@pytest.fixture(scope="module")
def server(tmp_path_factory, fitted_svm):
    """The app on a free loopback port with two tiny models and one broken checkpoint (one per test module)."""
    srv = AppServer(make_checkpoints(tmp_path_factory.mktemp("app_checkpoints"), fitted_svm)).start()
    yield srv
    srv.close()
