"""Explanation maps picked by model family: Grad-CAM for torch models, feature contributions for the SVM, the members'
weighted maps for a committee, occlusion for the rest."""
from __future__ import annotations

import numpy as np

from ..results import EyeState
from .committee import weighted_map
from .contributions import contribution_map
from .deletion import deletion_curve
from .gradcam import gradcam_map
from .normalise import normalise_map
from .occlusion import occlusion_map
from .overlay import overlay, png_data_uri

__all__ = ["committee_map", "contribution_map", "deletion_curve", "explain_map", "gradcam_map", "map_method",
           "normalise_map", "occlusion_map", "overlay", "png_data_uri"]


def committee_map(clf, image: np.ndarray, target: int | None = None) -> np.ndarray:
    """(H, W) map in [0, 1] of a committee: its members' maps for the class the committee decides (or `target`),
    averaged with the committee's weights. Members with weight 0 are not explained."""
    if target is None:
        target = int(clf.predict_proba([image])[0, EyeState.CLOSED] >= 0.5)
    used = [(m, w) for m, w in zip(clf.members, clf.weights) if w != 0] or list(zip(clf.members, clf.weights))
    return weighted_map([explain_map(m, image, target) for m, _ in used], [w for _, w in used])


MAPS = {"gradcam": gradcam_map, "contributions": contribution_map, "occlusion": occlusion_map,
        "committee": committee_map}
MIRRORED = {"gradcam", "contributions", "committee"}  # maps of one view, averaged with the mirror's under flip averaging


def map_method(clf) -> str:
    """Which map a classifier gets: `committee` for a committee (its members' maps, weighted), `gradcam` where it
    names Grad-CAM layers (torch models), `contributions` where it exposes per-feature contributions (the SVM), else
    `occlusion`, which works for any classifier."""
    if getattr(clf, "members", None):
        return "committee"
    cam_layers = getattr(clf, "cam_layers", None)
    if callable(cam_layers) and cam_layers():
        return "gradcam"
    if callable(getattr(clf, "feature_contributions", None)):
        return "contributions"
    return "occlusion"


def explain_map(clf, image: np.ndarray, target: int | None = None) -> np.ndarray:
    """(H, W) map in [0, 1] of where `clf` finds evidence for class `target` (default: its predicted class); the
    input's own size, gray or RGB. Callers never branch on the model type.

    A model with flip averaging (data_config.flip_average) predicts from the crop and its mirror, so its map is the
    mean of the crop's map and the mirrored map of the mirror (occlusion already measures the averaged prediction).
    Zoom averaging (data_config.zoom_average) is not mapped back: the map shows the crop as given.
    """
    method = map_method(clf)
    heat = MAPS[method](clf, image, target)
    if method in MIRRORED and getattr(getattr(clf, "data_config", None), "flip_average", False):
        mirrored = MAPS[method](clf, np.ascontiguousarray(np.asarray(image)[:, ::-1]), target)[:, ::-1]
        heat = normalise_map((heat + mirrored) / 2, heat.shape)
    return heat
