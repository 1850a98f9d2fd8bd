"""Grad-CAM maps for torch classifiers through pytorch-grad-cam, on the layers the model names, one map at a time."""
from __future__ import annotations

import threading
import weakref

import numpy as np
import torch

from .normalise import normalise_map

_CAM_LOCKS: "weakref.WeakKeyDictionary[torch.nn.Module, threading.Lock]" = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()


class _ClosedScore:
    """Grad-CAM target: the closed logit for class 1, its negative for class 0 (works for 1 or 2 logits)."""

    def __init__(self, clf, target: int):
        self.clf, self.sign = clf, 1.0 if target == 1 else -1.0

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        return self.sign * self.clf.closed_logit(output[None])[0]


def cam_lock(net: torch.nn.Module) -> threading.Lock:
    """The lock of one network: Grad-CAM hooks live on the network, so its maps are made one at a time."""
    with _LOCKS_LOCK:
        return _CAM_LOCKS.setdefault(net, threading.Lock())


def gradcam_map(clf, image: np.ndarray, target: int | None = None) -> np.ndarray:
    """(H, W) map in [0, 1] of where `clf` looked for class `target` (default: its predicted class).

    `clf` is a torch classifier: `net`, `prepare`, `to_tensor`, `closed_logit`, `cam_layers()` and `cam_reshape`
    (None, or the token -> (n, C, h, w) transform of a ViT) are all this needs of it.
    """
    from pytorch_grad_cam import GradCAM

    batch = clf.prepare([image])
    if target is None:
        target = int(clf.proba_prepared(batch)[0, 1] >= 0.5)
    x = clf.to_tensor(batch).contiguous()
    with cam_lock(clf.net):
        net = clf.net.eval()
        with torch.enable_grad(), GradCAM(model=net, target_layers=clf.cam_layers(),
                                          reshape_transform=clf.cam_reshape) as cam:
            heat = cam(input_tensor=x, targets=[_ClosedScore(clf, target)])[0]
    return normalise_map(heat, np.asarray(image).shape[:2])
