"""LBP + HOG features with a linear SVM and Platt-calibrated probabilities (the research's first baseline)."""
from __future__ import annotations

import numpy as np
from skimage.feature import hog, local_binary_pattern
from tqdm.auto import tqdm

from ..config import DataConfig
from ..errors import EyebenchError
from ..results import EyeState
from .linear import LinearOnFeatures

BALANCE_CHOICES = ("undersample", "class_weight", "none")


class LbpHogSvm(LinearOnFeatures):
    """Linear SVM on concatenated uniform-LBP histograms (grid of cells) and HOG descriptors.

    scikit-learn's estimator contract: `__init__` only stores the parameters, `fit` learns the attributes that end
    in `_` (and returns the model), loading a checkpoint sets them, and an unfitted model raises NotFittedError.
    """

    family = "sklearn"

    def __init__(self, input_size: int = 64, lbp_points: int = 8, lbp_radius: int = 1, lbp_grid: int = 4,
                 hog_cell: int = 8, hog_orientations: int = 9, balance: str = "undersample",
                 standardize: bool = True, C: float | None = None):
        super().__init__(DataConfig(input_size=input_size, channels=1, mean=(0.0,), std=(1.0,)))
        if balance not in BALANCE_CHOICES:
            raise EyebenchError(f"balance must be one of {BALANCE_CHOICES}, got {balance!r}")
        self.lbp_points, self.lbp_radius, self.lbp_grid = lbp_points, lbp_radius, lbp_grid
        self.hog_cell, self.hog_orientations = hog_cell, hog_orientations
        self.balance, self.standardize, self.C = balance, standardize, C

    # -- features ----------------------------------------------------------------------------------------
    def check_input(self) -> None:
        self.feature_dim()

    def feature_dim(self) -> int:
        return len(self.features_one(np.zeros((self.data_config.input_size,) * 2, np.uint8)))

    def features_one(self, gray: np.ndarray) -> np.ndarray:
        """LBP histograms over a grid plus HOG for one (size, size) uint8 image."""
        p, grid = self.lbp_points, self.lbp_grid
        codes = local_binary_pattern(gray, p, self.lbp_radius, method="uniform")
        step = gray.shape[0] // grid
        hists = [np.bincount(codes[i:i + step, j:j + step].astype(int).ravel(), minlength=p + 2) / step ** 2
                 for i in range(0, step * grid, step) for j in range(0, step * grid, step)]
        h = hog(gray, orientations=self.hog_orientations, pixels_per_cell=(self.hog_cell, self.hog_cell),
                cells_per_block=(2, 2), block_norm="L2-Hys", feature_vector=True)
        return np.concatenate([np.concatenate(hists), h]).astype(np.float32)

    def features(self, batch: np.ndarray, progress: bool = False) -> np.ndarray:
        rows = [self.features_one(im[:, :, 0]) for im in tqdm(batch, desc="LBP+HOG", unit="img",
                                                               disable=not progress, leave=False)]
        return np.stack(rows) if rows else np.zeros((0, self.feature_dim()), np.float32)

    # -- learned state -----------------------------------------------------------------------------------
    def view_scores(self, batch: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return self.platt_[0] * self.decision(self.features(batch)) + self.platt_[1]

    def feature_contributions(self, image: np.ndarray, target: int | None = None) -> np.ndarray:
        """Signed evidence for class `target` (default: the predicted class) on the model's input grid.

        Each feature's w_i * standardised x_i (sign flipped for `open`), spread over the pixels its LBP cell or HOG
        block covers: an unnormalised (size, size) map; `eyebench.explain` turns it into a [0, 1] map.
        """
        batch = self.prepare([image])
        feats = self.features(batch)[0]
        if target is None:
            target = int(self.proba_prepared(batch)[0, EyeState.CLOSED] >= 0.5)
        sign = 1.0 if target == EyeState.CLOSED else -1.0
        return self._cell_map(sign * self.coef_ * (feats - self.mean_) / self.scale_)

    def _cell_map(self, contrib: np.ndarray) -> np.ndarray:
        """Spread per-feature contributions back onto the pixels their LBP cell or HOG block covers."""
        size = self.data_config.input_size
        p, grid = self.lbp_points, self.lbp_grid
        out = np.zeros((size, size))
        n_lbp = grid * grid * (p + 2)
        step = size // grid
        for k, v in enumerate(contrib[:n_lbp].reshape(grid * grid, p + 2).sum(1)):
            i, j = divmod(k, grid)
            out[i * step:(i + 1) * step, j * step:(j + 1) * step] += v
        cell = self.hog_cell
        n_blocks = size // cell - 1
        blocks = contrib[n_lbp:].reshape(n_blocks, n_blocks, 2 * 2 * self.hog_orientations).sum(2)
        for i in range(n_blocks):
            for j in range(n_blocks):
                out[i * cell:(i + 2) * cell, j * cell:(j + 2) * cell] += blocks[i, j] / 4
        return out

    # -- fitting -----------------------------------------------------------------------------------------
    def fit(self, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
            seed: int = 0, log=print) -> "LbpHogSvm":
        """Fit the SVM (C picked on validation balanced accuracy), then Platt scaling on validation.

        Learns coef_, intercept_, mean_, scale_, platt_, the chosen C_ and search_ (the C grid's validation
        scores, as training records it); returns the model.
        """
        from sklearn.linear_model import LogisticRegression

        f_train, f_val = self.features(x_train, True), self.features(x_val, True)
        idx = np.arange(len(y_train))
        if self.balance == "undersample":
            rng = np.random.default_rng(seed)
            n_min = np.bincount(y_train).min()
            idx = np.concatenate([rng.choice(np.flatnonzero(y_train == c), n_min, replace=False) for c in (0, 1)])
        d = f_train.shape[1]
        # float64 like every other state array (and like a reloaded checkpoint): float32 statistics
        # would make the fitted model's scores differ from the reloaded one's
        self.mean_ = f_train[idx].mean(0).astype(np.float64) if self.standardize else np.zeros(d)
        self.scale_ = f_train[idx].std(0).astype(np.float64) + 1e-6 if self.standardize else np.ones(d)
        history, svm = self._search_c(f_train[idx], y_train[idx], f_val, y_val, seed, log)
        self.model_args["C"] = self.C_
        self.coef_, self.intercept_ = svm.coef_.ravel().astype(np.float64), svm.intercept_.astype(np.float64)
        platt = LogisticRegression(C=1e4).fit(self.decision(f_val)[:, None], y_val == EyeState.CLOSED)
        self.platt_ = np.array([platt.coef_[0, 0], platt.intercept_[0]])  # p(closed) = sigmoid(a * decision + b)
        self.search_ = {"grid": history, "chosen_C": self.C_}
        return self

    def _search_c(self, f_train, y_train, f_val, y_val, seed: int, log):
        """LinearSVC for each C of the grid (or the given C) on standardised features; the best by validation."""
        from sklearn.metrics import balanced_accuracy_score
        from sklearn.svm import LinearSVC

        history, best = [], None
        for c in [self.C] if self.C else [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.1]:
            svm = LinearSVC(C=c, class_weight="balanced" if self.balance == "class_weight" else None,
                            max_iter=5000, random_state=seed)
            svm.fit((f_train - self.mean_) / self.scale_, y_train == EyeState.CLOSED)
            val_pred = svm.decision_function((f_val - self.mean_) / self.scale_) > 0
            score = balanced_accuracy_score(y_val == EyeState.CLOSED, val_pred)
            history.append({"C": c, "val_balanced_accuracy": float(score)})
            log(f"C={c:g}: val balanced accuracy {score:.4f}")
            if best is None or score > best[0]:
                best = (score, c, svm)
        self.C_ = best[1]
        return history, best[2]

    # -- checkpoint --------------------------------------------------------------------------------------
    def state_shapes(self) -> dict[str, tuple]:
        d = self.feature_dim()
        return {"coef": (d,), "intercept": (1,), "mean": (d,), "scale": (d,), "platt": (2,)}

    def num_parameters(self) -> int:
        return self.feature_dim() + 1


def lbp_hog_svm(**kw) -> LbpHogSvm:
    """LBP + HOG + linear SVM; options: balance (undersample|class_weight|none), standardize, C."""
    return LbpHogSvm(**kw)
