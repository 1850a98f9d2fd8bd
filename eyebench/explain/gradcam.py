"""Grad-CAM maps for torch classifiers through pytorch-grad-cam, resized to the input image."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..models.torch_base import TorchClassifier


class _ClosedScore:
    """Grad-CAM target: the closed logit for class 1, its negative for class 0 (works for 1 or 2 logits)."""

    def __init__(self, clf, target: int):
        self.clf, self.sign = clf, 1.0 if target == 1 else -1.0

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return self.sign * self.clf.closed_logit(output[None])[0]


def gradcam_map(clf, image: np.ndarray, target: int | None = None) -> np.ndarray:
    """(H, W) map in [0, 1] of where `clf` looked for class `target` (default: its predicted class)."""
    from pytorch_grad_cam import GradCAM

    batch = clf.prepare([image])
    if target is None:
        target = int(clf.proba_prepared(batch)[0, 1] >= 0.5)
    x = clf.to_tensor(batch).contiguous()
    net = clf.net.eval()
    reshape = clf.cam_reshape if type(clf).cam_reshape is not TorchClassifier.cam_reshape else None
    with torch.enable_grad(), GradCAM(model=net, target_layers=clf.cam_layers(), reshape_transform=reshape) as cam:
        heat = cam(input_tensor=x, targets=[_ClosedScore(clf, target)])[0]
    return normalise_map(heat, np.asarray(image).shape[:2])


def normalise_map(heat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a map to (H, W) and scale it to [0, 1] (all zeros stays zeros)."""
    heat = cv2.resize(np.asarray(heat, np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    heat -= heat.min()
    peak = heat.max()
    return (heat / peak if peak > 0 else heat).astype(np.float32)
