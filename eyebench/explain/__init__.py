"""Explanation maps for every classifier: Grad-CAM for torch models, occlusion for the others."""
from .deletion import deletion_curve
from .gradcam import gradcam_map
from .occlusion import occlusion_map
from .overlay import overlay, png_data_uri

__all__ = ["deletion_curve", "gradcam_map", "occlusion_map", "overlay", "png_data_uri"]
