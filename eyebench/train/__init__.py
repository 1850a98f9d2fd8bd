"""Training: TrainConfig (config.py, no torch), the epoch loop and its parts, the pipeline and cross-validation.

Only config.py is imported with the package, so `eyebench --help` builds its parser without torch; the other names
below are imported from their modules on first use.
"""
from ..lazy import lazy_exports
from .config import TrainConfig

_EXPORTS = {"train_torch": "loop", "selection_score": "loop", "run_training": "pipeline", "calibrate": "pipeline",
            "recalibrate": "pipeline", "initialise": "pipeline", "shared_split": "pipeline",
            "training_machine": "pipeline", "cross_validate": "crossval", "repeat_cross_validation": "crossval"}
__all__ = ["TrainConfig", *_EXPORTS]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
