"""Weight averaging (--ema): a separate, averaged copy of the network that follows the live one (timm ModelEmaV2)."""
from __future__ import annotations

import copy

import torch


class ModelEma:
    """An exponential moving average of a network's weights and BatchNorm statistics, kept in its own module.

    The average starts from the network as it is (or from a saved average on resume); `update` after every
    optimiser step moves it toward the live weights, with a warm-up in which the first steps weigh more.
    """

    def __init__(self, net: torch.nn.Module, decay: float, state: dict | None = None):
        self.decay = decay
        self.module = copy.deepcopy(net).eval().requires_grad_(False)
        if state is not None:
            self.module.load_state_dict(state)

    @torch.no_grad()
    def update(self, net: torch.nn.Module, step: int) -> None:
        """Move the average toward `net` after optimiser step `step` (1, 2, ...)."""
        d = min(self.decay, (1 + step) / (10 + step))
        live = net.state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(live[k].detach(), alpha=1 - d)
            else:
                v.copy_(live[k])

    def state_dict(self) -> dict:
        return self.module.state_dict()
