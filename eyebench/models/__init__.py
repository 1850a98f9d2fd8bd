"""Classifier families, the registry and checkpoint folders."""
from . import cnn, svm, timm_models  # noqa: F401  (registers the built-in classifiers)
from .base import BaseClassifier, Classifier
from .checkpoint import CheckpointError, load_classifier
from .registry import create_classifier, list_classifiers, register_classifier

__all__ = ["BaseClassifier", "Classifier", "CheckpointError", "load_classifier", "create_classifier",
           "list_classifiers", "register_classifier"]
