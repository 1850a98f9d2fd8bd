"""Explanation maps of every family through `explain_map` (Grad-CAM for CNNs and ViTs, feature contributions for the
SVM, occlusion for the rest), deletion curves and overlays; maps always have the input's own size."""
import numpy as np
import pytest
from conftest import draw_eye

from eyebench.explain import explain_map, gradcam_map, map_method, occlusion_map


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
    heat = explain_map(untrained_cnn, eye(shape), target)
    assert_valid_map(heat, shape)


@pytest.mark.parametrize("shape", [(64, 64), (36, 50, 3)])
def test_lbp_hog_svm_contributions(fitted_svm, shape):
    heat = explain_map(fitted_svm, eye(shape))
    assert_valid_map(heat, shape)
    assert heat.max() > 0  # a fitted model depends on some part of an eye


def test_trained_checkpoint_explains(trained_cnn):
    from eyebench import load_classifier

    heat = explain_map(load_classifier(trained_cnn), eye((64, 64)))
    assert_valid_map(heat, (64, 64))


def test_occlusion_works_for_torch_models_too(untrained_cnn):
    assert_valid_map(occlusion_map(untrained_cnn, eye((48, 48)), target=1), (48, 48))


def test_explain_map_is_gradcam_for_torch_models(untrained_cnn):
    image = eye((64, 64))
    np.testing.assert_allclose(gradcam_map(untrained_cnn, image, 1), explain_map(untrained_cnn, image, 1), atol=1e-6)


class MeanBrightness:
    """A classifier outside every family: p(closed) grows with the mean pixel value; it only predicts."""

    name, class_names = "mean_brightness", ("open", "closed")

    def prepare(self, images):
        from eyebench.data.images import to_model_input

        return np.stack([to_model_input(im, 32, 1) for im in images])

    def proba_prepared(self, batch):
        p = batch.reshape(len(batch), -1).mean(1) / 255.0
        return np.stack([1 - p, p], axis=1)


def test_explain_map_picks_the_method_by_family(untrained_cnn, fitted_svm):
    assert [map_method(m) for m in (untrained_cnn, tiny_model("vit_scratch"), fitted_svm, MeanBrightness())] == [
        "gradcam", "gradcam", "contributions", "occlusion"]
    image = eye((48, 40))
    np.testing.assert_array_equal(explain_map(MeanBrightness(), image, 1), occlusion_map(MeanBrightness(), image, 1))
    assert not hasattr(untrained_cnn, "explain") and not hasattr(fitted_svm, "explain")  # models know no maps


def test_svm_contributions_are_unnormalised_cells(fitted_svm):
    cells = fitted_svm.feature_contributions(eye((64, 64)), target=1)
    size = fitted_svm.data_config.input_size
    assert cells.shape == (size, size) and cells.min() < 0 < cells.max()  # signed evidence, not yet a [0, 1] map
    np.testing.assert_allclose(fitted_svm.feature_contributions(eye((64, 64)), target=0), -cells)


def test_gradcam_maps_of_one_network_are_made_one_at_a_time(untrained_cnn):
    from concurrent.futures import ThreadPoolExecutor

    images = [eye((64, 64)), draw_eye(False, np.random.default_rng(4), 64)] * 3
    alone = [explain_map(untrained_cnn, im) for im in images]
    with ThreadPoolExecutor(4) as pool:  # hooks on a shared network: without the lock maps would mix
        together = list(pool.map(lambda im: explain_map(untrained_cnn, im), images))
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, atol=1e-6)


# -- every family through the same `explain` call ---------------------------------------------------------
def tiny_model(name):
    """Seed-fixed, untrained (small) torch models; `fitted_svm` stands for the SVM."""
    import torch

    from eyebench import create_classifier

    torch.manual_seed(0)
    kw = {"tiny": True} if name.startswith("dinov2") else {"depth": 2} if name == "vit_scratch" else {}
    return create_classifier(name, **kw)


@pytest.fixture(params=["small_cnn", "lbp_hog_svm", "resnet18", "vit_scratch", "dinov2_vits14"])
def any_model(request, fitted_svm):
    return fitted_svm if request.param == "lbp_hog_svm" else tiny_model(request.param)


def test_maps_fit_the_input_and_differ_between_images(any_model):
    rng = np.random.default_rng(11)
    open_eye, closed_eye = draw_eye(True, rng, 64), draw_eye(False, rng, 64)
    maps = [explain_map(any_model, im) for im in (open_eye, closed_eye)]
    for heat in maps:
        assert_valid_map(heat, (64, 64))
        assert heat.max() == pytest.approx(1.0)  # scaled to [0, 1], not all zeros
    assert np.abs(maps[0] - maps[1]).mean() > 0.01  # the map depends on the image
    # any size, gray or RGB: the map has the input's (H, W)
    assert_valid_map(explain_map(any_model, eye((50, 44, 3))), (50, 44))
    assert_valid_map(explain_map(any_model, eye((90, 70))), (90, 70))


@pytest.mark.parametrize("name, prefix, grid", [("vit_scratch", 1, 8), ("dinov2_vits14", 5, 5)])
def test_vit_gradcam_drops_every_prefix_token(name, prefix, grid):
    import torch

    clf = tiny_model(name)
    assert clf.net.num_prefix_tokens == prefix  # DINOv2 with registers: cls + 4 register tokens
    assert [type(m).__name__ for m in clf.cam_layers()] == ["LayerNorm"]
    assert clf.cam_layers()[0] is clf.net.blocks[-1].norm1
    assert all(not blk.attn.fused_attn for blk in clf.net.blocks)
    dim = clf.net.embed_dim
    tokens = torch.arange(2 * (prefix + grid * grid) * dim, dtype=torch.float32).view(2, prefix + grid * grid, dim)
    tokens[:, :prefix] = -1.0  # mark the prefix tokens
    maps = clf.cam_reshape(tokens)
    assert maps.shape == (2, dim, grid, grid)
    assert (maps >= 0).all()  # no prefix token made it into the spatial map
    # patch (row 0, col 1) is the token right after the prefix tokens and patch (0, 0)
    assert torch.equal(maps[0, :, 0, 1], tokens[0, prefix + 1])


def test_svm_map_is_a_signed_feature_contribution(fitted_svm):
    from eyebench.explain import occlusion_map

    image = eye((64, 64))  # the model's own input size: no resizing blurs the supports
    closed, opened = explain_map(fitted_svm, image, target=1), explain_map(fitted_svm, image, target=0)
    # evidence for "closed" is evidence against "open": the two maps never overlap
    assert closed.max() > 0 and opened.max() > 0
    assert not ((closed > 0) & (opened > 0)).any()
    assert not np.allclose(closed, occlusion_map(fitted_svm, image, target=1))  # not an occlusion map


def test_deletion_curve(untrained_cnn):
    from eyebench.explain import deletion_curve

    image = eye((64, 64))
    heat = explain_map(untrained_cnn, image)
    d = deletion_curve(untrained_cnn, image, heat, steps=5)
    assert set(d) == {"target", "fractions", "saliency", "random", "auc_saliency", "auc_random"}
    assert d["target"] in (0, 1)
    assert d["fractions"] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert len(d["saliency"]) == len(d["random"]) == 6
    assert all(0.0 <= v <= 1.0 for v in d["saliency"] + d["random"])
    p0 = untrained_cnn.predict_proba([image])[0, d["target"]]
    assert d["saliency"][0] == pytest.approx(p0, abs=1e-6) and d["random"][0] == pytest.approx(p0, abs=1e-6)
    assert d["saliency"][-1] == pytest.approx(d["random"][-1])  # everything removed: the same image
    assert d["auc_saliency"] == pytest.approx(np.mean(d["saliency"])) and 0 <= d["auc_random"] <= 1


@pytest.mark.parametrize("shape", [(40, 30), (40, 30, 1), (40, 30, 3), (40, 30, 4)])
def test_overlay_is_rgb_uint8(shape):
    from eyebench.explain import overlay

    image = np.full(shape, 100, np.uint8)
    heat = np.zeros((7, 9), np.float32)
    heat[3, 4] = 1.0
    out = overlay(image, heat)
    assert out.shape == (40, 30, 3) and out.dtype == np.uint8
    assert not (out == out[0, 0]).all()  # the hot spot shows
    plain = overlay(image, heat, alpha=0.0)
    assert (plain == 100).all()


def test_png_data_uri_round_trip():
    import base64

    import cv2

    from eyebench.explain import png_data_uri

    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 255  # red
    uri = png_data_uri(rgb, size=48)
    assert uri.startswith("data:image/png;base64,")
    back = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert back.shape == (48, 48, 3) and (back[..., 2] == 255).all() and (back[..., :2] == 0).all()  # BGR on disk


def test_a_shipped_models_map_beats_random_and_inverted_deletion_orders():
    import cv2
    from conftest import REPO_ROOT

    from eyebench.explain import deletion_curve
    from eyebench.models.checkpoint import load_classifier

    student = load_classifier(REPO_ROOT / "checkpoints" / "student")
    image = cv2.cvtColor(cv2.imread(str(REPO_ROOT / "sample_images" / "astronaut_eye_right_open.png")),
                         cv2.COLOR_BGR2RGB)
    heat = explain_map(student, image)
    real, inverted = deletion_curve(student, image, heat), deletion_curve(student, image, 1 - heat)
    assert real["target"] == 0 and real["auc_saliency"] < real["auc_random"] - 0.2
    assert real["auc_saliency"] < inverted["auc_saliency"] - 0.2


@pytest.mark.parametrize("title", ["UNCERTAIN p(closed)=0.007", "CLOSED p(closed)=0.993", "vit_scratch"])
def test_panel_titles_fit_whole_by_shrinking_the_font(title):
    import cv2

    from eyebench.explain.figure import FONT, fit_text

    text, scale = fit_text(title, 160)  # the decision's p(closed) used to be cut to "p(closed)=0.."
    assert text == title and 0.32 <= scale <= 0.4 and cv2.getTextSize(text, FONT, scale, 1)[0][0] <= 156
    cut, scale = fit_text("a_checkpoint_folder_with_a_very_long_name_indeed", 160)
    assert cut.endswith("..") and scale == pytest.approx(0.32) and cv2.getTextSize(cut, FONT, scale, 1)[0][0] <= 156
