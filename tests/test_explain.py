"""Explanation maps: Grad-CAM for small_cnn and occlusion for lbp_hog_svm, at the input's own size."""
import numpy as np
import pytest

from conftest import draw_eye
from eyebench.explain import gradcam_map, occlusion_map


def eye(shape):
    gray = draw_eye(True, np.random.default_rng(3), max(shape[:2]))[: shape[0], : shape[1]]
    return np.repeat(gray[..., None], 3, axis=2) if len(shape) == 3 else gray


def assert_valid_map(heat, shape):
    assert heat.shape == shape[:2]
    assert np.issubdtype(heat.dtype, np.floating)
    assert np.isfinite(heat).all()
    assert heat.min() >= 0.0 and heat.max() <= 1.0


@pytest.mark.parametrize("shape", [(64, 64), (40, 56), (90, 70, 3)])
@pytest.mark.parametrize("target", [None, 0, 1])
def test_small_cnn_gradcam(untrained_cnn, shape, target):
    heat = untrained_cnn.explain(eye(shape), target)
    assert_valid_map(heat, shape)


@pytest.mark.parametrize("shape", [(64, 64), (36, 50, 3)])
def test_lbp_hog_svm_occlusion(fitted_svm, shape):
    heat = fitted_svm.explain(eye(shape))
    assert_valid_map(heat, shape)
    assert heat.max() > 0  # a fitted model depends on some part of an eye


def test_trained_checkpoint_explains(trained_cnn):
    from eyebench import load_classifier

    heat = load_classifier(trained_cnn).explain(eye((64, 64)))
    assert_valid_map(heat, (64, 64))


def test_occlusion_works_for_torch_models_too(untrained_cnn):
    assert_valid_map(occlusion_map(untrained_cnn, eye((48, 48)), target=1), (48, 48))


def test_gradcam_function_matches_method(untrained_cnn):
    image = eye((64, 64))
    np.testing.assert_allclose(gradcam_map(untrained_cnn, image, 1), untrained_cnn.explain(image, 1), atol=1e-6)
