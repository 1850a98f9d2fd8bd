"""Decoding image files and bytes, and converting raw crops to model input."""
import io

import cv2
import numpy as np
import pytest
from conftest import draw_eye, write_broken_files
from PIL import Image

from eyebench.data.images import ImageError, clahe, decode_image, to_model_input


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_decode_gray_png_to_rgb(tmp_path):
    gray = draw_eye(True, np.random.default_rng(0), 40)
    path = tmp_path / "eye.png"
    cv2.imwrite(str(path), gray)
    rgb = decode_image(path)
    assert rgb.shape == (40, 40, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[..., 0], gray) and np.array_equal(rgb[..., 1], gray)
    assert np.array_equal(decode_image(path.read_bytes()), rgb)


def test_decode_alpha_on_white():
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black
    out = decode_image(png_bytes(Image.fromarray(rgba, "RGBA")))
    assert (out == 255).all()


def test_decode_16_bit_is_stretched():
    arr = np.linspace(1000, 3000, 100).reshape(10, 10).astype(np.uint16)
    out = decode_image(png_bytes(Image.fromarray(arr)))
    assert out.min() == 0 and out.max() == 255


@pytest.mark.parametrize("kind, reason", [("empty", "not a readable image"), ("random", "not a readable image"),
                                          ("truncated", "truncated")])
def test_decode_broken_files(tmp_path, kind, reason):
    path = write_broken_files(tmp_path)[kind]
    with pytest.raises(ImageError, match=reason):
        decode_image(path)


def test_decode_missing_and_tiny(tmp_path):
    with pytest.raises(ImageError, match="a folder, not an image"):
        decode_image(tmp_path)
    with pytest.raises(ImageError, match="not found"):
        decode_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="too small"):
        decode_image(png_bytes(Image.new("L", (4, 20))))


def test_decode_pixel_limit():
    with pytest.raises(ImageError, match="too large"):
        decode_image(png_bytes(Image.new("L", (100, 100))), max_pixels=5000)


@pytest.mark.parametrize("shape", [(30, 50), (30, 50, 1), (30, 50, 3), (30, 50, 4), (100, 80)])
@pytest.mark.parametrize("channels", [1, 3])
def test_to_model_input_shapes(shape, channels):
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = to_model_input(arr, 64, channels)
    assert out.shape == (64, 64, channels) and out.dtype == np.uint8 and out.flags.c_contiguous


def test_to_model_input_float_scaling():
    ones = to_model_input(np.ones((8, 8), np.float32), 8, 1)
    assert (ones == 255).all()
    big = to_model_input(np.full((8, 8), 300.0), 8, 1)
    assert (big == 255).all()


def test_to_model_input_keeps_size_and_values():
    arr = np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) % 256
    assert np.array_equal(to_model_input(arr.astype(np.uint8), 64, 1)[..., 0], arr)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2)), np.zeros((2, 4, 4, 3)), np.zeros(5)])
def test_to_model_input_rejects_non_images(bad):
    with pytest.raises(ImageError, match="expected an image array"):
        to_model_input(bad, 16, 1)


def test_clahe_stretches_low_contrast_per_image_and_channel():
    rng = np.random.default_rng(0)
    faint = (100 + rng.integers(0, 12, (2, 32, 32, 3))).astype(np.uint8)  # 12 grey levels of 256
    faint[1, :, :, 2] = 100  # a flat channel stays flat
    out = clahe(faint)
    assert out.shape == faint.shape and out.dtype == np.uint8
    assert np.ptp(out[0, :, :, 0]) > 3 * np.ptp(faint[0, :, :, 0])
    assert np.ptp(out[1, :, :, 2]) == 0
    np.testing.assert_array_equal(out, clahe(faint))  # deterministic
    np.testing.assert_array_equal(faint[1, :, :, 2], 100)  # input untouched


def test_clahe_model_sees_equalised_input_everywhere(tmp_path):
    """contrast="clahe" acts inside normalise: prepared uint8 inputs, float training batches and reloads agree."""
    import torch

    from eyebench import create_classifier, load_classifier

    torch.manual_seed(0)
    plain, eq = create_classifier("small_cnn"), create_classifier("small_cnn", contrast="clahe")
    eq.net.load_state_dict(plain.net.state_dict())
    rng = np.random.default_rng(1)
    batch = (90 + rng.integers(0, 20, (3, 64, 64, 1))).astype(np.uint8)
    np.testing.assert_allclose(eq.proba_prepared(batch), plain.proba_prepared(clahe(batch)), atol=1e-6)
    assert not np.allclose(eq.proba_prepared(batch), plain.proba_prepared(batch), atol=1e-4)
    x01 = torch.as_tensor(batch).permute(0, 3, 1, 2).float() / 255.0  # what the training loop hands over
    equalised = torch.as_tensor(clahe(batch)).permute(0, 3, 1, 2).float() / 255.0
    torch.testing.assert_close(eq.normalise(x01), plain.normalise(equalised))
    eq.save_pretrained(tmp_path / "eq")
    again = load_classifier(tmp_path / "eq")
    assert again.data_config.contrast == "clahe"
    np.testing.assert_allclose(again.proba_prepared(batch), eq.proba_prepared(batch), atol=1e-6)
