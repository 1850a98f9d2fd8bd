"""LBP + HOG features with a linear SVM and Platt-calibrated probabilities (the research's first baseline)."""
from __future__ import annotations

import numpy as np
from skimage.feature import hog, local_binary_pattern
from tqdm.auto import tqdm

from ..config import CLOSED, DataConfig
from .base import BaseClassifier
from .checkpoint import check_tensors
from .registry import register_classifier

BALANCE_CHOICES = ("undersample", "class_weight", "none")


class LbpHogSvm(BaseClassifier):
    """Linear SVM on concatenated uniform-LBP histograms (grid of cells) and HOG descriptors."""

    family = "sklearn"

    def __init__(self, input_size: int = 64, lbp_points: int = 8, lbp_radius: int = 1, lbp_grid: int = 4,
                 hog_cell: int = 8, hog_orientations: int = 9, balance: str = "undersample",
                 standardize: bool = True, C: float | None = None):
        super().__init__(DataConfig(input_size=input_size, channels=1, mean=(0.0,), std=(1.0,)))
        if balance not in BALANCE_CHOICES:
            raise ValueError(f"balance must be one of {BALANCE_CHOICES}, got {balance!r}")
        self.lbp = (lbp_points, lbp_radius, lbp_grid)
        self.hog = (hog_cell, hog_orientations)
        self.balance, self.standardize, self.C = balance, standardize, C
        d = self.feature_dim()
        self.coef, self.intercept = np.zeros(d), np.zeros(1)
        self.mean, self.scale = np.zeros(d), np.ones(d)
        self.platt = np.array([1.0, 0.0])  # p(closed) = sigmoid(a * decision + b)

    def feature_dim(self) -> int:
        return len(self.features_one(np.zeros((self.data_config.input_size,) * 2, np.uint8)))

    def features_one(self, gray: np.ndarray) -> np.ndarray:
        """LBP histograms over a grid plus HOG for one (size, size) uint8 image."""
        p, r, grid = self.lbp
        codes = local_binary_pattern(gray, p, r, method="uniform")
        n_bins = p + 2
        step = gray.shape[0] // grid
        hists = [np.bincount(codes[i:i + step, j:j + step].astype(int).ravel(), minlength=n_bins) / step ** 2
                 for i in range(0, step * grid, step) for j in range(0, step * grid, step)]
        cell, orient = self.hog
        h = hog(gray, orientations=orient, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
                block_norm="L2-Hys", feature_vector=True)
        return np.concatenate([np.concatenate(hists), h]).astype(np.float32)

    def features(self, batch: np.ndarray, progress: bool = False) -> np.ndarray:
        rows = [self.features_one(im[:, :, 0]) for im in tqdm(batch, desc="LBP+HOG", unit="img",
                                                               disable=not progress, leave=False)]
        return np.stack(rows) if rows else np.zeros((0, self.feature_dim()), np.float32)

    def decision(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self.mean) / self.scale) @ self.coef + self.intercept[0]

    def scores_prepared(self, batch: np.ndarray) -> np.ndarray:
        return self.platt[0] * self.decision(self.features(batch)) + self.platt[1]

    def explain(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        """Feature-contribution map: w_i * standardised x_i for the target class, summed over each feature's cells."""
        from ..explain.gradcam import normalise_map

        batch = self.prepare([image])
        feats = self.features(batch)[0]
        if target is None:
            target = int(self.proba_prepared(batch)[0, 1] >= 0.5)
        sign = 1.0 if target == CLOSED else -1.0
        contrib = sign * self.coef * (feats - self.mean) / self.scale
        return normalise_map(np.maximum(self._cell_map(contrib), 0), np.asarray(image).shape[:2])

    def _cell_map(self, contrib: np.ndarray) -> np.ndarray:
        """Spread per-feature contributions back onto the pixels their LBP cell or HOG block covers."""
        size = self.data_config.input_size
        p, _, grid = self.lbp
        out = np.zeros((size, size))
        n_lbp = grid * grid * (p + 2)
        step = size // grid
        for k, v in enumerate(contrib[:n_lbp].reshape(grid * grid, p + 2).sum(1)):
            i, j = divmod(k, grid)
            out[i * step:(i + 1) * step, j * step:(j + 1) * step] += v
        cell, orient = self.hog
        n_cells = size // cell
        n_blocks = n_cells - 1
        blocks = contrib[n_lbp:].reshape(n_blocks, n_blocks, 2 * 2 * orient).sum(2)
        for i in range(n_blocks):
            for j in range(n_blocks):
                out[i * cell:(i + 2) * cell, j * cell:(j + 2) * cell] += blocks[i, j] / 4
        return out

    def fit(self, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
            seed: int = 0, log=print) -> dict:
        """Fit the SVM (C picked on validation balanced accuracy), then Platt scaling on validation."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import balanced_accuracy_score
        from sklearn.svm import LinearSVC

        f_train, f_val = self.features(x_train, True), self.features(x_val, True)
        idx = np.arange(len(y_train))
        if self.balance == "undersample":
            rng = np.random.default_rng(seed)
            n_min = np.bincount(y_train).min()
            idx = np.concatenate([rng.choice(np.flatnonzero(y_train == c), n_min, replace=False) for c in (0, 1)])
        if self.standardize:
            # float64 like every other state array (and like a reloaded checkpoint): float32 statistics
            # would make the fitted model's scores differ from the reloaded one's
            self.mean = f_train[idx].mean(0).astype(np.float64)
            self.scale = f_train[idx].std(0).astype(np.float64) + 1e-6
        grid = [self.C] if self.C else [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.1]
        history = []
        best = None
        for c in grid:
            svm = LinearSVC(C=c, class_weight="balanced" if self.balance == "class_weight" else None,
                            max_iter=5000, random_state=seed)
            svm.fit((f_train[idx] - self.mean) / self.scale, y_train[idx] == CLOSED)
            val_pred = svm.decision_function((f_val - self.mean) / self.scale) > 0
            score = balanced_accuracy_score(y_val == CLOSED, val_pred)
            history.append({"C": c, "val_balanced_accuracy": float(score)})
            log(f"C={c:g}: val balanced accuracy {score:.4f}")
            if best is None or score > best[0]:
                best = (score, c, svm)
        _, self.C, svm = best
        self.model_args["C"] = self.C
        self.coef, self.intercept = svm.coef_.ravel().astype(np.float64), svm.intercept_.astype(np.float64)
        platt = LogisticRegression(C=1e4).fit(self.decision(f_val)[:, None], y_val == CLOSED)
        self.platt = np.array([platt.coef_[0, 0], platt.intercept_[0]])
        return {"grid": history, "chosen_C": self.C}

    def state_tensors(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": self.intercept, "mean": self.mean, "scale": self.scale,
                "platt": self.platt}

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        d = self.feature_dim()
        check_tensors(tensors, {"coef": (d,), "intercept": (1,), "mean": (d,), "scale": (d,), "platt": (2,)})
        for k, v in tensors.items():
            setattr(self, k, np.asarray(v, dtype=np.float64))

    def num_parameters(self) -> int:
        return int(self.coef.size + 1)


@register_classifier
def lbp_hog_svm(**kw) -> LbpHogSvm:
    """LBP + HOG + linear SVM; options: balance (undersample|class_weight|none), standardize, C."""
    return LbpHogSvm(**kw)
