"""The training package: the schedule as a function of the step, sampling, losses, weight averaging, a tiny torch
run, resume, and TrainConfig (checks by field, the flags generated from its fields, what config.json records)."""
import argparse
import ast
import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, dataset_of, prepared_arrays

from eyebench import create_classifier
from eyebench.data.dataset import Dataset, Sample
from eyebench.evaluate.calibration import fit_temperature
from eyebench.train import loop, samplers
from eyebench.train.config import (
    HARD_PEOPLE_CAP,
    HARD_PEOPLE_MIN_IMAGES,
    RECIPE,
    TrainConfig,
    flag_of,
)
from eyebench.train.ema import ModelEma
from eyebench.train.loop import train_torch
from eyebench.train.losses import drop_share, truncated_mean
from eyebench.train.samplers import balanced_weights, person_reweight
from eyebench.train.schedule import one_cycle, set_step, warmup_fraction

QUIET = dict(log=lambda *_: None)


# -- the schedule: a pure function of the step, OneCycleLR's values to the bit ----------------------------
@pytest.mark.parametrize("total_steps", [1, 2, 3, 4, 5, 6, 10, 37, 200])
def test_one_cycle_equals_torch_one_cycle_lr_at_every_step(total_steps):
    max_lrs = [3e-3, 1e-3 * 0.75 ** 3]  # two parameter groups, as with layer-wise learning rates
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in max_lrs]
    opt = torch.optim.AdamW([{"params": [p], "lr": lr} for p, lr in zip(params, max_lrs)])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lrs, total_steps=total_steps,
                                                pct_start=warmup_fraction(total_steps))
    for step in range(total_steps + 1):  # the value after the last step is what the history's last row shows
        for group, max_lr in zip(opt.param_groups, max_lrs):
            assert one_cycle(step, total_steps, max_lr) == (group["lr"], group["betas"][0]), (step, total_steps)
        if step < total_steps:  # pct_start * total_steps == 1 used to divide by zero (5 steps at 0.2)
            opt.step()
            sched.step()


def test_set_step_gives_each_group_its_lr_and_beta1():
    opt = torch.optim.AdamW([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 1.0},
                             {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 2.0}], betas=(0.9, 0.99))
    set_step(opt, 3, 10, [1e-3, 2e-3])
    for group, max_lr in zip(opt.param_groups, [1e-3, 2e-3]):
        lr, beta1 = one_cycle(3, 10, max_lr)
        assert group["lr"] == lr and group["betas"] == (beta1, 0.99)
    assert one_cycle(0, 10, 1e-3)[0] == pytest.approx(1e-3 / 25) and one_cycle(1, 10, 1e-3)[0] == pytest.approx(1e-3)
    assert one_cycle(9, 10, 1e-3)[0] == pytest.approx(1e-3 / 25 / 1e4)  # warm-up to the peak, cosine down to the end


# -- a tiny run, resume ---------------------------------------------------------------------------------
def test_tiny_torch_run_with_five_steps(records):
    """1 epoch x 5 batches: the schedule length that used to crash OneCycleLR."""
    train = [r for r in records if r["subject"] <= "s0005"]
    val = [r for r in records if r["subject"] == "s0006"]
    (x_tr, _), (x_va, _) = prepared_arrays(train), prepared_arrays(val)
    clf = create_classifier("small_cnn", widths=[4, 4, 8, 8])
    history = train_torch(clf, x_tr, dataset_of(train), x_va, dataset_of(val),
                          TrainConfig(epochs=1, batch_size=len(train) // 5), **QUIET)
    assert len(history) == 1 and history[0]["epoch"] == 1
    assert 0 <= history[0]["val_accuracy"] <= 1 and np.isfinite(history[0]["train_loss"])
    assert history[0]["lr"] == one_cycle(5, 5, 3e-3)[0]
    assert not clf.net.training


def resume_args(records):
    train = [r for r in records if r["subject"] <= "s0004"]
    val = [r for r in records if r["subject"] >= "s0005"]
    (x_tr, _), (x_va, _) = prepared_arrays(train), prepared_arrays(val)
    return x_tr, dataset_of(train), x_va, dataset_of(val)


def fresh_cnn():
    torch.manual_seed(123)  # the same initial weights every time
    return create_classifier("small_cnn", widths=[4, 4, 8, 8])


def test_resume_state_loads_safely(records, tmp_path):
    args = resume_args(records)
    clf = fresh_cnn()
    first = train_torch(clf, *args, TrainConfig(epochs=2, batch_size=16), out=tmp_path, **QUIET)
    assert (tmp_path / "resume.pt").is_file() and (tmp_path / "config.json").is_file()
    state = torch.load(tmp_path / "resume.pt", weights_only=True)  # tensors and numbers only
    assert state["epoch"] == 2 and state["step"] == 2 * (len(args[1]) // 16)
    again = fresh_cnn()
    resumed = train_torch(again, *args, TrainConfig(epochs=2, batch_size=16, resume=True), out=tmp_path, **QUIET)
    assert resumed == first  # nothing left to train: the history comes back from disk
    for k, v in clf.net.state_dict().items():
        assert torch.equal(v, again.net.state_dict()[k]), k


def test_a_resume_file_of_the_one_cycle_lr_loop_still_resumes(records, tmp_path):
    """resume.pt files written before the schedule was a function of the step kept the step in the scheduler."""
    args = resume_args(records)
    train_torch(fresh_cnn(), *args, TrainConfig(epochs=1, batch_size=16), out=tmp_path, **QUIET)
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    state["scheduler"] = {"last_epoch": state.pop("step"), "total_steps": 2}
    torch.save(state, tmp_path / "resume.pt")
    history = train_torch(fresh_cnn(), *args, TrainConfig(epochs=2, batch_size=16, resume=True), out=tmp_path, **QUIET)
    assert [h["epoch"] for h in history] == [1, 2] and history[1]["lr"] == one_cycle(4, 4, 3e-3)[0]


class Interrupt(Exception):
    """Stands for Ctrl-C / a killed job in the middle of a run."""


def stop_in_epoch_2(msg):  # epoch 2 trains, then the job dies before its state is saved
    if msg.startswith("epoch 2 "):
        raise Interrupt


@pytest.mark.parametrize("extra", [{}, {"hard_people": 3.0}, {"drop_hardest": 0.3}, {"ema_decay": 0.9}],
                         ids=["plain", "hard-people", "drop-hardest", "ema"])
def test_interrupted_run_resumes_exactly(records, tmp_path, monkeypatch, extra):
    monkeypatch.setattr(samplers, "HARD_PEOPLE_MIN_IMAGES", 1)  # the tiny fixture's people each count
    args, config = resume_args(records), TrainConfig(epochs=3, batch_size=16, patience=99, **extra)
    reference = fresh_cnn()
    expected = train_torch(reference, *args, config, out=tmp_path / "ref", **QUIET)
    with pytest.raises(Interrupt):
        train_torch(fresh_cnn(), *args, config, out=tmp_path / "run", log=stop_in_epoch_2)
    assert torch.load(tmp_path / "run" / "resume.pt", weights_only=True)["epoch"] == 1
    messages = []
    resumed = fresh_cnn()
    history = train_torch(resumed, *args, dataclasses.replace(config, resume=True), out=tmp_path / "run",
                          log=messages.append)
    assert any("resumed from" in m and "after epoch 1" in m for m in messages)
    # the same batches, augmentations, dropout masks, learning rates and optimizer state as without the break
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history == expected
    for k, v in reference.net.state_dict().items():
        assert torch.equal(v, resumed.net.state_dict()[k]), k


def test_resume_with_more_epochs_continues_the_longer_schedule(records, tmp_path, monkeypatch):
    args = resume_args(records)
    first = train_torch(fresh_cnn(), *args, TrainConfig(epochs=1, batch_size=16), out=tmp_path, **QUIET)
    steps_seen, messages = [], []
    monkeypatch.setattr(loop, "set_step", lambda opt, step, total, max_lrs: steps_seen.append((step, total))
                        or set_step(opt, step, total, max_lrs))
    history = train_torch(fresh_cnn(), *args, TrainConfig(epochs=2, batch_size=16, resume=True), out=tmp_path,
                          log=messages.append)
    assert [h["epoch"] for h in history] == [1, 2] and history[0] == first[0]
    assert steps_seen == [(2, 4), (3, 4)]  # the 4-step schedule, from the step the 2-step run had reached
    assert history[1]["lr"] == one_cycle(4, 4, 3e-3)[0]
    assert any("after epoch 1 (step 2 of 4)" in m for m in messages)
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    assert state["epoch"] == 2 and state["history"] == history
    assert not (tmp_path / "history.json").exists()  # written when training finishes (pipeline), not per epoch


@pytest.mark.parametrize("change", [dict(lr=0.1), dict(seed=5), dict(model_args={"widths": [4, 4, 8, 16]}),
                                    dict(people=True)], ids=["lr", "seed", "model-arg", "people"])
def test_resume_refuses_a_run_started_with_another_recipe_or_people(records, tmp_path, change):
    """resume.pt keeps the model, people and recipe it was written with; another one must not go on from its weights."""
    args, config = resume_args(records), TrainConfig(epochs=1, batch_size=16)
    train_torch(fresh_cnn(), *args, config, out=tmp_path, **QUIET)
    if change.pop("people", False):  # the validation people trained on, as with another --seed or other data
        args = (args[2], args[3], args[0], args[1])
    clf = create_classifier("small_cnn", **change.pop("model_args", {"widths": [4, 4, 8, 8]}))
    again = dataclasses.replace(config, epochs=2, resume=True, **change)
    with pytest.raises(ValueError, match="resume.pt was written by a run with another"):
        train_torch(clf, *args, again, out=tmp_path, **QUIET)


# -- sampling, losses, weight averaging --------------------------------------------------------------------
def test_balanced_weights():
    samples = ([Sample(f"a{i}", int(i < 2), f"p{i}", "big") for i in range(90)]
               + [Sample(f"b{i}", int(i < 5), f"q{i}", "small") for i in range(10)])
    ds = Dataset(samples)
    w = balanced_weights(ds)
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    src = np.array([s.source for s in samples])
    for name in ("big", "small"):
        m = src == name
        # both classes equally likely within a source
        assert w[m & (ds.labels == 0)].sum() == pytest.approx(w[m & (ds.labels == 1)].sum())
    # sources weigh by the square root of their size: 90 vs 10 images -> 3:1
    assert w[src == "big"].sum() / w[src == "small"].sum() == pytest.approx(3.0)


def test_fit_temperature_recovers_scale():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)  # labels drawn from sigmoid(z)
    assert fit_temperature(2.5 * z, y) == pytest.approx(2.5, rel=0.15)
    assert fit_temperature(z, y) == pytest.approx(1.0, rel=0.15)


def test_model_ema_is_a_separate_average_of_the_live_network():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = ModelEma(net, decay=0.9)
    assert ema.module is not net and not ema.module.training
    assert not any(p.requires_grad for p in ema.module.parameters())
    start = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        net[0].weight.add_(1.0)
    net[1].num_batches_tracked += 5
    ema.update(net, step=1)  # warm-up: decay min(0.9, 2 / 11)
    d = 2 / 11
    torch.testing.assert_close(ema.module[0].weight, d * start["0.weight"] + (1 - d) * net[0].weight)
    assert ema.module[1].num_batches_tracked == 5  # integer buffers are copied
    assert torch.equal(net[0].weight, start["0.weight"] + 1.0)  # the live network is left alone
    again = ModelEma(net, 0.9, state=ema.state_dict())  # on resume: the saved average
    assert all(torch.equal(v, ema.state_dict()[k]) for k, v in again.state_dict().items())


def test_ema_weights_are_what_is_validated_and_kept(records, tmp_path):
    args = resume_args(records)
    clf = fresh_cnn()
    train_torch(clf, *args, TrainConfig(epochs=1, batch_size=16, ema_decay=0.9), out=tmp_path, **QUIET)
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    kept, ema, live = clf.net.state_dict(), state["ema"], state["model"]
    assert all(torch.equal(kept[k], ema[k].cpu()) for k in kept)  # one epoch: its average is the best and kept
    w = "blocks.0.0.weight"
    assert not torch.equal(ema[w].cpu(), live[w])  # and it is not the live weights training goes on from


def test_bf16_autocast_runs_the_forward_pass_in_bfloat16(records, tmp_path, monkeypatch):
    args = resume_args(records)
    seen = []
    original = torch.autocast.__init__

    def spy(self, *a, **kw):
        original(self, *a, **kw)
        seen.append((self.device, self.fast_dtype if self._enabled else None))

    monkeypatch.setattr(torch.autocast, "__init__", spy)
    fast, plain = fresh_cnn(), fresh_cnn()
    train_torch(fast, *args, TrainConfig(epochs=1, batch_size=16, bf16=True), **QUIET)
    assert seen and set(seen) == {("cpu", torch.bfloat16)}
    seen.clear()
    train_torch(plain, *args, TrainConfig(epochs=1, batch_size=16), **QUIET)
    assert set(seen) == {("cpu", None)}  # off by default on the CPU: float32 results stay bit-reproducible
    w = "blocks.0.0.weight"
    a, b = fast.net.state_dict()[w], plain.net.state_dict()[w]
    assert torch.isfinite(a).all() and a.dtype == torch.float32 and not torch.equal(a, b)


@pytest.mark.parametrize("num_logits", [1, 2])
def test_label_smoothing_moves_the_targets_off_0_and_1(records, monkeypatch, num_logits):
    from eyebench.train import losses

    seen = []
    bce, ce = losses.F.binary_cross_entropy_with_logits, losses.F.cross_entropy

    def spy_bce(logits, target, *a, **kw):
        if torch.is_grad_enabled():  # training steps only, not the validation loss
            seen.append(("bce", sorted({round(v, 4) for v in target.tolist()})))
        return bce(logits, target, *a, **kw)

    def spy_ce(logits, target, *a, **kw):
        if torch.is_grad_enabled():
            seen.append(("ce", kw.get("label_smoothing", 0.0)))
        return ce(logits, target, *a, **kw)

    monkeypatch.setattr(losses.F, "binary_cross_entropy_with_logits", spy_bce)
    monkeypatch.setattr(losses.F, "cross_entropy", spy_ce)
    args = resume_args(records)
    for e in (0.0, 0.2):
        seen.clear()
        clf = create_classifier("small_cnn", widths=[4, 4, 8, 8], num_logits=num_logits)
        train_torch(clf, *args, TrainConfig(epochs=1, batch_size=16, label_smoothing=e), **QUIET)
        if num_logits == 1:
            assert seen and {v for _, t in seen for v in t} == ({0.0, 1.0} if e == 0 else {0.1, 0.9})
        else:
            assert seen and {s for _, s in seen} == {e}


def test_truncated_mean_leaves_out_the_highest_losses():
    losses = torch.tensor([0.1, 5.0, 0.3, 0.2, 9.0, 0.4, 0.0, 0.6, 0.5, 0.7])
    assert truncated_mean(losses, 0.0) == pytest.approx(losses.mean())
    assert truncated_mean(losses, 0.2) == pytest.approx(2.8 / 8)  # the 9.0 and the 5.0 are left out
    assert truncated_mean(losses, 0.15) == pytest.approx(7.8 / 9)  # 1.5 images round down to 1: the 9.0 goes
    losses.requires_grad_(True)
    truncated_mean(losses, 0.2).backward()
    assert losses.grad[1] == 0 and losses.grad[4] == 0 and losses.grad[0] == pytest.approx(1 / 8)


def test_drop_share_ramps_in_over_the_first_sixth_of_the_epochs():
    assert [drop_share(0.06, e, 60) for e in (1, 5, 10, 11, 60)] == pytest.approx([0.006, 0.03, 0.06, 0.06, 0.06])
    assert drop_share(0.06, 1, 3) == pytest.approx(0.06)  # short runs: dropping from the first epoch


def test_drop_hardest_changes_training(records):
    args = resume_args(records)
    config = TrainConfig(epochs=2, batch_size=16, patience=99)
    plain = train_torch(fresh_cnn(), *args, config, **QUIET)
    dropped = train_torch(fresh_cnn(), *args, dataclasses.replace(config, drop_hardest=0.3), **QUIET)
    assert [h["train_loss"] for h in plain] != [h["train_loss"] for h in dropped]


def test_person_reweight_moves_hard_people_up_and_easy_ones_down_within_the_cap():
    log_w = torch.zeros(3, dtype=torch.float64)
    loss_sum = torch.tensor([30.0, 10.0, 0.0], dtype=torch.float64)  # mean loss 0.3 and 0.1; nobody of the third seen
    count = torch.tensor([100.0, 100.0, 0.0], dtype=torch.float64)
    w = person_reweight(log_w, loss_sum, count, step=1.0)
    assert w[0] == pytest.approx(0.1) and w[1] == pytest.approx(-0.1) and w[2] == 0  # excess over the mean 0.2
    for _ in range(100):
        w = person_reweight(w, loss_sum, count, step=1.0)
    assert torch.exp(w[0]) == pytest.approx(HARD_PEOPLE_CAP) and torch.exp(w[1]) == pytest.approx(1 / HARD_PEOPLE_CAP)
    assert torch.equal(person_reweight(w, loss_sum, torch.zeros(3, dtype=torch.float64), 1.0), w)


def test_hard_people_changes_the_draws_and_reports_the_hardest(records, tmp_path, monkeypatch):
    monkeypatch.setattr(samplers, "HARD_PEOPLE_MIN_IMAGES", 1)
    drawn = []
    original = torch.multinomial

    def spy(weights, *a, **kw):
        drawn.append(weights.clone())
        return original(weights, *a, **kw)

    monkeypatch.setattr(torch, "multinomial", spy)
    args = resume_args(records)
    history = train_torch(fresh_cnn(), *args, TrainConfig(epochs=3, batch_size=16, patience=99, hard_people=50.0),
                          out=tmp_path, **QUIET)
    assert torch.equal(drawn[0], torch.as_tensor(balanced_weights(args[1])))  # epoch 1: plain balanced sampling
    assert not torch.allclose(drawn[1] / drawn[1].sum(), drawn[0])  # then the people's losses move the weights
    people = set(args[1].subjects.tolist())
    for row in history:
        assert set(row["hard_people"]) <= people and max(row["hard_people"].values()) <= HARD_PEOPLE_CAP + 1e-9
    log_w = torch.load(tmp_path / "resume.pt", weights_only=True)["person_log_weights"]
    assert log_w.abs().max() > 0 and len(log_w) == len(people)
    drawn.clear()
    train_torch(fresh_cnn(), *args, TrainConfig(epochs=2, batch_size=16), **QUIET)
    assert all(torch.equal(d, drawn[0]) for d in drawn)  # off by default: every epoch draws the same way


# -- TrainConfig: checks by field name, flags generated from the fields, what config.json records ---------
@pytest.mark.parametrize("field, bad, message", [
    ("glasses", 1.5, "--glasses is a share of the training images, from 0 to 1 (got 1.5)"),
    ("zoom_out", -0.1, "--zoom-out is a share of the training images, from 0 to 1 (got -0.1)"),
    ("label_smoothing", 0.5, "--label-smoothing must be at least 0 and below 0.5 (got 0.5)"),
    ("hard_people", -1.0, "--hard-people is a step size of at least 0 (0 = off) (got -1.0)"),
    ("drop_hardest", 0.5, "--drop-hardest is a share of each batch, at least 0 and below 0.5 (got 0.5)"),
    ("ema_decay", 1.0, "--ema is a decay of at least 0 and below 1 (0 = off) (got 1.0)"),
    ("epochs", 0, "--epochs is at least 1 (got 0)"),
    ("band_rule", "median", "--band-rule is one of per-person, pooled (got 'median')"),
    ("storage_dtype", "int8", "--storage-dtype is one of float32, float16 (got 'int8')"),
])
def test_train_config_checks_each_field_and_names_its_flag(field, bad, message):
    with pytest.raises(ValueError) as err:
        TrainConfig(**{field: bad})
    assert str(err.value) == message
    with pytest.raises(ValueError, match="--glasses"):
        dataclasses.replace(TrainConfig(), glasses=2.0)  # replace checks again
    with pytest.raises(TypeError):
        TrainConfig(no_such_option=1)


def parsers() -> dict[str, argparse.ArgumentParser]:
    from eyebench.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {"train": sub.choices["train"], "cv": sub.choices["cv"]}


def test_every_field_is_a_flag_with_its_default_and_help():
    actions = {name: {a.dest: a for a in p._actions} for name, p in parsers().items()}
    for f in dataclasses.fields(TrainConfig):
        for command in ("train", "cv") if f.metadata["scope"] == RECIPE else ("train",):
            action = actions[command][f.name]
            assert action.option_strings == [flag_of(f)] and action.help == f.metadata["help"], (command, f.name)
            assert action.default == f.default, (command, f.name)
        if f.metadata["scope"] != RECIPE:
            assert f.name not in actions["cv"], f.name
    assert f"at most {HARD_PEOPLE_CAP:g}x" in actions["train"]["hard_people"].help
    assert f"< {HARD_PEOPLE_MIN_IMAGES} images" in actions["train"]["hard_people"].help


def test_a_command_line_becomes_a_train_config():
    p = parsers()["train"]
    base = ["small_cnn", "--data", "d", "--out", "o"]
    assert TrainConfig.from_args(p.parse_args(base)) == TrainConfig()
    args = p.parse_args(base + ["--ema", "0.99", "--bf16", "--model-arg", "widths=[4,4,8,8]", "--model-arg",
                                "contrast=clahe", "--teacher", "a", "--teacher", "b", "--epoch-size", "64"])
    assert TrainConfig.from_args(args) == TrainConfig(ema_decay=0.99, bf16=True, epoch_size=64, teachers=["a", "b"],
                                                      model_args={"widths": [4, 4, 8, 8], "contrast": "clahe"})
    with pytest.raises(ValueError, match="--model-arg expects KEY=VALUE"):
        TrainConfig.from_args(p.parse_args(base + ["--model-arg", "widths"]))
    cv = TrainConfig.from_args(parsers()["cv"].parse_args(["small_cnn", "--data", "d", "--out", "o", "--lr", "1e-2"]))
    assert cv == TrainConfig(lr=1e-2)  # the train-only fields keep their defaults


def test_recorded_options_keep_the_keys_older_checkpoints_have():
    assert TrainConfig().recorded() == {
        "seed": 0, "batch_size": 128, "lr": 3e-3, "aug_strength": 1.0, "epoch_size": None, "ema_decay": None,
        "autocast": None, "glasses": None, "label_smoothing": None, "hard_people": None, "person_cap": None,
        "drop_hardest": None, "zoom_out": None, "storage_dtype": "float32", "distillation": None}
    on = TrainConfig(ema_decay=0.9, bf16=True, glasses=0.3, zoom_out=0.2, teachers=["t"], kd_alpha=0.5).recorded()
    assert on["ema_decay"] == 0.9 and on["autocast"] == "bfloat16" and on["glasses"] == 0.3 and on["zoom_out"] == 0.2
    assert on["distillation"] == {"teachers": ["t"], "alpha": 0.5, "temperature": 2.0}


def test_the_card_names_options_it_has_no_sentence_for():
    from eyebench.models.card import model_card

    config = {"architecture": "small_cnn", "class_names": ["open", "closed"], "family": "torch",
              "data_config": {"input_size": 64, "channels": 1},
              "trained": {**TrainConfig(glasses=0.3, zoom_out=0.25).recorded(), "epochs_run": 2, "seconds": 1.0,
                          "new_option": 7}}
    card = model_card(config)
    assert "synthetic glasses (frame edge, glare spots) on 30% of training images" in card
    assert "25% of training images framed wider (the eye shrunk to 55-90% of its size)" in card
    assert ", new option 7;" in card  # a field added later reaches the card without a change there


def test_the_parser_and_the_card_import_no_training_code():
    """The flags come from config.py alone (it and the package's __init__ import no torch); the card reads the
    config dict and imports nothing of the train package."""
    for name in ("__init__.py", "config.py"):
        tree = ast.parse((REPO_ROOT / "eyebench" / "train" / name).read_text())
        imported = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] == "torch"}, name
    code = ("import sys; from eyebench.cli import build_parser; build_parser(); import eyebench.models.card; "
            "loaded = sorted(m for m in sys.modules if m.startswith('eyebench.train.')); "
            "assert loaded == ['eyebench.train.config'], loaded")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]


# -- each command scans its data once ----------------------------------------------------------------------
@pytest.fixture
def scans(monkeypatch):
    """The folders scanned while a test runs (a counting wrapper around `scan_folder`)."""
    from eyebench.data import dataset

    seen, scan = [], dataset.scan_folder
    monkeypatch.setattr(dataset, "scan_folder", lambda root, *a, **kw: seen.append(str(root)) or scan(root, *a, **kw))
    return seen


def test_calibrate_scans_the_data_once_for_every_checkpoint(scans, svm_checkpoint, mrl_dir, tmp_path, capsys):
    from eyebench.cli import main

    models = [shutil.copytree(svm_checkpoint, tmp_path / name) for name in ("a", "b")]
    assert main(["calibrate", "--model", str(models[0]), "--model", str(models[1]), "--data", str(mrl_dir)]) == 0
    out = capsys.readouterr().out
    assert out.index(f"{models[0]}: temperature") < out.index(f"{models[1]}: temperature")
    assert scans == [str(mrl_dir)]


def test_cv_repeats_scan_the_data_once(scans, mrl_dir, tmp_path, capsys):
    from eyebench.cli import main

    assert main(["cv", "lbp_hog_svm", "--data", str(mrl_dir), "--out", str(tmp_path / "cv"), "--folds", "2",
                 "--repeats", "2"]) == 0
    assert (tmp_path / "cv" / "seed_1" / "cv_recipe.json").is_file()
    assert scans == [str(mrl_dir)]
