"""One registry of classifier factories: register_classifier / create_classifier / list_classifiers."""
from __future__ import annotations

from typing import Callable

_REGISTRY: dict[str, Callable] = {}


def register_classifier(fn: Callable) -> Callable:
    """Decorator: register a factory `fn(**model_args) -> Classifier` under its function name."""
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"classifier {fn.__name__!r} is already registered")
    _REGISTRY[fn.__name__] = fn
    return fn


def list_classifiers() -> list[str]:
    """Names of all registered classifiers, sorted."""
    return sorted(_REGISTRY)


def create_classifier(name: str, **model_args):
    """Build a fresh (untrained) classifier by registry name with its model arguments."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown classifier {name!r}; available: {', '.join(list_classifiers())}")
    clf = _REGISTRY[name](**model_args)
    clf.name, clf.model_args = name, dict(model_args)
    return clf
