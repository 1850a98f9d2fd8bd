"""One registry of classifier factories: register_classifier / create_classifier / list_classifiers."""
from __future__ import annotations

import dataclasses
import importlib
from typing import Callable

from ..errors import EyebenchError

# Built-in classifiers as data (timm's entry-point habit): name -> the module holding a factory of that name. Listing
# them imports nothing; `create_classifier` imports the one module it needs (torch and timm only for torch models).
# The model modules do not import the registry: it imports them, never the reverse (no import circle).
BUILT_IN: dict[str, str] = {
    "lbp_hog_svm": "eyebench.models.svm",
    "eyelid_landmarks": "eyebench.models.eyelid",
    "small_cnn": "eyebench.models.cnn",
    "student": "eyebench.models.cnn",
    "resnet18": "eyebench.models.timm_models",
    "resnet34": "eyebench.models.timm_models",
    "vit_scratch": "eyebench.models.timm_models",
    "dinov2_vits14": "eyebench.models.timm_models",
    "dinov2_vitb14": "eyebench.models.timm_models",
    "committee": "eyebench.models.committee",
}
NOT_TRAINED = ("committee",)  # made from trained checkpoints by its own command (`eyebench committee`), not trained
_REGISTRY: dict[str, Callable] = {}


def register_classifier(fn: Callable) -> Callable:
    """Decorator: register a user's factory `fn(**model_args) -> Classifier` under its function name."""
    name = fn.__name__
    if name in _REGISTRY or name in BUILT_IN:
        raise EyebenchError(f"classifier {name!r} is already registered")
    _REGISTRY[name] = fn
    return fn


def list_classifiers() -> list[str]:
    """Names of all registered classifiers (built-in and user-registered), sorted; imports no model module."""
    return sorted(set(BUILT_IN) | set(_REGISTRY))


def factory(name: str) -> Callable:
    """The factory registered under `name`; a built-in one is imported from its module on first use."""
    if name not in _REGISTRY and name in BUILT_IN:
        _REGISTRY[name] = getattr(importlib.import_module(BUILT_IN[name]), name)
    if name not in _REGISTRY:
        raise EyebenchError(f"unknown classifier {name!r}; available: {', '.join(list_classifiers())}")
    return _REGISTRY[name]


# Model arguments every image classifier takes, handled here rather than by each factory: they set a data_config field.
COMMON_ARGS = ("flip_average", "zoom_average")


def create_classifier(name: str, **model_args):
    """Build a fresh (untrained) classifier by registry name with its model arguments (for any classifier,
    `flip_average=True` averages each prediction over the crop and its horizontal mirror, `zoom_average=1.25` over the
    crop and its centre framed 1.25 x tighter: see DataConfig)."""
    clf = factory(name)(**{k: v for k, v in model_args.items() if k not in COMMON_ARGS})
    common = {k: v for k, v in model_args.items() if k in COMMON_ARGS}
    if common:
        clf.data_config = dataclasses.replace(clf.data_config, **common)
    clf.name, clf.model_args = name, dict(model_args)
    return clf
