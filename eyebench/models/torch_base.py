"""Shared wrapper for torch backbones: normalisation, batched channels-last inference, Grad-CAM layers, weights I/O."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import DataConfig
from ..data.images import clahe
from ..errors import EyebenchError
from .base import BaseClassifier, check_tensors
from .profile import flops_per_image

INFERENCE_PIXELS = 131_072  # images per inference chunk = this / (H * W): keeps activations in cache (measured)


class TorchClassifier(BaseClassifier):
    """A torch module that maps a normalised (n, C, H, W) batch to closed-class logits (n, 1) or (n, 2)."""

    family = "torch"
    fits_temperature = True

    def __init__(self, net: nn.Module, data_config: DataConfig, num_logits: int = 1):
        super().__init__(data_config)
        if num_logits not in (1, 2):
            raise EyebenchError(f"num_logits must be 1 or 2, got {num_logits}")
        self.net, self.num_logits = net.eval(), num_logits
        self.net.to(memory_format=torch.channels_last)

    def to_tensor(self, batch) -> torch.Tensor:
        """uint8 (n, H, W, C) array or tensor -> normalised float (n, C, H, W), channels-last."""
        return self.normalise(torch.as_tensor(batch).permute(0, 3, 1, 2).float().div_(255.0))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Float (n, C, H, W) in [0, 1] -> the network's normalised, channels-last input (after CLAHE if configured)."""
        if self.data_config.contrast == "clahe":
            u8 = x.detach().mul(255.0).round_().clamp_(0, 255).to("cpu", torch.uint8).permute(0, 2, 3, 1).numpy()
            x = torch.from_numpy(clahe(u8)).permute(0, 3, 1, 2).to(x.device, torch.float32).div_(255.0)
        mean = torch.tensor(self.data_config.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.data_config.std, device=x.device).view(1, -1, 1, 1)
        return ((x - mean) / std).contiguous(memory_format=torch.channels_last)

    def closed_logit(self, out: torch.Tensor) -> torch.Tensor:
        """Network output -> one closed-vs-open logit per image."""
        return out[:, 0] if self.num_logits == 1 else out[:, 1] - out[:, 0]

    def view_scores(self, batch: np.ndarray) -> np.ndarray:
        net = self.inference_net()
        device = next(net.parameters()).device  # the CPU, or the GPU during training
        chunk = max(8, min(256, INFERENCE_PIXELS // self.data_config.input_size ** 2))
        if device.type != "cpu":
            chunk *= 16
        outs = []
        with torch.inference_mode():
            for i in range(0, len(batch), chunk):
                x = self.to_tensor(batch[i:i + chunk]).to(device)
                outs.append(self.closed_logit(net(x)).float().cpu())
        return torch.cat(outs).numpy().astype(np.float64) if outs else np.zeros(0)

    def check_input(self) -> None:
        cfg = self.data_config
        with torch.inference_mode():
            self.net.eval()(torch.zeros(2, cfg.channels, cfg.input_size, cfg.input_size))

    def inference_net(self) -> nn.Module:
        """The network in eval mode with BatchNorm folded into the convolutions (about 2x faster on CPU).

        The folded copy is rebuilt whenever a weight changed (tensor versions), so training and loading stay exact;
        models that torch.fx cannot trace run unfolded.
        """
        self.net.eval()
        version = tuple(t._version for t in self.net.state_dict().values()) + (id(self.net),)
        cached = getattr(self, "_folded", None)
        if cached is None or cached[0] != version:
            try:
                from torch.fx.experimental.optimization import fuse

                folded = fuse(self.net).to(memory_format=torch.channels_last)
            except Exception:  # noqa: BLE001 - not traceable: use the network as it is
                folded = self.net
            self._folded = (version, folded)
        return self._folded[1]

    def cam_layers(self) -> list[nn.Module]:
        """Layers Grad-CAM should look at (maps larger than 2x2 at our input size); none known: an occlusion map."""
        return []

    # Grad-CAM's reshape transform: a token activation -> a (n, C, h, w) map. None for CNNs, a method for ViTs.
    cam_reshape = None

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """Optimizer parameter groups; ViT fine-tunes override for layer-wise learning-rate decay."""
        return [{"params": list(self.net.parameters()), "lr": lr, "weight_decay": weight_decay}]

    def set_stage(self, epoch: int, epochs: int) -> str:
        """Which parameters train at this epoch (staged unfreezing); by default all of them."""
        for p in self.net.parameters():
            p.requires_grad_(True)
        return "all"

    def state_tensors(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        expected = {k: tuple(v.shape) for k, v in self.net.state_dict().items()}
        check_tensors(tensors, expected)
        state = {k: torch.from_numpy(np.asarray(v)).to(self.net.state_dict()[k].dtype) for k, v in tensors.items()}
        self.net.load_state_dict(state, strict=True)
        self.net.eval()

    def num_parameters(self) -> int:
        return int(sum(p.numel() for p in self.net.parameters()))

    def flops(self) -> int | None:
        """Forward FLOPs for one prepared image (torch's FlopCounterMode)."""
        return flops_per_image(self)
