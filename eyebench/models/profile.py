"""Model size and cost: parameters and FLOPs per image (torch FlopCounterMode; analytic for the SVM)."""
from __future__ import annotations

import torch

from .torch_base import TorchClassifier


def flops_per_image(clf) -> int | None:
    """Forward FLOPs (multiply-adds x 2) for one preprocessed image; None where not measurable."""
    if isinstance(clf, TorchClassifier):
        from torch.utils.flop_counter import FlopCounterMode

        cfg = clf.data_config
        x = torch.zeros(1, cfg.channels, cfg.input_size, cfg.input_size, device=next(clf.net.parameters()).device)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            clf.net.eval()(x)
        return int(counter.get_total_flops())
    return None  # e.g. the SVM: its cost is LBP + HOG feature extraction, which FLOP counting does not cover
