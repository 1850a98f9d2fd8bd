"""The "uncertain" band on p(closed): fitting it for a target selective risk, applying it, risk-coverage curves."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..config import MIN_GROUP_IMAGES
from ..results import Decision, EyeState


def apply_band(p_closed, band) -> np.ndarray:
    """Decisions 0 open / 1 closed / 2 uncertain: open if p <= low, closed if p >= high, else uncertain."""
    p = np.asarray(p_closed, float)
    if band is None:
        return (p >= 0.5).astype(int)
    low, high = band
    out = np.full(len(p), Decision.UNCERTAIN, dtype=int)
    out[p <= low] = Decision.OPEN
    out[p >= high] = Decision.CLOSED
    return out


@dataclasses.dataclass(frozen=True)
class BandStats:
    """A band on a set of images: coverage, selective risk (error rate on the accepted images), the images left
    uncertain and the share of each true class sent to uncertain (None where undefined)."""

    band: tuple | None
    n: int
    coverage: float | None
    selective_risk: float | None
    n_uncertain: int
    rejected_open: float | None
    rejected_closed: float | None

    def rejection_rate(self, state: EyeState) -> float | None:
        """The share of the truly `state` images sent to uncertain (None without such images)."""
        return self.rejected_closed if state == EyeState.CLOSED else self.rejected_open

    def to_dict(self) -> dict:
        """The band metrics as files hold them (config.json, model cards, evaluate --json, the held-out bundle)."""
        return {"band": list(self.band) if self.band is not None else None, "n": self.n, "coverage": self.coverage,
                "selective_risk": self.selective_risk, "n_uncertain": self.n_uncertain,
                "rejection_rate": {c.text: self.rejection_rate(c) for c in EyeState}}

    @classmethod
    def from_dict(cls, d: dict) -> BandStats:
        """The band metrics of a file (`to_dict`'s keys)."""
        rejection = d["rejection_rate"]
        return cls(tuple(d["band"]) if d["band"] is not None else None, d["n"], d["coverage"], d["selective_risk"],
                   d["n_uncertain"], rejection[EyeState.OPEN.text], rejection[EyeState.CLOSED.text])


@dataclasses.dataclass(frozen=True)
class BandDetail(BandStats):
    """BandStats with what the Threshold tab shows besides: accuracy and closed recall on the accepted images, closed
    recall over all, counts of true class x decision, and the rejection per subset and per person (table rows)."""

    accepted_accuracy: float | None = None
    closed_recall_accepted: float | None = None
    closed_recall_overall: float | None = None
    three_way: dict = dataclasses.field(default_factory=dict)  # {true class: {decision: images}}
    subset_rejection: list = dataclasses.field(default_factory=list)  # {"factor", "value", "n", "rejected"} rows
    person_rejection: list = dataclasses.field(default_factory=list)  # {"subject", "n", "rejected", ...} rows

    def numbers(self) -> dict:
        """Every figure but the two tables, as JSON (the tab's raw numbers)."""
        return {**super().to_dict(), "accepted_accuracy": self.accepted_accuracy,
                "closed_recall_accepted": self.closed_recall_accepted,
                "closed_recall_overall": self.closed_recall_overall, "three_way": self.three_way}

    def to_dict(self) -> dict:
        """`numbers` and the two tables."""
        return {**self.numbers(), "subset_rejection": self.subset_rejection, "person_rejection": self.person_rejection}


@dataclasses.dataclass(frozen=True)
class ProbabilityCache:
    """An evaluation's per-image numbers that the Threshold tab tunes bands on (no model runs): labels, people and
    sources, paths, the Robustness tab's subsets {(factor, value): mask}, p(closed) and risk-coverage curve by model."""

    labels: np.ndarray
    subjects: np.ndarray  # one person per image (dtype object)
    sources: list[str]
    paths: list[str]
    subsets: dict[tuple[str, str], np.ndarray]
    p_closed: dict[str, np.ndarray]
    risk_coverage: dict[str, dict]

    def holds(self, model) -> bool:
        """Whether the cache has p(closed) of `model`."""
        return model in self.p_closed


def band_stats(y_true, p_closed, band) -> BandStats:
    """Coverage, selective risk (error rate on accepted images) and the rejection rate of each true class."""
    y = np.asarray(y_true)
    d = apply_band(p_closed, band)
    accepted = d != Decision.UNCERTAIN
    rejection = [float((~accepted[y == i]).mean()) if (y == i).any() else None for i in EyeState]
    return BandStats(tuple(band) if band is not None else None, int(len(y)),
                     float(accepted.mean()) if len(y) else None,
                     float((d[accepted] != y[accepted]).mean()) if accepted.any() else None,
                     int((~accepted).sum()), *rejection)


def band_metrics(y_true, p_closed, band) -> dict:
    """`band_stats` as files hold it (its `to_dict`)."""
    return band_stats(y_true, p_closed, band).to_dict()


def band_detail(y_true, p_closed, band, subjects, subsets: dict) -> BandDetail:
    """`band_stats` with the Threshold tab's figures; `subsets` {(factor, value): image mask}."""
    y, p = np.asarray(y_true), np.asarray(p_closed, float)
    d = apply_band(p, band)
    acc = d != Decision.UNCERTAIN
    closed = y == EyeState.CLOSED
    order = (Decision.OPEN, Decision.UNCERTAIN, Decision.CLOSED)
    return BandDetail(
        **dataclasses.asdict(band_stats(y, p, band)),
        accepted_accuracy=float((d[acc] == y[acc]).mean()) if acc.any() else None,
        closed_recall_accepted=float((d[acc & closed] == EyeState.CLOSED).mean()) if (acc & closed).any() else None,
        closed_recall_overall=float((d[closed] == EyeState.CLOSED).mean()) if closed.any() else None,
        three_way={c.text: {k.text: int(np.sum((y == c) & (d == k))) for k in order} for c in EyeState},
        subset_rejection=[{"factor": k, "value": v, "n": int(m.sum()), "rejected": float((~acc[m]).mean())}
                          for (k, v), m in subsets.items() if m.any()],
        person_rejection=person_rejection(subjects, y, d))


def person_rejection(subjects, y: np.ndarray, decisions: np.ndarray) -> list[dict]:
    """Per person: images, share sent to uncertain, and accuracy on the accepted ones (most rejected first)."""
    subjects = np.asarray(subjects, dtype=object)
    rows = []
    for person in sorted(set(subjects.tolist())):
        m = subjects == person
        acc = m & (decisions != Decision.UNCERTAIN)
        rows.append({"subject": person, "n": int(m.sum()), "rejected": float(1 - acc.sum() / m.sum()),
                     "accepted_accuracy": float((decisions[acc] == y[acc]).mean()) if acc.any() else None})
    return sorted(rows, key=lambda r: (-r["rejected"], -r["n"]))


def band_groups(subjects, sources, min_n: int = MIN_GROUP_IMAGES) -> np.ndarray:
    """Group of each image for the per-person band rule: its subject if they have >= min_n images, else a pool of
    its source's smaller subjects (CEW people have 2-4 crops each: too few to hold a risk on their own)."""
    subjects, sources = np.asarray(subjects, dtype=object), np.asarray(sources, dtype=object)
    names, counts = np.unique(subjects.astype(str), return_counts=True)
    big = set(names[counts >= min_n].tolist())
    return np.array([str(s) if str(s) in big else f"{src}: people with < {min_n} images"
                     for s, src in zip(subjects, sources)], dtype=object)


def _band_counts(y: np.ndarray, p: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accepted images and errors for every (low, high) pair of the grid."""
    below, above = p[None, :] <= lows[:, None], p[None, :] >= highs[:, None]
    acc = below.sum(1)[:, None] + above.sum(1)[None, :]
    err = (below & (y[None, :] == EyeState.CLOSED)).sum(1)[:, None] + (above & (y[None, :] != EyeState.CLOSED)).sum(1)[None, :]
    return acc, err


def fit_band(y_true, p_closed, target_risk: float = 0.01, n_grid: int = 200, groups=None,
             per_group: bool = True) -> dict:
    """Widest-coverage band [low, high] whose selective risk on these (validation) images is <= target_risk.

    With `groups` (see band_groups) and `per_group` the risk must also stay <= target_risk within every group, so
    that one hard person cannot hide behind easy ones; with groups the riskiest group is reported either way. If no
    band reaches the target, the band with the lowest (worst-group) risk is returned with `reached: False`.
    """
    y, p = np.asarray(y_true), np.asarray(p_closed, float)
    lows = np.unique(np.concatenate([[0.0], np.quantile(p[p < 0.5], np.linspace(0, 1, n_grid))])) if (p < 0.5).any() else np.array([0.0])
    highs = np.unique(np.concatenate([[1.0], np.quantile(p[p >= 0.5], np.linspace(0, 1, n_grid))])) if (p >= 0.5).any() else np.array([1.0])
    lows, highs = lows[lows < 0.5], highs[highs >= 0.5]
    acc, err = _band_counts(y, p, lows, highs)
    risk = np.where(acc > 0, err / np.maximum(acc, 1), np.inf)
    worst = risk.copy()
    groups = np.asarray(groups) if groups is not None else np.array([], dtype=object)
    names = sorted(set(groups.tolist()))
    group_risk = {}
    for g in names:
        m = groups == g
        a, e = _band_counts(y[m], p[m], lows, highs)
        group_risk[g] = np.where(a > 0, e / np.maximum(a, 1), 0.0)  # a group with nothing accepted risks nothing
        if per_group:
            worst = np.maximum(worst, group_risk[g])
    ok = worst <= target_risk
    reached = bool(ok.any())
    if not reached:
        ok = worst == worst.min()
    i, j = np.unravel_index(np.argmax(np.where(ok, acc, -1)), acc.shape)
    band = [float(lows[i]), float(highs[j])]
    out = {"band": band, "target_risk": target_risk, "reached": reached,
           "rule": "per person" if names and per_group else "pooled", **band_metrics(y, p, band)}
    if names:
        g = max(names, key=lambda n: group_risk[n][i, j])
        out["worst_group"] = {"group": g, "n": int((groups == g).sum()), "selective_risk": float(group_risk[g][i, j])}
    return out


def risk_coverage(y_true, proba) -> dict:
    """Risk-coverage curve by confidence (max probability), AURC and the coverage at 1% risk."""
    proba = np.asarray(proba, float)
    y = np.asarray(y_true)
    if len(y) == 0:
        return {"coverage": [], "risk": [], "aurc": None, "coverage_at_1pct_risk": None}
    order = np.argsort(-proba.max(axis=1), kind="stable")
    errors = (proba.argmax(axis=1) != y)[order].astype(float)
    k = np.arange(1, len(y) + 1)
    risk = np.cumsum(errors) / k
    coverage = k / len(y)
    ok = np.flatnonzero(risk <= 0.01)
    return {"coverage": coverage.tolist(), "risk": risk.tolist(), "aurc": float(risk.mean()),
            "coverage_at_1pct_risk": float(coverage[ok.max()]) if len(ok) else 0.0}
