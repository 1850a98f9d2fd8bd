"""The Classifier protocol and the base class that gives every family preprocessing, saving and calibration."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..config import CLASS_NAMES, DataConfig
from ..data.images import framed_batch, to_model_input
from ..data.splits import SavedSplit
from ..errors import EyebenchError

FORMAT = "eyebench-checkpoint"
FORMAT_VERSION = 1


@runtime_checkable
class Classifier(Protocol):
    """What the CLI, evaluation and the app rely on, whatever the backbone.

    Models know nothing about explanation maps: they expose what a map needs (a torch model its Grad-CAM layers and
    token reshape, the SVM its feature contributions) and `eyebench.explain.explain_map` picks the method by family.
    """

    name: str
    class_names: tuple[str, ...]
    data_config: DataConfig  # the input it expects (size, channels, normalisation, flip and zoom averaging)
    uncertain_band: list[float] | None  # [low, high] of p(closed) it leaves undecided (None: it decides every image)
    temperature: float  # divides its closed logit before the sigmoid (calibration)
    model_args: dict  # the registry arguments it was built with
    checkpoint: str  # the folder it was loaded from ("" for a model made or trained in this process)
    info: dict  # what config.json records besides the model: metrics, split, train command, ...

    @property
    def split(self) -> SavedSplit: ...  # the people it was trained, calibrated and tested on (empty when unknown)

    def predict_proba(self, images: Sequence[np.ndarray]) -> np.ndarray: ...
    def proba_prepared(self, batch: np.ndarray) -> np.ndarray: ...
    def save_pretrained(self, directory, weights: bool = True) -> None: ...


class NotFittedError(EyebenchError, AttributeError):
    """A model used before it was trained or loaded (scikit-learn's NotFittedError habit)."""


class BaseClassifier:
    """Shared behaviour: raw crops -> model input, probabilities from scores, and checkpoint folders."""

    name: str = ""
    family: str = ""
    class_names: tuple[str, ...] = CLASS_NAMES
    fits_temperature = False  # calibration fits a temperature on validation (torch models; the SVM has Platt scaling)
    checkpoint: str = ""  # the folder it was loaded from ("" for a model made or trained in this process)

    def __init__(self, data_config: DataConfig):
        self.data_config = data_config
        self.model_args: dict = {}
        self.temperature = 1.0
        self.uncertain_band: list[float] | None = None
        self.storage_dtype = "float32"  # "float16" halves checkpoint size; weights are rounded before evaluation
        self.info: dict = {}  # metrics, split, train command, ... written to config.json and the model card

    @property
    def split(self) -> SavedSplit:
        """The people it was trained, calibrated and tested on (config.json's `split`; empty when it has none)."""
        return SavedSplit.from_record(self.info.get("split"))

    # -- input -------------------------------------------------------------------------------------------
    def prepare(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Raw crops (any size, gray or RGB) -> uint8 (n, size, size, channels) as this model expects."""
        cfg = self.data_config
        if isinstance(images, np.ndarray) and images.ndim == 4 and images.shape[1:] == (cfg.input_size, cfg.input_size, cfg.channels) and images.dtype == np.uint8:
            return images
        return np.stack([to_model_input(im, cfg.input_size, cfg.channels) for im in images]) if len(images) else \
            np.zeros((0, cfg.input_size, cfg.input_size, cfg.channels), np.uint8)

    def check_input(self) -> None:
        """Run a blank input of this model's size through it before training: raises when its model arguments do not
        fit together (e.g. an input too small for the network)."""

    # -- scores ------------------------------------------------------------------------------------------
    def view_scores(self, batch: np.ndarray) -> np.ndarray:
        """Uncalibrated score of class `closed` (a logit) for prepared uint8 inputs as they are, shape (n,): what each
        family implements."""
        raise NotImplementedError

    def scores_prepared(self, batch: np.ndarray) -> np.ndarray:
        """Uncalibrated closed logit for prepared uint8 inputs, shape (n,): the mean of `view_scores` over the views
        the data config asks for (`input_views`: the inputs as they are, mirrored, framed tighter)."""
        views = input_views(batch, self.data_config)
        scores = self.view_scores(views[0])
        return sum((self.view_scores(v) for v in views[1:]), scores) / len(views) if len(views) > 1 else scores

    def proba_prepared(self, batch: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n, 2) for prepared inputs."""
        return proba_from_logits(self.scores_prepared(batch), self.temperature)

    def predict_proba(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Raw crops -> probabilities (n, 2) in `class_names` order."""
        return self.proba_prepared(self.prepare(images))

    # -- checkpoint --------------------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def weights_metadata(self) -> dict[str, str]:
        """Text written into model.safetensors' metadata besides format and architecture (a committee: its members'
        weight hashes, so that the file's own hash changes with theirs)."""
        return {}

    def num_parameters(self) -> int:
        return int(sum(np.asarray(v).size for v in self.state_tensors().values()))

    def flops(self) -> int | None:
        """Forward FLOPs for one prepared image; None where not measurable (torch models count theirs)."""
        return None

    def stored_tensors(self) -> dict[str, np.ndarray]:
        """State arrays as written to disk: floating arrays cast to `storage_dtype` when it is not the default.

        The default "float32" keeps every array's own precision (the SVM's float64 included), so a checkpoint
        reloads to exactly the model that was saved, as `round_to_storage` assumes.
        """
        if self.storage_dtype == "float32":
            return self.state_tensors()
        dtype = np.dtype(self.storage_dtype)
        return {k: (v.astype(dtype) if np.issubdtype(v.dtype, np.floating) else v)
                for k, v in self.state_tensors().items()}

    def round_to_storage(self) -> None:
        """Round the weights to their storage precision, so evaluation sees exactly what is saved."""
        if self.storage_dtype != "float32":
            self.load_state_tensors(self.stored_tensors())

    def config(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "architecture": self.name, "family": self.family, "model_args": self.model_args,
            "class_names": list(self.class_names), "data_config": self.data_config.to_dict(),
            "temperature": self.temperature, "uncertain_band": self.uncertain_band, "storage_dtype": self.storage_dtype,
            "num_parameters": self.num_parameters(), "flops_per_image": self.flops(), **self.info,
        }

    def save_pretrained(self, directory, weights: bool = True) -> None:
        """Write model.safetensors (unless `weights` is False) + config.json + README.md (model card) into `directory`."""
        from safetensors.numpy import save_file

        from .card import model_card

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        # np.asarray(order="C"), not np.ascontiguousarray: the latter turns 0-d arrays (BatchNorm's
        # num_batches_tracked) into shape (1,), which then no longer matches the model when loading
        if weights:
            tensors = {k: np.asarray(v, order="C") for k, v in self.stored_tensors().items()}
            save_file(tensors, str(out / "model.safetensors"),
                      metadata={"format": FORMAT, "architecture": self.name, **self.weights_metadata()})
        config = self.config()
        (out / "config.json").write_text(json.dumps(config, indent=2, default=_json_default) + "\n")
        (out / "README.md").write_text(model_card(config))


def input_views(batch: np.ndarray, cfg: DataConfig) -> list[np.ndarray]:
    """The prepared inputs a prediction averages over: as they are, framed `zoom_average` x tighter when above 1,
    then each of those mirrored when `flip_average` (one, two or four views)."""
    views = [batch]
    if cfg.zoom_average > 1 and len(batch):
        views.append(framed_batch(np.asarray(batch), cfg.zoom_average))
    if cfg.flip_average and len(batch):
        views += [np.ascontiguousarray(np.asarray(v)[:, :, ::-1]) for v in views]
    return views


def weights_sha256(checkpoint) -> str:
    """sha256 of a checkpoint folder's model.safetensors: which weights a result or a committee was computed from."""
    digest = hashlib.sha256()
    with open(Path(checkpoint) / "model.safetensors", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_tensors(tensors: dict[str, np.ndarray], expected: dict[str, tuple]) -> None:
    """Raise ValueError naming missing, unexpected or mis-shaped arrays."""
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    bad = [f"{k}: {tuple(tensors[k].shape)} != {expected[k]}" for k in expected
           if k in tensors and tuple(tensors[k].shape) != tuple(expected[k])]
    if missing or extra or bad:
        raise EyebenchError(f"missing {missing[:5]}, unexpected {extra[:5]}, wrong shapes {bad[:5]}")


def proba_from_logits(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Closed-class logits (n,) -> probabilities (n, 2) as [p_open, p_closed]."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    p_closed = 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
    return np.stack([1.0 - p_closed, p_closed], axis=1)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")
