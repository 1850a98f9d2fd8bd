"""Face -> eye crops with OpenCV Haar cascades (scikit-image's public-domain astronaut photo), and drawing boxes."""
import cv2
import numpy as np
import pytest
from skimage import data

from conftest import draw_eye
from eyebench.config import CLOSED, OPEN
from eyebench.faces import EyeBox, _faces, draw_eyes, find_eyes, locate_eyes
from eyebench.samples import render_eye_photo


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


@pytest.mark.parametrize("tilt", [30, -35, 50])
def test_a_tilted_face_is_found_and_its_eyes_placed_back_on_the_picture(astronaut, tilt):
    h, w = astronaut.shape[:2]
    upright = locate_eyes(astronaut).eyes
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), tilt, 1.0)
    search = locate_eyes(cv2.warpAffine(astronaut, turn, (w, h), borderMode=cv2.BORDER_REPLICATE))
    assert search.how == "faces" and "tilted by about" in search.message and len(search.eyes) == 2
    for eye, was in zip(sorted(search.eyes, key=lambda e: e.side), sorted(upright, key=lambda e: e.side)):
        expected = turn @ np.array([was.x + was.w / 2, was.y + was.h / 2, 1.0])  # where that eye went
        assert np.hypot(*(np.array([eye.x + eye.w / 2, eye.y + eye.h / 2]) - expected)) < 0.6 * was.w
        assert eye.crop.shape[0] == eye.crop.shape[1] > 0  # cut level, in the picture turned upright


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


@pytest.mark.parametrize("value", [0, 128, 255])
def test_a_blank_eye_sized_picture_is_refused(value):
    """A uniform picture small enough to pass for an eye crop (a fully transparent or a blank 64x64 PNG) has no eye:
    no model's answer would mean anything. Asked for explicitly, it is still classified whole."""
    blank = np.full((64, 64, 3), value, np.uint8)
    search = locate_eyes(blank)
    assert search.how == "none" and search.eyes == [] and "nearly uniform" in search.message
    assert [e.side for e in locate_eyes(blank, whole_image=True).eyes] == ["crop"]


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


def closed_astronaut(astronaut) -> np.ndarray:
    """The astronaut with both eyes painted shut (skin over the eye, a dark lid line): the eye cascades miss them."""
    out = astronaut.copy()
    for e in find_eyes(astronaut):
        skin = astronaut[e.y + e.h + 2:e.y + e.h + 8, e.x:e.x + e.w].reshape(-1, 3).mean(axis=0)
        out[e.y + 6:e.y + e.h - 4, e.x + 3:e.x + e.w - 3] = skin
        cv2.line(out, (e.x + 5, e.y + e.h // 2 + 2), (e.x + e.w - 5, e.y + e.h // 2 + 2), (60, 40, 30), 2)
    return out


def test_eyes_the_detector_misses_are_placed_by_the_face(astronaut):
    search = locate_eyes(closed_astronaut(astronaut))
    real = find_eyes(astronaut)
    assert search.how == "faces" and [e.side for e in search.eyes] == ["right", "left"]
    assert "placed where eyes sit in the face" in search.message
    for placed, eye in zip(search.eyes, real):  # within a few pixels of where the detector found the open eyes
        assert abs(placed.x - eye.x) <= 8 and abs(placed.y - eye.y) <= 8 and abs(placed.w - eye.w) <= 8


def test_locate_eyes_says_what_it_did(astronaut):
    found = locate_eyes(astronaut)
    assert found.how == "faces" and found.message == "2 eye(s) found."
    forced = locate_eyes(astronaut, whole_image=True)
    assert forced.how == "forced" and [e.side for e in forced.eyes] == ["crop"] and "as asked" in forced.message
    crop = locate_eyes(draw_eye(True, np.random.default_rng(3), 48))
    assert crop.how == "crop" and crop.message == "Classified the whole image as one eye crop."
    nothing = locate_eyes(np.full((300, 500, 3), 128, np.uint8))
    assert nothing.eyes == [] and nothing.message.startswith("No eye found") and "--whole-image" in nothing.message


@pytest.mark.parametrize("label", [OPEN, CLOSED])
def test_a_close_up_of_one_eye_is_classified_whole(label):
    """A ~300 px colour close-up of one eye with its eyebrow (as a webcam gives it) has no face: it is one eye crop,
    and the message says why, instead of 'No eye found'."""
    close_up = render_eye_photo(label, width=300, height=220, seed=4)
    search = locate_eyes(close_up)
    assert search.how == "close-up" and [e.side for e in search.eyes] == ["crop"]
    np.testing.assert_array_equal(search.eyes[0].crop, close_up)
    assert search.message.startswith("No face found; the picture looks like a close-up of one eye (")


def test_in_doubt_the_picture_is_classified_with_a_notice():
    scene = data.coffee()  # 600x400, no face, no eye
    search = locate_eyes(scene)
    assert search.how == "doubt" and [e.side for e in search.eyes] == ["crop"]
    assert search.message.startswith("Not sure this is one eye") and "only if the picture shows a single eye" in search.message


def test_a_false_face_in_a_close_up_places_no_eyes():
    """Haar finds a weak 'face' (8 detections) around the eyebrow of this close-up: no eyes are placed in it."""
    close_up = render_eye_photo(CLOSED, width=640, height=480, seed=0)
    assert [n for _, n in _faces(cv2.equalizeHist(cv2.cvtColor(close_up, cv2.COLOR_RGB2GRAY)), 4)] == [8]
    search = locate_eyes(close_up)
    assert search.how in ("close-up", "doubt") and [e.side for e in search.eyes] == ["crop"]
