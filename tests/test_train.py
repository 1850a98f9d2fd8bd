"""Training helpers: OneCycle warm-up, balanced sampling weights, temperature fitting, a tiny torch run, resume."""
import json

import numpy as np
import pytest
import torch

from conftest import dataset_of, prepared_arrays
from eyebench import create_classifier
from eyebench.data.dataset import Dataset, Sample
from eyebench import train as train_module
from eyebench.train import (HARD_PEOPLE_CAP, balanced_weights, drop_share, fit_temperature, person_reweight,
                            train_torch, truncated_mean, warmup_fraction)


@pytest.mark.parametrize("total_steps", [1, 2, 3, 4, 5, 6, 10, 37])
def test_one_cycle_schedule_runs_for_any_length(total_steps):
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=total_steps,
                                                pct_start=warmup_fraction(total_steps))
    for _ in range(total_steps):  # pct_start * total_steps == 1 used to divide by zero (5 steps at 0.2)
        opt.step()
        sched.step()


def test_tiny_torch_run_with_five_steps(records):
    """1 epoch x 5 batches: the schedule length that used to crash OneCycleLR."""
    train = [r for r in records if r["subject"] <= "s0005"]
    val = [r for r in records if r["subject"] == "s0006"]
    (x_tr, _), (x_va, _) = prepared_arrays(train), prepared_arrays(val)
    clf = create_classifier("small_cnn", widths=[4, 4, 8, 8])
    history = train_torch(clf, x_tr, dataset_of(train), x_va, dataset_of(val), epochs=1, batch_size=len(train) // 5,
                          log=lambda *_: None)
    assert len(history) == 1 and history[0]["epoch"] == 1
    assert 0 <= history[0]["val_accuracy"] <= 1 and np.isfinite(history[0]["train_loss"])
    assert not clf.net.training


def test_resume_state_loads_safely(records, tmp_path):
    train = [r for r in records if r["subject"] <= "s0004"]
    val = [r for r in records if r["subject"] >= "s0005"]
    (x_tr, _), (x_va, _) = prepared_arrays(train), prepared_arrays(val)
    args = (x_tr, dataset_of(train), x_va, dataset_of(val))
    clf = create_classifier("small_cnn", widths=[4, 4, 8, 8])
    first = train_torch(clf, *args, epochs=2, batch_size=16, out=tmp_path, log=lambda *_: None)
    assert (tmp_path / "resume.pt").is_file() and (tmp_path / "config.json").is_file()
    again = create_classifier("small_cnn", widths=[4, 4, 8, 8])
    resumed = train_torch(again, *args, epochs=2, batch_size=16, out=tmp_path, resume=True, log=lambda *_: None)
    assert resumed == first  # nothing left to train: the history comes back from disk
    for k, v in clf.net.state_dict().items():
        assert torch.equal(v, again.net.state_dict()[k]), k


class Interrupt(Exception):
    """Stands for Ctrl-C / a killed job in the middle of a run."""


def resume_args(records):
    train = [r for r in records if r["subject"] <= "s0004"]
    val = [r for r in records if r["subject"] >= "s0005"]
    (x_tr, _), (x_va, _) = prepared_arrays(train), prepared_arrays(val)
    return x_tr, dataset_of(train), x_va, dataset_of(val)


def fresh_cnn():
    torch.manual_seed(123)  # the same initial weights every time
    return create_classifier("small_cnn", widths=[4, 4, 8, 8])


@pytest.mark.parametrize("extra", [{}, {"hard_people": 3.0}, {"drop_hardest": 0.3}],
                         ids=["plain", "hard-people", "drop-hardest"])
def test_interrupted_run_resumes_exactly(records, tmp_path, monkeypatch, extra):
    monkeypatch.setattr(train_module, "HARD_PEOPLE_MIN_IMAGES", 1)  # the tiny fixture's people each count
    args, kw = resume_args(records), dict(epochs=3, batch_size=16, patience=99, **extra)
    reference = fresh_cnn()
    expected = train_torch(reference, *args, out=tmp_path / "ref", log=lambda *_: None, **kw)

    def stop_in_epoch_2(msg):  # epoch 2 trains, then the job dies before its state is saved
        if msg.startswith("epoch 2 "):
            raise Interrupt

    with pytest.raises(Interrupt):
        train_torch(fresh_cnn(), *args, out=tmp_path / "run", log=stop_in_epoch_2, **kw)
    assert torch.load(tmp_path / "run" / "resume.pt", weights_only=True)["epoch"] == 1
    messages = []
    resumed = fresh_cnn()
    history = train_torch(resumed, *args, out=tmp_path / "run", resume=True, log=messages.append, **kw)
    assert any("resumed from" in m and "after epoch 1" in m for m in messages)
    # the same batches, augmentations, dropout masks, learning rates and optimizer state as without the break
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history == expected
    for k, v in reference.net.state_dict().items():
        assert torch.equal(v, resumed.net.state_dict()[k]), k


def test_resume_with_more_epochs_continues(records, tmp_path):
    args = resume_args(records)
    first = train_torch(fresh_cnn(), *args, epochs=1, batch_size=16, out=tmp_path, log=lambda *_: None)
    messages = []
    history = train_torch(fresh_cnn(), *args, epochs=2, batch_size=16, out=tmp_path, resume=True,
                          log=messages.append)
    assert [h["epoch"] for h in history] == [1, 2] and history[0] == first[0]
    assert any("schedule length changed (2 -> 4 steps)" in m for m in messages)
    assert json.loads((tmp_path / "history.json").read_text()) == history
    assert torch.load(tmp_path / "resume.pt", weights_only=True)["epoch"] == 2


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


def test_ema_weights_are_what_is_validated_and_kept(records, tmp_path):
    args = resume_args(records)
    clf = fresh_cnn()
    train_torch(clf, *args, epochs=1, batch_size=16, out=tmp_path, ema_decay=0.9, log=lambda *_: None)
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    kept, ema, live = clf.net.state_dict(), state["ema"], state["model"]
    assert all(torch.equal(kept[k], ema[k].cpu()) for k in kept)  # one epoch: its average is the best and kept
    w = "blocks.0.0.weight"
    assert not torch.equal(ema[w].cpu(), live[w])  # and it is not the live weights training goes on from


def test_ema_run_resumes_exactly(records, tmp_path):
    args, kw = resume_args(records), dict(epochs=3, batch_size=16, patience=99, ema_decay=0.9)
    reference = fresh_cnn()
    expected = train_torch(reference, *args, out=tmp_path / "ref", log=lambda *_: None, **kw)

    def stop_in_epoch_2(msg):
        if msg.startswith("epoch 2 "):
            raise Interrupt

    with pytest.raises(Interrupt):
        train_torch(fresh_cnn(), *args, out=tmp_path / "run", log=stop_in_epoch_2, **kw)
    resumed = fresh_cnn()
    assert train_torch(resumed, *args, out=tmp_path / "run", resume=True, log=lambda *_: None, **kw) == expected
    for k, v in reference.net.state_dict().items():
        assert torch.equal(v, resumed.net.state_dict()[k]), k


def test_bf16_autocast_runs_the_forward_pass_in_bfloat16(records, tmp_path, monkeypatch):
    args = resume_args(records)
    seen = []
    original = torch.autocast.__init__

    def spy(self, *a, **kw):
        original(self, *a, **kw)
        seen.append((self.device, self.fast_dtype if self._enabled else None))

    monkeypatch.setattr(torch.autocast, "__init__", spy)
    fast, plain = fresh_cnn(), fresh_cnn()
    train_torch(fast, *args, epochs=1, batch_size=16, bf16=True, log=lambda *_: None)
    assert seen and set(seen) == {("cpu", torch.bfloat16)}
    seen.clear()
    train_torch(plain, *args, epochs=1, batch_size=16, log=lambda *_: None)
    assert set(seen) == {("cpu", None)}  # off by default on the CPU: float32 results stay bit-reproducible
    w = "blocks.0.0.weight"
    a, b = fast.net.state_dict()[w], plain.net.state_dict()[w]
    assert torch.isfinite(a).all() and a.dtype == torch.float32 and not torch.equal(a, b)


@pytest.mark.parametrize("num_logits", [1, 2])
def test_label_smoothing_moves_the_targets_off_0_and_1(records, monkeypatch, num_logits):
    import eyebench.train as train_module

    seen = []
    bce, ce = train_module.F.binary_cross_entropy_with_logits, train_module.F.cross_entropy

    def spy_bce(logits, target, *a, **kw):
        if torch.is_grad_enabled():  # training steps only, not the validation loss
            seen.append(("bce", sorted({round(v, 4) for v in target.tolist()})))
        return bce(logits, target, *a, **kw)

    def spy_ce(logits, target, *a, **kw):
        if torch.is_grad_enabled():
            seen.append(("ce", kw.get("label_smoothing", 0.0)))
        return ce(logits, target, *a, **kw)

    monkeypatch.setattr(train_module.F, "binary_cross_entropy_with_logits", spy_bce)
    monkeypatch.setattr(train_module.F, "cross_entropy", spy_ce)
    args = resume_args(records)
    for e in (0.0, 0.2):
        seen.clear()
        clf = create_classifier("small_cnn", widths=[4, 4, 8, 8], num_logits=num_logits)
        train_torch(clf, *args, epochs=1, batch_size=16, label_smoothing=e, log=lambda *_: None)
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
    kw = dict(epochs=2, batch_size=16, patience=99, log=lambda *_: None)
    plain, dropped = train_torch(fresh_cnn(), *args, **kw), train_torch(fresh_cnn(), *args, drop_hardest=0.3, **kw)
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
    monkeypatch.setattr(train_module, "HARD_PEOPLE_MIN_IMAGES", 1)
    drawn = []
    original = torch.multinomial

    def spy(weights, *a, **kw):
        drawn.append(weights.clone())
        return original(weights, *a, **kw)

    monkeypatch.setattr(torch, "multinomial", spy)
    args = resume_args(records)
    history = train_torch(fresh_cnn(), *args, epochs=3, batch_size=16, patience=99, hard_people=50.0,
                          out=tmp_path, log=lambda *_: None)
    assert torch.equal(drawn[0], torch.as_tensor(balanced_weights(args[1])))  # epoch 1: plain balanced sampling
    assert not torch.allclose(drawn[1] / drawn[1].sum(), drawn[0])  # then the people's losses move the weights
    people = set(args[1].subjects.tolist())
    for row in history:
        assert set(row["hard_people"]) <= people and max(row["hard_people"].values()) <= HARD_PEOPLE_CAP + 1e-9
    log_w = torch.load(tmp_path / "resume.pt", weights_only=True)["person_log_weights"]
    assert log_w.abs().max() > 0 and len(log_w) == len(people)
    drawn.clear()
    train_torch(fresh_cnn(), *args, epochs=2, batch_size=16, log=lambda *_: None)
    assert all(torch.equal(d, drawn[0]) for d in drawn)  # off by default: every epoch draws the same way


def test_hard_people_help_states_the_cap_and_pool_size_in_use():
    from eyebench.cli import HARD_PEOPLE_HELP

    assert f"at most {train_module.HARD_PEOPLE_CAP:g}x" in HARD_PEOPLE_HELP
    assert f"< {train_module.HARD_PEOPLE_MIN_IMAGES} images" in HARD_PEOPLE_HELP
