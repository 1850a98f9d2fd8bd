"""End-to-end CLI on the synthetic data: train, evaluate (JSON contract, layouts, --split, broken files, --bootstrap),
predict, bench, robustness, explain, triage, cv and summary (report and export: test_report.py, test_export.py)."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    IMAGES_PER_SUBJECT,
    N_SUBJECTS,
    REPO_ROOT,
    write_broken_files,
    write_class_folders,
    write_png,
)

from eyebench.cli import main
from eyebench.data.dataset import UNLABELLED
from eyebench.results import EyeState

N_IMAGES = N_SUBJECTS * IMAGES_PER_SUBJECT
MODEL_KEYS = {"name", "checkpoint", "n", "accuracy", "balanced_accuracy", "recall_open", "recall_closed",
              "precision_open", "precision_closed", "f1_closed", "roc_auc", "confusion_matrix", "seconds"}
VOLATILE = {"seconds"}  # differs between runs of the same evaluation


def run(capsys, *argv):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def evaluate(capsys, tmp_path, model, *data, extra=()):
    """`eyebench evaluate --json` on the given data; returns the parsed JSON and stdout."""
    json_file = tmp_path / f"eval_{len(list(tmp_path.glob('eval_*.json')))}.json"
    args = ["evaluate", "--model", model, *[a for d in data for a in ("--data", d)], "--json", json_file, *extra]
    rc, out, err = run(capsys, *args)
    assert rc == 0, err
    return json.loads(json_file.read_text()), out


def stable(row):
    return {k: v for k, v in row.items() if k not in VOLATILE}


def assert_contract(result, n):
    assert {"models", "data"} <= set(result)
    assert result["data"]["n_read"] == n
    assert isinstance(result["data"]["n_skipped"], int)
    for row in result["models"]:
        assert MODEL_KEYS <= set(row), MODEL_KEYS - set(row)
        assert row["n"] == n
        cm = row["confusion_matrix"]
        assert len(cm) == 2 and all(len(r) == 2 for r in cm)
        assert sum(map(sum, cm)) == n
        for key in MODEL_KEYS - {"name", "checkpoint", "n", "confusion_matrix", "seconds"}:
            assert row[key] is None or 0.0 <= row[key] <= 1.0, key
        assert row["accuracy"] == pytest.approx((cm[0][0] + cm[1][1]) / n)
        assert row["seconds"] >= 0


# -- train ------------------------------------------------------------------------------------------------
def test_train_writes_a_complete_checkpoint(trained_cnn, mrl_dir):
    names = {p.name for p in trained_cnn.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "history.json", "split.json"} <= names
    assert "resume.pt" not in names
    cfg = json.loads((trained_cnn / "config.json").read_text())
    split = cfg["split"]
    parts = [set(split[n]) for n in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == {p.name for p in mrl_dir.iterdir()}
    assert sum(split["n_images"].values()) == N_IMAGES
    assert json.loads((trained_cnn / "split.json").read_text())["test"] == split["test"]
    assert cfg["trained"]["epochs_run"] == 1
    assert cfg["data"]["n_read"] == N_IMAGES
    assert cfg["metrics"]["test"]["overall"]["n"] == split["n_images"]["test"]
    assert len(json.loads((trained_cnn / "history.json").read_text())) == 1
    card = (trained_cnn / "README.md").read_text()
    assert "Results on held-out subjects" in card and split["test"][0] in card


def test_train_svm_through_cli(capsys, tmp_path, mrl_dir):
    out = tmp_path / "svm"
    rc, stdout, err = run(capsys, "train", "lbp_hog_svm", "--data", mrl_dir, "--out", out)
    assert rc == 0, err
    assert "saved" in stdout
    result, _ = evaluate(capsys, tmp_path, out, mrl_dir, extra=["--split", "test"])
    assert result["models"][0]["name"] == "lbp_hog_svm"


def test_train_error_is_reported(capsys, tmp_path, mrl_dir):
    one_subject = tmp_path / "one"
    shutil.copytree(mrl_dir / "s0001", one_subject / "s0001")
    rc, _, err = run(capsys, "train", "small_cnn", "--data", one_subject, "--out", tmp_path / "x", "--epochs", "1")
    assert rc == 2 and "needs at least 3" in err


def test_train_refuses_data_of_one_class(capsys, tmp_path, records):
    write_class_folders(tmp_path / "open_only", [r for r in records if r["label"] == EyeState.OPEN])
    rc, _, err = run(capsys, "train", "lbp_hog_svm", "--data", tmp_path / "open_only", "--out", tmp_path / "x")
    assert rc == 2 and "the train people have no closed images" in err and not (tmp_path / "x").exists()


@pytest.mark.parametrize("model,arg,message", [
    ("small_cnn", "foo=1", "unexpected keyword argument 'foo'"),
    ("small_cnn", "input_size=8", "Output size is too small"),
    ("small_cnn", "channels=2", "channels is 1 (gray) or 3 (RGB)"), ("small_cnn", "widths=5", "not iterable"),
    ("lbp_hog_svm", "input_size=4", "too small"), ("vit_scratch", "embed_dim=130", "divisible by num_heads")])
def test_train_refuses_model_args_that_do_not_make_a_working_model(capsys, tmp_path, mrl_dir, model, arg, message):
    rc, _, err = run(capsys, "train", model, "--data", mrl_dir, "--out", tmp_path / "x", "--model-arg", arg)
    assert rc == 2 and f"--model-arg {arg}: not a working {model} (" in err and message in err
    assert "Traceback" not in err and not (tmp_path / "x").exists()


def test_train_refuses_an_out_folder_of_other_files_or_a_teacher(capsys, tmp_path, trained_cnn, mrl_dir):
    notes = tmp_path / "notes"
    write_png(notes / "photo.png", np.zeros((8, 8), np.uint8))
    (notes / "README.md").write_text("my notes")
    rc, _, err = run(capsys, "train", "lbp_hog_svm", "--data", mrl_dir, "--out", notes)
    assert rc == 2 and f"--out {notes} already holds files and no checkpoint" in err
    assert (notes / "README.md").read_text() == "my notes" and not (notes / "config.json").exists()
    before = (trained_cnn / "model.safetensors").read_bytes()
    rc, _, err = run(capsys, "train", "student", "--data", mrl_dir, "--out", trained_cnn, "--teacher", trained_cnn)
    assert rc == 2 and f"{trained_cnn / 'config.json'} exists: pass --overwrite to replace it" in err
    rc, _, err = run(capsys, "train", "student", "--data", mrl_dir, "--out", trained_cnn, "--teacher", trained_cnn,
                     "--overwrite")
    assert rc == 2 and "is one of the --teacher checkpoints" in err
    assert (trained_cnn / "model.safetensors").read_bytes() == before


# -- evaluate ---------------------------------------------------------------------------------------------
def test_evaluate_json_contract(capsys, tmp_path, trained_cnn, mrl_dir):
    result, out = evaluate(capsys, tmp_path, trained_cnn, mrl_dir)
    assert_contract(result, N_IMAGES)
    row = result["models"][0]
    assert row["name"] == "small_cnn" and row["checkpoint"] == str(trained_cnn)
    assert result["data"]["n_skipped"] == 0
    assert set(row["per_subject"]) == {p.name for p in mrl_dir.iterdir()}
    assert "small_cnn" in out and "images read: 48" in out


def test_evaluate_json_keys_band_metrics_band(capsys, tmp_path, svm_checkpoint, mrl_dir):
    from eyebench.evaluate.thresholds import band_metrics

    result, out = evaluate(capsys, tmp_path, svm_checkpoint, mrl_dir)
    row = result["models"][0]
    assert "uncertain" not in row and row["band"]["band"] == [0.3, 0.7]  # `band`, as in checkpoints and analyses
    assert set(row["band"]) == set(band_metrics([0, 1], [0.1, 0.9], [0.3, 0.7]))
    assert f"lbp_hog_svm: uncertain band [0.3, 0.7] -> {row['band']['n_uncertain']} uncertain" in out


@pytest.mark.parametrize("layout", ["classes", "manifest"])
def test_evaluate_other_layouts_give_the_same_metrics(capsys, tmp_path, trained_cnn, synthetic, layout):
    reference, _ = evaluate(capsys, tmp_path, trained_cnn, synthetic["mrl"])
    result, _ = evaluate(capsys, tmp_path, trained_cnn, synthetic[layout])
    assert_contract(result, N_IMAGES)
    # the same pixels under another layout: identical overall metrics (subjects and source names differ)
    ref, row = reference["models"][0], result["models"][0]
    for key in MODEL_KEYS - {"seconds"}:
        assert row[key] == ref[key], key


def test_evaluate_two_models_and_two_sources(capsys, tmp_path, trained_cnn, synthetic):
    result, out = evaluate(capsys, tmp_path, trained_cnn, synthetic["mrl"], synthetic["classes"])
    assert_contract(result, 2 * N_IMAGES)
    assert set(result["models"][0]["per_source"]) == {"mrl", "classes"}
    assert result["data"]["per_source"] == {"mrl": N_IMAGES, "classes": N_IMAGES}


def test_evaluate_test_split(capsys, tmp_path, trained_cnn, mrl_dir):
    test_subjects = json.loads((trained_cnn / "config.json").read_text())["split"]["test"]
    n_test = sum(len(list((mrl_dir / s).glob("*.png"))) for s in test_subjects)
    assert 0 < n_test < N_IMAGES
    result, _ = evaluate(capsys, tmp_path, trained_cnn, mrl_dir, extra=["--split", "test"])
    assert_contract(result, n_test)
    row = result["models"][0]
    assert row["split"] == "test" and set(row["per_subject"]) == set(test_subjects)
    # the numbers `eyebench train` stored for the test subjects are reproduced
    stored = json.loads((trained_cnn / "config.json").read_text())["metrics"]["test"]["overall"]
    for key in ("n", "accuracy", "balanced_accuracy", "confusion_matrix"):
        assert row[key] == stored[key], key


def test_evaluate_split_needs_those_subjects(capsys, trained_cnn, synthetic):
    rc, _, err = run(capsys, "evaluate", "--model", trained_cnn, "--data", synthetic["classes"], "--split", "test")
    assert rc == 2 and "test subjects" in err


def test_evaluate_skips_broken_files(capsys, tmp_path, trained_cnn, mrl_dir):
    clean, _ = evaluate(capsys, tmp_path, trained_cnn, mrl_dir)
    dirty = tmp_path / "dirty" / mrl_dir.name  # same folder name, so the source name is the same
    shutil.copytree(mrl_dir, dirty)
    broken = write_broken_files(dirty / "s0003")  # unreadable files with labelled names, among good ones
    write_png(dirty / "s0001" / "holiday.png", np.zeros((32, 32), np.uint8))  # not a labelled name
    result, out = evaluate(capsys, tmp_path, trained_cnn, dirty)
    assert_contract(result, N_IMAGES)
    data = result["data"]
    assert data["n_skipped"] == len(broken) + 1
    reasons = data["skipped_reasons"]
    assert reasons.get(UNLABELLED) == 1
    assert sum(v for k, v in reasons.items() if k.startswith("unreadable")) == len(broken)
    skipped_paths = {ex["path"] for ex in data["skipped_examples"]}
    assert {str(p) for p in broken.values()} <= skipped_paths
    assert "skipped" in out and "unreadable" in out
    # the broken files change nothing in the metrics
    for key in set(clean["models"][0]) - VOLATILE:
        assert result["models"][0][key] == clean["models"][0][key], key


def test_evaluate_reads_a_mixed_folder_whole_and_warns_on_a_remainder(capsys, tmp_path, trained_cnn, synthetic, records):
    """One MRL-named file in an open/closed tree: every image is still read; a folder that is mostly unlabelled
    is evaluated with a WARNING saying the metrics cover only the few images read."""
    tree = tmp_path / "tree"
    shutil.copytree(synthetic["classes"], tree)
    shutil.copy2(records[1]["path"], tree / "Closed_Eyes")  # an MRL name (closed) among CEW-style names
    result, out = evaluate(capsys, tmp_path, trained_cnn, tree)
    assert result["data"]["n_read"] == N_IMAGES + 1 and result["data"]["n_skipped"] == 0
    assert f"data tree: mixed layout, {N_SUBJECTS + 1} subjects from MRL file names (1 images)" in out
    assert "WARNING tree" not in out
    few = tmp_path / "few"
    shutil.copytree(synthetic["classes"] / "open", few / "unsorted")  # no class folder: unlabelled
    write_png(few / "open" / "Ada_0001_L.png", np.zeros((32, 32), np.uint8))
    result, out = evaluate(capsys, tmp_path, trained_cnn, few)
    assert result["data"]["n_read"] == 1 and result["data"]["warnings"]
    assert f"WARNING few: {N_IMAGES // 2} of {N_IMAGES // 2 + 1} files were skipped" in out


@pytest.fixture
def phone_folder(tmp_path, records):
    """The synthetic crops renamed as a phone names them (IMG_1001.jpg ...), in a folder per person."""
    import cv2

    root = tmp_path / "phone"
    for k, r in enumerate(records):
        dest = root / r["person"] / ("open" if r["label"] == 0 else "closed") / f"IMG_{1001 + k}.jpg"
        write_png(dest, cv2.imread(str(r["path"]), cv2.IMREAD_GRAYSCALE))
    return root


def test_camera_names_are_warned_about_and_subject_from_fixes_them(capsys, tmp_path, trained_cnn, phone_folder):
    result, out = evaluate(capsys, tmp_path, trained_cnn, phone_folder, extra=["--bootstrap", "20"])
    assert "data phone: class-folders layout, 1 subjects from file names (left/right grouped)" in out
    assert f"WARNING phone: all {N_IMAGES} images are one subject" in out and "--subject-from" in out
    assert result["data"]["warnings"] and result["models"][0]["bootstrap_accuracy"]["n_subjects"] == 1
    result, out = evaluate(capsys, tmp_path, trained_cnn, phone_folder, extra=["--bootstrap", "20", "--subject-from",
                                                                                 "folder"])
    assert f"{N_SUBJECTS} subjects from the nearest folder above each image" in out and "WARNING phone" not in out
    assert result["data"]["sources"]["phone"]["subject_rule"] == "folder"
    assert result["models"][0]["bootstrap_accuracy"]["n_subjects"] == N_SUBJECTS


def test_train_with_subject_from_splits_by_it_and_records_it(capsys, tmp_path, phone_folder):
    out_dir = tmp_path / "ckpt"
    rc, out, err = run(capsys, "train", "small_cnn", "--data", phone_folder, "--subject-from", "folder", "--out", out_dir,
                       "--epochs", "1", "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]")
    assert rc == 0, err
    assert f"{N_SUBJECTS} subjects from the nearest folder" in out
    cfg = json.loads((out_dir / "config.json").read_text())
    assert cfg["data"]["sources"]["phone"]["subject_rule"] == "folder"
    assert set().union(*(cfg["split"][k] for k in ("train", "val", "test"))) <= set(
        p.name for p in phone_folder.iterdir())


def test_a_bad_subject_rule_is_refused_before_any_work(capsys, trained_cnn, mrl_dir):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--model", str(trained_cnn), "--data", str(mrl_dir), "--subject-from", "parents"])
    assert exc.value.code == 2 and "expected auto, folder, file or regex:PATTERN" in capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", [
    (["bench", "--model", "m", "--batch-size", "0"], "--batch-size: expected a whole number of at least 1, got '0'"),
    (["bench", "--model", "m", "--seconds", "nan"], "--seconds: expected a number above 0, got 'nan'"),
    (["evaluate", "--model", "m", "--data", "d", "--bootstrap", "-5"], "--bootstrap: expected a whole number"),
    (["robustness", "--model", "m", "--data", "d", "--json", "r.json", "--sweep-images", "1"], "of at least 2"),
    (["calibrate", "--model", "m", "--data", "d", "--target-risk", "2"], "above 0 and at most 1, got '2'"),
    (["committee", "--member", "a", "--data", "d", "--out", "o", "--grid-step", "0"], "--grid-step: expected a number"),
    (["video", "clip.mp4", "--model", "m", "--out", "o", "--max-frames", "0"], "--max-frames: expected a whole"),
    (["video", "clip.mp4", "--model", "m", "--out", "o", "--fps", "x"], "--fps: expected a number above 0"),
])
def test_numbers_out_of_range_are_refused_when_the_command_line_is_read(capsys, argv, expected):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and expected in capsys.readouterr().err


def test_cv_needs_two_folds(capsys):
    with pytest.raises(SystemExit):
        main(["cv", "small_cnn", "--data", "d", "--out", "o", "--folds", "1"])
    assert "--folds: expected a whole number of at least 2, got '1'" in capsys.readouterr().err


def test_evaluate_the_shipped_sample_images(capsys, tmp_path, trained_cnn):
    from eyebench.workbench import sample_dataset

    result, out = evaluate(capsys, tmp_path, trained_cnn, REPO_ROOT / "sample_images")
    assert result["data"]["n_read"] == len(sample_dataset(REPO_ROOT / "sample_images")) >= 8  # as the app reads it
    assert result["data"]["n_skipped"] == 1 and "samples.json layout" in out


def test_evaluate_missing_checkpoint(capsys, tmp_path, mrl_dir):
    rc, _, err = run(capsys, "evaluate", "--model", tmp_path / "nope", "--data", mrl_dir)
    assert rc == 2 and "error" in err and "nope" in err


def test_evaluate_missing_data(capsys, tmp_path, trained_cnn):
    rc, _, err = run(capsys, "evaluate", "--model", trained_cnn, "--data", tmp_path / "absent")
    assert rc == 2 and "does not exist" in err


# -- predict and bench ------------------------------------------------------------------------------------
def test_predict_prints_a_line_per_image(capsys, trained_cnn, records):
    paths = [r["path"] for r in records[:4]]
    rc, out, _ = run(capsys, "predict", "--model", trained_cnn, *paths)
    assert rc == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(paths)  # an eye crop gets no note, only its answer
    for path, line in zip(paths, lines):
        fields = line.split("\t")
        assert fields[0] == str(path) and fields[1] == "small_cnn"
        assert fields[2] in ("open", "closed", "uncertain")
        p_open, p_closed = (float(f.split("=")[1]) for f in fields[3:5])
        assert p_open + p_closed == pytest.approx(1.0, abs=2e-4)
        if fields[2] != "uncertain":
            assert fields[2] == ("closed" if p_closed >= 0.5 else "open")
        assert fields[5] == "eye=crop" and fields[6].startswith("box=0,0,")
        assert fields[7].startswith("uncertain band on p(closed)=[") or fields[7] == "no band (cut at p(closed)=0.5)"


@pytest.fixture(scope="module")
def face_photo(tmp_path_factory):
    """scikit-image's astronaut photo (public domain, ships with the package) as a JPEG file."""
    import cv2
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def test_predict_answers_per_eye_of_a_face_photo_as_the_app_does(capsys, trained_cnn, svm_checkpoint, face_photo):
    from eyebench import load_classifier
    from eyebench.data.images import decode_image
    from eyebench.workbench import predict_picture

    rc, out, _ = run(capsys, "predict", "--model", trained_cnn, "--model", svm_checkpoint, face_photo)
    assert rc == 0
    lines = out.strip().splitlines()
    assert lines[0] == f"{face_photo}: 2 eye(s) found in 1 face(s)."
    assert lines[1].startswith(f"{face_photo}: face 1: yaw ") and "eye aspect ratio" in lines[1]
    rows = [line.split("\t") for line in lines[2:]]
    assert len(rows) == 4  # two eyes x two models, never the whole photo
    assert [(r[1], r[5]) for r in rows] == [("small_cnn", "eye=right"), ("lbp_hog_svm", "eye=right"),
                                           ("small_cnn", "eye=left"), ("lbp_hog_svm", "eye=left")]
    app = predict_picture({"small_cnn": load_classifier(trained_cnn)}, decode_image(face_photo), maps=False)
    assert [r[6] for r in rows[::2]] == [f"box={','.join(map(str, e.box))}" for e in app.eyes]  # the app's eyes
    assert [float(r[4].split("=")[1]) for r in rows[::2]] == pytest.approx(
        [e.answers[0].p_closed for e in app.eyes], abs=1e-4)


def test_predict_whole_image_and_no_eye_found(capsys, tmp_path, trained_cnn, face_photo):
    rc, out, _ = run(capsys, "predict", "--model", trained_cnn, "--whole-image", face_photo)
    assert rc == 0
    note, row = out.strip().splitlines()
    assert "whole image as one eye crop, as asked" in note and row.split("\t")[5] == "eye=crop"
    flat = write_png(tmp_path / "flat.png", np.full((320, 480), 128, np.uint8))
    rc, out, _ = run(capsys, "predict", "--model", trained_cnn, flat)
    assert rc == 1 and out.strip().splitlines() == [f"{flat}: " + out.split(": ", 1)[1].strip()]
    assert "No eye found" in out and "--whole-image" in out


def test_predict_unreadable_file(capsys, tmp_path, trained_cnn, records):
    broken = write_broken_files(tmp_path)["random"]
    rc, out, _ = run(capsys, "predict", "--model", trained_cnn, records[0]["path"], broken)
    assert rc == 1
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{broken}: cannot read: ")


def test_bench_prints_speed_threads_and_load(capsys, tmp_path, trained_cnn):
    json_file = tmp_path / "bench.json"
    rc, out, _ = run(capsys, "bench", "--model", trained_cnn, "--seconds", "0.2", "--batch-size", "16",
                     "--json", json_file)
    assert rc == 0 and "img/s" in out and out.startswith("small_cnn")
    assert "1 thread as predict and the app use" in out and " cores" in out
    row = json.loads(json_file.read_text())[0]
    assert row["batch_size"] == 16 and row["batch_images_per_second"] > 0 and row["single_ms_per_image"] > 0
    assert row["threads"]["single"] == 1 and row["single_ms_default_threads"] > 0
    assert {"load_1min", "cores", "busy"} <= set(row["load"]["before"]) and row["load"]["after"]["cores"] >= 1


def test_bench_picture_times_the_app_predict_path_and_a_band_move(capsys, trained_cnn):
    rc, out, err = run(capsys, "bench", "--model", trained_cnn, "--picture", REPO_ROOT / "sample_images" /
                       "synthetic_closed_0.png")
    assert rc == 0, err
    assert "app predict (small_cnn;" in out and "threshold update on 10000 cached images" in out


def bench_copy(tmp_path, trained_cnn):
    """A copy of the session checkpoint (recording rewrites its config.json and card)."""
    folder = tmp_path / "small_cnn"
    shutil.copytree(trained_cnn, folder)
    return folder


def test_bench_record_refuses_a_short_run(capsys, tmp_path, trained_cnn, monkeypatch):
    import eyebench.bench as bench

    monkeypatch.setattr(bench.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    folder = bench_copy(tmp_path, trained_cnn)
    before = (folder / "config.json").read_text()
    rc, out, err = run(capsys, "bench", "--model", folder, "--seconds", "1", "--record")
    assert rc == 2 and "--record needs --seconds 10 or more (got 1)" in err and out == ""  # refused before any run
    assert (folder / "config.json").read_text() == before


def test_bench_record_refuses_a_busy_machine(capsys, tmp_path, trained_cnn, monkeypatch):
    import eyebench.bench as bench

    monkeypatch.setattr(bench.os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    folder = bench_copy(tmp_path, trained_cnn)
    before = (folder / "config.json").read_text()
    rc, _, err = run(capsys, "bench", "--model", folder, "--seconds", "10", "--record")
    assert rc == 2 and "the machine is busy (load average 64.00" in err
    assert (folder / "config.json").read_text() == before
    rc, out, _ = run(capsys, "bench", "--model", folder, "--seconds", "0.1", "--batch-size", "8")  # measuring is fine
    assert rc == 0 and "BUSY" in out and "WARNING: the machine was busy" in out


def test_bench_record_on_an_idle_machine_says_how_it_was_measured(capsys, tmp_path, trained_cnn, monkeypatch):
    import eyebench.bench as bench

    monkeypatch.setattr(bench.os, "getloadavg", lambda: (0.25, 0.2, 0.2))
    monkeypatch.setattr(bench, "MIN_RECORD_SECONDS", 0.1)  # the rule, without a 10-second test
    folder = bench_copy(tmp_path, trained_cnn)
    rc, out, err = run(capsys, "bench", "--model", folder, "--seconds", "0.2", "--batch-size", "8", "--record")
    assert rc == 0, err
    record = json.loads((folder / "config.json").read_text())["bench"]
    assert "1 for single images" in record["machine"] and "load average 0.25 at the start" in record["machine"]
    assert record["threads"]["single"] == 1 and record["load"]["before"]["busy"] is False
    assert "recorded in each checkpoint" in out


def test_python_m_eyebench_entry_point(trained_cnn, records):
    proc = subprocess.run([sys.executable, "-m", "eyebench", "predict", "--model", str(trained_cnn),
                           str(records[1]["path"])], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(str(records[1]["path"]) + "\tsmall_cnn\t")


# -- evaluate --bootstrap, robustness, explain, triage, cv, summary ---------------------------------------
def test_evaluate_bootstrap(capsys, tmp_path, trained_cnn, mrl_dir):
    result, out = evaluate(capsys, tmp_path, trained_cnn, mrl_dir, extra=["--bootstrap", "50"])
    row = result["models"][0]
    ci = row["bootstrap_accuracy"]
    assert ci["n_boot"] == 50 and ci["n_subjects"] == N_SUBJECTS and ci["note"] is None
    assert ci["estimate"] == row["accuracy"] and ci["low"] <= row["accuracy"] <= ci["high"]
    assert f"accuracy 95% CI over subjects [{100 * ci['low']:.2f}%, {100 * ci['high']:.2f}%]" in out
    assert "(6 subjects, 50 resamples)" in out


SWEEP_NAMES = {"rotation_deg", "yaw_deg", "glasses", "blur_sigma", "gamma", "noise_sigma", "jpeg_quality",
               "downscale_px", "framing"}


def test_robustness_json_and_csv(capsys, tmp_path, trained_cnn, synthetic):
    import csv

    json_file, csv_dir = tmp_path / "rob.json", tmp_path / "csv"
    rc, out, err = run(capsys, "robustness", "--model", trained_cnn, "--data", synthetic["manifest"],
                       "--json", json_file, "--csv", csv_dir, "--sweep-images", "6")
    assert rc == 0, err
    res = json.loads(json_file.read_text())
    assert set(res) == {"models", "sweeps", "data"}
    model = res["models"]["small_cnn"]
    assert model["n"] == N_IMAGES and 0 <= model["accuracy"] <= 1
    factors = {r["factor"] for r in model["subsets"]}
    assert factors == {"glasses", "angle", "source"}  # the manifest's extra columns are subsets
    assert all("rejection_rate" in r for r in model["subsets"])  # the checkpoint's band is applied
    sweeps = res["sweeps"]
    assert set(sweeps["sweeps"]) == SWEEP_NAMES and sweeps["n"] == 6 and "simulate head angle" in sweeps["note"]
    for block in sweeps["sweeps"].values():
        assert len(block["models"]["small_cnn"]["accuracy"]) == len(block["levels"])
    with open(csv_dir / "subsets.csv", newline="") as fh:
        subsets = list(csv.DictReader(fh))
    with open(csv_dir / "sweeps.csv", newline="") as fh:
        sweep_rows = list(csv.DictReader(fh))
    assert len(subsets) == len(model["subsets"]) and subsets[0]["model"] == "small_cnn"
    assert len(sweep_rows) == sum(len(b["levels"]) for b in sweeps["sweeps"].values())
    assert {r["sweep"] for r in sweep_rows} == SWEEP_NAMES
    assert "glasses=yes" in out and "accuracy % per level" in out and "CSV files in" in out


def test_robustness_on_the_test_split(capsys, tmp_path, trained_cnn, mrl_dir):
    json_file = tmp_path / "rob.json"
    rc, _, err = run(capsys, "robustness", "--model", trained_cnn, "--data", mrl_dir, "--split", "test",
                     "--json", json_file, "--sweep-images", "4", "--sweep", "framing", "--sweep", "gamma")
    assert rc == 0, err
    res = json.loads(json_file.read_text())
    assert list(res["sweeps"]["sweeps"]) == ["gamma", "framing"]  # only the chosen sweeps, in the usual order
    test_subjects = json.loads((trained_cnn / "config.json").read_text())["split"]["test"]
    assert res["data"]["n_subjects"] == len(test_subjects)
    assert res["models"]["small_cnn"]["n"] == res["data"]["n_read"] < N_IMAGES


def test_robustness_refuses_an_unknown_sweep_and_its_help_names_every_one(capsys, tmp_path, trained_cnn, mrl_dir):
    from eyebench.evaluate.perturbations import SWEEPS

    rc, _, err = run(capsys, "robustness", "--model", trained_cnn, "--data", mrl_dir, "--json", tmp_path / "r.json",
                     "--sweep", "framing", "--sweep", "zoom")
    assert rc == 2 and "--sweep zoom: no such sweep (choose from rotation_deg, " in err
    assert not (tmp_path / "r.json").exists()
    with pytest.raises(SystemExit):
        run(capsys, "robustness", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in SWEEPS)


def test_predict_a_close_up_of_one_eye_says_how_it_was_read(capsys, tmp_path, trained_cnn):
    import cv2

    from eyebench.results import EyeState
    from eyebench.samples import render_eye_photo

    path = tmp_path / "webcam_eye.png"
    cv2.imwrite(str(path), cv2.cvtColor(render_eye_photo(EyeState.CLOSED, width=300, height=220, seed=2), cv2.COLOR_RGB2BGR))
    rc, out, _ = run(capsys, "predict", "--model", trained_cnn, path)
    assert rc == 0
    note, row = out.strip().splitlines()
    assert note.startswith(f"{path}: No face found; the picture looks like a close-up of one eye")
    assert row.split("\t")[5:7] == ["eye=crop", "box=0,0,300,220"]


def test_explain_writes_a_titled_figure(capsys, tmp_path, trained_cnn, svm_checkpoint, records):
    import cv2

    from eyebench.explain.figure import colour_bar

    out_png = tmp_path / "maps.png"
    rc, out, err = run(capsys, "explain", "--model", trained_cnn, "--model", svm_checkpoint, records[0]["path"],
                       "--out", out_png)
    assert rc == 0, err
    figure = cv2.imread(str(out_png))
    assert figure.shape[1] >= 3 * 160 and figure.shape[0] > 160 + 40  # the input and two maps, titles, colour bar
    panels = figure[40:200]
    assert not np.array_equal(panels[:, :160], panels[:, 164:324])
    bar = colour_bar(figure.shape[1])
    np.testing.assert_array_equal(figure[-bar.shape[0]:, :, ::-1], bar)  # the colour scale under the panels
    ramp = bar[8, 1:-1].astype(int)
    assert ramp[0, 2] > ramp[0, 0] and ramp[-1, 0] > ramp[-1, 2]  # from blue (0) to red (1)
    assert out.splitlines()[0].startswith("deletion AUC: the mean p(decided class)")
    lines = [line for line in out.splitlines()[1:] if "deletion AUC" in line]
    assert [line.split(":")[0] for line in lines] == ["crop small_cnn", "crop lbp_hog_svm"]
    assert all("p(closed)=" in line and "random" in line for line in lines)


def test_explain_a_face_photo_has_a_row_per_eye(capsys, tmp_path, trained_cnn, face_photo):
    import cv2

    out_png = tmp_path / "face.png"
    rc, out, err = run(capsys, "explain", "--model", trained_cnn, face_photo, "--out", out_png)
    assert rc == 0, err
    assert f"{face_photo}: 2 eye(s) found in 1 face(s)." in out
    assert [line.split(":")[0] for line in out.splitlines() if "deletion AUC" in line][1:] == [
        "right small_cnn", "left small_cnn"]
    assert cv2.imread(str(out_png)).shape[0] > 2 * 160 + 40


def test_explain_unreadable_image(capsys, tmp_path, trained_cnn):
    broken = write_broken_files(tmp_path)["truncated"]
    rc, _, err = run(capsys, "explain", "--model", trained_cnn, broken, "--out", tmp_path / "x.png")
    assert rc == 2 and "error" in err and not (tmp_path / "x.png").exists()


def test_triage_lists_every_model_with_the_bands_rule(capsys, tmp_path, trained_cnn, svm_checkpoint, mrl_dir):
    import csv

    from eyebench import load_classifier
    from eyebench.evaluate.thresholds import apply_band

    wide = tmp_path / "wide_band"  # the same weights with a band that leaves every image uncertain
    shutil.copytree(trained_cnn, wide)
    cfg = json.loads((wide / "config.json").read_text())
    (wide / "config.json").write_text(json.dumps({**cfg, "uncertain_band": [0.0, 1.0]}))
    csv_file = tmp_path / "triage.csv"
    rc, out, err = run(capsys, "triage", "--model", trained_cnn, "--model", svm_checkpoint, "--model", wide,
                       "--data", mrl_dir, "--csv", csv_file)
    assert rc == 0, err
    with open(csv_file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    bands = {"small_cnn": load_classifier(trained_cnn).uncertain_band, "lbp_hog_svm": [0.3, 0.7],
             "wide_band": [0.0, 1.0]}
    assert sum(r["model"] == "wide_band" for r in rows) == N_IMAGES
    assert {"small_cnn", "wide_band"} <= {r["model"] for r in rows} <= set(bands)  # not only the last model
    for r in rows:
        decision = ("open", "closed", "uncertain")[apply_band([float(r["p_closed"])], bands[r["model"]])[0]]
        assert r["decision"] == decision and decision in ("uncertain", "open" if r["label"] == "closed" else "closed")
        assert r["reason"] == ("uncertain" if decision == "uncertain" else "misclassified")  # the band's rule, in both
    assert [float(r["p_true_class"]) for r in rows] == sorted(float(r["p_true_class"]) for r in rows)
    assert len({(r["model"], r["path"]) for r in rows}) == len(rows)  # one row per image and model
    assert "rule: each model decides by its own uncertain band on p(closed)" in out
    for name in bands:
        n = sum(r["model"] == name for r in rows)
        wrong = sum(r["model"] == name and r["reason"] == "misclassified" for r in rows)
        assert f"{name}: {n} of {N_IMAGES} images listed ({wrong} misclassified, {n - wrong} uncertain)" in out


def tiny_cv(capsys, tmp_path, mrl_dir, *extra):
    """A 2-fold, 1-epoch cv of a tiny small_cnn; returns (parsed JSON, stdout, the output folder)."""
    json_file, out_dir = tmp_path / "cv.json", tmp_path / "cv"
    rc, out, err = run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--folds", "2", "--epochs", "1",
                       "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]", "--json", json_file, *extra)
    assert rc == 0, err
    return json.loads(json_file.read_text()), out, out_dir


def test_cv_two_folds(capsys, tmp_path, mrl_dir):
    res, out, out_dir = tiny_cv(capsys, tmp_path, mrl_dir, "--ema", "0.9", "--aug-strength", "0.5")
    assert res["k"] == 2 and len(res["folds"]) == 2
    tests = [set(f["test_subjects"]) for f in res["folds"]]
    assert not tests[0] & tests[1] and tests[0] | tests[1] == {f"s{i:04d}" for i in range(1, N_SUBJECTS + 1)}
    assert sum(f["n"] for f in res["folds"]) == N_IMAGES  # every image is tested exactly once
    accs = [f["accuracy"] for f in res["folds"]]
    assert res["accuracy_mean"] == pytest.approx(np.mean(accs)) and res["accuracy_std"] == pytest.approx(np.std(accs, ddof=1))
    assert res["worst_fold"]["accuracy"] == min(accs)
    assert res["worst_subject"] is None  # the synthetic people have 8 images each: none reaches the minimum
    assert "worst subject none: no subject has 20 images" in out
    for fold, people in zip(res["folds"], tests):  # per-person results of each fold, to compare recipes person by person
        assert set(fold["per_subject"]) == people and sum(v["n"] for v in fold["per_subject"].values()) == fold["n"]
        ok = sum(v["n"] * v["accuracy"] for v in fold["per_subject"].values())
        assert ok / fold["n"] == pytest.approx(fold["accuracy"])
    for i in (1, 2):
        cfg = json.loads((out_dir / f"fold_{i}" / "config.json").read_text())
        assert sorted(cfg["split"]["test"]) == sorted(res["folds"][i - 1]["test_subjects"])
        assert cfg["trained"]["ema_decay"] == 0.9 and cfg["trained"]["aug_strength"] == 0.5  # recipe options reach each fold
    assert "fold 1:" in out and "fold 2:" in out and "over 2 folds" in out


def test_cv_resume_reuses_finished_folds_trains_the_rest_and_refuses_another_recipe(capsys, tmp_path, mrl_dir):
    first, _, out_dir = tiny_cv(capsys, tmp_path, mrl_dir)
    kept = (out_dir / "fold_1" / "model.safetensors").stat().st_mtime_ns
    shutil.rmtree(out_dir / "fold_2")  # as if stopped before fold 2 finished
    again, out, _ = tiny_cv(capsys, tmp_path, mrl_dir, "--resume", "--overwrite")  # --overwrite: its cv.json
    assert "fold 1/2: finished earlier" in out and "fold 2/2: finished earlier" not in out
    assert (out_dir / "fold_1" / "model.safetensors").stat().st_mtime_ns == kept  # not trained again
    assert again["folds"][0] == first["folds"][0]  # and it reports what its own training reported
    assert (out_dir / "fold_2" / "config.json").is_file() and again["folds"][1]["n"] == first["folds"][1]["n"]
    rc, _, err = run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--folds", "2", "--epochs", "2",
                     "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]", "--resume")
    assert rc == 2 and "another model, split or recipe" in err
    rc, _, err = run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--folds", "3", "--epochs", "1",
                     "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]", "--resume")
    assert rc == 2 and "(differs: --folds)" in err
    kept = (out_dir / "fold_2" / "model.safetensors").stat().st_mtime_ns
    rc, _, err = run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--folds", "2", "--epochs", "1",
                     "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]")  # the finished folds, not trained again
    assert rc == 2 and "holds a cross-validation already: continue it with --resume" in err
    assert (out_dir / "fold_2" / "model.safetensors").stat().st_mtime_ns == kept
    (out_dir / "cv_recipe.json").write_text("{bad")
    rc, _, err = run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--resume")
    assert rc == 2 and "cv_recipe.json is damaged" in err


def test_cv_repeats_runs_one_cv_per_seed(capsys, tmp_path, mrl_dir):
    res, out, out_dir = tiny_cv(capsys, tmp_path, mrl_dir, "--seed", "3", "--repeats", "2")
    assert res["seeds"] == [3, 4] and [r["seed"] for r in res["runs"]] == [3, 4]
    means = [r["accuracy_mean"] for r in res["runs"]]
    assert res["accuracy_per_seed"] == means and res["accuracy_mean"] == pytest.approx(np.mean(means))
    assert res["accuracy_seed_std"] == pytest.approx(np.std(means, ddof=1))
    for s in (3, 4):
        cfg = json.loads((out_dir / f"seed_{s}" / "fold_1" / "config.json").read_text())
        assert cfg["trained"]["seed"] == s
    assert "seed 3 fold 1:" in out and "seed 4 fold 2:" in out and "mean over 2 seeds" in out
    with pytest.raises(SystemExit):
        run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--repeats", "0")
    assert "--repeats: expected a whole number of at least 1" in capsys.readouterr().err


def test_cv_train_people_keeps_a_nested_share_of_each_folds_training_people(capsys, tmp_path, mrl_dir):
    from eyebench.data.dataset import load_dataset
    from eyebench.train.crossval import subject_folds

    dataset = load_dataset([str(mrl_dir)])
    full, half = subject_folds(dataset, 2, seed=0), subject_folds(dataset, 2, seed=0, train_share=0.5)
    for f, h in zip(full, half):
        assert h["test"] == f["test"] and h["val"] == f["val"]  # only the training people shrink
        assert set(h["train"]) < set(f["train"]) and len(h["train"]) == max(1, round(len(f["train"]) / 2))
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="share of training people"):
            subject_folds(dataset, 2, train_share=bad)
    res, out, out_dir = tiny_cv(capsys, tmp_path, mrl_dir, "--train-people", "0.5")
    assert res["train_share"] == 0.5
    for i, h in enumerate(half, 1):
        cfg = json.loads((out_dir / f"fold_{i}" / "config.json").read_text())
        assert cfg["split"]["train"] == h["train"] and res["folds"][i - 1]["n_train_subjects"] == len(h["train"])
    assert f"{len(half[0]['train'])} training subjects" in out


def test_cv_holdout_of_never_uses_the_checkpoints_test_people(capsys, tmp_path, mrl_dir, trained_cnn):
    held = json.loads((trained_cnn / "split.json").read_text())["test"]
    json_file, out_dir = tmp_path / "cv.json", tmp_path / "cv"
    rc, out, err = run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--folds", "2", "--epochs", "1",
                       "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]", "--json", json_file, "--bf16",
                       "--glasses", "0.2", "--holdout-of", trained_cnn)
    assert rc == 0, err
    res = json.loads(json_file.read_text())
    assert held and res["left_out_subjects"] == sorted(held)
    tests = set().union(*(f["test_subjects"] for f in res["folds"]))
    assert tests == {f"s{i:04d}" for i in range(1, N_SUBJECTS + 1)} - set(held)
    assert sum(f["n"] for f in res["folds"]) == N_IMAGES - IMAGES_PER_SUBJECT * len(held)
    for i in (1, 2):
        cfg = json.loads((out_dir / f"fold_{i}" / "config.json").read_text())
        assert not set(held) & set().union(*(cfg["split"][k] for k in ("train", "val", "test")))  # not in train, val or test of any fold
        assert cfg["trained"]["autocast"] == "bfloat16" and cfg["trained"]["glasses"] == 0.2
    assert f"left out the {len(held)} test subjects" in out


def test_cv_holdout_of_needs_a_checkpoint(capsys, tmp_path, mrl_dir):
    rc, _, err = run(capsys, "cv", "small_cnn", "--data", mrl_dir, "--out", tmp_path / "cv", "--holdout-of", tmp_path)
    assert rc == 2 and "no split.json" in err

def markdown_tables(text: str) -> list[list[dict]]:
    """The markdown tables in `text`, each as a list of {column header: cell} rows."""
    tables = []
    for block in text.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("|")]
        if len(lines) < 2 or not lines[1].startswith("|-"):
            continue
        cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
        tables.append([dict(zip(cells[0], row)) for row in cells[2:]])
    return tables


def test_summary_verifies_the_weights_it_summarises(capsys, tmp_path, trained_cnn, svm_checkpoint):
    truncated, swapped = tmp_path / "truncated", tmp_path / "swapped"
    for folder in (truncated, swapped):
        shutil.copytree(trained_cnn, folder)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    shutil.copy2(svm_checkpoint / "model.safetensors", swapped / "model.safetensors")  # another model's tensors
    rc, alone, _ = run(capsys, "summary", trained_cnn)
    assert rc == 0
    rc, out, err = run(capsys, "summary", trained_cnn, truncated, swapped)
    assert rc == 1 and out == alone  # the tables hold only the verified checkpoint
    assert "weights verified (model.safetensors loads and matches its config.json; sha256): small_cnn " in out
    assert f"NOT VERIFIED, left out of the tables: checkpoint {truncated}: model.safetensors is unreadable" in err
    assert f"NOT VERIFIED, left out of the tables: checkpoint {swapped}: weights do not match config.json" in err
    damaged = tmp_path / "damaged"
    shutil.copytree(trained_cnn, damaged)
    config = json.loads((damaged / "config.json").read_text())
    del config["metrics"]["test"]["overall"]["accuracy"]  # a hand-edited file: the other checkpoints still show
    (damaged / "config.json").write_text(json.dumps(config))
    rc, out, err = run(capsys, "summary", trained_cnn, damaged)
    assert rc == 1 and out == alone and "recorded results or calibration are damaged (KeyError('accuracy'))" in err


def test_output_folders_are_made_or_refused_before_the_work(capsys, tmp_path, trained_cnn, mrl_dir):
    nested = tmp_path / "new" / "deeper" / "eval.json"
    rc, _, err = run(capsys, "evaluate", "--model", trained_cnn, "--data", mrl_dir, "--json", nested)
    assert rc == 0, err
    assert json.loads(nested.read_text())["data"]["n_read"] == N_IMAGES
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder should be")
    for argv in (["evaluate", "--model", trained_cnn, "--data", mrl_dir, "--json", blocker / "eval.json"],
                 ["explain", "--model", trained_cnn, mrl_dir / "s0001" / "x.png", "--out", blocker / "map.png"],
                 ["triage", "--model", trained_cnn, "--data", mrl_dir, "--csv", tmp_path]):
        with pytest.raises(SystemExit) as exc:  # refused while the command line is read: nothing was computed
            main([str(a) for a in argv])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and ("is not a writable folder" in err or "is a folder: give a file name" in err)


def test_worst_subject_is_named_with_its_n_and_the_minimum(capsys, tmp_path, trained_cnn, mrl_dir):
    result, out = evaluate(capsys, tmp_path, trained_cnn, mrl_dir)
    ws = result["models"][0]["worst_subject"]
    assert ws is None  # the synthetic people have 8 images each: none reaches the minimum
    assert "worst subject (of those with n>=20)" in out and "none has n>=20" in out
    from eyebench.evaluate.results import CheckpointEvaluation
    from eyebench.formatters.evaluation import format_table

    first = result["models"][0]
    row = CheckpointEvaluation(
        name=first["name"], checkpoint=first["checkpoint"], seconds=first["seconds"],
        metrics={k: first[k] for k in ("n", "accuracy", "balanced_accuracy", "recall_closed", "recall_open", "roc_auc")},
        per_source=first["per_source"], per_subject=first["per_subject"], band=first["band"], leak=first["leak"],
        worst_subject={"subject": "s0024", "accuracy": 0.83, "n": 752, "min_n": 20})
    assert "s0024 0.8300 (n=752)" in format_table([row])


def test_summary_table(capsys, trained_cnn, svm_checkpoint):
    rc, out, _ = run(capsys, "summary", trained_cnn, svm_checkpoint)
    assert rc == 0
    results = markdown_tables(out)[0]
    test = json.loads((trained_cnn / "config.json").read_text())["metrics"]["test"]
    # the CNN's test subjects, all data then per source; the SVM checkpoint stores no test metrics: no row
    assert [(r["model"], r["test data"]) for r in results] == [("small_cnn", "all"), ("small_cnn", "mrl")]
    assert int(results[0]["n"]) == test["overall"]["n"]
    assert results[0]["accuracy %"] == f"{100 * test['overall']['accuracy']:.2f}"
    worst = next(v for k, v in results[0].items() if k.startswith("worst test subject"))
    assert worst == "-" and test["worst_subject"] is None  # 8 images per synthetic person: none reaches 20


def test_summary_says_what_each_n_is_and_why_they_differ(capsys, tmp_path, trained_cnn):
    older = tmp_path / "older"  # as if tested on an earlier, smaller copy of the data
    shutil.copytree(trained_cnn, older)
    cfg = json.loads((older / "config.json").read_text())
    cfg["data"]["n_read"], cfg["metrics"]["test"]["overall"]["n"] = 40, 7
    (older / "config.json").write_text(json.dumps(cfg))
    rc, alone, _ = run(capsys, "summary", trained_cnn)
    assert rc == 0 and "n: the test images of each checkpoint's own test people" in alone
    assert "config.json data record" in alone and "The n differ" not in alone
    rows = markdown_tables(alone)[0]
    assert rows[0]["data read"] == str(N_IMAGES) and rows[1]["data read"] == str(N_IMAGES)  # all, then mrl
    rc, out, _ = run(capsys, "summary", trained_cnn, older)
    assert rc == 0 and [r["data read"] for r in markdown_tables(out)[0] if r["test data"] == "all"] == [
        str(N_IMAGES), "40"]
    test_n = json.loads((trained_cnn / "config.json").read_text())["metrics"]["test"]["overall"]["n"]
    assert ("The n differ because these checkpoints were trained and tested on different copies of the data: "
            f"n=7 of 40 images read (older (small_cnn)); n={test_n} of {N_IMAGES} images read (small_cnn).") in out


def test_summary_names_a_renamed_checkpoint_by_its_folder(capsys, tmp_path, trained_cnn):
    mine = tmp_path / "my_cnn"
    shutil.copytree(trained_cnn, mine)
    rc, out, _ = run(capsys, "summary", trained_cnn, mine)
    assert rc == 0
    for table in markdown_tables(out):  # two small_cnn checkpoints stay apart in both tables
        assert table[0]["model"] == "small_cnn" and table[-1]["model"] == "my_cnn (small_cnn)"


def test_calibrate_refits_the_band_per_person_and_keeps_the_weights(capsys, tmp_path, trained_cnn, mrl_dir):
    ckpt = tmp_path / "small_cnn"
    shutil.copytree(trained_cnn, ckpt)
    weights = (ckpt / "model.safetensors").read_bytes()
    before = json.loads((ckpt / "config.json").read_text())
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir), "--band-rule", "pooled",
                 "--target-risk", "0.05"]) == 0
    cal = json.loads((ckpt / "config.json").read_text())["calibration"]
    assert cal["band"]["rule"] == "pooled" and cal["band"]["target_risk"] == 0.05
    assert cal["temperature"] == pytest.approx(before["calibration"]["temperature"])  # refitted from raw logits
    assert "calibrate" in cal["command"] and "eyebench calibrate" in (ckpt / "README.md").read_text().replace("-m ", "")
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir)]) == 0  # keeps the rule and risk fitted
    kept = json.loads((ckpt / "config.json").read_text())["calibration"]["band"]
    assert kept["rule"] == "pooled" and kept["target_risk"] == 0.05
    assert main(["calibrate", "--model", str(ckpt), "--data", str(mrl_dir), "--band-rule", "per-person"]) == 0
    after = json.loads((ckpt / "config.json").read_text())
    assert after["calibration"]["band"]["target_risk"] == 0.05
    assert after["calibration"]["band"]["rule"] == "per person" and after["uncertain_band"] == after["calibration"]["band"]["band"]
    assert after["metrics"]["test"]["band"]["band"] == after["uncertain_band"]
    assert (ckpt / "model.safetensors").read_bytes() == weights
    assert after["split"] == before["split"] and after["train_command"] == before["train_command"]


def test_calibrate_refuses_other_data(capsys, tmp_path, trained_cnn, synthetic):
    ckpt = tmp_path / "small_cnn"
    shutil.copytree(trained_cnn, ckpt)
    part = tmp_path / "part"
    part.mkdir()
    for f in sorted(synthetic["mrl"].rglob("*.png"))[::2]:
        shutil.copy(f, part / f.name)
    assert main(["calibrate", "--model", str(ckpt), "--data", str(part)]) == 2
    assert "pass the same --data folders" in capsys.readouterr().err


def test_train_with_ema_records_it(capsys, tmp_path, mrl_dir):
    out = tmp_path / "ema"
    assert main(["train", "small_cnn", "--data", str(mrl_dir), "--out", str(out), "--epochs", "1", "--batch-size", "16",
                 "--model-arg", "widths=[4,4,8,8]", "--ema", "0.99"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["trained"]["ema_decay"] == 0.99
    assert "moving average of the weights (decay 0.99)" in (out / "README.md").read_text()


def test_train_records_bf16_glasses_and_label_smoothing(capsys, tmp_path, mrl_dir):
    out = tmp_path / "bf16"
    assert main(["train", "small_cnn", "--data", str(mrl_dir), "--out", str(out), "--epochs", "1", "--batch-size", "16",
                 "--model-arg", "widths=[4,4,8,8]", "--bf16", "--glasses", "0.3", "--label-smoothing", "0.1"]) == 0
    config, card = json.loads((out / "config.json").read_text()), (out / "README.md").read_text()
    assert config["trained"]["autocast"] == "bfloat16" and config["trained"]["glasses"] == 0.3
    assert config["trained"]["label_smoothing"] == 0.1 and "label smoothing 0.1" in card
    assert "forward pass in bfloat16 autocast (weights float32)" in card
    assert "synthetic glasses (frame edge, glare spots) on 30% of training images" in card
    plain = tmp_path / "plain"
    assert main(["train", "small_cnn", "--data", str(mrl_dir), "--out", str(plain), "--epochs", "1", "--batch-size",
                 "16", "--model-arg", "widths=[4,4,8,8]"]) == 0
    assert json.loads((plain / "config.json").read_text())["trained"]["autocast"] is None
    assert json.loads((plain / "config.json").read_text())["trained"]["label_smoothing"] is None
    assert main(["train", "small_cnn", "--data", str(mrl_dir), "--out", str(tmp_path / "bad"), "--glasses", "2"]) == 2
    assert "--glasses is a share of the training images, from 0 to 1" in capsys.readouterr().err
    assert main(["train", "small_cnn", "--data", str(mrl_dir), "--out", str(tmp_path / "bad"),
                 "--label-smoothing", "0.5"]) == 2
    assert "--label-smoothing must be at least 0 and below 0.5" in capsys.readouterr().err


@pytest.mark.parametrize("option, value, key, card_text, bad_values, error", [
    ("--hard-people", "1", "hard_people", "hard training people drawn more often (--hard-people 1.0)", ["-1"],
     "--hard-people is a step size of at least 0"),
    ("--drop-hardest", "0.25", "drop_hardest", "the highest-loss 25% of every batch left out of the loss "
     "(--drop-hardest 0.25)", ["0.5", "-0.1"], "--drop-hardest is a share of each batch, at least 0 and below 0.5"),
], ids=["hard-people", "drop-hardest"])
def test_train_records_robust_training_options(capsys, tmp_path, mrl_dir, option, value, key, card_text, bad_values,
                                               error):
    out = tmp_path / "run"
    assert main(["train", "small_cnn", "--data", str(mrl_dir), "--out", str(out), "--epochs", "1", "--batch-size", "16",
                 "--model-arg", "widths=[4,4,8,8]", option, value]) == 0
    config, card = json.loads((out / "config.json").read_text()), (out / "README.md").read_text()
    assert config["trained"][key] == float(value) and card_text in card
    assert (key in json.loads((out / "history.json").read_text())[0]) == (key == "hard_people")  # its top-3 per epoch
    for bad in bad_values:
        assert main(["train", "small_cnn", "--data", str(mrl_dir), "--out", str(tmp_path / "bad"), option, bad]) == 2
        assert error in capsys.readouterr().err

