"""`eyebench export --onnx`: the ONNX graph gives the torch model's calibrated p(closed) on real and synthetic crops."""
import json

import numpy as np
import pytest
import torch
from conftest import draw_eye, real_data_dir

from eyebench import create_classifier, load_classifier
from eyebench.cli import main
from eyebench.data.images import decode_image

ort = pytest.importorskip("onnxruntime")
TOL = 1e-4


def onnx_p_closed(path, clf, images) -> np.ndarray:
    """Run the exported graph on raw crops, preprocessed as its metadata says (the classifier's own input)."""
    x = np.ascontiguousarray(clf.to_tensor(clf.prepare(images)).numpy(), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(["p_closed"], {"input": x})
    assert out.shape == (len(images), 1) and out.dtype == np.float32
    return out[:, 0]


def export(capsys, checkpoint, path):
    rc = main(["export", "--model", str(checkpoint), "--onnx", str(path)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"wrote {path}" in out and "preprocessing:" in out
    return load_classifier(checkpoint)


@pytest.fixture(scope="module")
def exported(trained_cnn, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "small_cnn.onnx"
    assert main(["export", "--model", str(trained_cnn), "--onnx", str(path)]) == 0
    return path, load_classifier(trained_cnn)


def test_onnx_matches_torch_on_synthetic_crops(exported, records):
    path, clf = exported
    images = [decode_image(r["path"]) for r in records[:20]]  # 40-72 px crops, resized by `prepare`
    images.append(np.repeat(draw_eye(False, np.random.default_rng(4), 90)[..., None], 3, axis=2))  # RGB input
    expected = clf.proba_prepared(clf.prepare(images))[:, 1]
    np.testing.assert_allclose(onnx_p_closed(path, clf, images), expected, atol=TOL)
    assert clf.temperature != 1.0  # the calibration is part of the graph, and it is checked above


def test_onnx_matches_torch_on_real_mrl_crops(exported):
    mrl = real_data_dir("mrl")
    files = sorted(mrl.glob("s000[1-3]/*.png"))[::50][:24]
    assert files, f"no PNG under {mrl}"
    path, clf = exported
    images = [decode_image(f) for f in files]
    expected = clf.proba_prepared(clf.prepare(images))[:, 1]
    np.testing.assert_allclose(onnx_p_closed(path, clf, images), expected, atol=TOL)


def test_dynamic_batch_and_metadata(exported):
    import onnx

    path, clf = exported
    img = draw_eye(True, np.random.default_rng(6), 64)
    single = onnx_p_closed(path, clf, [img])
    batch = onnx_p_closed(path, clf, [img] * 5)
    np.testing.assert_allclose(batch, np.repeat(single, 5), atol=1e-6)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["eyebench_architecture"] == "small_cnn"
    assert json.loads(meta["class_names"]) == ["open", "closed"]
    assert float(meta["temperature"]) == pytest.approx(clf.temperature)
    assert json.loads(meta["uncertain_band"]) == pytest.approx(clf.uncertain_band)
    assert json.loads(meta["mean"]) == list(clf.data_config.mean)
    assert "grayscale" in meta["preprocessing"] and "64x64" in meta["preprocessing"]


@pytest.mark.parametrize("name, kw", [("resnet18", {"channels": 3}), ("vit_scratch", {"depth": 2}),
                                      ("small_cnn", {"contrast": "clahe"})])
def test_other_backbones_export(capsys, tmp_path, name, kw):
    torch.manual_seed(0)
    clf = create_classifier(name, **kw)
    clf.temperature = 1.7
    clf.save_pretrained(tmp_path / name)
    loaded = export(capsys, tmp_path / name, tmp_path / f"{name}.onnx")
    rng = np.random.default_rng(7)
    images = [draw_eye(i % 2 == 0, rng, 60) for i in range(4)]
    expected = loaded.proba_prepared(loaded.prepare(images))[:, 1]
    np.testing.assert_allclose(onnx_p_closed(tmp_path / f"{name}.onnx", loaded, images), expected, atol=TOL)
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(tmp_path / f"{name}.onnx")).metadata_props}
    assert ("CLAHE" in meta["preprocessing"]) == (kw.get("contrast") == "clahe")


def test_svm_cannot_export(capsys, svm_checkpoint, tmp_path):
    rc = main(["export", "--model", str(svm_checkpoint), "--onnx", str(tmp_path / "svm.onnx")])
    assert rc == 2 and "not a torch model" in capsys.readouterr().err
    assert not (tmp_path / "svm.onnx").exists()


def test_an_onnx_name_without_the_suffix_is_refused(capsys, trained_cnn, tmp_path):
    """`--onnx OUT/model.safetensors` (a slip of the shell) must not overwrite the checkpoint's weights: refused as an
    input of the command; elsewhere, a name without .onnx is refused too."""
    weights = trained_cnn / "model.safetensors"
    before = weights.read_bytes()
    assert main(["export", "--model", str(trained_cnn), "--onnx", str(weights)]) == 2
    assert "an input of this command" in capsys.readouterr().err and weights.read_bytes() == before
    assert main(["export", "--model", str(trained_cnn), "--onnx", str(tmp_path / "model.safetensors")]) == 2
    assert "give a file name ending in .onnx" in capsys.readouterr().err and not (tmp_path / "model.safetensors").exists()
