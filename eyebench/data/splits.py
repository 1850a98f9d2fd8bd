"""Subject-disjoint train/val/test splits, stratified by class, with a leak check."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import EyebenchError
from .dataset import Dataset

SPLITS = ("train", "val", "test")


class SplitError(EyebenchError):
    """A split that cannot be made honestly (too few subjects) or that leaks a subject."""


def pick_group_fold(y: np.ndarray, groups: np.ndarray, frac: float, seed: int) -> np.ndarray:
    """Indices of one stratified group fold holding about `frac` of the samples."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(groups))
    k = int(round(1 / frac))
    k = max(2, min(k, n_groups))
    if n_groups < 2:
        raise SplitError(f"need at least 2 subjects to split, found {n_groups}")
    y_strat = y if len(np.unique(y)) > 1 else np.zeros_like(y)
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    _, held = next(folds.split(np.zeros(len(y)), y_strat, groups))
    return held


def split_by_subject(dataset: Dataset, val_frac: float = 0.15, test_frac: float = 0.15,
                     seed: int = 0) -> dict[str, list[str]]:
    """Assign every subject to train, val or test (per source, so each source appears in each split)."""
    assignment = {name: [] for name in SPLITS}
    subjects, y = dataset.subjects, dataset.labels
    sources = np.array([s.source for s in dataset.samples])
    for source in sorted(set(sources.tolist())):
        idx = np.flatnonzero(sources == source)
        groups, labels = subjects[idx], y[idx]
        if len(np.unique(groups)) < 3:
            raise SplitError(f"source {source!r} has {len(np.unique(groups))} subject(s); "
                             "a person-disjoint train/val/test split needs at least 3")
        test_idx = pick_group_fold(labels, groups, test_frac, seed) if test_frac > 0 else np.array([], int)
        rest = np.setdiff1d(np.arange(len(idx)), test_idx)
        val_idx = rest[pick_group_fold(labels[rest], groups[rest], val_frac / max(1 - test_frac, 1e-9), seed + 1)]
        test_s, val_s = set(groups[test_idx].tolist()), set(groups[val_idx].tolist())
        assignment["test"] += sorted(test_s)
        assignment["val"] += sorted(val_s)
        assignment["train"] += sorted(set(groups.tolist()) - test_s - val_s)
    check_disjoint(assignment)
    return assignment


def check_disjoint(assignment: dict[str, list[str]]) -> None:
    """Raise SplitError if any subject appears in two splits."""
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            shared = set(assignment.get(a, [])) & set(assignment.get(b, []))
            if shared:
                raise SplitError(f"subjects in both {a} and {b}: {sorted(shared)[:5]}")


def split_mask(dataset: Dataset, assignment: dict[str, list[str]] | SavedSplit, name: str) -> np.ndarray:
    """Boolean mask of the samples whose subjects the assignment (or saved split) puts in split `name`."""
    if name not in SPLITS:
        raise SplitError(f"unknown split {name!r}; choose from {SPLITS}")
    keep = set(assignment.part(name) if isinstance(assignment, SavedSplit) else assignment.get(name, []))
    return np.array([s.subject in keep for s in dataset.samples], dtype=bool)


def apply_split(dataset: Dataset, assignment: dict[str, list[str]] | SavedSplit, name: str) -> Dataset:
    """The part of `dataset` whose subjects the assignment puts in split `name`."""
    return dataset.subset(split_mask(dataset, assignment, name))


@dataclass(frozen=True)
class SavedSplit:
    """The people a checkpoint was trained (train), calibrated (val) and tested (test) on, with the rest of the record
    config.json keeps of its split (`record`: seed, fractions, n_images, by_source, ...)."""

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    record: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_record(cls, record: Mapping | None) -> SavedSplit:
        """The split of config.json's `split` entry (None or {} for a checkpoint without one)."""
        record = record or {}
        return cls(*(tuple(record.get(part) or ()) for part in SPLITS),
                   {k: v for k, v in record.items() if k not in SPLITS})

    def to_dict(self) -> dict:
        """config.json's `split` entry: the people of each part, then the rest of the record."""
        return {**self.parts(), **self.record}

    def parts(self) -> dict[str, list[str]]:
        """{train, val, test: people} as split.json holds them."""
        return {part: list(self.part(part)) for part in SPLITS}

    def part(self, name: str) -> tuple[str, ...]:
        """The people of part `name` (train, val or test)."""
        if name not in SPLITS:
            raise SplitError(f"unknown split {name!r}; choose from {SPLITS}")
        return getattr(self, name)

    def __bool__(self) -> bool:
        """Whether the checkpoint has a saved split at all."""
        return bool(self.train or self.val or self.test)

    @property
    def n_images(self) -> dict:
        """Images of each part its training had ({} when not recorded)."""
        return self.record.get("n_images") or {}

    def mask(self, dataset: Dataset, name: str, checkpoint: str) -> np.ndarray:
        """`split_mask` of part `name`, refusing data that holds another number of that part's images than training had
        (`n_images`; other data, or only some of it, would give silently partial results); errors name `checkpoint`."""
        mask = split_mask(dataset, self, name)
        expected = self.n_images.get(name)
        if expected is not None and int(mask.sum()) != int(expected):
            raise SplitError(f"{checkpoint}: the data given holds {int(mask.sum())} {name} images, training had "
                             f"{expected}: pass the same --data folders it was trained on")
        return mask

    @staticmethod
    def shared(splits: Mapping[str, SavedSplit], *, needs: str, missing: str, differ: str,
               parts: tuple[str, ...] = SPLITS, error: type[Exception] = EyebenchError) -> SavedSplit:
        """The one split that all of `splits` (by checkpoint name) were trained with: each must have people in part
        `needs` (else `error(missing)`) and the same people in each of `parts` (else `error(differ)`); the messages are
        formatted with `names` (those at fault, comma-separated) and `first` (the first name)."""
        lacking = [name for name, s in splits.items() if not s.part(needs)]
        if lacking:
            raise error(missing.format(names=", ".join(lacking), first=next(iter(splits))))
        first_name, first = next(iter(splits.items()))
        differ_names = [name for name, s in splits.items()
                        if any(sorted(s.part(p)) != sorted(first.part(p)) for p in parts)]
        if differ_names:
            raise error(differ.format(names=", ".join(differ_names), first=first_name))
        return first
