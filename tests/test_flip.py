"""Flip averaging: a prediction is the mean closed logit of the crop and its horizontal mirror, for any classifier,
set at training (--model-arg flip_average=true), stored in config.json (data_config.flip_average), switched on or off
for a saved checkpoint by `calibrate --flip-average`, explained with mirrored maps, exported to ONNX, measured by cv."""
import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch
from conftest import prepared_arrays

from eyebench import create_classifier, load_classifier
from eyebench.cli import main
from eyebench.config import DataConfig
from eyebench.explain import explain_map


def mirror(batch: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(batch[:, :, ::-1])


def test_flip_average_is_the_mean_of_the_crop_and_its_mirror(records):
    torch.manual_seed(0)
    clf = create_classifier("small_cnn", flip_average=True)
    assert clf.data_config.flip_average and clf.model_args == {"flip_average": True}
    x, _ = prepared_arrays(records[:12])
    expected = (clf.view_scores(x) + clf.view_scores(mirror(x))) / 2
    np.testing.assert_allclose(clf.scores_prepared(x), expected, rtol=1e-6)
    np.testing.assert_allclose(clf.scores_prepared(mirror(x)), clf.scores_prepared(x), rtol=1e-5, atol=1e-6)
    assert not np.allclose(clf.view_scores(x), clf.view_scores(mirror(x)))  # a random network is not symmetric
    plain = create_classifier("small_cnn")
    plain.net.load_state_dict(clf.net.state_dict())
    np.testing.assert_array_equal(plain.scores_prepared(x), clf.view_scores(x))  # off by default: one view
    assert clf.scores_prepared(x[:0]).shape == (0,)


def test_flip_average_works_for_the_svm_too(fitted_svm, records):
    x, _ = prepared_arrays(records[:6])
    svm = create_classifier("lbp_hog_svm", flip_average=True)
    svm.load_state_tensors(fitted_svm.state_tensors())
    np.testing.assert_allclose(svm.scores_prepared(x), (fitted_svm.scores_prepared(x)
                                                        + fitted_svm.scores_prepared(mirror(x))) / 2)


def test_the_setting_is_checked_and_survives_save_and_load(tmp_path):
    with pytest.raises(ValueError, match="flip_average is true or false"):
        create_classifier("student", flip_average="yes")
    clf = create_classifier("student", flip_average=True)
    clf.save_pretrained(tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["data_config"]["flip_average"] is True and config["model_args"] == {"flip_average": True}
    assert "averaged over the crop and its horizontal mirror" in (tmp_path / "ckpt" / "README.md").read_text()
    assert load_classifier(tmp_path / "ckpt").data_config.flip_average
    del config["data_config"]["flip_average"], config["model_args"]["flip_average"]  # written before the option
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    assert load_classifier(tmp_path / "ckpt").data_config == DataConfig(32, 1, (0.5,), (0.25,))


def test_a_flip_averaged_map_is_the_mirror_of_the_mirrors_map(untrained_cnn, records):
    from eyebench.data.images import decode_image

    image = decode_image(records[0]["path"])
    plain = explain_map(untrained_cnn, image, 1)
    untrained_cnn.data_config = DataConfig(64, 1, (0.5,), (0.25,), flip_average=True)
    heat = explain_map(untrained_cnn, image, 1)
    assert heat.shape == image.shape[:2] and 0 <= heat.min() and heat.max() <= 1
    np.testing.assert_allclose(heat, explain_map(untrained_cnn, np.ascontiguousarray(image[:, ::-1]), 1)[:, ::-1],
                               atol=1e-5)
    assert not np.allclose(heat, plain, atol=1e-3)


def test_calibrate_switches_flip_averaging_on_and_off(capsys, tmp_path, trained_cnn, mrl_dir):
    ckpt = tmp_path / "small_cnn"
    shutil.copytree(trained_cnn, ckpt)
    weights = (ckpt / "model.safetensors").read_bytes()
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir), "--flip-average"]) == 0
    assert "flip averaging on" in capsys.readouterr().out
    config = json.loads((ckpt / "config.json").read_text())
    assert config["data_config"]["flip_average"] is True and config["model_args"]["flip_average"] is True
    assert "--flip-average" in config["calibration"]["command"]
    assert (ckpt / "model.safetensors").read_bytes() == weights  # only config.json and the card change
    clf = load_classifier(ckpt)
    assert clf.data_config.flip_average and config["temperature"] == clf.temperature
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir), "--no-flip-average"]) == 0
    assert not load_classifier(ckpt).data_config.flip_average
    assert load_classifier(ckpt).temperature == pytest.approx(load_classifier(trained_cnn).temperature)
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir)]) == 0  # no flag: the setting is kept
    assert not load_classifier(ckpt).data_config.flip_average


def test_onnx_export_averages_the_mirror_in_the_graph(tmp_path, trained_cnn, records):
    ort = pytest.importorskip("onnxruntime")
    from eyebench.export import export_onnx

    clf = load_classifier(trained_cnn)
    clf.net.blocks[0][0].weight.data[..., 0] += 0.5  # make the network clearly asymmetric
    clf.data_config = dataclasses.replace(clf.data_config, flip_average=True)
    meta = export_onnx(clf, tmp_path / "flip.onnx")
    assert "horizontal mirror" in meta["preprocessing"]
    x, _ = prepared_arrays(records[:8])
    session = ort.InferenceSession(str(tmp_path / "flip.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(["p_closed"], {"input": clf.to_tensor(x).numpy().astype(np.float32)})
    np.testing.assert_allclose(out[:, 0], clf.proba_prepared(x)[:, 1], atol=1e-4)


def test_cv_measures_a_flip_trained_recipe_with_and_without_flip(capsys, tmp_path, mrl_dir):
    json_file, out_dir = tmp_path / "cv.json", tmp_path / "cv"
    rc = main([str(a) for a in ("cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--folds", "2", "--epochs",
                                "1", "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]", "--model-arg",
                                "flip_average=true", "--json", json_file)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    res = json.loads(json_file.read_text())
    assert json.loads((out_dir / "fold_1" / "config.json").read_text())["data_config"]["flip_average"] is True
    for fold in res["folds"] + [res]:
        views = fold["views"]
        assert views["as_trained"] == "flip" and views["flip"]["n"] == views["no flip"]["n"]
        assert fold["people_balanced_accuracy"] == views["flip"]["people_balanced_accuracy"]
    for fold in res["folds"]:
        assert fold["views"]["flip"]["accuracy"] == pytest.approx(fold["accuracy"])  # as training measured it
    assert out.count("flip averaging (the checkpoint: on): accuracy") == 3
