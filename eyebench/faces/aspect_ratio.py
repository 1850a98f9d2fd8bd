"""The landmark baseline of blink research: an eye aspect ratio (Soukupova and Cech, 2016) with a fixed threshold."""
from __future__ import annotations

import numpy as np

NAME = "eye_aspect_ratio"
# Soukupova and Cech's fixed-threshold baseline closes an eye below an aspect ratio of 0.2 (mean lid gap over eye
# width); taken from the paper as it stands, not fitted to any data of this project
THRESHOLD = 0.2


class EyeAspectRatio:
    """The eyelid opening from the landmarks, closed below THRESHOLD: a decision, not a probability (its p(closed)
    is 1 below the threshold, 0 above it, NaN where the landmarks gave no opening)."""

    name = NAME
    uncertain_band = (0.5, 0.5)

    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold

    def p_closed(self, openings) -> np.ndarray:
        """1.0 for each opening below the threshold, 0.0 at or above it, NaN for None."""
        values = np.array([np.nan if o is None else o for o in openings], float)
        return np.where(np.isnan(values), np.nan, (values < self.threshold).astype(float))

    def decide(self, opening: float | None) -> str:
        """'closed', 'open', or 'no landmarks'."""
        return "no landmarks" if opening is None else "closed" if opening < self.threshold else "open"
