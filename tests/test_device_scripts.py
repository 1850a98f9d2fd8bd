"""The GPU-machine helpers: the 64-px pack is pixel-identical at its size, and the pick uses validation scores only."""
import json
import subprocess
import sys

import numpy as np
from conftest import REPO_ROOT

from eyebench.data.dataset import load_dataset, load_images
from eyebench.models.card import model_card
from eyebench.train import training_machine

sys.path.insert(0, str(REPO_ROOT / "scripts" / "gpu"))
import pick_best  # noqa: E402


def test_pack_keeps_names_and_pixels(mrl_dir, tmp_path):
    dst = tmp_path / mrl_dir.name
    run = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "gpu" / "pack_images.py"), str(mrl_dir), str(dst),
                          "--size", "24"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "pixel-identical at 24px: True" in run.stdout
    original, packed = load_dataset([mrl_dir]), load_dataset([dst])
    assert sorted(s.subject for s in original.samples) == sorted(s.subject for s in packed.samples)
    a = load_images(original, 24, 1)[0]
    b = load_images(packed, 24, 1)[0]
    order_a = np.argsort([s.path.rsplit("/", 1)[-1] for s in original.samples])
    order_b = np.argsort([s.path.rsplit("/", 1)[-1] for s in packed.samples])
    np.testing.assert_array_equal(a[order_a], b[order_b])


def test_pack_refuses_a_renamed_folder(mrl_dir, tmp_path):
    run = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "gpu" / "pack_images.py"), str(mrl_dir),
                          str(tmp_path / "other_name")], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "keep the folder name" in run.stderr


def _fake_run(jobs, job, arch, val_bal, test_acc, finished=True):
    folder = jobs / job / "checkpoints" / arch
    folder.mkdir(parents=True)
    cfg = {"architecture": arch}
    if finished:
        cfg.update(train_command=f"python -m eyebench train {arch} ...", trained={"epochs_run": 3, "seconds": 1.0},
                   metrics={"val": {"per_source": {"mrl": {"balanced_accuracy": val_bal}}},
                            "test": {"overall": {"accuracy": test_acc}}})
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "model.safetensors").write_bytes(b"0" * 10)
    (jobs / job / "train.log").write_text("epoch 1\nexit 0\n")


def test_pick_uses_validation_not_test(tmp_path):
    jobs, out = tmp_path / "jobs", tmp_path / "out"
    out.mkdir()
    _fake_run(jobs, "a", "resnet18", val_bal=0.97, test_acc=0.99)  # better on test, worse on validation
    _fake_run(jobs, "b", "resnet18", val_bal=0.98, test_acc=0.90)
    _fake_run(jobs, "c", "vit_scratch", 0.0, 0.0, finished=False)
    pick_best.main(str(jobs), str(out))
    summary = {r["job"]: r for r in json.loads((out / "summary.json").read_text())}
    assert summary["b"]["picked"] and not summary["a"]["picked"]
    assert not summary["c"]["finished"] and not summary["c"]["picked"]
    names = sorted(p.name for p in out.iterdir())  # .tar.xz.00, or .tar.00 where xz is missing
    assert len(names) == 3 and names[0] == "logs.txt" and names[1].startswith("resnet18.tar") and names[2] == "summary.json"


def test_card_names_the_training_machine():
    assert "CPU cores" in training_machine() or "GPU" in training_machine()
    config = {"architecture": "small_cnn", "class_names": ["open", "closed"], "family": "torch",
              "data_config": {"input_size": 64, "channels": 1},
              "trained": {"seed": 0, "epochs_run": 2, "seconds": 5.0, "machine": "one test GPU",
                          "provenance": "Trained somewhere documented."}}
    card = model_card(config)
    assert "5.0 s on one test GPU." in card and "Trained somewhere documented." in card
