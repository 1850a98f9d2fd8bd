"""The uncertain band on p(closed): applying it, its metrics, fitting it for a target risk, risk-coverage."""
import numpy as np
import pytest

from eyebench.config import DECISION_NAMES
from eyebench.evaluate.thresholds import (
    BandStats,
    apply_band,
    band_detail,
    band_groups,
    band_metrics,
    band_stats,
    fit_band,
    risk_coverage,
)
from eyebench.results import Decision, EyeState


def test_apply_band():
    p = [0.0, 0.2, 0.21, 0.5, 0.79, 0.8, 1.0]
    assert apply_band(p, [0.2, 0.8]).tolist() == [0, 0, Decision.UNCERTAIN, Decision.UNCERTAIN, Decision.UNCERTAIN, 1, 1]  # bounds inclusive
    assert apply_band(p, None).tolist() == [0, 0, 0, 1, 1, 1, 1]  # no band: threshold 0.5
    # an empty band is the plain 0.5 threshold (p == 0.5 is closed either way)
    assert apply_band(p, [0.5, 0.5]).tolist() == apply_band(p, None).tolist()
    assert DECISION_NAMES[Decision.UNCERTAIN] == "uncertain"


def test_band_metrics_hand_computed():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.5, 0.9, 0.05, 0.6, 0.95])
    m = band_metrics(y, p, [0.3, 0.7])
    # accepted: 0.1 -> open (right), 0.9 -> closed (wrong), 0.05 -> open (wrong), 0.95 -> closed (right)
    assert m["n"] == 6 and m["n_uncertain"] == 2
    assert m["coverage"] == pytest.approx(4 / 6)
    assert m["selective_risk"] == pytest.approx(2 / 4)
    assert m["rejection_rate"] == {"open": pytest.approx(1 / 3), "closed": pytest.approx(1 / 3)}
    assert m["band"] == [0.3, 0.7]


def test_band_stats_is_the_band_metrics_json():
    y, p = np.array([0, 0, 0, 1, 1, 1]), np.array([0.1, 0.5, 0.9, 0.05, 0.6, 0.95])
    s = band_stats(y, p, (0.3, 0.7))
    assert s.to_dict() == band_metrics(y, p, [0.3, 0.7]) and BandStats.from_dict(s.to_dict()) == s
    assert s.rejection_rate(EyeState.OPEN) == pytest.approx(1 / 3) and s.n_uncertain == 2
    detail = band_detail(y, p, (0.3, 0.7), ["a", "a", "b", "b", "b", "b"], {("source", "x"): y >= 0})
    assert detail.accepted_accuracy == pytest.approx(1 / 2) and detail.closed_recall_overall == pytest.approx(1 / 3)
    assert detail.three_way == {"open": {"open": 1, "uncertain": 1, "closed": 1},
                                "closed": {"open": 1, "uncertain": 1, "closed": 1}}
    assert [r["subject"] for r in detail.person_rejection] == ["a", "b"] and detail.subset_rejection[0]["n"] == 6
    assert set(detail.numbers()) == set(s.to_dict()) | {"accepted_accuracy", "closed_recall_accepted",
                                                         "closed_recall_overall", "three_way"}


def test_band_metrics_when_nothing_is_accepted_or_a_class_is_absent():
    m = band_metrics([0, 1], [0.4, 0.6], [0.1, 0.9])
    assert m["coverage"] == 0.0 and m["selective_risk"] is None and m["n_uncertain"] == 2
    m = band_metrics([0, 0], [0.1, 0.2], [0.3, 0.7])
    assert m["rejection_rate"] == {"open": 0.0, "closed": None}
    assert band_metrics([0, 1], [0.2, 0.7], None)["coverage"] == 1.0


def test_fit_band_reaches_the_target_with_the_widest_coverage():
    # confident images are right; one closed eye at 0.4 and one open eye at 0.6 are wrong
    p_open = [0.05, 0.1, 0.15, 0.3, 0.45]
    p_closed = [0.55, 0.7, 0.85, 0.9, 0.95]
    y = np.array([0] * 5 + [1] * 5 + [1, 0])
    p = np.array(p_open + p_closed + [0.4, 0.6])
    fit = fit_band(y, p, target_risk=0.0)
    low, high = fit["band"]
    assert fit["reached"] is True and fit["target_risk"] == 0.0
    assert fit["selective_risk"] == 0.0
    # the widest error-free band accepts everything except the two mistakes and the images between them
    assert 0.3 <= low < 0.4 and 0.6 < high <= 0.7
    assert fit["coverage"] == pytest.approx(8 / 12)
    assert apply_band(p, fit["band"]).tolist() == [0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 2, 2]
    # a looser target accepts more
    loose = fit_band(y, p, target_risk=0.2)
    assert loose["reached"] and loose["coverage"] > fit["coverage"] and loose["selective_risk"] <= 0.2


def test_fit_band_reports_an_unreachable_target():
    # the most confident image on each side is wrong: every non-empty band keeps an error
    y = np.array([1, 0, 0, 1, 1, 0])
    p = np.array([0.01, 0.2, 0.3, 0.7, 0.8, 0.99])
    fit = fit_band(y, p, target_risk=0.01)
    assert fit["reached"] is False
    assert fit["selective_risk"] == pytest.approx(1 / 3)  # the lowest risk any band gets here
    assert fit["coverage"] == 1.0  # ... and among those bands, the widest


def test_per_person_band_does_not_let_a_hard_person_hide_behind_easy_ones():
    # "easy": 96 confident, right images; "hard": 4 images, one closed eye wrongly at p(closed) 0.3
    y_easy, p_easy = np.array([0] * 48 + [1] * 48), np.array([0.02] * 48 + [0.98] * 48)
    y_hard, p_hard = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.9])
    y, p = np.concatenate([y_easy, y_hard]), np.concatenate([p_easy, p_hard])
    groups = np.array(["easy"] * 96 + ["hard"] * 4)
    pooled = fit_band(y, p, target_risk=0.02)
    assert pooled["rule"] == "pooled" and pooled["coverage"] == 1.0  # 1 error in 100 is within 2% on average
    per_person = fit_band(y, p, target_risk=0.02, groups=groups)
    assert per_person["rule"] == "per person" and per_person["reached"]
    assert apply_band([0.3], per_person["band"])[0] == Decision.UNCERTAIN  # the hard person's mistake is no longer accepted
    assert band_metrics(y_hard, p_hard, per_person["band"])["selective_risk"] <= 0.02
    assert per_person["worst_group"]["selective_risk"] <= 0.02
    assert per_person["coverage"] == pytest.approx(99 / 100)  # only the mistake at 0.3 is left uncertain
    # pooled with the groups given: the same band as without them, and it says who pays for the average
    told = fit_band(y, p, target_risk=0.02, groups=groups, per_group=False)
    assert told["rule"] == "pooled" and told["band"] == pooled["band"]
    assert told["worst_group"] == {"group": "hard", "n": 4, "selective_risk": pytest.approx(1 / 4)}


def test_band_groups_pool_small_subjects_per_source():
    subjects = ["s1"] * 3 + ["a", "b", "c"]
    sources = ["mrl"] * 3 + ["cew"] * 3
    g = band_groups(subjects, sources, min_n=3).tolist()
    assert g == ["s1"] * 3 + ["cew: people with < 3 images"] * 3


def test_fit_band_with_one_side_only():
    fit = fit_band([0, 0, 0], [0.1, 0.2, 0.3], target_risk=0.01)
    assert fit["reached"] and fit["coverage"] == 1.0 and fit["selective_risk"] == 0.0


def test_risk_coverage_hand_computed():
    y = [0, 1, 0, 1]
    p = np.array([0.1, 0.3, 0.6, 0.95])
    proba = np.stack([1 - p, p], axis=1)
    rc = risk_coverage(y, proba)
    # by confidence: 0.95 right, 0.9 right, 0.7 wrong, 0.6 wrong
    assert rc["coverage"] == [0.25, 0.5, 0.75, 1.0]
    assert rc["risk"] == pytest.approx([0, 0, 1 / 3, 1 / 2])
    assert rc["aurc"] == pytest.approx((0 + 0 + 1 / 3 + 1 / 2) / 4)  # 5/24
    assert rc["coverage_at_1pct_risk"] == 0.5


def test_coverage_at_1pct_risk():
    n = 1000
    y = np.zeros(n, int)
    conf = np.linspace(0.99, 0.51, n)  # decreasing confidence, all predicted open
    proba = np.stack([conf, 1 - conf], axis=1)
    y[[400, 500, 600, 700, 800, 900]] = 1  # errors at ranks 401, 501, ...
    rc = risk_coverage(y, proba)
    # every prefix stays at or under 1% risk (the worst is 1/401 ... 6/901): full coverage
    assert rc["coverage_at_1pct_risk"] == 1.0
    y[:20] = 1  # twenty confident mistakes: no prefix reaches 1% until the errors are diluted enough
    rc = risk_coverage(y, proba)
    assert rc["coverage_at_1pct_risk"] == 0.0
    assert risk_coverage([], np.zeros((0, 2)))["aurc"] is None


def test_aurc_of_a_perfect_ranking_is_lower_than_of_a_reversed_one():
    y = np.array([0] * 8 + [1] * 2)
    good = np.array([0.05] * 8 + [0.45] * 2)  # errors are the least confident (predicted open, truly closed)
    bad = np.array([0.45] * 8 + [0.05] * 2)  # errors are the most confident

    def aurc(p):
        return risk_coverage(y, np.stack([1 - p, p], 1))["aurc"]

    assert aurc(good) < aurc(bad)
