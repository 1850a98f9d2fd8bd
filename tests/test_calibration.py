"""Calibration: top-label ECE (15 bins on [0.5, 1]), reliability bins, Brier score and temperature scaling."""
import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from eyebench.evaluate.calibration import (
    ECE_DEFINITION,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from eyebench.models.base import proba_from_logits


def proba_of(p_closed):
    p = np.asarray(p_closed, float)
    return np.stack([1 - p, p], axis=1)


def test_ece_hand_computed():
    # p(closed) 0.92, 0.92, 0.62, 0.25 -> confidence 0.92, 0.92, 0.62, 0.75 (bins of width 1/30 from 0.5:
    # 0.92 -> bin 12, 0.62 -> bin 3, 0.75 -> bin 7); correct: yes, no, yes, yes
    y = [1, 0, 1, 0]
    proba = proba_of([0.92, 0.92, 0.62, 0.25])
    expected = 2 / 4 * abs(0.5 - 0.92) + 1 / 4 * abs(1 - 0.62) + 1 / 4 * abs(1 - 0.75)
    assert expected == pytest.approx(0.3675)
    assert expected_calibration_error(y, proba) == pytest.approx(expected)


def test_ece_is_top_label_and_symmetric_in_the_classes():
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.1, 0.8, 0.3, 0.45, 0.97])
    # swapping both the labels and the columns describes the same predictions: top-label ECE is unchanged
    assert expected_calibration_error(1 - y, proba_of(1 - p)) == pytest.approx(expected_calibration_error(y, proba_of(p)))


def test_ece_of_a_calibrated_model_is_small_and_of_an_overconfident_one_large():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20000)
    y = (rng.random(20000) < p).astype(int)  # labels drawn from p: calibrated by construction
    assert expected_calibration_error(y, proba_of(p)) < 0.02
    sharp = np.where(p >= 0.5, 0.999, 0.001)  # same decisions, claimed certainty
    assert expected_calibration_error(y, proba_of(sharp)) > 0.2


def test_ece_edge_cases():
    assert np.isnan(expected_calibration_error([], np.zeros((0, 2))))
    assert expected_calibration_error([1, 0], proba_of([1.0, 0.0])) == 0.0
    assert "15" in ECE_DEFINITION and "top-label" in ECE_DEFINITION


def test_reliability_bins():
    y = [1, 0, 1, 0, 0]
    proba = proba_of([0.92, 0.92, 0.62, 0.25, 0.5])  # the last one: confidence 0.5, predicted open (argmax ties -> 0)
    bins = reliability_bins(y, proba)
    assert len(bins) == 15
    assert bins[0]["low"] == 0.5 and bins[-1]["high"] == 1.0
    for a, b in zip(bins, bins[1:]):
        assert a["high"] == pytest.approx(b["low"])
        assert a["high"] - a["low"] == pytest.approx(1 / 30)
    assert sum(b["n"] for b in bins) == 5
    filled = {i: b for i, b in enumerate(bins) if b["n"]}
    assert set(filled) == {0, 3, 7, 12}
    assert filled[12]["n"] == 2 and filled[12]["confidence"] == pytest.approx(0.92) and filled[12]["accuracy"] == 0.5
    assert filled[0]["confidence"] == pytest.approx(0.5) and filled[0]["accuracy"] == 1.0
    assert all(b["confidence"] is None and b["accuracy"] is None for i, b in enumerate(bins) if i not in filled)
    # confidence 1.0 falls in the last bin, not past it
    assert reliability_bins([1], proba_of([1.0]))[-1]["n"] == 1


def test_brier_matches_sklearn():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 200)
    y = rng.integers(0, 2, 200)
    assert brier_score(y, proba_of(p)) == pytest.approx(brier_score_loss(y, p))
    assert brier_score([1, 0], proba_of([1.0, 0.0])) == 0.0
    assert brier_score([1, 0], proba_of([0.0, 1.0])) == 1.0


@pytest.mark.parametrize("true_t", [0.5, 3.0])
def test_fit_temperature_recovers_a_known_temperature_and_lowers_ece(true_t):
    rng = np.random.default_rng(2)
    z = rng.normal(0, 2.5, 6000)  # calibrated logits
    y = (rng.random(6000) < 1 / (1 + np.exp(-z))).astype(int)
    logits = true_t * z  # the model's logits are off by a factor true_t
    t = fit_temperature(logits, y)
    assert t == pytest.approx(true_t, rel=0.1)
    before = expected_calibration_error(y, proba_from_logits(logits, 1.0))
    after = expected_calibration_error(y, proba_from_logits(logits, t))
    assert after < before and after < 0.03
