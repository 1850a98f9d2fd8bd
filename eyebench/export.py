"""Export torch classifiers to ONNX with a dynamic batch axis and the preprocessing written into the metadata."""
from __future__ import annotations

import json

import torch

from .errors import EyebenchError
from .models.torch_base import TorchClassifier


class _Wrapped(torch.nn.Module):
    """uint8-free ONNX graph: normalised (n, C, H, W) float input -> calibrated p(closed) (n, 1)."""

    def __init__(self, clf: TorchClassifier):
        super().__init__()
        self.clf = clf
        self.net = clf.net

    def forward(self, x):
        logit = self.clf.closed_logit(self.net(x))
        if self.clf.data_config.flip_average:  # the mean with the mirrored crop's logit, as predict_proba does
            logit = (logit + self.clf.closed_logit(self.net(torch.flip(x, dims=[3])))) / 2
        return torch.sigmoid(logit / self.clf.temperature)[:, None]


def export_onnx(clf, path, opset: int = 17) -> dict:
    """Write `path`; input `input` is the normalised float batch, output `p_closed`. Returns the metadata."""
    if not isinstance(clf, TorchClassifier):
        raise EyebenchError(f"{clf.name} is not a torch model; only torch models export to ONNX")
    import onnx

    cfg = clf.data_config
    if cfg.zoom_average != 1:
        raise EyebenchError(f"{clf.name} averages over a zoomed view (data_config.zoom_average {cfg.zoom_average:g}), which "
                         "the ONNX graph cannot reproduce: switch it off first (calibrate --zoom-average 1)")
    wrapped = _Wrapped(clf).eval()
    dummy = torch.zeros(2, cfg.channels, cfg.input_size, cfg.input_size)
    torch.onnx.export(wrapped, (dummy,), str(path), input_names=["input"], output_names=["p_closed"],
                      dynamic_axes={"input": {0: "batch"}, "p_closed": {0: "batch"}}, opset_version=opset,
                      dynamo=False)
    meta = {"eyebench_architecture": clf.name, "class_names": json.dumps(list(clf.class_names)),
            "preprocessing": (f"crop -> {'grayscale' if cfg.channels == 1 else 'RGB'} -> resize to "
                              f"{cfg.input_size}x{cfg.input_size} (INTER_AREA when shrinking) -> "
                              + ("OpenCV CLAHE (clipLimit 2, tileGridSize 4x4) on the uint8 image -> "
                                 if cfg.contrast == "clahe" else "") + "/255 -> (x - mean) / std, NCHW float32"
                              + ("; the graph averages the closed logit of the input and its horizontal mirror"
                                 if cfg.flip_average else "")),
            "mean": json.dumps(list(cfg.mean)), "std": json.dumps(list(cfg.std)),
            "temperature": str(clf.temperature), "uncertain_band": json.dumps(clf.uncertain_band),
            "output": "p_closed = calibrated probability that the eye is closed"}
    model = onnx.load(str(path))
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(path))
    return meta
