"""Face -> eye crops with OpenCV Haar cascades (scikit-image's public-domain astronaut photo), and drawing boxes."""
import numpy as np
import pytest
from skimage import data

from conftest import draw_eye
from eyebench.faces import EyeBox, draw_eyes, find_eyes


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()  # ships inside scikit-image: no download


def test_astronaut_has_two_eyes(astronaut):
    eyes = find_eyes(astronaut)
    assert len(eyes) == 2
    # sorted left to right in the picture: the person's right eye first
    assert [e.side for e in eyes] == ["right", "left"] and eyes[0].x < eyes[1].x
    for e in eyes:
        assert isinstance(e, EyeBox)
        assert 0 <= e.x and 0 <= e.y and e.x + e.w <= 512 and e.y + e.h <= 512
        assert 20 <= e.w <= 80 and abs(e.w - e.h) <= 2  # square crops about eye size
        assert 60 <= e.y <= 140 and 150 <= e.x <= 280  # on her face, not somewhere in the scene
        assert e.crop.dtype == np.uint8 and e.crop.shape == (e.h, e.w, 3)
        np.testing.assert_array_equal(e.crop, astronaut[e.y:e.y + e.h, e.x:e.x + e.w])
    assert abs(eyes[0].y - eyes[1].y) < 20  # both eyes at about the same height


def test_grayscale_picture(astronaut):
    eyes = find_eyes(astronaut.mean(axis=2).astype(np.uint8))
    assert [e.side for e in eyes] == ["right", "left"] and eyes[0].crop.ndim == 2


@pytest.mark.parametrize("shape", [(48, 48), (60, 80, 3), (24, 24)])
def test_a_small_crop_is_returned_whole(shape):
    gray = draw_eye(False, np.random.default_rng(0), max(shape[:2]))[: shape[0], : shape[1]]
    image = np.repeat(gray[..., None], 3, axis=2) if len(shape) == 3 else gray
    eyes = find_eyes(image)
    assert len(eyes) == 1
    e = eyes[0]
    assert e.side == "crop" and (e.x, e.y, e.w, e.h) == (0, 0, shape[1], shape[0])
    np.testing.assert_array_equal(e.crop, image)


def test_an_eye_sized_picture_without_a_face_is_a_crop():
    big_eye = draw_eye(True, np.random.default_rng(1), 200)
    assert [e.side for e in find_eyes(big_eye)] == ["crop"]


def test_a_large_picture_without_faces_has_no_eyes():
    assert find_eyes(np.full((300, 500, 3), 128, np.uint8)) == []


def test_draw_eyes(astronaut):
    before = astronaut.copy()
    eyes = find_eyes(astronaut)
    out = draw_eyes(astronaut, eyes, ["open 0.97", "closed 0.80"])
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(astronaut, before)  # the input is not drawn on
    changed = np.any(out != astronaut, axis=2)
    first, second = eyes
    for e in eyes:  # the top edge of each box is drawn
        assert changed[e.y, e.x:e.x + e.w].any()
    assert not changed[400:, :].any()  # nothing drawn far from the eyes
    # the first eye is labelled open (green box), the second closed (red box)
    green, red = out[first.y, first.x + first.w // 2], out[second.y, second.x + second.w // 2]
    assert green[1] > green[0] and red[0] > red[1]
    plain = draw_eyes(astronaut, eyes)  # boxes without labels
    assert plain.shape == astronaut.shape and np.any(plain != astronaut)


def test_draw_eyes_leaves_a_crop_as_it_is():
    crop = draw_eye(True, np.random.default_rng(2), 48)
    out = draw_eyes(crop, find_eyes(crop), ["open"])
    assert out.shape == crop.shape
    np.testing.assert_array_equal(out, crop)
