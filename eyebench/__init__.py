"""eyebench: open/closed eye-state classification workbench (train, evaluate, explain, compare)."""
from .config import CLASS_NAMES, DataConfig
from .models import CheckpointError, Classifier, create_classifier, list_classifiers, load_classifier, register_classifier

__all__ = ["CLASS_NAMES", "DataConfig", "CheckpointError", "Classifier", "create_classifier", "list_classifiers",
           "load_classifier", "register_classifier"]
__version__ = "0.1.0"
