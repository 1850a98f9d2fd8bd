"""The MediaPipe model files shipped in eyebench/faces/mediapipe: present, unchanged (sha256), licensed, provenance."""
import socket

import numpy as np
import pytest
from skimage import data

from eyebench.faces.runtime import MODEL_DIR, MODEL_SHA256, file_sha256


@pytest.mark.parametrize("name", sorted(MODEL_SHA256))
def test_model_file_hash(name):
    assert file_sha256(MODEL_DIR / name) == MODEL_SHA256[name]


def test_licence_and_provenance_sit_beside_the_models():
    assert "Apache License" in (MODEL_DIR / "LICENSE").read_text() and "Version 2.0" in (MODEL_DIR / "LICENSE").read_text()
    readme = (MODEL_DIR / "README.md").read_text()
    assert "mediapipe-0.10.21" in readme and "pip download --no-deps mediapipe==0.10.21" in readme
    for name, digest in MODEL_SHA256.items():  # the README states the same hashes
        assert name in readme and digest in readme
    assert sorted(p.name for p in MODEL_DIR.glob("*.tflite")) == sorted(MODEL_SHA256)


def test_finding_faces_uses_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from eyebench.faces import locate_eyes

    assert len(locate_eyes(data.astronaut()).eyes) == 2
    assert np.isfinite(locate_eyes(data.astronaut()).faces[0].pose.yaw)
