"""Explanation maps for every classifier: Grad-CAM for torch models, occlusion for the others."""
from .gradcam import gradcam_map
from .occlusion import occlusion_map

__all__ = ["gradcam_map", "occlusion_map"]
