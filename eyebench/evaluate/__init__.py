"""Evaluation: metrics from probabilities, and running classifiers over datasets."""
from .metrics import classification_metrics, per_group_accuracy

__all__ = ["classification_metrics", "per_group_accuracy"]
