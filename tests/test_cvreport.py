"""`eyebench cv-report pooled|ensemble|audit` on tiny cv JSON files and on fold checkpoints saved without training."""
import csv
import json
import shutil

import numpy as np
import pytest
import torch
from conftest import IMAGES_PER_SUBJECT, N_SUBJECTS
from PIL import Image

from eyebench import create_classifier, load_classifier
from eyebench.cli import main
from eyebench.data.dataset import load_dataset, load_images
from eyebench.evaluate import cvreport

N_IMAGES = N_SUBJECTS * IMAGES_PER_SUBJECT
PEOPLE = [f"s{i:04d}" for i in range(1, N_SUBJECTS + 1)]
FOLDS = [PEOPLE[:3], PEOPLE[3:]]  # the held-out people of fold 1 and fold 2


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


def cv_json(path, folds, **extra):
    path.write_text(json.dumps({"folds": [{"fold": i, "n": n, "accuracy": a} for i, (n, a) in enumerate(folds, 1)],
                                **extra}))
    return path


def test_pooled_weights_folds_by_their_images(capsys, tmp_path):
    one = cv_json(tmp_path / "one.json", [(100, 0.9), (300, 0.98)], seed=0)
    repeated = tmp_path / "rep.json"
    repeated.write_text(json.dumps({"runs": [{"seed": 3, "folds": [{"n": 10, "accuracy": 0.5}, {"n": 30, "accuracy": 1.0}]},
                                             {"seed": 4, "folds": [{"n": 20, "accuracy": 0.75}]}]}))
    out = run(capsys, "cv-report", "pooled", one, repeated, "--json", tmp_path / "rows.json")
    assert f"{one} (seed 0): pooled out-of-fold accuracy 96.00% over 400 images (2 folds; mean of the folds 94.00%)" in out
    assert f"{repeated} (seed 3): pooled out-of-fold accuracy 87.50% over 40 images" in out
    assert f"{repeated} (seed 4): pooled out-of-fold accuracy 75.00% over 20 images (1 folds" in out
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [r["pooled_accuracy"] for r in rows] == pytest.approx([0.96, 0.875, 0.75])


def test_pooled_reports_people_balanced_and_glasses_with_reflections(capsys, tmp_path):
    def cell(n_open, right_open):
        return {"n": n_open + 10, "right": right_open + 10, "n_open": n_open, "right_open": right_open,
                "n_closed": 10, "right_closed": 10}

    views = {"as_trained": "no flip", "no flip": {
        "people_balanced_accuracy": 0.9, "people_balanced_by_source": {"mrl": 0.8, "cew": 0.95},
        "glasses_reflections": {"glasses=yes reflections=big": cell(30, 27), "glasses=yes reflections=small": cell(10, 5),
                                "glasses=yes reflections=none": cell(100, 0), "glasses=no reflections=big": cell(100, 0)}}}
    path = cv_json(tmp_path / "p.json", [(100, 0.9)], seed=0, views=views)
    out = run(capsys, "cv-report", "pooled", path)
    # open eyes behind glasses with small or big reflections only: (27 + 5) / (30 + 10)
    assert "people-balanced 90.00% (cew 95.00%, mrl 80.00%); open eyes behind glasses with reflections 80.00% (n=40)" in out
    assert cvreport.pooled_rows([path])[0]["accuracy_open_glasses_reflections"] == pytest.approx(0.8)


def test_pooled_refuses_other_json(capsys, tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"models": []}))
    assert main(["cv-report", "pooled", str(tmp_path / "x.json")]) == 2
    assert "not a `cv --json` file" in capsys.readouterr().err
    for name, content in {"list.json": "[1, 2]", "table.csv": "a,b\n1,2\n"}.items():
        (tmp_path / name).write_text(content)
        assert main(["cv-report", "pooled", str(tmp_path / name)]) == 2
        assert f"{tmp_path / name}: not a `cv --json` file" in capsys.readouterr().err
    assert main(["cv-report", "pooled", str(tmp_path / "gone.json")]) == 2
    assert capsys.readouterr().err.endswith(f"{tmp_path / 'gone.json'}: no such file or folder\n")


def fold_run(root, seed: int, folds=FOLDS):
    """A `cv --out` folder of untrained tiny small_cnn fold checkpoints (seeded weights), each with its split."""
    torch.manual_seed(seed)
    for k, test in enumerate(folds, 1):
        clf = create_classifier("small_cnn", widths=[4, 4, 8, 8])
        rest = [p for p in PEOPLE if p not in test]
        clf.info = {"split": {"train": rest[1:], "val": rest[:1], "test": test}}
        clf.save_pretrained(root / f"fold_{k}")
    return root


def held_out_logits(folder, mrl_dir):
    """Each fold checkpoint's closed logits on its own held-out images, computed here without cv-report."""
    arrays, dataset = load_images(load_dataset([mrl_dir]), 64, 1)
    out = []
    for k in (1, 2):
        clf = load_classifier(folder / f"fold_{k}")
        mask = np.isin(dataset.subjects, clf.info["split"]["test"])
        out.append((dataset.labels[mask], clf.scores_prepared(arrays[mask])))
    return out


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cvruns")
    return fold_run(root / "a", 0), fold_run(root / "b", 1)


def test_ensemble_scores_each_run_and_the_averaged_logits(capsys, tmp_path, mrl_dir, two_runs):
    a, b = two_runs
    out = run(capsys, "cv-report", "ensemble", "--data", mrl_dir, "--run", f"A={a}", "--run", f"A={b}",
              "--json", tmp_path / "rows.json")
    la, lb = held_out_logits(a, mrl_dir), held_out_logits(b, mrl_dir)
    right = [sum(int(((z > 0) == y).sum()) for y, z in logits) for logits in (la, lb)]
    averaged = sum(int((((za + zb) / 2 > 0) == y).sum()) for (y, za), (_, zb) in zip(la, lb))
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [(r["name"], r["right"], r["n"]) for r in rows] == [(str(a), right[0], N_IMAGES), (str(b), right[1], N_IMAGES),
                                                               ("A averaged", averaged, N_IMAGES)]
    assert f"out-of-fold accuracy on {N_IMAGES} images" in out
    assert f"  {str(a):40s} {100 * right[0] / N_IMAGES:.2f}%" in out


def test_ensemble_refuses_runs_with_other_folds(capsys, tmp_path, mrl_dir, two_runs):
    other = fold_run(tmp_path / "other", 0, folds=[PEOPLE[1:4], PEOPLE[:1] + PEOPLE[4:]])
    assert main(["cv-report", "ensemble", "--data", str(mrl_dir), "--run", str(two_runs[0]), "--run", str(other)]) == 2
    assert "fold 1: the runs hold out different images" in capsys.readouterr().err


def test_a_run_given_twice_is_refused(capsys, mrl_dir, two_runs):
    for report in ("ensemble", "audit"):
        assert main(["cv-report", report, "--data", str(mrl_dir), "--run", str(two_runs[0]), "--run",
                     f"{two_runs[0]}/"]) == 2
        assert "is given more than once: give each run once" in capsys.readouterr().err


def test_a_run_is_refused_on_data_holding_only_some_of_its_held_out_images(capsys, tmp_path, mrl_dir):
    """Scores on part of the held-out people would read as the run's out-of-fold accuracy: refused instead."""
    folder = fold_run(tmp_path / "run", 0)
    for k in (1, 2):  # as `cv` saves them: the number of images of each part
        cfg_file = folder / f"fold_{k}" / "config.json"
        cfg = json.loads(cfg_file.read_text())
        cfg["split"]["n_images"] = {"test": 3 * IMAGES_PER_SUBJECT}
        cfg_file.write_text(json.dumps(cfg))
    some = tmp_path / "some"
    for person in PEOPLE[1:]:
        shutil.copytree(mrl_dir / person, some / person)
    for report in ("ensemble", "audit"):
        assert main(["cv-report", report, "--data", str(some), "--run", str(folder)]) == 2
        assert (f"{folder / 'fold_1'}: the data given holds {2 * IMAGES_PER_SUBJECT} test images, training had "
                f"{3 * IMAGES_PER_SUBJECT}: pass the same --data" in capsys.readouterr().err)


def test_audit_lists_every_runs_errors(capsys, tmp_path, mrl_dir, two_runs):
    csv_file, sheet = tmp_path / "audit.csv", tmp_path / "audit.png"
    out = run(capsys, "cv-report", "audit", "--data", mrl_dir, "--run", two_runs[0], "--run", two_runs[1],
              "--csv", csv_file, "--sheet", sheet)
    rows = list(csv.DictReader(csv_file.open()))
    errors = sum(int(((z > 0) != (y == 1)).sum()) for folder in two_runs for y, z in held_out_logits(folder, mrl_dir))
    assert rows and sum(int(r["runs_wrong"]) for r in rows) == errors  # each run's errors, image by image
    assert all(r["runs"] == "2" and r["label"] in ("open", "closed") and "glasses" in r for r in rows)
    assert [int(r["runs_wrong"]) for r in rows] == sorted((int(r["runs_wrong"]) for r in rows), reverse=True)
    both = sum(r["runs_wrong"] == "2" for r in rows)
    assert f"wrong for every run: {both} images" in out and f"({len(rows)} rows)" in out and "fold 2:" in out
    width, height = Image.open(sheet).size
    assert width == 12 * cvreport.SHEET_TILE
    assert height == max(1, -(-both // 12)) * (cvreport.SHEET_TILE + cvreport.SHEET_CAPTION)
