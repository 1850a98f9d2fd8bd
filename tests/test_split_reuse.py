"""`train --split-from`: retraining on more images of the same people keeps every person where the saved split put
them (new people go to train), is recorded in config and card, and refuses splits that cannot be reused; a student
records its teachers' split the same way."""
import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import draw_eye, mrl_name, write_png

from eyebench.cli import main
from eyebench.data.splits import SavedSplit
from eyebench.train.pipeline import check_teachers_split


def train_svm(data, out, *extra):
    return main(["train", "lbp_hog_svm", "--data", str(data), "--out", str(out), *map(str, extra)])


def parts(folder):
    split = json.loads((folder / "split.json").read_text())
    return {k: split[k] for k in ("train", "val", "test")}


@pytest.fixture(scope="module")
def grown(tmp_path_factory, mrl_dir, session_cache):
    """A checkpoint trained on the synthetic MRL folder, and a copy of that folder with more images of its test person
    and a person it has never seen (s0099)."""
    root = tmp_path_factory.mktemp("grown")
    assert train_svm(mrl_dir, root / "before") == 0
    data = root / "more"
    shutil.copytree(mrl_dir, data)
    test_person = parts(root / "before")["test"][0]
    rng = np.random.default_rng(7)
    for k in range(8):
        for subject in (int(test_person[1:]), 99):
            name = mrl_name(subject, 9000 + 10 * k + subject % 10, k % 2, glasses=1, reflections=2)
            write_png(data / f"s{subject:04d}" / name, draw_eye(k % 2 == 1, rng))
    return root, data, test_person


def test_retraining_with_split_from_keeps_the_people_and_puts_new_people_in_train(grown):
    root, data, test_person = grown
    assert train_svm(data, root / "after", "--split-from", root / "before") == 0
    before, after = parts(root / "before"), parts(root / "after")
    assert after["val"] == before["val"] and after["test"] == before["test"]
    assert after["train"] == before["train"] + ["s0099"]  # the saved order kept: teachers and committees compare splits
    config = json.loads((root / "after" / "config.json").read_text())
    assert config["split"]["from"] == str(root / "before")
    assert config["split"]["n_images"]["test"] > json.loads((root / "before" / "config.json").read_text())[
        "split"]["n_images"]["test"]  # the grown test person's new images are tested, never trained on
    assert f"The people of the split of `{root / 'before'}`" in (root / "after" / "README.md").read_text()
    assert "--split-from" in config["train_command"]


def test_split_from_refuses_a_folder_without_a_split_and_data_of_other_people(grown, tmp_path, capsys):
    root, data, _ = grown
    assert train_svm(data, tmp_path / "x", "--split-from", tmp_path) == 2
    assert "no split.json" in capsys.readouterr().err
    other = tmp_path / "other"
    write_png(other / "s0077" / mrl_name(77, 1, 1), draw_eye(True, np.random.default_rng(0)))
    (tmp_path / "strangers").mkdir()
    (tmp_path / "strangers" / "split.json").write_text(json.dumps({"train": ["a"], "val": ["b"], "test": ["c"]}))
    assert train_svm(other, tmp_path / "y", "--split-from", tmp_path / "strangers") == 2
    assert "none of its people are in this data" in capsys.readouterr().err


def test_a_split_whose_validation_or_test_people_a_teacher_learned_from_is_refused():
    teacher = SimpleNamespace(split=SavedSplit.from_record({"train": ["a", "b"], "val": ["c"], "test": ["d"]}))
    check_teachers_split([teacher], {"train": ["a", "b", "e"], "val": ["c"], "test": ["d"]})  # new people: fine
    with pytest.raises(ValueError, match="validation or test people"):
        check_teachers_split([teacher], {"train": ["a"], "val": ["c"], "test": ["b", "d"]})


def test_a_student_reuses_its_teachers_split_and_says_so(trained_cnn, mrl_dir, tmp_path):
    out = tmp_path / "student"
    assert main(["train", "student", "--data", str(mrl_dir), "--out", str(out), "--epochs", "1", "--batch-size", "32",
                 "--teacher", str(trained_cnn)]) == 0
    assert parts(out) == parts(trained_cnn)
    assert json.loads((out / "config.json").read_text())["split"]["from"] == str(trained_cnn)
    assert f"The people of the split of `{trained_cnn}`" in (out / "README.md").read_text()
