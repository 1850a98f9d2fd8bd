"""eyebench: open/closed eye-state classification workbench (train, evaluate, explain, compare)."""
from .lazy import lazy_exports

# Imported on first use, so that `python -m eyebench --help` imports no torch.
_EXPORTS = {
    "CLASS_NAMES": "config", "DataConfig": "config",
    "CheckpointError": "models", "Classifier": "models", "NotFittedError": "models", "create_classifier": "models",
    "list_classifiers": "models", "load_classifier": "models", "register_classifier": "models",
    "explain_map": "explain",
}
__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
