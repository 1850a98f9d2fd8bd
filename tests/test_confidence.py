"""How sure we are: subject-level bootstrap intervals and McNemar's paired test."""
import math

import numpy as np
import pytest
from scipy.stats import binomtest, chi2

from eyebench.evaluate.confidence import MIN_SUBJECTS, mcnemar, subject_bootstrap


def ten_subjects(wrong: np.ndarray):
    """10 subjects x 10 images, all labels 0; `wrong` marks the images predicted 1."""
    subjects = np.repeat([f"p{i}" for i in range(10)], 10)
    y = np.zeros(100, int)
    return y, wrong.astype(int), subjects


def test_interval_contains_the_estimate():
    rng = np.random.default_rng(0)
    y, pred, subjects = ten_subjects(rng.random(100) < 0.2)
    ci = subject_bootstrap(y, pred, subjects, n_boot=300, seed=1)
    assert ci["estimate"] == pytest.approx(np.mean(y == pred))
    assert ci["low"] <= ci["estimate"] <= ci["high"]
    assert ci["n_subjects"] == 10 and ci["n_boot"] == 300 and ci["alpha"] == 0.05 and ci["note"] is None


def test_resamples_subjects_not_images():
    # the same 10 errors: all on one person, or one per person
    one_person = np.zeros(100, bool)
    one_person[:10] = True
    spread = np.zeros(100, bool)
    spread[::10] = True
    ci_one = subject_bootstrap(*ten_subjects(one_person), n_boot=400)
    ci_spread = subject_bootstrap(*ten_subjects(spread), n_boot=400)
    assert ci_one["estimate"] == ci_spread["estimate"] == 0.9
    # every resample of the spread case has exactly one error per person: a zero-width interval;
    # an image-level bootstrap would give both cases the same width
    assert ci_spread["low"] == ci_spread["high"] == 0.9
    assert ci_one["high"] - ci_one["low"] >= 0.2
    assert ci_one["low"] <= 0.8 and ci_one["high"] == 1.0


def test_deterministic_for_a_seed_and_custom_metric():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    pred = np.where(rng.random(60) < 0.8, y, 1 - y)
    subjects = np.repeat(np.arange(6), 10)
    a = subject_bootstrap(y, pred, subjects, n_boot=100, seed=7)
    assert a == subject_bootstrap(y, pred, subjects, n_boot=100, seed=7)
    recall = lambda t, p: float(np.mean(p[t == 1] == 1))  # noqa: E731
    r = subject_bootstrap(y, pred, subjects, metric=recall, n_boot=100)
    assert r["estimate"] == pytest.approx(recall(y, pred)) and r["low"] <= r["estimate"] <= r["high"]


def test_too_few_subjects_gives_a_note_instead_of_an_interval():
    y = np.zeros(8, int)
    ci = subject_bootstrap(y, y, ["a", "a", "b", "b", "c", "c", "d", "d"])
    assert MIN_SUBJECTS == 5
    assert ci["low"] is None and ci["high"] is None
    assert ci["n_subjects"] == 4 and "4 subjects" in ci["note"]
    assert ci["estimate"] == 1.0


def paired(only_a: int, only_b: int, both_right: int = 5, both_wrong: int = 3):
    y = np.zeros(only_a + only_b + both_right + both_wrong, int)
    a = np.array([0] * only_a + [1] * only_b + [0] * both_right + [1] * both_wrong)
    b = np.array([1] * only_a + [0] * only_b + [0] * both_right + [1] * both_wrong)
    return y, a, b


def test_mcnemar_exact_branch():
    res = mcnemar(*paired(8, 2))
    assert res["method"] == "exact binomial"
    assert res["a_right_b_wrong"] == 8 and res["a_wrong_b_right"] == 2
    # two-sided exact binomial with n = 10: 2 * (C(10,8) + C(10,9) + C(10,10)) / 2^10
    assert res["p_value"] == pytest.approx(2 * (45 + 10 + 1) / 1024)
    assert res["p_value"] == pytest.approx(binomtest(8, 10, 0.5).pvalue)
    assert res["accuracy_a"] == pytest.approx(13 / 18) and res["accuracy_b"] == pytest.approx(7 / 18)
    assert mcnemar(*paired(12, 12))["method"] == "exact binomial"  # 24 discordant pairs: still exact


def test_mcnemar_chi2_branch():
    res = mcnemar(*paired(30, 10))
    assert res["method"].startswith("chi-squared")
    stat = (abs(30 - 10) - 1) ** 2 / 40  # continuity-corrected
    assert res["p_value"] == pytest.approx(chi2.sf(stat, 1))
    assert res["p_value"] == pytest.approx(math.erfc(math.sqrt(stat / 2)))  # chi2(1) tail by hand
    assert mcnemar(*paired(13, 12))["method"].startswith("chi-squared")  # 25 discordant pairs


def test_mcnemar_symmetry_and_no_discordant_pairs():
    y, a, b = paired(9, 3)
    ab, ba = mcnemar(y, a, b), mcnemar(y, b, a)
    assert ab["p_value"] == pytest.approx(ba["p_value"])
    assert ab["a_right_b_wrong"] == ba["a_wrong_b_right"]
    same = mcnemar(y, a, a)
    assert same["p_value"] == 1.0 and same["method"] == "no discordant pairs"


def test_resamples_where_the_metric_is_undefined_are_left_out():
    # each person has one class only (as with class-folder data): some resamples draw no closed eye at all
    y = np.repeat([1, 1, 1, 0, 0, 0], 4)
    pred = y.copy()
    pred[:2] = 0
    subjects = np.repeat(list("abcdef"), 4)
    recall = lambda t, p: float(np.mean(p[t == 1] == 1)) if np.any(t == 1) else float("nan")  # noqa: E731
    ci = subject_bootstrap(y, pred, subjects, metric=recall, n_boot=1000)
    assert np.isfinite(ci["low"]) and np.isfinite(ci["high"]) and ci["low"] <= ci["estimate"] <= ci["high"]
    assert "resamples left out" in ci["note"]
    never = subject_bootstrap(y, pred, subjects, metric=lambda t, p: float("nan"), n_boot=10)
    assert never["low"] is None and "undefined on every resample" in never["note"]
