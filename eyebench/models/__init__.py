"""Classifier families, the registry and checkpoint folders; names are imported on first use (no torch for --help)."""
from ..lazy import lazy_exports

_EXPORTS = {
    "BaseClassifier": "base", "Classifier": "base", "NotFittedError": "base",
    "CheckpointError": "checkpoint", "load_classifier": "checkpoint",
    "create_classifier": "registry", "list_classifiers": "registry", "register_classifier": "registry",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
