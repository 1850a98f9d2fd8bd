"""Eyelid landmarks (MediaPipe's iris model on the crop) -> a few lid-shape numbers -> a logistic regression."""
from __future__ import annotations

import math

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..config import DataConfig
from ..errors import EyebenchError
from ..faces.landmarks import eye_opening, eyelid_contour_of_crop
from ..results import EyeState
from .linear import LinearOnFeatures

INPUT_SIZE = 64  # the iris model's own input: the whole crop, resized to 64 x 64 RGB, is what it sees
# the feature vector, in order (lengths are over the corner distance, angles in radians)
FEATURE_NAMES = (
    "opening",  # eye_opening: the mean of the five middle lid gaps over the corner distance
    "gap_2_10", "gap_3_11", "gap_4_12", "gap_5_13", "gap_6_14",  # each middle lid gap (lower point, upper point)
    "upper_curve",  # mean height of upper-lid points 10-14 above the corner line
    "lower_curve",  # mean depth of lower-lid points 2-6 below the corner line
    "tilt",  # |angle| of the corner line from level (either way, so a mirrored eye gives the same number)
    "width",  # corner distance over the crop's side (how large the eye is in the crop)
)
C_GRID = (0.01, 0.1, 1.0, 10.0)
PROGRESS_FROM = 500  # batches at least this long show a progress bar while their landmarks are found
# the contour as a closed polygon: corner 0, lower lid 1-7, corner 8, upper lid 15 back to 9
POLYGON = list(range(0, 9)) + list(range(15, 8, -1))


class EyelidLandmarks(LinearOnFeatures):
    """Standardised logistic regression (balanced classes) on `FEATURE_NAMES`, measured on the 16 eyelid points that
    MediaPipe's iris model finds in the crop (points 0 and 8 the corners, 1-7 the lower lid, 9-15 the upper lid).

    The iris model is fixed (shipped in eyebench/faces/mediapipe); only the regression is learned, so a checkpoint
    holds four small arrays. scikit-learn's estimator contract as in LbpHogSvm: `fit` learns the attributes ending
    in `_`, loading a checkpoint sets them, and an unfitted model raises NotFittedError. The pipeline fits a
    temperature on the validation people (the balanced class weights leave the probabilities uncalibrated).
    """

    family = "landmarks"
    fits_temperature = True

    def __init__(self, C: float | None = None):
        super().__init__(DataConfig(input_size=INPUT_SIZE, channels=3, mean=(0.5,) * 3, std=(0.25,) * 3))
        if C is not None and (isinstance(C, bool) or not isinstance(C, (int, float)) or not C > 0):
            raise EyebenchError(f"C is a number above 0 (or None: chosen on validation), got {C!r}")
        self.C = C

    # -- features ----------------------------------------------------------------------------------------
    def check_input(self) -> None:
        """Run the iris model once: refuses (RuntimeError) where LiteRT or the model file is missing."""
        try:
            self.features_one(np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8))
        except (ImportError, OSError, ValueError) as exc:
            raise RuntimeError(f"the iris landmark model cannot run here: {exc}") from None

    @staticmethod
    def contour_features(contour: np.ndarray, side: float) -> np.ndarray:
        """`FEATURE_NAMES` of one (16, 2) eyelid contour in a crop of `side` pixels, float64."""
        c = np.asarray(contour, np.float64)
        axis = c[8] - c[0] if c[8, 0] >= c[0, 0] else c[0] - c[8]  # the corner line, run left to right
        width = max(float(np.hypot(*axis)), 1e-6)
        up = np.array([axis[1], -axis[0]]) / width  # picture y grows downwards: the corner line's upward normal
        height = (c - c[0]) @ up / width  # each point's height above the corner line
        gaps = np.hypot(*(c[10:15] - c[2:7]).T) / width
        tilt = abs(math.atan2(axis[1], axis[0]))  # either way, so a mirrored eye gives the same number
        return np.array([eye_opening(c), *gaps, height[10:15].mean(), -height[2:7].mean(), tilt, width / side])

    def features_one(self, rgb: np.ndarray) -> np.ndarray:
        """The feature vector of one prepared (64, 64, 3) uint8 crop."""
        return self.contour_features(eyelid_contour_of_crop(rgb), rgb.shape[0])

    def features(self, batch: np.ndarray, progress: bool | None = None) -> np.ndarray:
        """(n, len(FEATURE_NAMES)) for prepared crops; a progress bar for long batches (or when `progress`)."""
        show = len(batch) >= PROGRESS_FROM if progress is None else progress
        rows = [self.features_one(im) for im in tqdm(batch, desc="eyelid landmarks", unit="img", disable=not show,
                                                     leave=False)]
        return np.stack(rows) if rows else np.zeros((0, len(FEATURE_NAMES)))

    # -- learned state -----------------------------------------------------------------------------------
    def view_scores(self, batch: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return self.decision(self.features(batch))

    # -- explanation -------------------------------------------------------------------------------------
    def feature_contributions(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        """A (size, size) map >= 0 on the model's input grid: the eyelid contour the iris model found, drawn as the
        lid opening (filled), the upper and the lower lid line, each weighted by how much its features argue for
        `target` (default: the predicted class; each part keeps a floor, so the contour always shows), blurred.
        `eyebench.explain` resizes it to the crop and scales it to [0, 1]."""
        self.check_fitted()
        rgb = self.prepare([image])[0]
        contour = eyelid_contour_of_crop(rgb)
        z = (self.contour_features(contour, rgb.shape[0]) - self.mean_) / self.scale_
        if target is None:  # the sign of the closed logit (a temperature does not change it)
            target = int(z @ self.coef_ + self.intercept_[0] >= 0)
        evidence = (1.0 if target == EyeState.CLOSED else -1.0) * self.coef_ * z
        parts = np.maximum([evidence[:6].sum(), evidence[6], evidence[7]], 0)
        fill, upper, lower = 0.25 + 0.75 * parts / parts.max() if parts.max() > 0 else np.ones(3)
        size = self.data_config.input_size
        canvas = np.zeros((size, size), np.float32)
        pts = np.round(np.asarray(contour) * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        cv2.fillPoly(canvas, [pts[POLYGON]], float(fill) / 2, lineType=cv2.LINE_AA, shift=4)
        cv2.polylines(canvas, [pts[[0, *range(9, 16), 8]]], False, float(upper), 2, cv2.LINE_AA, shift=4)
        cv2.polylines(canvas, [pts[0:9]], False, float(lower), 2, cv2.LINE_AA, shift=4)
        return cv2.GaussianBlur(canvas, (0, 0), sigmaX=size / 32)

    def explain(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        """(H, W) map in [0, 1] of the crop's own size highlighting the eyelid contour (see
        `feature_contributions`); `eyebench.explain.explain_map` gives the same map for this model."""
        heat = np.maximum(self.feature_contributions(image, target), 0)
        h, w = np.asarray(image).shape[:2]
        heat = cv2.resize(heat.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        heat -= heat.min()
        return (heat / heat.max() if heat.max() > 0 else heat).astype(np.float32)

    # -- fitting -----------------------------------------------------------------------------------------
    def fit(self, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
            seed: int = 0, log=print) -> "EyelidLandmarks":
        """Find the landmarks of every crop, standardise on train, fit the regression for each C of the grid (or the
        given C) and keep the best by validation balanced accuracy.

        Learns coef_, intercept_, mean_, scale_, the chosen C_ and search_ (the grid's validation scores, as training
        records it); returns the model.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import balanced_accuracy_score, roc_auc_score

        f_train, f_val = self.features(x_train, True), self.features(x_val, True)
        self.mean_, self.scale_ = f_train.mean(0), f_train.std(0) + 1e-6
        z_train, z_val = (f_train - self.mean_) / self.scale_, (f_val - self.mean_) / self.scale_
        history, best = [], None
        for c in [self.C] if self.C else C_GRID:
            reg = LogisticRegression(C=c, class_weight="balanced", max_iter=1000, random_state=seed)
            reg.fit(z_train, y_train == EyeState.CLOSED)
            score = reg.decision_function(z_val)
            bal = float(balanced_accuracy_score(y_val == EyeState.CLOSED, score > 0))
            auc = float(roc_auc_score(y_val == EyeState.CLOSED, score)) if len(set(y_val.tolist())) == 2 else None
            history.append({"C": c, "val_balanced_accuracy": bal, "val_roc_auc": auc})
            log(f"C={c:g}: val balanced accuracy {bal:.4f}, ROC-AUC {auc if auc is None else round(auc, 4)}")
            if best is None or bal > best[0]:
                best = (bal, c, reg)
        self.C_, reg = best[1], best[2]
        self.model_args["C"] = self.C_
        self.coef_, self.intercept_ = reg.coef_.ravel().astype(np.float64), reg.intercept_.astype(np.float64)
        self.search_ = {"grid": history, "chosen_C": self.C_, "features": list(FEATURE_NAMES),
                        "coef": dict(zip(FEATURE_NAMES, self.coef_.round(4).tolist()))}
        return self

    # -- checkpoint --------------------------------------------------------------------------------------
    def state_shapes(self) -> dict[str, tuple]:
        d = len(FEATURE_NAMES)
        return {"coef": (d,), "intercept": (1,), "mean": (d,), "scale": (d,)}

    def num_parameters(self) -> int:
        """The regression's weights and bias (the fixed iris model is not counted)."""
        return len(FEATURE_NAMES) + 1


def eyelid_landmarks(**kw) -> EyelidLandmarks:
    """Eyelid-contour features from MediaPipe's iris model + logistic regression; option: C (None: chosen on
    validation from 0.01, 0.1, 1, 10)."""
    return EyelidLandmarks(**kw)
