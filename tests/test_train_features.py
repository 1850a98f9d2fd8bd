"""Training recipes beyond the plain loop: DINOv2 staged unfreezing and layer-wise LRs, --init-weights,
distillation, and DDP under torchrun (resume: test_train.py)."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import timm
import torch
from conftest import REPO_ROOT, dataset_of, prepared_arrays

from eyebench import create_classifier, load_classifier
from eyebench.config import DataConfig
from eyebench.models.timm_models import IMAGENET_MEAN, IMAGENET_STD, VitClassifier
from eyebench.train.config import TrainConfig
from eyebench.train.loop import train_torch
from eyebench.train.losses import distill_loss, teacher_logits
from eyebench.train.pipeline import initialise

QUIET = dict(log=lambda *_: None)
HEAD = {"norm.weight", "norm.bias", "head.weight", "head.bias"}
EMBEDDINGS = {"cls_token", "reg_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"}


def dinov2(depth=None):
    """The DINOv2 recipe at test size: `tiny` (2 blocks), or the same class with `depth` blocks."""
    torch.manual_seed(0)
    if depth is None:
        return create_classifier("dinov2_vits14", tiny=True)
    net = timm.create_model("vit_small_patch14_reg4_dinov2", pretrained=False, num_classes=1, img_size=70,
                            embed_dim=48, depth=depth, num_heads=2)
    return VitClassifier(net, DataConfig(70, 3, IMAGENET_MEAN, IMAGENET_STD), 1, "blocks.-1.norm1", "",
                         layer_decay=0.75, stages=True)


def trainable(clf) -> set[str]:
    return {n for n, p in clf.net.named_parameters() if p.requires_grad}


def blocks(indices) -> set[str]:
    names = ("norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
             "ls1.gamma", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
             "mlp.fc2.bias", "ls2.gamma")
    return {f"blocks.{i}.{n}" for i in indices for n in names}


# -- DINOv2: staged unfreezing and layer-wise learning rates ---------------------------------------------
@pytest.mark.parametrize("depth", [None, 6])
def test_stages_unfreeze_head_then_last_blocks_then_all(depth):
    clf = dinov2(depth)
    d = len(clf.net.blocks)
    everything = {n for n, _ in clf.net.named_parameters()}
    assert everything == HEAD | EMBEDDINGS | blocks(range(d))
    last = blocks(range(max(0, d - 4), d))
    expected = {1: ("head", HEAD), 2: ("head", HEAD),  # first 20% of the epochs
                3: ("last 4 blocks + head", HEAD | last), 5: ("last 4 blocks + head", HEAD | last),  # up to 50%
                6: ("all", everything), 10: ("all", everything)}
    for epoch, (stage, names) in expected.items():
        assert clf.set_stage(epoch, 10) == stage, epoch
        assert trainable(clf) == names, epoch
    if depth == 6:
        clf.set_stage(3, 10)
        assert not trainable(clf) & blocks([0, 1])  # the first blocks stay frozen in stage two


def test_models_without_stages_train_everything(untrained_cnn):
    vit = create_classifier("vit_scratch", depth=2)
    for clf in (untrained_cnn, vit):
        assert clf.set_stage(1, 10) == "all"
        assert all(p.requires_grad for p in clf.net.parameters())


def test_layer_wise_learning_rates():
    clf = dinov2(depth=6)
    groups = clf.param_groups(1e-3, 0.05)
    names = {id(p): n for n, p in clf.net.named_parameters()}
    lr_of = {names[id(p)]: g["lr"] for g in groups for p in g["params"]}
    assert sorted(lr_of) == sorted(names.values())  # every parameter in exactly one group
    assert sum(len(g["params"]) for g in groups) == len(names)
    assert all(g["weight_decay"] == 0.05 for g in groups)
    d, decay = 6, 0.75
    assert lr_of["head.weight"] == lr_of["norm.weight"] == pytest.approx(1e-3)
    for i in range(d):  # block i gets lr * decay^(depth - i)
        assert lr_of[f"blocks.{i}.attn.qkv.weight"] == pytest.approx(1e-3 * decay ** (d - i))
    assert lr_of["patch_embed.proj.weight"] == lr_of["cls_token"] == pytest.approx(1e-3 * decay ** (d + 1))
    assert lr_of["head.weight"] > lr_of["blocks.5.mlp.fc1.weight"] > lr_of["blocks.0.mlp.fc1.weight"]
    # without layer decay: one group
    assert len(create_classifier("vit_scratch", depth=2).param_groups(1e-3, 0.0)) == 1


def test_staged_training_leaves_frozen_parameters_alone(records):
    train = [r for r in records if r["subject"] <= "s0004"][:24]
    val = [r for r in records if r["subject"] >= "s0005"][:8]
    (x_tr, _), (x_va, _) = prepared_arrays(train, 70, 3), prepared_arrays(val, 70, 3)
    clf = dinov2()
    start = {k: v.clone() for k, v in clf.net.state_dict().items()}
    snapshots = {}

    def log(msg):  # called once per epoch, after that epoch's updates
        if msg.startswith("epoch "):
            snapshots[int(msg.split()[1])] = {k: v.clone() for k, v in clf.net.state_dict().items()}

    history = train_torch(clf, x_tr, dataset_of(train), x_va, dataset_of(val),
                          TrainConfig(epochs=3, batch_size=8, lr=1e-2, patience=99), log=log)
    assert [h["stage"] for h in history] == ["head", "last 4 blocks + head", "all"]
    changed = lambda a, b: {k for k in a if not torch.equal(a[k], b[k])}  # noqa: E731
    assert changed(start, snapshots[1]) == HEAD  # head-only epoch: nothing else moved (no weight decay either)
    assert changed(snapshots[1], snapshots[2]) >= blocks([0, 1])
    assert not changed(snapshots[1], snapshots[2]) & EMBEDDINGS  # embeddings wait for the last stage
    assert changed(snapshots[2], snapshots[3]) >= EMBEDDINGS


# -- --init-weights: a safetensors state dict, RGB stems summed for grayscale ----------------------------
@pytest.fixture
def rgb_resnet_file(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(1)
    rgb = create_classifier("resnet18", channels=3)
    state = {k: v.contiguous() for k, v in rgb.net.state_dict().items()}
    path = tmp_path / "rgb_resnet18.safetensors"
    save_file(state, str(path))
    return path, state


def test_init_weights_copies_and_sums_the_rgb_stem(rgb_resnet_file):
    path, state = rgb_resnet_file
    torch.manual_seed(2)
    gray = create_classifier("resnet18")  # 1 input channel
    assert gray.net.conv1.weight.shape[1] == 1
    desc = initialise(gray, pretrained=False, init_weights=str(path), **QUIET)
    assert desc == f"init-weights {path.name} ({len(state)} tensors)"
    own = gray.net.state_dict()
    torch.testing.assert_close(own["conv1.weight"], state["conv1.weight"].sum(dim=1, keepdim=True))
    for k, v in state.items():
        if k != "conv1.weight":
            assert torch.equal(own[k], v), k


def test_init_from_an_imagenet_shaped_state_skips_the_head():
    torch.manual_seed(3)
    hub_like = timm.create_model("resnet18", pretrained=False, num_classes=1000).state_dict()
    gray = create_classifier("resnet18")
    info = gray.init_from_state(hub_like)
    assert "fc.weight" in info["skipped"] and "fc.bias" in info["skipped"]
    assert info["loaded"] == len(hub_like) - 2 and set(info["not_initialised"]) == {"fc.weight", "fc.bias"}
    assert torch.equal(gray.net.layer4[1].conv2.weight, hub_like["layer4.1.conv2.weight"])


def test_initialise_choices(fitted_svm, untrained_cnn, rgb_resnet_file):
    path, _ = rgb_resnet_file
    assert initialise(untrained_cnn, False, None, **QUIET) == "random (from scratch)"
    with pytest.raises(ValueError, match="either --pretrained or --init-weights"):
        initialise(create_classifier("resnet18"), True, str(path), **QUIET)
    with pytest.raises(ValueError, match="cannot take pretrained weights"):
        initialise(fitted_svm, False, str(path), **QUIET)


def test_init_weights_that_are_not_safetensors_or_fit_nothing_are_refused(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    not_weights = tmp_path / "config.json"
    not_weights.write_text("{}")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"foo": torch.zeros(3)}, str(foreign))  # read, but no tensor of resnet18: it would train from scratch
    for path, message in ((not_weights, "not a readable .safetensors file"), (tmp_path, "not a readable .safetensors"),
                          (foreign, "none of its 1 tensors fits resnet18")):
        with pytest.raises(ValueError, match=f"--init-weights {path}: {message}"):
            initialise(create_classifier("resnet18"), False, str(path), **QUIET)

    def offline():
        raise OSError("no internet")

    clf = create_classifier("resnet18")
    monkeypatch.setattr(clf, "init_pretrained_hub", offline)
    with pytest.raises(ValueError, match="--pretrained: could not get the timm hub weights resnet18.a1_in1k .*init-weights"):
        initialise(clf, True, None, **QUIET)


def test_train_cli_with_init_weights(rgb_resnet_file, mrl_dir, tmp_path):
    from eyebench.cli import main

    path, _ = rgb_resnet_file
    out = tmp_path / "resnet18"
    rc = main(["train", "resnet18", "--data", str(mrl_dir), "--out", str(out), "--epochs", "1", "--batch-size", "32",
               "--init-weights", str(path)])
    assert rc == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["trained"]["initialisation"].startswith(f"init-weights {path.name} (")


# -- distillation ------------------------------------------------------------------------------------------
def test_distill_loss_is_soft_target_bce_times_t_squared():
    s, t, T = 1.0, 2.0, 2.0
    soft = 1 / (1 + math.exp(-t / T))  # teacher's p(closed) at temperature T
    q = 1 / (1 + math.exp(-s / T))  # student's
    expected = -(soft * math.log(q) + (1 - soft) * math.log(1 - q)) * T * T
    got = distill_loss(torch.tensor([s]), torch.tensor([t]), T)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # batch mean; the loss is lowest when the student copies the teacher
    batch = distill_loss(torch.tensor([s, -0.5]), torch.tensor([t, 3.0]), T)
    assert batch.item() == pytest.approx((expected + distill_loss(torch.tensor([-0.5]), torch.tensor([3.0]), T).item()) / 2)
    assert distill_loss(torch.tensor([t]), torch.tensor([t]), T) < got


def test_teacher_logits_adapt_size_and_channels(trained_cnn, records):
    teacher = load_classifier(trained_cnn)  # 64 px grayscale, calibrated temperature
    x, _ = prepared_arrays(records[:4], 64, 1)
    x01 = torch.as_tensor(x).permute(0, 3, 1, 2).float() / 255
    expected = teacher.scores_prepared(x) / teacher.temperature
    np.testing.assert_allclose(teacher_logits([teacher], x01).numpy(), expected, atol=1e-5)
    rgb = x01.expand(-1, 3, -1, -1)  # an RGB student batch is averaged to gray for a gray teacher
    np.testing.assert_allclose(teacher_logits([teacher], rgb).numpy(), expected, atol=1e-5)
    small = torch.nn.functional.interpolate(x01, size=(32, 32), mode="bilinear", align_corners=False)
    assert teacher_logits([teacher, teacher], small).shape == (4,)  # resized to the teacher's input; mean of two
    torch.manual_seed(0)
    rgb_teacher = create_classifier("resnet18", channels=3, input_size=48)
    assert teacher_logits([rgb_teacher], small).shape == (4,)  # gray 32 px -> RGB 48 px


def test_train_with_a_teacher(trained_cnn, records):
    train = [r for r in records if r["subject"] <= "s0004"]
    val = [r for r in records if r["subject"] >= "s0005"]
    (x_tr, _), (x_va, _) = prepared_arrays(train, 32), prepared_arrays(val, 32)
    torch.manual_seed(0)
    student = create_classifier("student")
    before = {k: v.clone() for k, v in student.net.state_dict().items()}
    history = train_torch(student, x_tr, dataset_of(train), x_va, dataset_of(val),
                          TrainConfig(epochs=2, batch_size=16, kd_alpha=0.7, kd_temperature=2.0),
                          teachers=[load_classifier(trained_cnn)], **QUIET)
    assert len(history) == 2 and all(np.isfinite(h["train_loss"]) for h in history)
    assert any(not torch.equal(v, student.net.state_dict()[k]) for k, v in before.items())


# -- DDP: two processes under torchrun (gloo on CPU) -------------------------------------------------------
DDP_SCRIPT = """
import json, sys
import numpy as np, torch, torch.distributed as dist
from pathlib import Path
from eyebench import create_classifier
from eyebench.data.dataset import load_dataset, load_images
from eyebench.train import samplers as S
from eyebench.train.config import TrainConfig
from eyebench.train.loop import train_torch
from eyebench.train.pipeline import run_training

torch.set_num_threads(1)
S.HARD_PEOPLE_MIN_IMAGES, person_weights = 1, []  # --hard-people: every process must reach the same weights
reweight = S.person_reweight
S.person_reweight = lambda *a: person_weights.append(reweight(*a)) or person_weights[-1]
data, out = sys.argv[1], Path(sys.argv[2])
arrays, ds = load_images(load_dataset(data), 64, 1, progress=False)  # both ranks decode into one cache at once
train = np.array([s <= "s0004" for s in ds.subjects])
torch.manual_seed(0)
clf = create_classifier("small_cnn", widths=[4, 4, 8, 8])
history = train_torch(clf, arrays[train], ds.subset(train), arrays[~train], ds.subset(~train),
                      TrainConfig(epochs=1, batch_size=16), out=out / "small_cnn", log=lambda *_: None)
rank, world = dist.get_rank(), dist.get_world_size()
params = torch.cat([p.detach().flatten() for p in clf.net.parameters()])
gathered = [torch.zeros_like(params) for _ in range(world)]
dist.all_gather(gathered, params)
train_torch(create_classifier("small_cnn", widths=[4, 4, 8, 8]), arrays[train], ds.subset(train), arrays[~train],
            ds.subset(~train), TrainConfig(epochs=2, batch_size=16, hard_people=3.0), log=lambda *_: None)
weights = torch.stack(person_weights).float()
weights_gathered = [torch.zeros_like(weights) for _ in range(world)]
dist.all_gather(weights_gathered, weights)
# the staged DINOv2 recipe through run_training (what `eyebench train` runs under torchrun)
info = run_training("dinov2_vits14", [data], str(out / "dinov2"),
                    TrainConfig(epochs=3, batch_size=16, bf16=True, model_args={"tiny": True}), log=lambda *_: None)
if rank == 0:
    result = {"world": world, "history": len(history), "info": info is not None,
              "max_param_diff": float(max((g - gathered[0]).abs().max() for g in gathered)),
              "person_weights_moved": bool(weights.abs().max() > 0),
              "max_person_weight_diff": float(max((g - weights_gathered[0]).abs().max() for g in weights_gathered))}
    (out / "result.json").write_text(json.dumps(result))
else:
    assert history == [] and info is None
"""


def test_ddp_two_processes(tmp_path, mrl_dir):
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EYEBENCH_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(REPO_ROOT)}
    try:
        proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
                               str(script), str(mrl_dir), str(out)],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"torchrun did not finish in 120 s (a rank waiting forever?)\n{exc.stderr}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((out / "result.json").read_text())
    # each rank trained on its half of every batch; averaged gradients keep the weights identical
    assert result == {"world": 2, "history": 1, "info": True, "max_param_diff": 0.0, "person_weights_moved": True,
                      "max_person_weight_diff": 0.0}  # --hard-people: the people's losses are summed over processes
    # rank 0 evaluated and wrote both checkpoints; the staged run went through its three stages
    for name in ("small_cnn", "dinov2"):
        assert (out / name / "config.json").is_file() and (out / name / "model.safetensors").is_file()
    stages = [h["stage"] for h in json.loads((out / "dinov2" / "history.json").read_text())]
    assert stages == ["head", "last 4 blocks + head", "all"]
    assert load_classifier(out / "dinov2").predict_proba([np.zeros((30, 30), np.uint8)]).shape == (1, 2)
    assert not list((tmp_path / "cache").glob("*.tmp"))  # no temp file of the cache left behind
