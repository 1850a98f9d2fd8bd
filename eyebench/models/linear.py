"""A linear model on standardised hand-made features: fitted-state check, decision and checkpoint arrays, shared by
the LBP + HOG SVM and eyelid_landmarks."""
from __future__ import annotations

import numpy as np

from .base import BaseClassifier, NotFittedError, check_tensors


class LinearOnFeatures(BaseClassifier):
    """scikit-learn's estimator contract: the learned arrays end in `_` (`coef_`, `intercept_`, `mean_`, `scale_`
    and any a subclass adds in `state_shapes`), loading a checkpoint sets them, an unfitted model raises
    NotFittedError. Subclasses give `features(batch)` and `state_shapes()`."""

    def check_fitted(self) -> None:
        """Raise NotFittedError unless `fit` ran or a checkpoint was loaded."""
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"{self.name or type(self).__name__} is not fitted: train it or load a checkpoint")

    def decision(self, feats: np.ndarray) -> np.ndarray:
        """The linear score (closed positive) of standardised feature rows."""
        self.check_fitted()
        return ((feats - self.mean_) / self.scale_) @ self.coef_ + self.intercept_[0]

    def state_shapes(self) -> dict[str, tuple]:
        """The checkpoint's arrays by name (no trailing `_` on disk) and their shapes."""
        raise NotImplementedError

    def state_tensors(self) -> dict[str, np.ndarray]:
        """The learned arrays under their checkpoint names."""
        self.check_fitted()
        return {k: getattr(self, k + "_") for k in self.state_shapes()}

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        check_tensors(tensors, self.state_shapes())
        for k, v in tensors.items():
            setattr(self, k + "_", np.asarray(v, dtype=np.float64))
        self.C_ = self.C
