"""The label-cleaning loop on the command line: audit ranks flipped labels first, --accept-top corrects them (marked
unreviewed), evaluate --compare-labels measures the change, and train reads the corrected manifest."""
import csv
import json

import numpy as np
from conftest import draw_eye, write_png

from eyebench.cli import main


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def flipped_set(root, n_people=12, per_person=6, seed=3):
    """Drawn eyes of 12 people in class folders; the first open eye of ten people is filed under closed/."""
    rng = np.random.default_rng(seed)
    truth, flipped = {}, set()
    for person in range(n_people):
        for k in range(per_person):
            is_open = k % 2 == 0
            wrong = is_open and k == 0 and person < 10
            folder = "closed" if (not is_open or wrong) else "open"
            path = write_png(root / folder / f"Person{person:02d}_{k:04d}.png", draw_eye(is_open, rng, 56))
            truth[path.resolve()] = "open" if is_open else "closed"
            if wrong:
                flipped.add(path.resolve())
    return truth, flipped


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_audit_accept_compare_and_retrain(capsys, tmp_path, svm_checkpoint):
    truth, flipped = flipped_set(tmp_path / "mine")
    rc, out, _ = run(capsys, "audit", "--model", svm_checkpoint, "--data", tmp_path / "mine", "--csv",
                     tmp_path / "audit.csv")
    assert rc == 0 and "rule: doubt = the mean" in out
    rows = read_rows(tmp_path / "audit.csv")
    assert len(rows) == len(truth) and list(rows[0])[:8] == ["path", "label", "subject", "suggested", "doubt",
                                                              "n_models", "n_disagree", "n_uncertain"]
    top = {(tmp_path / r["path"]).resolve() for r in rows[:10]}
    assert top == flipped  # the ten flipped labels are the ten most doubted images

    rc, out, _ = run(capsys, "audit", "--model", svm_checkpoint, "--data", tmp_path / "audit.csv", "--csv",
                     tmp_path / "corrected.csv", "--accept-top", "10")
    assert rc == 0 and "UNREVIEWED" in out
    corrected = read_rows(tmp_path / "corrected.csv")
    assert all(r["label"] == truth[(tmp_path / r["path"]).resolve()] for r in corrected)
    assert sum(r["decision"] == "accepted-unreviewed" for r in corrected) == 10

    rc, out, _ = run(capsys, "evaluate", "--model", svm_checkpoint, "--data", tmp_path / "corrected.csv",
                     "--compare-labels", "--json", tmp_path / "eval.json")
    assert rc == 0 and f"10 of {len(truth)} labels changed (0 open -> closed, 10 closed -> open)" in out
    cmp = json.loads((tmp_path / "eval.json").read_text())["models"][0]["label_comparison"]
    assert cmp["corrected"]["accuracy"] > cmp["original"]["accuracy"]

    rc, _, err = run(capsys, "train", "lbp_hog_svm", "--data", tmp_path / "corrected.csv", "--out",
                     tmp_path / "retrained")
    assert rc == 0, err
    config = json.loads((tmp_path / "retrained" / "config.json").read_text())
    assert config["data"]["per_class"] == {"open": len(truth) // 2, "closed": len(truth) // 2}  # the corrected labels


def test_compare_labels_needs_a_corrected_manifest(capsys, tmp_path, svm_checkpoint):
    flipped_set(tmp_path / "mine")
    rc, _, err = run(capsys, "evaluate", "--model", svm_checkpoint, "--data", tmp_path / "mine", "--compare-labels")
    assert rc == 2 and "original_label column" in err
