"""Training: TrainConfig (config.py, no torch), the epoch loop and its parts, the pipeline and cross-validation.

Only config.py is imported with the package, so `eyebench --help` builds its parser without torch; the other names
below are imported from their modules on first use.
"""
from __future__ import annotations

import importlib

from .config import TrainConfig

_EXPORTS = {"train_torch": "loop", "selection_score": "loop", "run_training": "pipeline", "calibrate": "pipeline",
            "recalibrate": "pipeline", "initialise": "pipeline", "shared_split": "pipeline",
            "training_machine": "pipeline", "cross_validate": "crossval", "repeat_cross_validation": "crossval"}

__all__ = ["TrainConfig", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
