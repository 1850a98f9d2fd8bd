"""Feature-contribution maps for linear models on hand-made features (the SVM): the positive evidence for a class."""
from __future__ import annotations

import numpy as np

from .normalise import normalise_map


def contribution_map(clf, image: np.ndarray, target: int | None = None) -> np.ndarray:
    """(H, W) map in [0, 1]: where the features that argue for `target` (default: the predicted class) sit."""
    cells = clf.feature_contributions(image, target)
    return normalise_map(np.maximum(cells, 0), np.asarray(image).shape[:2])
