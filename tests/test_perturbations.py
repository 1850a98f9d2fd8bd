"""Controlled perturbations: shape and dtype kept, identity levels are identities, glasses draw a dark frame."""
import numpy as np
import pytest
from conftest import draw_eye

from eyebench.evaluate.perturbations import (
    ANGLE_NOTE,
    GLASSES_LEVELS,
    SWEEPS,
    blur,
    framing,
    gamma,
    glasses,
    noise,
    perturb_batch,
    rotate,
    yaw,
)

# levels that must give back the input unchanged
IDENTITY = {"rotation_deg": 0, "yaw_deg": 0, "glasses": 0, "blur_sigma": 0, "gamma": 1.0, "noise_sigma": 0,
            "framing": 1.0}


def eye(shape):
    gray = draw_eye(True, np.random.default_rng(5), max(shape[:2]))[: shape[0], : shape[1]]
    return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2)) if len(shape) == 3 else gray


@pytest.mark.parametrize("shape", [(96, 96, 3), (96, 96), (40, 56)])
@pytest.mark.parametrize("sweep", sorted(SWEEPS))
def test_every_level_keeps_shape_and_dtype(sweep, shape):
    img = eye(shape)
    before = img.copy()
    fn, levels = SWEEPS[sweep]
    for level in levels:
        out = fn(img, level)
        assert out.shape == img.shape and out.dtype == np.uint8, (sweep, level)
    np.testing.assert_array_equal(img, before)  # the input is never modified in place


@pytest.mark.parametrize("sweep", sorted(IDENTITY))
@pytest.mark.parametrize("shape", [(96, 96, 3), (40, 56)])
def test_identity_levels(sweep, shape):
    img = eye(shape)
    assert IDENTITY[sweep] in SWEEPS[sweep][1]  # every sweep with an identity level includes it as the reference
    np.testing.assert_array_equal(SWEEPS[sweep][0](img, IDENTITY[sweep]), img)


def test_downscale_to_the_own_size_is_the_identity():
    img = eye((96, 96, 3))
    np.testing.assert_array_equal(SWEEPS["downscale_px"][0](img, 96), img)
    assert not np.array_equal(SWEEPS["downscale_px"][0](img, 16), img)


def test_non_identity_levels_change_the_image():
    img = eye((96, 96))
    for sweep, (fn, levels) in SWEEPS.items():
        for level in levels:
            if level != IDENTITY.get(sweep) and not (sweep == "downscale_px" and level == 96):
                assert not np.array_equal(fn(img, level), img), (sweep, level)


@pytest.mark.parametrize("shape", [(96, 96, 3), (64, 64)])
def test_glasses_draw_a_dark_frame(shape):
    img = np.full(shape, 200, np.uint8)  # a bright, flat image: any dark pixel comes from the frame
    for level in (1, 2, 3):
        out = glasses(img, level)
        dark = out <= 30
        assert dark.any(), level
        assert dark.mean() > 0.03  # a rim around the lens, not a dot
        # the rim is a ring: the centre stays as it was
        c = shape[0] // 2
        assert (out[c - 3:c + 3, shape[1] // 2 - 3:shape[1] // 2 + 3] >= 200).all()
    # glare (levels 2 and 3) brightens part of the lens, the big glare more of it
    bright = [(glasses(img, lvl) > 230).sum() for lvl in (1, 2, 3)]
    assert bright[0] == 0 and 0 < bright[1] < bright[2]
    assert set(GLASSES_LEVELS) == set(SWEEPS["glasses"][1])


def test_rotation_and_yaw_are_symmetric():
    img = eye((64, 64))
    # about the true centre: a quarter turn is np.rot90 (counter-clockwise), and mirroring commutes
    np.testing.assert_array_equal(rotate(img, 90), np.rot90(img))
    np.testing.assert_array_equal(rotate(img, 30)[:, ::-1], rotate(img[:, ::-1], -30))
    assert not np.array_equal(yaw(img, 20), yaw(img, -20))


def test_framing_shrinks_or_enlarges_about_the_centre():
    img = np.zeros((60, 60), np.uint8)
    img[20:40, 20:40] = 255  # a 20 px bright square in the middle, on a dark border
    area = {size: int((framing(img, size) > 127).sum()) for size in (0.5, 1.0, 1.5)}
    assert area[1.0] == 400 and abs(area[0.5] - 100) <= 25 and abs(area[1.5] - 900) <= 70
    for size in (0.5, 1.5):  # still centred: the mirror image is the same square
        out = framing(img, size) > 127
        np.testing.assert_array_equal(out, out[::-1, ::-1])
    wide = framing(np.full((40, 40), 90, np.uint8), 0.6)
    assert (wide == 90).all()  # the border is the crop's own edge, not black


def test_blur_gamma_noise():
    img = eye((64, 64))
    assert blur(img, 4).std() < img.std()
    assert gamma(img, 0.4).mean() > img.mean() > gamma(img, 2.5).mean()  # < 1 brightens, > 1 darkens
    np.testing.assert_array_equal(noise(img, 16, seed=3), noise(img, 16, seed=3))  # seeded
    assert not np.array_equal(noise(img, 16, seed=3), noise(img, 16, seed=4))
    assert abs(noise(img, 16).astype(float) - img).mean() > 5


def test_perturb_batch():
    batch = np.stack([eye((48, 48, 3)), eye((48, 48, 3))[::-1]])
    for sweep, (_, levels) in SWEEPS.items():
        out = perturb_batch(batch, sweep, levels[-1])
        assert out.shape == batch.shape and out.dtype == np.uint8
    # noise draws a different pattern per image (seeded by position), the same on every call
    a = perturb_batch(np.stack([batch[0], batch[0]]), "noise_sigma", 16)
    assert not np.array_equal(a[0], a[1])
    np.testing.assert_array_equal(a, perturb_batch(np.stack([batch[0], batch[0]]), "noise_sigma", 16))
    assert "simulate head angle" in ANGLE_NOTE and "head_yaw" in ANGLE_NOTE
