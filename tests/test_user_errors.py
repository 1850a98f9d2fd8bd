"""Damaged user files (manifests, split.json, labels.csv, held-out bundles) give a one-line message naming the file,
never a traceback: exit 2 from the CLI, a notice from the app."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
from conftest import write_manifest, write_mrl_dataset

from eyebench import workbench
from eyebench.cli import main
from eyebench.data.dataset import load_dataset
from eyebench.evaluate.heldout import PREDICTIONS, SUMMARY, build_bundle, write_bundle
from eyebench.models.checkpoint import load_classifier


def refused(capsys, command: str, *args) -> str:
    """The one-line error of a command that must refuse its input (exit 2, no traceback)."""
    assert main([command, *map(str, args)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"eyebench {command}: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def small_mrl(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    return root, write_mrl_dataset(root / "mrl", n_subjects=3, per_subject=4)


@pytest.mark.parametrize("content,why", [
    (b"path,label\n\xff\xfe.png,open\n", "not a UTF-8 CSV manifest"),
    (b'path,label\n"' + b"a" * 200_000 + b'.png",open\n', "field larger than field limit"),
    (b"file,state\na.png,open\n", "needs the columns 'path' and 'label'"),
])
def test_a_damaged_manifest_is_named(capsys, tmp_path, small_mrl, svm_checkpoint, content, why):
    manifest = write_manifest(tmp_path / "manifest.csv", small_mrl[1])
    manifest.write_bytes(content)
    err = refused(capsys, "evaluate", "--model", svm_checkpoint, "--data", manifest)
    assert str(manifest) in err and why in err


@pytest.mark.parametrize("content", [b"\xff not json", b"[1, 2", b'"a list?"', b'[{"label": "open"}]',
                                     b'{"file": "a.png"}'])
def test_a_damaged_samples_json_is_named(capsys, tmp_path, svm_checkpoint, content):
    (tmp_path / "samples.json").write_bytes(content)
    err = refused(capsys, "evaluate", "--model", svm_checkpoint, "--data", tmp_path)
    assert f"{tmp_path / 'samples.json'}: not a samples list" in err


@pytest.mark.parametrize("content", [b"\xff\xfe", b'{"train": ["s0001"', b'["s0001"]', b'{"test": "s0001"}',
                                     b'{"test": [1, 2]}'])
@pytest.mark.parametrize("command", ["train", "cv"])
def test_a_damaged_split_json_is_named(capsys, tmp_path, small_mrl, content, command):
    root, _ = small_mrl
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "split.json").write_bytes(content)
    option = "--split-from" if command == "train" else "--holdout-of"
    err = refused(capsys, command, "lbp_hog_svm", "--data", root / "mrl", "--out", tmp_path / "out", option, checkpoint)
    assert f"{checkpoint / 'split.json'}: not a split file" in err


def _labels(folder, header: str, *lines: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.csv").write_text("\n".join([header, *lines]) + "\n")
    return folder


@pytest.mark.parametrize("option,header,line,why", [
    ("--faces", "file,faces,open_eyes", "a.png,1,2", "labels.csv:2: no closed_eyes"),
    ("--faces", "file,faces,open_eyes,closed_eyes", "a.png,two,2,0", "labels.csv:2: faces is 'two', not a whole number"),
    ("--faces", "file,faces,open_eyes,closed_eyes", "a.png,1,2", "labels.csv:2: no closed_eyes"),
    ("--face-videos", "file,blinks,long_closures", "a.avi,3,x", "labels.csv:2: long_closures is 'x', not a whole number"),
    ("--face-videos", "file,blinks", "a.avi,3", "labels.csv:2: no long_closures"),
])
def test_damaged_face_labels_name_the_file_and_line(capsys, tmp_path, svm_checkpoint, option, header, line, why):
    folder = _labels(tmp_path / "faces", header, line)
    err = refused(capsys, "bench", "--model", svm_checkpoint, option, folder)
    assert f"{folder}/{why}" in err


def test_face_labels_that_are_not_utf8_are_named(capsys, tmp_path, svm_checkpoint):
    folder = tmp_path / "faces"
    folder.mkdir()
    (folder / "labels.csv").write_bytes(b"file,faces,open_eyes,closed_eyes\n\xff.png,1,2,0\n")
    err = refused(capsys, "bench", "--model", svm_checkpoint, "--faces", folder)
    assert f"{folder / 'labels.csv'}: not a UTF-8 CSV file" in err


@pytest.fixture(scope="module")
def bundle_dir(svm_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("bundle")
    write_mrl_dataset(root / "mrl", n_subjects=6, per_subject=4)
    models = {"svm": load_classifier(svm_checkpoint)}
    rows, summary = build_bundle(models, load_dataset([root / "mrl"]), sweep_max=4, progress=False)
    return write_bundle(root / "bundle", rows, summary)


def _damage_summary(d: dict) -> None:
    del d["split"]


def _damage_sweeps(d: dict) -> None:
    d["sweeps"] = []


def _damage_models(d: dict) -> None:
    d["models"]["svm"] = "hash"


@pytest.mark.parametrize("damage", [_damage_summary, _damage_sweeps, _damage_models])
def test_a_damaged_bundle_json_is_a_notice(tmp_path, bundle_dir, damage):
    folder = shutil.copytree(bundle_dir, tmp_path / "bundle")
    summary = json.loads((folder / SUMMARY).read_text())
    damage(summary)
    (folder / SUMMARY).write_text(json.dumps(summary))
    bundle, message = workbench.read_heldout(folder)
    assert bundle is None and message.startswith(f"{folder / SUMMARY} is damaged: ")


@pytest.mark.parametrize("column,value", [("label", "half"), ("p_closed:svm", "high"), ("subject", None),
                                          ("file", "drop")])
def test_bad_rows_of_a_bundle_are_a_notice(tmp_path, bundle_dir, column, value):
    folder = shutil.copytree(bundle_dir, tmp_path / "bundle")
    with open(folder / PREDICTIONS, newline="") as fh:
        rows = list(csv.reader(fh))
    i = rows[0].index(column)
    if value is None:  # a short row
        rows[1] = rows[1][:i]
    elif value == "drop":  # a column missing
        rows = [r[:i] + r[i + 1:] for r in rows]
    else:
        rows[1][i] = value
    with open(folder / PREDICTIONS, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    bundle, message = workbench.read_heldout(folder)
    assert bundle is None and message.startswith(f"{folder / PREDICTIONS} is damaged: "), message


def test_the_intact_bundle_still_reads(bundle_dir):
    bundle, message = workbench.read_heldout(bundle_dir)
    assert message is None and bundle.models == ["svm"]


def test_a_system_error_on_a_users_file_is_a_message_and_any_other_a_traceback(capsys, monkeypatch, small_mrl):
    """An OSError naming a file (a folder without permission, a full disk) is the user's to fix: exit 2 and one line;
    one naming no file is a bug and keeps its traceback, as does any other exception."""
    import eyebench.commands.summary as summary

    def denied(args):
        raise PermissionError(13, "Permission denied", "runs/locked/config.json")

    monkeypatch.setattr(summary, "run", denied)
    assert refused(capsys, "summary", small_mrl[0]) == "eyebench summary: error: runs/locked/config.json: Permission denied"
    for bug in (OSError("no file named"), KeyError("accuracy"), ValueError("a library's own error")):
        monkeypatch.setattr(summary, "run", lambda args, bug=bug: (_ for _ in ()).throw(bug))
        with pytest.raises(type(bug)):
            main(["summary", str(small_mrl[0])])


def test_evaluate_refuses_data_whose_images_all_fail_to_decode(capsys, tmp_path, trained_cnn):
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    (tmp_path / "eyes.csv").write_text("path,label,subject\nbroken.png,open,p1\n")
    assert main(["evaluate", "--model", str(trained_cnn), "--data", str(tmp_path / "eyes.csv")]) == 2
    err = capsys.readouterr().err  # after the progress lines of the model and the decoding
    assert "Traceback" not in err and err.splitlines()[-1].endswith(
        "eyebench evaluate: error: no usable image: 1 file(s) skipped: unreadable: not a readable image (unknown or "
        "corrupt format) (1)")
