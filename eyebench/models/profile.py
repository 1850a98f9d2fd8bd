"""Model cost: forward FLOPs per image of a classifier's torch network, counted by torch's FlopCounterMode."""
from __future__ import annotations

import torch


def flops_per_image(clf) -> int | None:
    """Forward FLOPs (multiply-adds x 2) for one prepared image; None for models without a torch network (the SVM:
    its cost is LBP + HOG feature extraction, which FLOP counting does not cover, and a committee holding it)."""
    net = getattr(clf, "net", None)
    if not isinstance(net, torch.nn.Module):
        return clf.flops() if getattr(clf, "members", None) else None  # a committee: its members' FLOPs added up
    from torch.utils.flop_counter import FlopCounterMode

    cfg = clf.data_config
    x = torch.zeros(1, cfg.channels, cfg.input_size, cfg.input_size, device=next(net.parameters()).device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net.eval()(x)
    return int(counter.get_total_flops())
