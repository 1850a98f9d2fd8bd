"""Evaluation results as frozen dataclasses; `to_dict` writes the JSON users get (the held-out bundle is read back)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from ..data.dataset import Dataset

CURVES = ("accuracy", "recall_closed", "recall_open")  # a model's curves over the levels of one sweep


@dataclass(frozen=True)
class SweepCurves:
    """One perturbation: its levels and, per model, accuracy, closed and open recall at each level."""
    levels: list
    models: dict[str, dict[str, list]]  # model -> {"accuracy": [...], "recall_closed": [...], "recall_open": [...]}

    def to_dict(self) -> dict:
        return {"levels": list(self.levels), "models": {k: dict(v) for k, v in self.models.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> SweepCurves:
        return cls(list(d["levels"]), {k: dict(v) for k, v in d["models"].items()})


@dataclass(frozen=True)
class SweepResults:
    """Every perturbation sweep of some models on the same `n` images; `models` names them in a held-out bundle."""
    note: str
    n: int
    sweeps: dict[str, SweepCurves]
    models: list[str] | None = None

    def to_dict(self) -> dict:
        out = {"note": self.note, "n": self.n, "sweeps": {k: b.to_dict() for k, b in self.sweeps.items()}}
        if self.models is not None:
            out["models"] = list(self.models)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> SweepResults:
        return cls(d["note"], d["n"], {k: SweepCurves.from_dict(b) for k, b in d["sweeps"].items()}, d.get("models"))

    def renamed(self, names: list[str]) -> SweepResults:
        """The same curves with the models renamed, in order, to `names` (which the result then lists)."""
        return SweepResults(self.note, self.n, {
            k: SweepCurves(b.levels, dict(zip(names, b.models.values()))) for k, b in self.sweeps.items()}, list(names))

    def only(self, names) -> SweepResults:
        """The curves of these models only (the list of models is kept as it was)."""
        return dataclasses.replace(self, sweeps={
            k: SweepCurves(b.levels, {n: b.models[n] for n in names}) for k, b in self.sweeps.items()})

    def rows(self) -> list[dict]:
        """One row per sweep, level and model (sweeps.csv): accuracy and closed recall."""
        return [{"sweep": s, "level": lvl, "model": n, "accuracy": res["accuracy"][i],
                 "recall_closed": res["recall_closed"][i]}
                for s, b in self.sweeps.items() for n, res in b.models.items() for i, lvl in enumerate(b.levels)]


def _metric(key: str) -> property:
    """An attribute reading one overall metric (None where the evaluation has none, e.g. ROC-AUC of one class)."""
    return property(lambda self: self.metrics.get(key), doc=f"the overall {key}, or None")


class OverallMetrics:
    """The overall metrics of an evaluation (its `metrics` record) as attributes; None where there is none."""
    metrics: dict

    @property
    def n(self) -> int:
        """Images evaluated."""
        return self.metrics["n"]

    accuracy = _metric("accuracy")
    balanced_accuracy = _metric("balanced_accuracy")
    recall_closed = _metric("recall_closed")
    recall_open = _metric("recall_open")
    roc_auc = _metric("roc_auc")
    confusion_matrix = _metric("confusion_matrix")


@dataclass(frozen=True)
class ModelEvaluation(OverallMetrics):
    """One model's analysis on a set of images: metrics, calibration, risk-coverage, band, CIs, subsets, leak."""
    name: str  # the registry name of its architecture
    checkpoint: str
    metrics: dict  # classification_metrics on every image: n, accuracy, ..., confusion_matrix
    per_source: dict[str, dict]
    worst_subject: dict | None
    per_subject: dict[str, dict]
    ece: float
    ece_definition: str
    brier: float
    reliability: list[dict]
    risk_coverage: dict  # coverage, risk, aurc, coverage_at_1pct_risk
    band: dict | None  # band_metrics under the model's stored uncertain band
    bootstrap_accuracy: dict | None = None
    bootstrap_recall_closed: dict | None = None
    subsets: list[dict] | None = None
    leak: dict | None = None
    leak_checked: bool = False  # whether the person-leak guard ran (then `leak` is written, even when None)

    def with_leak(self, leak: dict | None) -> ModelEvaluation:
        return dataclasses.replace(self, leak=leak, leak_checked=True)

    def to_dict(self) -> dict:
        out = {"name": self.name, "checkpoint": self.checkpoint, **self.metrics, "per_source": self.per_source,
               "worst_subject": self.worst_subject, "per_subject": self.per_subject, "ece": self.ece,
               "ece_definition": self.ece_definition, "brier": self.brier, "reliability": self.reliability,
               "risk_coverage": self.risk_coverage, "band": self.band}
        if self.bootstrap_accuracy is not None:
            out.update(bootstrap_accuracy=self.bootstrap_accuracy, bootstrap_recall_closed=self.bootstrap_recall_closed)
        if self.subsets is not None:
            out["subsets"] = self.subsets
        if self.leak_checked:
            out["leak"] = self.leak
        return out


@dataclass(frozen=True)
class CheckpointEvaluation(OverallMetrics):
    """One checkpoint's row of `evaluate`: metrics overall, per source and subject, band, leak, split and CI."""
    name: str
    checkpoint: str
    metrics: dict  # classification_metrics on every image ({"n": 0} without any)
    seconds: float
    per_source: dict[str, dict]
    per_subject: dict[str, dict]
    worst_subject: dict | None
    band: dict | None
    leak: dict | None
    per_head_angle: dict[str, dict] = field(default_factory=dict)  # factor -> bin -> metrics (face photos)
    split: str | None = None
    split_removed: int | None = None  # images of the other people, left out by --split
    bootstrap_accuracy: dict | None = None
    label_comparison: dict | None = None

    def to_dict(self) -> dict:
        out = {"name": self.name, "checkpoint": self.checkpoint, **self.metrics, "seconds": self.seconds,
               "per_source": self.per_source, "per_subject": self.per_subject, "worst_subject": self.worst_subject,
               "band": self.band, "leak": self.leak}
        if self.per_head_angle:
            out["per_head_angle"] = self.per_head_angle
        if self.split:
            out.update(split=self.split, split_removed=self.split_removed)
        if self.bootstrap_accuracy is not None:
            out["bootstrap_accuracy"] = self.bootstrap_accuracy
        if self.label_comparison is not None:
            out["label_comparison"] = self.label_comparison
        return out


@dataclass(frozen=True)
class Predictions:
    """The images an analysis used (a Dataset) and each model's p(closed) on them (not written to JSON)."""
    dataset: Dataset
    p_closed: dict[str, np.ndarray]


@dataclass(frozen=True)
class Analysis:
    """Several models analysed on the same images: one ModelEvaluation each, the data report, McNemar pairs, sweeps."""
    models: dict[str, ModelEvaluation]
    data: dict
    paired: list[dict]
    sweeps: SweepResults | None = None
    predictions: Predictions | None = None

    def to_dict(self) -> dict:
        out = {"models": {n: m.to_dict() for n, m in self.models.items()}, "data": self.data, "paired": self.paired}
        if self.sweeps is not None:
            out["sweeps"] = self.sweeps.to_dict()
        return out

    def curves(self) -> dict[str, dict]:
        """Each model's risk-coverage curve, by name."""
        return {n: m.risk_coverage for n, m in self.models.items()}

    def subjects_trusted(self) -> bool:
        """Whether the data's subjects are people: False when the data report or a model's subject-level bootstrap
        says they were read from file names that may not be (a missing flag counts as trusted)."""
        flags = [self.data.get("subjects_trusted")]
        flags += [(m.bootstrap_accuracy or {}).get("subjects_trusted") for m in self.models.values()]
        return all(flag is not False for flag in flags)

    def subset_rows(self) -> list[dict]:
        """Every model's subset rows, each with the model's name first."""
        return [{"model": n, **row} for n, m in self.models.items() for row in m.subsets or []]

    def robustness_dict(self) -> dict:
        """What `robustness --json` writes: per model its subsets, accuracy, closed recall and n; sweeps; data."""
        return {"models": {n: {"subsets": m.subsets, "accuracy": m.accuracy, "recall_closed": m.recall_closed,
                               "n": m.n} for n, m in self.models.items()},
                "sweeps": self.sweeps.to_dict(), "data": self.data}


@dataclass(frozen=True)
class HeldoutSummary:
    """bundle.json of a held-out bundle: the command, test people, columns, models with hashes, data and sweeps."""
    command: str
    subjects: list[str]  # the test people
    fixed_columns: list[str]
    metadata_columns: list[str]
    models: dict[str, dict]  # name -> checkpoint, architecture, weights_sha256, temperature, uncertain_band
    data: dict
    sweeps: SweepResults
    format: str
    format_version: int

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    def to_dict(self) -> dict:
        return {"format": self.format, "format_version": self.format_version, "command": self.command,
                "split": {"name": "test", "n_subjects": self.n_subjects, "subjects": list(self.subjects)},
                "columns": {"fixed": list(self.fixed_columns), "metadata": list(self.metadata_columns)},
                "models": self.models, "data": self.data, "sweeps": self.sweeps.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> HeldoutSummary:
        split, columns = d["split"], d["columns"]
        return cls(d.get("command", ""), list(split["subjects"]), list(columns["fixed"]), list(columns["metadata"]),
                   dict(d["models"]), dict(d["data"]), SweepResults.from_dict(d["sweeps"]), d["format"],
                   d["format_version"])
