"""How sure we are: subject-level bootstrap confidence intervals and paired tests between two models."""
from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, chi2

MIN_SUBJECTS = 5
NOT_PEOPLE = "the interval may not be over people"


def subject_bootstrap(y_true, y_pred, subjects, metric=None, n_boot: int = 1000, alpha: float = 0.05,
                      seed: int = 0, doubts: list[str] | tuple = ()) -> dict:
    """Percentile CI of a metric (default accuracy) resampling SUBJECTS with replacement, not images.

    With fewer than MIN_SUBJECTS subjects the interval is not computed and `note` says why. `doubts`: why the subjects
    may not be people (`Dataset.subject_doubts`, e.g. names that look like counters); given any, `subjects_trusted` is
    False and `note` says so, interval or not.
    """
    y_true, y_pred, subjects = np.asarray(y_true), np.asarray(y_pred), np.asarray(subjects, dtype=object)
    metric = metric or (lambda t, p: float(np.mean(t == p)))
    names, inverse = np.unique(subjects, return_inverse=True)
    point = metric(y_true, y_pred)
    out = {"estimate": point, "n_subjects": int(len(names)), "n_boot": n_boot, "alpha": alpha,
           "low": None, "high": None, "note": None, "subjects_trusted": not doubts}
    if len(names) < MIN_SUBJECTS:
        out["note"] = f"only {len(names)} subjects: too few for a subject-level interval (need {MIN_SUBJECTS})"
        return _with_doubts(out, doubts)
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(inverse == i) for i in range(len(names))]
    stats = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(names), len(names))
        idx = np.concatenate([members[i] for i in pick])
        stats.append(metric(y_true[idx], y_pred[idx]))
    stats = np.asarray(stats, dtype=float)
    defined = np.isfinite(stats)  # e.g. closed recall of a resample that drew no closed eye: left out, not NaN
    if not defined.any():
        out["note"] = "the metric is undefined on every resample"
        return _with_doubts(out, doubts)
    if not defined.all():
        out["note"] = f"{int((~defined).sum())} of {n_boot} resamples left out: the metric is undefined on them"
    out["low"], out["high"] = (float(v) for v in np.quantile(stats[defined], [alpha / 2, 1 - alpha / 2]))
    return _with_doubts(out, doubts)


def _with_doubts(out: dict, doubts) -> dict:
    """The result with its note extended by why the subjects may not be people (first, as it matters most)."""
    if doubts:
        out["note"] = "; ".join([f"{'; '.join(doubts)}: {NOT_PEOPLE}"] + ([out["note"]] if out["note"] else []))
    return out


def mcnemar(y_true, pred_a, pred_b) -> dict:
    """McNemar's test on the same images: exact binomial when discordant pairs < 25, else chi2 with correction."""
    y, a, b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    only_a = int(np.sum((a == y) & (b != y)))
    only_b = int(np.sum((a != y) & (b == y)))
    n = only_a + only_b
    if n == 0:
        p = 1.0
        method = "no discordant pairs"
    elif n < 25:
        p = float(binomtest(only_a, n, 0.5).pvalue)
        method = "exact binomial"
    else:
        stat = (abs(only_a - only_b) - 1) ** 2 / n
        p = float(chi2.sf(stat, 1))
        method = "chi-squared with continuity correction"
    return {"a_right_b_wrong": only_a, "a_wrong_b_right": only_b, "p_value": p, "method": method,
            "accuracy_a": float(np.mean(a == y)), "accuracy_b": float(np.mean(b == y))}
