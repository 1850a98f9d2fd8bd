"""Classification metrics against scikit-learn, undefined values as None, and per-group accuracy."""
import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from eyebench.evaluate.metrics import classification_metrics, per_group_accuracy
from eyebench.results import EyeState

KEYS = {"n", "accuracy", "balanced_accuracy", "recall_open", "recall_closed", "precision_open", "precision_closed",
        "f1_closed", "roc_auc", "confusion_matrix"}


def proba_from_closed(p_closed):
    p_closed = np.asarray(p_closed, float)
    return np.stack([1 - p_closed, p_closed], axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    p_closed = np.clip(0.35 * y + rng.random(60) * 0.65, 0, 1)  # informative but imperfect
    pred = (p_closed >= 0.5).astype(int)
    m = classification_metrics(y, proba_from_closed(p_closed))
    assert set(m) == KEYS
    assert m["n"] == 60
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["recall_closed"] == pytest.approx(recall_score(y, pred, pos_label=EyeState.CLOSED))
    assert m["recall_open"] == pytest.approx(recall_score(y, pred, pos_label=EyeState.OPEN))
    assert m["precision_closed"] == pytest.approx(precision_score(y, pred, pos_label=EyeState.CLOSED))
    assert m["precision_open"] == pytest.approx(precision_score(y, pred, pos_label=EyeState.OPEN))
    assert m["f1_closed"] == pytest.approx(f1_score(y, pred, pos_label=EyeState.CLOSED))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p_closed))
    assert m["confusion_matrix"] == confusion_matrix(y, pred, labels=[EyeState.OPEN, EyeState.CLOSED]).tolist()


def test_accepts_closed_probabilities_and_threshold():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.55, 0.9])
    assert classification_metrics(y, p) == classification_metrics(y, proba_from_closed(p))
    assert classification_metrics(y, p)["confusion_matrix"] == [[1, 1], [0, 2]]
    assert classification_metrics(y, p, threshold=0.7)["confusion_matrix"] == [[2, 0], [1, 1]]
    assert classification_metrics(y, [0.5, 0.2, 0.5, 0.5])["confusion_matrix"] == [[1, 1], [0, 2]]  # >= threshold


def test_confusion_matrix_layout():
    # rows: true open, true closed; columns: predicted open, predicted closed
    m = classification_metrics([EyeState.OPEN, EyeState.OPEN, EyeState.OPEN, EyeState.CLOSED], proba_from_closed([0.0, 0.0, 1.0, 0.0]))
    assert m["confusion_matrix"] == [[2, 1], [1, 0]]
    assert m["recall_closed"] == 0.0 and m["precision_closed"] == 0.0 and m["f1_closed"] == 0.0


def test_single_class_gives_none():
    m = classification_metrics([EyeState.OPEN] * 5, proba_from_closed([0.1, 0.2, 0.3, 0.8, 0.9]))
    assert m["roc_auc"] is None
    assert m["recall_closed"] is None
    assert m["recall_open"] == pytest.approx(0.6)
    assert m["balanced_accuracy"] == pytest.approx(0.6)  # mean over the classes that are present
    assert m["precision_closed"] == 0.0
    assert m["confusion_matrix"] == [[3, 2], [0, 0]]


def test_no_predicted_closed_gives_none_precision():
    m = classification_metrics([EyeState.OPEN, EyeState.CLOSED], proba_from_closed([0.1, 0.2]))
    assert m["precision_closed"] is None and m["f1_closed"] is None
    assert m["recall_closed"] == 0.0 and m["roc_auc"] == 1.0


def test_perfect():
    m = classification_metrics([0, 1, 0, 1], proba_from_closed([0.0, 1.0, 0.2, 0.7]))
    assert all(m[k] == 1.0 for k in KEYS - {"n", "confusion_matrix"})


def test_per_group_accuracy_sorted_worst_first():
    rows = per_group_accuracy([0, 0, 1, 1, 1, 0], [0, 1, 1, 1, 0, 0], ["a", "a", "b", "b", "c", "c"])
    assert list(rows) == ["a", "c", "b"]  # ties keep the group order
    assert rows["b"] == {"n": 2, "accuracy": 1.0}
    assert rows["a"] == {"n": 2, "accuracy": 0.5} and rows["c"] == {"n": 2, "accuracy": 0.5}
    rows = per_group_accuracy([0, 0, 0, 1], [1, 1, 0, 1], ["big", "big", "big", "small"])
    assert list(rows) == ["big", "small"]
