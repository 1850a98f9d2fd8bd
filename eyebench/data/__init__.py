"""Datasets: scanning the three layouts, decoding with a cache, and person-disjoint splits."""
from .dataset import Dataset, Sample, load_dataset, load_images
from .splits import split_by_subject

__all__ = ["Dataset", "Sample", "load_dataset", "load_images", "split_by_subject"]
