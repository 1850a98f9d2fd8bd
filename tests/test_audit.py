"""The label audit: images whose labels the models doubt come first, the audit is a manifest, corrections compare."""
import numpy as np
import pytest
from conftest import draw_eye, write_png

from eyebench.data.dataset import load_dataset
from eyebench.evaluate.audit import (
    UNREVIEWED,
    accept_top,
    audit_rows,
    compare_labels,
    original_labels,
    write_rows,
)
from eyebench.results import EyeState


@pytest.fixture
def flipped(tmp_path):
    """60 drawn eyes in class folders, ten of them filed under the wrong class; a 'model' that sees the truth."""
    rng = np.random.default_rng(0)
    truth, wrong = {}, set()
    for i in range(60):
        is_open = i % 2 == 0
        filed = not is_open if i % 6 == 0 else is_open  # every sixth image: the wrong folder (10 of 60)
        path = write_png(tmp_path / "data" / ("open" if filed else "closed") / f"p{i:02d}_{i:04d}.png",
                         draw_eye(is_open, rng, 48))
        truth[str(path)] = EyeState.OPEN if is_open else EyeState.CLOSED
        if filed != is_open:
            wrong.add(str(path))
    return tmp_path, truth, wrong


def seeing_models(dataset, truth, rng):
    """Two models near the true class (p(closed) 0.8-0.97 for closed eyes), plus noise."""
    y = np.array([truth[s.path] for s in dataset.samples])
    return {f"m{k}": np.clip(np.where(y == EyeState.CLOSED, 0.9, 0.1) + rng.normal(0, 0.04, len(y)), 0, 1) for k in (1, 2)}


def test_audit_ranks_the_flipped_labels_first(flipped):
    root, truth, wrong = flipped
    ds = load_dataset(root / "data")
    p = seeing_models(ds, truth, np.random.default_rng(1))
    rows = audit_rows(ds, p, {"m1": (0.2, 0.8), "m2": None}, root)
    assert len(rows) == 60 and [r["doubt"] for r in rows] == sorted((r["doubt"] for r in rows), reverse=True)
    top = {str((root / r["path"]).resolve()) for r in rows[:10]}
    assert top == {str((root / "data").resolve() / p.split("/data/")[1]) for p in wrong}
    assert all(r["suggested"] != r["label"] and r["n_disagree"] == 2 for r in rows[:10])
    assert all(r["suggested"] == r["label"] for r in rows[10:])


def test_the_audit_is_a_manifest_and_accept_top_relabels(flipped, tmp_path):
    root, truth, wrong = flipped
    ds = load_dataset(root / "data")
    rows = audit_rows(ds, seeing_models(ds, truth, np.random.default_rng(2)), {}, root)
    write_rows(rows, root / "audit.csv")
    again = load_dataset(root / "audit.csv")
    assert sorted(s.path for s in again.samples) == sorted(s.path for s in ds.samples)
    assert original_labels(again) is None  # not corrected yet
    corrected = accept_top(rows, 12)
    assert sum(r["decision"] == UNREVIEWED for r in corrected) == 10  # rows 11-12 agree with their label: kept
    write_rows(corrected, root / "corrected.csv")
    fixed = load_dataset(root / "corrected.csv")
    assert all(truth[s.path] == s.label for s in fixed.samples)  # every flipped label is back
    cmp = compare_labels(fixed, np.stack([1 - fixed.labels, fixed.labels], axis=1).astype(float))
    assert cmp["changed"] == 10 and cmp["open_to_closed"] + cmp["closed_to_open"] == 10
    assert cmp["corrected"]["accuracy"] == 1.0 and cmp["original"]["accuracy"] == pytest.approx(50 / 60)
