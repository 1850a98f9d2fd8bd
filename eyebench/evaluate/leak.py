"""The person-leak guard: how many evaluated images belong to people a checkpoint was trained or validated on."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..data.dataset import Dataset

if TYPE_CHECKING:
    from ..models.base import Classifier


def leak_report(clf: Classifier, dataset: Dataset) -> dict | None:
    """Counts of images whose subject is in the model's saved train or val split, with a message; None if none.

    Scores on those images are not a test of new people: the research's central lesson (a random split gave ~99%
    validation accuracy against ~96% on new people).
    """
    seen = {"train": set(clf.split.train), "val": set(clf.split.val)}
    subjects = dataset.subjects.tolist()
    counts = {part: sum(s in people for s in subjects) for part, people in seen.items()}
    n_seen = counts["train"] + counts["val"]
    if not n_seen:
        return None
    parts = " and ".join(f"{'training' if p == 'train' else 'validation'}" for p, n in counts.items() if n)
    message = (f"{n_seen} of {len(subjects)} images belong to this model's {parts} people; scores on them are not a "
               "test of new people: use --split test (or data of other people)")
    return {"n_images": len(subjects), "n_train": counts["train"], "n_val": counts["val"], "message": message}
