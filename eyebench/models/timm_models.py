"""timm backbones: ResNet18/34, a small ViT trained from scratch, and the DINOv2 fine-tune recipe."""
from __future__ import annotations

import timm
import torch
from torch import nn

from ..config import DataConfig
from .torch_base import TorchClassifier

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _data_config(input_size: int, channels: int) -> DataConfig:
    if channels == 3:
        return DataConfig(input_size, 3, IMAGENET_MEAN, IMAGENET_STD)
    return DataConfig(input_size, 1, (0.45,), (0.226,))


class TimmClassifier(TorchClassifier):
    """A timm model with a 1- or 2-logit head; knows its Grad-CAM layer and how to take pretrained weights."""

    def __init__(self, net: nn.Module, data_config: DataConfig, num_logits: int, cam_layer: str, hub_name: str):
        super().__init__(net, data_config, num_logits)
        self.cam_layer, self.hub_name = cam_layer, hub_name

    def cam_layers(self):
        return [self.net.get_submodule(self.cam_layer)]

    def init_from_state(self, state: dict[str, torch.Tensor]) -> dict:
        """Copy matching pretrained weights (head skipped; RGB stems summed for grayscale input)."""
        own = self.net.state_dict()
        loaded, skipped = [], []
        for k, v in state.items():
            v = torch.as_tensor(v)
            if k in own and v.ndim == 4 and own[k].ndim == 4 and v.shape[1] == 3 and own[k].shape[1] == 1:
                v = v.sum(dim=1, keepdim=True)
            if k in own and own[k].shape == v.shape:
                own[k] = v.to(own[k].dtype)
                loaded.append(k)
            else:
                skipped.append(k)
        self.net.load_state_dict(own)
        return {"loaded": len(loaded), "skipped": skipped[:20], "not_initialised": sorted(set(own) - set(loaded))[:20]}

    def init_pretrained_hub(self) -> dict:
        """Pretrained weights from the timm hub (needs the internet; never called at app start or in tests)."""
        return self.init_from_state(timm.create_model(self.hub_name, pretrained=True).state_dict())


class VitClassifier(TimmClassifier):
    """ViT variant: Grad-CAM on the last block's norm1 with prefix tokens dropped; staged unfreezing and LLRD."""

    def __init__(self, *args, layer_decay: float | None = None, stages: bool = False, **kw):
        super().__init__(*args, **kw)
        self.layer_decay, self.stages = layer_decay, stages
        for blk in self.net.blocks:  # explicit attention so maps and hooks see the weights
            blk.attn.fused_attn = False

    def cam_reshape(self, tensor: torch.Tensor) -> torch.Tensor:
        n_prefix = self.net.num_prefix_tokens
        h, w = self.net.patch_embed.grid_size
        tokens = tensor[:, n_prefix:, :]
        return tokens.reshape(tokens.shape[0], h, w, tokens.shape[-1]).permute(0, 3, 1, 2)

    def cam_layers(self):
        return [self.net.blocks[-1].norm1]

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """Layer-wise learning-rate decay: the head gets `lr`, block i gets lr * decay^(depth - i)."""
        if not self.layer_decay:
            return super().param_groups(lr, weight_decay)
        depth = len(self.net.blocks)
        groups: dict[int, list] = {}
        for name, p in self.net.named_parameters():
            if name.startswith("blocks."):
                layer = int(name.split(".")[1]) + 1
            elif name.startswith(("cls_token", "reg_token", "pos_embed", "patch_embed")):
                layer = 0
            else:
                layer = depth + 1
            groups.setdefault(layer, []).append(p)
        return [{"params": ps, "lr": lr * self.layer_decay ** (depth + 1 - layer), "weight_decay": weight_decay}
                for layer, ps in sorted(groups.items())]

    def set_stage(self, epoch: int, epochs: int) -> str:
        """Staged unfreezing: head only, then the last blocks too, then everything."""
        if not self.stages:
            return super().set_stage(epoch, epochs)
        frac = (epoch - 1) / max(1, epochs)
        depth = len(self.net.blocks)
        if frac < 0.2:
            trainable, stage = ("head", "fc_norm", "norm"), "head"
        elif frac < 0.5:
            trainable = ("head", "fc_norm", "norm") + tuple(f"blocks.{i}." for i in range(max(0, depth - 4), depth))
            stage = "last 4 blocks + head"
        else:
            trainable, stage = ("",), "all"
        for name, p in self.net.named_parameters():
            p.requires_grad_(name.startswith(trainable))
        return stage


def resnet18(input_size: int = 64, channels: int = 1, num_logits: int = 1, drop_rate: float = 0.2) -> TimmClassifier:
    """timm ResNet18 (gray or RGB); Grad-CAM on layer3 (4x4 at 64 px, layer4 would be 2x2)."""
    net = timm.create_model("resnet18", pretrained=False, num_classes=num_logits, in_chans=channels, drop_rate=drop_rate)
    return TimmClassifier(net, _data_config(input_size, channels), num_logits, "layer3", "resnet18.a1_in1k")


def resnet34(input_size: int = 64, channels: int = 1, num_logits: int = 1, drop_rate: float = 0.2) -> TimmClassifier:
    """timm ResNet34 (gray or RGB), the research's main CNN backbone; Grad-CAM on layer3."""
    net = timm.create_model("resnet34", pretrained=False, num_classes=num_logits, in_chans=channels, drop_rate=drop_rate)
    return TimmClassifier(net, _data_config(input_size, channels), num_logits, "layer3", "resnet34.a1_in1k")


def vit_scratch(input_size: int = 64, channels: int = 1, num_logits: int = 1, patch_size: int = 8, embed_dim: int = 128,
                depth: int = 6, num_heads: int = 4, mlp_ratio: float = 2.0, drop_path_rate: float = 0.1) -> VitClassifier:
    """Small ViT from scratch: conv patch embedding, cls token, learnable positions, pre-LN blocks, GELU MLP."""
    from timm.models.vision_transformer import VisionTransformer

    net = VisionTransformer(img_size=input_size, patch_size=patch_size, in_chans=channels, num_classes=num_logits,
                            embed_dim=embed_dim, depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio,
                            class_token=True, global_pool="token", drop_path_rate=drop_path_rate)
    return VitClassifier(net, _data_config(input_size, channels), num_logits, "blocks.-1.norm1", "")


def _dinov2(hub_name: str, input_size: int, num_logits: int, tiny: bool, layer_decay: float) -> VitClassifier:
    kw = dict(embed_dim=48, depth=2, num_heads=2) if tiny else {}  # `tiny`: a test-size config of the same recipe
    net = timm.create_model(hub_name.split(".")[0], pretrained=False, num_classes=num_logits, img_size=input_size, **kw)
    return VitClassifier(net, DataConfig(input_size, 3, IMAGENET_MEAN, IMAGENET_STD), num_logits, "blocks.-1.norm1",
                         hub_name, layer_decay=layer_decay, stages=True)


def dinov2_vits14(input_size: int = 70, num_logits: int = 1, tiny: bool = False, layer_decay: float = 0.75) -> VitClassifier:
    """timm vit_small_patch14_reg4_dinov2 fine-tune: staged unfreezing + layer-wise LR decay (needs pretrained weights)."""
    return _dinov2("vit_small_patch14_reg4_dinov2.lvd142m", input_size, num_logits, tiny, layer_decay)


def dinov2_vitb14(input_size: int = 70, num_logits: int = 1, tiny: bool = False, layer_decay: float = 0.75) -> VitClassifier:
    """timm vit_base_patch14_reg4_dinov2 fine-tune, the research's best recipe (needs pretrained weights)."""
    return _dinov2("vit_base_patch14_reg4_dinov2.lvd142m", input_size, num_logits, tiny, layer_decay)
