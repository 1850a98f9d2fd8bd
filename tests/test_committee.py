"""The committee: a checkpoint of member checkpoints (safetensors + JSON only) whose score is the weighted mean of the
members' calibrated closed logits, weights fitted on their shared validation people, its own temperature and band,
explained by the weighted members' maps; made by `eyebench committee`, used like any model (evaluate, bench, heldout,
calibrate, the app), refused with a clear message when members differ in split or weights."""
import json
import shutil

import numpy as np
import pytest
from conftest import prepared_arrays
from safetensors import safe_open

from eyebench import load_classifier
from eyebench.cli import main
from eyebench.models.checkpoint import CheckpointError

QUIET = dict(log=lambda *_: None)


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def folder(tmp_path_factory, mrl_dir, trained_cnn, session_cache):
    """checkpoints/-like folder: small_cnn (the session's), student and lbp_hog_svm trained on the same data and seed
    (so one split), and `committee` made from the three by the CLI."""
    root = tmp_path_factory.mktemp("checkpoints")
    shutil.copytree(trained_cnn, root / "small_cnn")
    for model, extra in (("student", ["--epochs", "1", "--batch-size", "32"]), ("lbp_hog_svm", [])):
        assert main(["train", model, "--data", str(mrl_dir), "--out", str(root / model), *extra]) == 0
    members = [str(root / m) for m in ("small_cnn", "student", "lbp_hog_svm")]
    assert main(["committee", *[a for m in members for a in ("--member", m)], "--data", str(mrl_dir), "--out",
                 str(root / "committee"), "--grid-step", "0.25"]) == 0
    return root


def test_the_committee_checkpoint_names_its_members_and_holds_only_their_weights(folder):
    from safetensors import safe_open

    from eyebench.models.base import weights_sha256

    config = json.loads((folder / "committee" / "config.json").read_text())
    assert config["architecture"] == config["family"] == "committee"
    assert config["model_args"] == {"members": ["../small_cnn", "../student", "../lbp_hog_svm"]}
    assert config["data_config"]["input_size"] == 64 and config["data_config"]["channels"] == 1
    member_split = json.loads((folder / "small_cnn" / "config.json").read_text())["split"]
    assert {k: config["split"][k] for k in ("train", "val", "test")} == {k: member_split[k] for k in ("train", "val", "test")}
    assert json.loads((folder / "committee" / "split.json").read_text())["test"] == member_split["test"]
    rows = config["committee"]["members"]
    assert [r["architecture"] for r in rows] == ["small_cnn", "student", "lbp_hog_svm"]
    weights = np.array([r["weight"] for r in rows])
    assert weights.sum() == pytest.approx(1.0) and np.allclose(weights * 4, np.round(weights * 4))  # grid step 0.25
    assert config["committee"]["search"]["candidates"] == 15 and config["calibration"]["fitted_on"] == "validation subjects"
    assert config["uncertain_band"] and config["temperature"] > 0
    with safe_open(str(folder / "committee" / "model.safetensors"), framework="numpy") as fh:
        assert sorted(fh.keys()) == ["member_temperatures", "weights"]
        np.testing.assert_allclose(fh.get_tensor("weights"), weights)
        assert json.loads(fh.metadata()["member_sha256"]) == [weights_sha256(folder / m) for m in
                                                              ("small_cnn", "student", "lbp_hog_svm")]
    card = (folder / "committee" / "README.md").read_text()
    assert "## Committee" in card and "| `../student` | student |" in card and "python -m eyebench committee" in card


def test_the_committee_averages_its_members_calibrated_logits(folder, records):
    clf = load_classifier(folder / "committee")
    members = [load_classifier(folder / m) for m in ("small_cnn", "student", "lbp_hog_svm")]
    assert [m.checkpoint for m in clf.members] == [str(folder / "committee" / ".." / m) for m in
                                                   ("small_cnn", "student", "lbp_hog_svm")]
    images = [np.asarray(prepared_arrays([r], 90)[0][0]) for r in records[:10]]
    z = np.stack([m.scores_prepared(m.prepare(clf.prepare(images))) / m.temperature for m in members])
    np.testing.assert_allclose(clf.scores_prepared(clf.prepare(images)), clf.weights @ z, rtol=1e-6)
    expected = 1 / (1 + np.exp(-np.clip((clf.weights @ z) / clf.temperature, -60, 60)))
    np.testing.assert_allclose(clf.predict_proba(images)[:, 1], expected, rtol=1e-6)
    assert clf.num_parameters() == sum(m.num_parameters() for m in members)
    assert clf.flops() is None  # the SVM's cost is not counted in FLOPs


def test_a_moved_checkpoints_folder_still_loads_and_members_resolve_from_the_repository(folder, tmp_path, monkeypatch):
    from eyebench.models import committee

    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    assert load_classifier(moved / "committee").members[1].name == "student"
    config = json.loads((moved / "committee" / "config.json").read_text())
    config["model_args"]["members"] = ["trained/small_cnn", "trained/student", "trained/lbp_hog_svm"]
    alone = tmp_path / "elsewhere" / "committee"
    shutil.copytree(moved / "committee", alone)
    (alone / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="member trained/small_cnn not found"):
        load_classifier(alone)
    (tmp_path / "repo").mkdir()
    shutil.copytree(moved, tmp_path / "repo" / "trained")
    monkeypatch.setattr(committee, "REPO_ROOT", tmp_path / "repo")
    assert [m.name for m in load_classifier(alone).members] == ["small_cnn", "student", "lbp_hog_svm"]


def test_members_with_other_weights_are_refused(folder, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    svm = load_classifier(moved / "lbp_hog_svm")
    svm.coef_ = svm.coef_ * 2
    svm.save_pretrained(moved / "lbp_hog_svm")
    with pytest.raises(CheckpointError, match=r"member \.\./lbp_hog_svm has other weights than when the committee"):
        load_classifier(moved / "committee")


def test_a_member_whose_averaged_views_changed_is_refused(capsys, folder, tmp_path, mrl_dir):
    """calibrate --flip-average on a member changes its logits but not its weights: the committee's fitted weights
    assume the old ones."""
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    with safe_open(str(moved / "committee" / "model.safetensors"), framework="numpy") as fh:
        assert json.loads(fh.metadata()["member_views"]) == [[False, 1.0]] * 3
    assert main(["calibrate", "--model", str(moved / "student"), "--data", str(mrl_dir), "--flip-average"]) == 0
    with pytest.raises(CheckpointError, match=r"member \.\./student averages other views .* fit it again"):
        load_classifier(moved / "committee")


def test_members_must_share_one_split_and_be_image_classifiers(capsys, folder, svm_checkpoint, mrl_dir, tmp_path):
    base = ["--data", mrl_dir, "--out", tmp_path / "c"]
    rc, _, err = run(capsys, "committee", "--member", folder / "small_cnn", "--member", svm_checkpoint, *base)
    assert rc == 2 and "members must share one saved split" in err and "lbp_hog_svm split the people otherwise" in err
    rc, _, err = run(capsys, "committee", "--member", folder / "small_cnn", "--member", folder / "committee", *base)
    assert rc == 2 and "a committee cannot be a member of a committee" in err
    rc, _, err = run(capsys, "committee", "--member", folder / "small_cnn", *base)
    assert rc == 2 and "at least two --member" in err
    rc, _, err = run(capsys, "committee", "--member", folder / "small_cnn", "--member", folder / "student", "--data",
                     mrl_dir, "--out", folder / "student", "--overwrite")  # a checkpoint: only --overwrite gets here
    assert rc == 2 and "is one of the members" in err
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("mine")
    rc, _, err = run(capsys, "committee", "--member", folder / "small_cnn", "--member", folder / "student", "--data",
                     mrl_dir, "--out", tmp_path / "notes")
    assert rc == 2 and "already holds files and no checkpoint" in err
    assert (tmp_path / "notes" / "README.md").read_text() == "mine"
    with pytest.raises(SystemExit):
        main(["train", "committee", "--data", str(mrl_dir), "--out", str(tmp_path / "t")])  # not a training choice
    assert "invalid choice: 'committee'" in capsys.readouterr().err
    rc, _, err = run(capsys, "train", "student", "--teacher", folder / "committee", *base)
    assert rc == 2 and "--teacher must be a torch checkpoint" in err


def test_the_committee_explains_itself_with_its_members_weighted_maps(folder, records):
    from eyebench.data.images import decode_image
    from eyebench.explain import explain_map, map_method
    from eyebench.explain.committee import weighted_map

    clf = load_classifier(folder / "committee")
    image = decode_image(records[1]["path"])
    assert map_method(clf) == "committee"
    heat = explain_map(clf, image)
    assert heat.shape == image.shape[:2] and heat.min() >= 0 and heat.max() <= 1
    target = int(clf.predict_proba([image])[0, 1] >= 0.5)
    used = [(m, w) for m, w in zip(clf.members, clf.weights) if w]
    expected = weighted_map([explain_map(m, image, target) for m, _ in used], [w for _, w in used])
    np.testing.assert_allclose(heat, expected, atol=1e-6)
    one = weighted_map([np.eye(4), np.ones((4, 4))], [1.0, 0.0])
    np.testing.assert_allclose(one, np.eye(4))


def test_evaluate_bench_calibrate_and_heldout_take_the_committee_like_any_model(capsys, folder, mrl_dir, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    committee = moved / "committee"
    rc, out, err = run(capsys, "evaluate", "--model", committee, "--model", moved / "small_cnn", "--data", mrl_dir,
                       "--split", "test", "--json", tmp_path / "e.json")
    assert rc == 0, err
    rows = json.loads((tmp_path / "e.json").read_text())["models"]
    assert rows[0]["name"] == "committee" and rows[0]["n"] == rows[1]["n"] > 0 and not rows[0]["leak"]
    rc, out, err = run(capsys, "bench", "--model", committee, "--seconds", "0.05", "--batch-size", "8")
    assert rc == 0 and "committee" in out, err
    rc, out, err = run(capsys, "calibrate", "--model", committee, "--data", mrl_dir, "--flip-average")
    assert rc == 0, err
    again = load_classifier(committee)
    assert again.data_config.flip_average and again.weights.tolist() == load_classifier(folder / "committee").weights.tolist()
    x, _ = prepared_arrays([{"path": p, "label": 0} for p in sorted(mrl_dir.rglob("*.png"))[:6]])
    np.testing.assert_allclose(again.scores_prepared(x), again.scores_prepared(np.ascontiguousarray(x[:, :, ::-1])),
                               atol=1e-6)
    rc, out, err = run(capsys, "heldout", "--model", committee, "--model", moved / "small_cnn", "--data", mrl_dir,
                       "--out", tmp_path / "bundle", "--sweep-images", "8")
    assert rc == 0, err
    bundle = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert set(bundle["models"]) == {"committee", "small_cnn"}


def test_the_app_loads_the_committee_as_one_more_model(folder, records):
    from eyebench import workbench
    from eyebench.app import build_demo
    from eyebench.data.images import decode_image

    models, notices = workbench.load_all(folder)
    assert list(models) == ["committee", "lbp_hog_svm", "small_cnn", "student"] and not notices
    res = workbench.predict_picture(models, decode_image(records[0]["path"]))
    row = res.eyes[0].answer("committee")
    assert row.decision.text in ("open", "closed", "uncertain") and row.heat.shape == res.eyes[0].crop.shape[:2]
    demo = build_demo(models, notices)
    labels = [getattr(b, "label", None) for b in demo.blocks.values()]
    assert "committee" in labels and "committee (committee)" not in labels  # the accordion of the Models tab


def test_the_weight_search_finds_the_better_member_on_validation():
    from eyebench.train.committee import fit_member_weights, simplex_grid

    assert simplex_grid(3, 0.5).tolist() == [[0, 0, 1], [0, 0.5, 0.5], [0, 1, 0], [0.5, 0, 0.5], [0.5, 0.5, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="--grid-step must divide 1"):
        simplex_grid(2, 0.3)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    z = np.stack([np.where(y == 1, 3.0, -3.0) + rng.normal(0, 1, 400), rng.normal(0, 3, 400)])
    people = np.repeat([f"p{i}" for i in range(8)], 50)
    weights, search = fit_member_weights(z, y, people, step=0.1)
    assert weights[0] >= 0.9 and search["loss"] <= min(search["members_alone_loss"] + [search["equal_weights_loss"]])


def test_a_flip_averaged_committee_fits_on_the_mirrored_members_too(folder, mrl_dir, tmp_path):
    from eyebench.train.committee import fit_committee

    info = fit_committee([str(folder / "small_cnn"), str(folder / "student")], [str(mrl_dir)], str(tmp_path / "c"),
                         grid_step=0.5, flip_average=True, **QUIET)
    clf = load_classifier(tmp_path / "c")
    assert clf.data_config.flip_average and clf.model_args["flip_average"] is True
    assert info["committee"]["search"]["candidates"] == 3 and clf.weights.sum() == pytest.approx(1.0)


def test_cv_report_committee_cross_validates_a_committee_of_cv_runs(capsys, mrl_dir, tmp_path):
    from eyebench.evaluate.cvreport import pooled_rows

    tiny = ["--data", mrl_dir, "--folds", "2", "--epochs", "1", "--batch-size", "32"]
    for model, extra in (("small_cnn", ["--model-arg", "widths=[4,4,8,8]"]), ("student", [])):
        rc, _, err = run(capsys, "cv", model, *tiny, *extra, "--out", tmp_path / model)
        assert rc == 0, err
    runs = [a for m in ("small_cnn", "student") for a in ("--run", tmp_path / m)]
    rc, out, err = run(capsys, "cv-report", "committee", "--data", mrl_dir, *runs, "--out", tmp_path / "committee",
                       "--grid-step", "0.5", "--target-risk", "0.05", "--json", tmp_path / "c.json")
    assert rc == 0, err
    res = json.loads((tmp_path / "c.json").read_text())
    assert res["target_risk"] == 0.05 and res["band"]["n"] == sum(f["n"] for f in res["folds"])
    assert res["model"] == "committee" and res["k"] == 2 and len(res["folds"]) == 2
    assert sum(f["n"] for f in res["folds"]) == len(list(mrl_dir.rglob("*.png")))
    for i, fold in enumerate(res["folds"], 1):
        member = json.loads((tmp_path / "small_cnn" / f"fold_{i}" / "config.json").read_text())
        assert sorted(fold["test_subjects"]) == sorted(member["split"]["test"])
        assert sum(fold["weights"].values()) == pytest.approx(1.0)
        committee = load_classifier(tmp_path / "committee" / f"fold_{i}")
        assert committee.name == "committee" and committee.info["calibration"]["band"]["target_risk"] == 0.05
        per = [v["accuracy"] for v in fold["per_subject"].values()]
        assert fold["people_balanced_accuracy"] == pytest.approx(np.mean(per))
        assert fold["views"]["as_trained"] == "no flip" and fold["glasses_reflections"]
    assert "committee fold 2: accuracy" in out and "committee, all folds: people-balanced accuracy" in out
    assert pooled_rows([tmp_path / "c.json"])[0]["n"] == res["folds"][0]["n"] + res["folds"][1]["n"]
    rc, _, err = run(capsys, "cv-report", "committee", "--data", mrl_dir, *runs, "--out", tmp_path / "zoomed",
                     "--grid-step", "0.5", "--zoom-average", "--json", tmp_path / "z.json")
    assert rc == 0, err
    assert res["zoom_average"] == 1.0 and json.loads((tmp_path / "z.json").read_text())["zoom_average"] == 1.25
    assert load_classifier(tmp_path / "zoomed" / "fold_1").data_config.zoom_average == 1.25
    shutil.rmtree(tmp_path / "student" / "fold_2")
    rc, _, err = run(capsys, "cv-report", "committee", "--data", mrl_dir, *runs, "--out", tmp_path / "c2")
    assert rc == 2 and "the same number of folds" in err
