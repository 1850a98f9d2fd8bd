"""Zoom averaging: a prediction is the mean closed logit of the crop and its centre framed tighter, for any classifier,
stored in config.json (data_config.zoom_average), set by `calibrate --zoom-average`, `committee --zoom-average` and
`cv-report committee --zoom-average`, combined with flip averaging into four views, refused by ONNX export; cost shown per prediction (every view counted)."""
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
from eyebench.data.images import frame, framed_batch
from eyebench.models.base import input_views


def test_zoom_average_is_a_scale_from_one_to_two():
    assert DataConfig().zoom_average == 1.0
    assert DataConfig.from_dict({"input_size": 64, "channels": 1, "mean": [0.5], "std": [0.25]}).zoom_average == 1.0
    assert DataConfig.from_dict(DataConfig(zoom_average=1.25).to_dict()).zoom_average == 1.25
    for bad in (True, 0.8, 2.5, "1.25", None):
        with pytest.raises(ValueError, match="zoom_average is a number from 1.0"):
            DataConfig(zoom_average=bad)


def test_framing_tighter_enlarges_the_centre():
    img = np.zeros((21, 21, 1), np.uint8)
    img[8:13, 8:13] = 255  # a 5 px square in the middle
    big = frame(img, 2.0)
    assert big.shape == img.shape and (big > 127).sum() > 3 * (img > 127).sum()
    assert big[10, 10, 0] == 255 and big[0, 0, 0] == 0
    batch = np.stack([img, 255 - img])
    np.testing.assert_array_equal(framed_batch(batch, 2.0)[1], frame(255 - img, 2.0))
    assert framed_batch(batch[:0], 2.0).shape == (0, 21, 21, 1)


def test_the_views_are_one_two_or_four():
    x = np.arange(2 * 8 * 8, dtype=np.uint8).reshape(2, 8, 8, 1)
    assert len(input_views(x, DataConfig())) == 1
    assert len(input_views(x, DataConfig(flip_average=True))) == 2
    zoomed = input_views(x, DataConfig(zoom_average=1.5))
    assert len(zoomed) == 2 and np.array_equal(zoomed[1], framed_batch(x, 1.5))
    both = input_views(x, DataConfig(flip_average=True, zoom_average=1.5))
    assert len(both) == 4 and np.array_equal(both[3], zoomed[1][:, :, ::-1])
    assert len(input_views(x[:0], DataConfig(flip_average=True, zoom_average=1.5))) == 1


def test_zoom_average_is_the_mean_over_the_views(records):
    torch.manual_seed(0)
    clf = create_classifier("small_cnn", zoom_average=1.25)
    assert clf.data_config.zoom_average == 1.25 and clf.model_args == {"zoom_average": 1.25}
    x, _ = prepared_arrays(records[:12])
    tight = framed_batch(x, 1.25)
    np.testing.assert_allclose(clf.scores_prepared(x), (clf.view_scores(x) + clf.view_scores(tight)) / 2, rtol=1e-5)
    assert not np.allclose(clf.view_scores(x), clf.view_scores(tight))
    both = create_classifier("small_cnn", zoom_average=1.25, flip_average=True)
    both.net.load_state_dict(clf.net.state_dict())
    views = [x, tight, x[:, :, ::-1], tight[:, :, ::-1]]
    expected = np.mean([both.view_scores(np.ascontiguousarray(v)) for v in views], axis=0)
    np.testing.assert_allclose(both.scores_prepared(x), expected, rtol=1e-5, atol=1e-6)


def test_calibrate_switches_zoom_averaging_on_and_off(capsys, tmp_path, trained_cnn, mrl_dir):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(trained_cnn, ckpt)
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir), "--zoom-average"]) == 0
    config = json.loads((ckpt / "config.json").read_text())
    assert config["data_config"]["zoom_average"] == 1.25 and config["model_args"]["zoom_average"] == 1.25
    assert "zoom averaging 1.25 x" in capsys.readouterr().out
    assert "centre framed 1.25 x tighter" in (ckpt / "README.md").read_text()
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir)]) == 0  # no flag: the setting is kept
    assert load_classifier(ckpt).data_config.zoom_average == 1.25
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir), "--zoom-average", "1"]) == 0
    assert load_classifier(ckpt).data_config.zoom_average == 1.0
    with pytest.raises(SystemExit) as stop:
        main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir), "--zoom-average", "3"])
    assert stop.value.code == 2 and "expected a number from 1 (off) to 2, got '3'" in capsys.readouterr().err


def test_onnx_export_refuses_zoom_averaging(tmp_path, trained_cnn):
    pytest.importorskip("onnx")
    from eyebench.export import export_onnx

    clf = load_classifier(trained_cnn)
    clf.data_config = dataclasses.replace(clf.data_config, zoom_average=1.25)
    with pytest.raises(ValueError, match="calibrate --zoom-average 1"):
        export_onnx(clf, tmp_path / "zoom.onnx")


def test_a_zoom_averaged_committee_fits_on_the_zoomed_members_too(tmp_path, trained_cnn, mrl_dir):
    from eyebench.train.committee import fit_committee

    student = tmp_path / "student"
    assert main(["train", "student", "--data", str(mrl_dir), "--out", str(student), "--epochs", "1",
                 "--batch-size", "32"]) == 0
    members = [str(trained_cnn), str(student)]
    info = fit_committee(members, [str(mrl_dir)], str(tmp_path / "c"), grid_step=0.5, zoom_average=1.25,
                         log=lambda *_: None)
    clf = load_classifier(tmp_path / "c")
    assert clf.data_config.zoom_average == 1.25 and clf.model_args["zoom_average"] == 1.25
    x, _ = prepared_arrays([{"path": p, "label": 0} for p in sorted(mrl_dir.rglob("*.png"))[:6]])
    tight = framed_batch(x, 1.25)
    expected = clf.weights @ ((clf.member_logits(x) + clf.member_logits(tight)) / 2)
    np.testing.assert_allclose(clf.scores_prepared(x), expected, rtol=1e-5, atol=1e-6)
    rows = info["committee"]["members"]
    assert [r["architecture"] for r in rows] == ["small_cnn", "student"]


def test_cost_is_counted_per_prediction_with_every_view(tmp_path, trained_cnn):
    from eyebench.models.card import model_card
    from eyebench.models.summary import model_table

    assert [DataConfig(flip_average=f, zoom_average=z).views for f, z in
            ((False, 1.0), (True, 1.0), (False, 1.5), (True, 1.5))] == [1, 2, 2, 4]
    ckpt = tmp_path / "ckpt"
    shutil.copytree(trained_cnn, ckpt)
    config = json.loads((ckpt / "config.json").read_text())
    flops = config["flops_per_image"] / 1e6
    assert f"{flops:.1f} MFLOPs per image" in model_card(config)
    config["data_config"].update(flip_average=True, zoom_average=1.25)
    (ckpt / "config.json").write_text(json.dumps(config))
    assert f"{flops:.1f} MFLOPs per forward pass (4 per prediction: {4 * flops:.1f} MFLOPs)" in model_card(config)
    row = model_table([ckpt]).splitlines()[2].split(" | ")
    assert "MFLOPs/prediction" in model_table([ckpt]) and row[2] == f"{4 * flops:.1f}"


def test_the_models_tab_shows_the_cost_of_a_prediction(trained_cnn):
    from eyebench.app.models_tab import model_facts
    from eyebench.models.profile import flops_per_image

    clf = load_classifier(trained_cnn)
    one = flops_per_image(clf) / 1e6
    assert f"**FLOPs/prediction** {one:.2f} M ·" in model_facts(clf)
    clf.data_config = dataclasses.replace(clf.data_config, flip_average=True)
    assert f"**FLOPs/prediction** {2 * one:.2f} M (2 views)" in model_facts(clf)
