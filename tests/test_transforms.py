"""Training augmentation: shape, range, determinism for a generator seed."""
import pytest
import torch

from eyebench.data.transforms import add_glasses, augment


def batch(n=16, c=1, size=64, seed=0):
    return torch.rand((n, c, size, size), generator=torch.Generator().manual_seed(seed))


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("shape", [(16, 1, 64, 64), (8, 3, 48, 48), (4, 1, 24, 24)])
def test_shape_dtype_and_range(shape):
    x = torch.rand(shape, generator=gen(1))
    out = augment(x, gen(0))
    assert out.shape == x.shape and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("strength", [0.5, 1.0, 2.0])
def test_deterministic_for_seed(strength):
    x = batch()
    a, b = augment(x.clone(), gen(42), strength), augment(x.clone(), gen(42), strength)
    assert torch.equal(a, b)
    assert not torch.equal(a, augment(x.clone(), gen(43), strength))


def test_input_not_modified():
    x = batch()
    before = x.clone()
    augment(x, gen(0))
    assert torch.equal(x, before)


def test_changes_the_images():
    x = batch()
    assert (augment(x, gen(0)) - x).abs().mean() > 0.01


def test_zero_strength_is_identity_up_to_flip():
    x = batch(size=32) * 0.98 + 0.01
    out = augment(x, gen(0), strength=0.0)
    for i in range(len(x)):
        same = torch.allclose(out[i], x[i], atol=1e-4)
        flipped = torch.allclose(out[i], x[i].flip(-1), atol=1e-4)
        assert same or flipped


def test_glasses_and_zoom_out_off_draw_nothing_extra():
    x = batch()
    assert torch.equal(augment(x.clone(), gen(5)), augment(x.clone(), gen(5), glasses=0.0, zoom_out=0.0))


def test_zoom_out_shrinks_the_eye_of_the_chosen_share():
    x = torch.zeros(400, 1, 60, 60)
    x[:, :, 20:40, 20:40] = 1  # a bright centred square, 1/9 of the crop, on a dark border

    def area(out):  # the square's area relative to its own
        return (out > 0.5).float().mean((1, 2, 3)) * 9

    plain = area(augment(x.clone(), gen(0), strength=0.0))
    wide = area(augment(x.clone(), gen(0), strength=0.0, zoom_out=0.5))
    assert torch.allclose(plain, torch.ones(400), atol=0.05)  # without zoom-out only flips (strength 0)
    shrunk = wide < 0.9
    assert 0.4 < shrunk.float().mean() < 0.6  # about the chosen share
    assert wide[shrunk].min() > 0.55 ** 2 - 0.05 and wide[shrunk].max() < 0.9 ** 2 + 0.02  # 55-90% of its size


def test_glasses_touch_only_chosen_images_locally():
    x = batch(n=32) * 0.5
    chosen = torch.arange(32) % 2 == 0
    out = add_glasses(x, chosen, gen(3))
    assert torch.equal(out[~chosen], x[~chosen])  # images not chosen are untouched
    assert out.min() >= 0 and out.max() <= 1
    assert (out[chosen].flatten(1).max(1).values > 0.8).all()  # every chosen image gets a saturated glare spot
    changed = (out[chosen] - x[chosen]).abs().flatten(1) > 0.01
    assert (changed.float().mean(1) < 0.7).all()  # ... and a frame edge: local changes, not a global filter


def test_glasses_share_reaches_the_augmented_batch():
    x = batch(n=64) * 0.0 + 0.2
    g1, g2 = gen(9), gen(9)
    plain, glared = augment(x.clone(), g1, 0.0), augment(x.clone(), g2, 0.0, glasses=1.0)
    assert (glared.flatten(1).max(1).values > plain.flatten(1).max(1).values + 0.2).all()
