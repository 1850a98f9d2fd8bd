"""The research's small CNN: four conv blocks that halve the resolution, global pooling and a linear head."""
from __future__ import annotations

from torch import nn

from ..config import DataConfig
from .torch_base import TorchClassifier


class SmallCnnNet(nn.Module):
    """conv3x3-BN-ReLU-maxpool x4 (64 -> 4 px), global average pool, dropout, linear."""

    def __init__(self, in_channels: int = 1, widths=(16, 32, 64, 128), num_logits: int = 1, dropout: float = 0.3):
        super().__init__()
        blocks, c = [], in_channels
        for w in widths:
            blocks.append(nn.Sequential(nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                                        nn.ReLU(inplace=True), nn.MaxPool2d(2)))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_logits))

    def forward(self, x):
        return self.head(self.blocks(x))


class SmallCnn(TorchClassifier):
    """SmallCnnNet wrapped as a Classifier; Grad-CAM reads the third block (8x8 at 64 px)."""

    def cam_layers(self):
        return [self.net.blocks[2][2]]


def small_cnn(input_size: int = 64, channels: int = 1, widths=(16, 32, 64, 128), num_logits: int = 1,
              dropout: float = 0.3, contrast: str = "none") -> SmallCnn:
    """The research's 4-block CNN (grayscale 64 px by default; one BCE logit or two CE logits; contrast="clahe")."""
    mean, std = ((0.5,) * channels, (0.25,) * channels)
    net = SmallCnnNet(channels, tuple(widths), num_logits, dropout)
    return SmallCnn(net, DataConfig(input_size, channels, mean, std, contrast), num_logits)


def student(input_size: int = 32, channels: int = 1, widths=(16, 32, 48, 64), num_logits: int = 1,
            dropout: float = 0.1, contrast: str = "none") -> SmallCnn:
    """Tiny real-time CNN (<50k parameters, 32 px) meant to be trained by distillation (`train --teacher`)."""
    return small_cnn(input_size, channels, widths, num_logits, dropout, contrast)
