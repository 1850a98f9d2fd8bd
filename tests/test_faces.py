"""Face -> eye crops with MediaPipe face detection and landmarks (scikit-image's public-domain astronaut photo)."""
import cv2
import numpy as np
import pytest
from conftest import draw_eye
from skimage import data

from eyebench.faces import EyeBox, draw_eyes, find_eyes, locate_eyes
from eyebench.faces.mesh_faces import MIN_EYE_WIDTH
from eyebench.results import EyeState
from eyebench.samples import render_eye_photo


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()  # ships inside scikit-image: no download


def centre(e: EyeBox) -> np.ndarray:
    return np.array([e.x + e.w / 2, e.y + e.h / 2])


def test_astronaut_has_two_eyes_cut_on_their_corners(astronaut):
    search = locate_eyes(astronaut)
    eyes = search.eyes
    assert search.finder == "mediapipe" and len(search.faces) == 1 and len(eyes) == 2
    # sorted left to right in the picture: the person's right eye first
    assert [e.side for e in eyes] == ["right", "left"] and eyes[0].x < eyes[1].x
    for e in eyes:
        assert 0 <= e.x and 0 <= e.y and e.x + e.w <= 512 and e.y + e.h <= 512
        assert 25 <= e.w <= 60 and e.w == e.h  # square, about twice the eye's width
        assert 70 <= e.y <= 130 and 160 <= e.x <= 280  # on her face, not somewhere in the scene
        assert e.crop.dtype == np.uint8 and e.crop.shape[:2] == (e.h, e.w) and e.crop.shape[2] == 3
        assert 0.2 < e.opening < 0.5 and e.contour.shape == (16, 2)  # open eyes
        # the crop is the picture around the eye (level already: her head is upright)
        ref = astronaut[e.y:e.y + e.h, e.x:e.x + e.w].astype(float)
        assert np.corrcoef(ref.ravel(), e.crop.astype(float).ravel())[0, 1] > 0.8
    assert abs(eyes[0].y - eyes[1].y) < 10
    pose = search.faces[0].pose
    assert abs(pose.yaw) < 15 and abs(pose.roll) < 10 and search.faces[0].eye_distance > 30


@pytest.mark.parametrize("tilt", [30, -35, 50])
def test_a_tilted_face_is_found_and_its_eyes_cut_level(astronaut, tilt):
    h, w = astronaut.shape[:2]
    upright = locate_eyes(astronaut)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), tilt, 1.0)
    search = locate_eyes(cv2.warpAffine(astronaut, turn, (w, h), borderMode=cv2.BORDER_REPLICATE))
    assert search.how == "faces" and len(search.eyes) == 2
    assert abs(search.faces[0].pose.roll - (upright.faces[0].pose.roll - tilt)) < 6
    for was in upright.eyes:
        eye = next(e for e in search.eyes if e.side == was.side)
        expected = turn @ np.array([*centre(was), 1.0])  # where that eye went
        assert np.hypot(*(centre(eye) - expected)) < 0.2 * was.w
        same = cv2.resize(eye.crop, was.crop.shape[1::-1]).astype(float)
        assert np.corrcoef(same.ravel(), was.crop.astype(float).ravel())[0, 1] > 0.8  # cut level, as upright


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


def test_a_large_uniform_picture_has_no_eyes():
    assert find_eyes(np.full((300, 500, 3), 128, np.uint8)) == []


@pytest.mark.parametrize("value", [0, 128, 255])
def test_a_blank_eye_sized_picture_is_refused(value):
    """A uniform picture small enough to pass for an eye crop has no eye; asked for explicitly, it is classified."""
    blank = np.full((64, 64, 3), value, np.uint8)
    search = locate_eyes(blank)
    assert search.how == "none" and search.eyes == [] and "nearly uniform" in search.message
    assert [e.side for e in locate_eyes(blank, whole_image=True).eyes] == ["crop"]


def test_draw_eyes(astronaut):
    before = astronaut.copy()
    search = locate_eyes(astronaut)
    eyes = search.eyes
    out = draw_eyes(astronaut, eyes, ["open 0.97", "closed 0.80"])
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(astronaut, before)  # the input is not drawn on
    changed = np.any(out != astronaut, axis=2)
    first, second = eyes
    for e in eyes:  # the top edge of each box is drawn
        assert changed[e.y, e.x:e.x + e.w].any()
    assert not changed[400:, :].any()  # nothing drawn far from the eyes
    green, red = out[first.y, first.x + first.w // 2], out[second.y, second.x + second.w // 2]
    assert green[1] > green[0] and red[0] > red[1]
    with_face = draw_eyes(astronaut, eyes, faces=search.faces)  # the face box, landmarks and pose too
    assert np.any(with_face != astronaut, axis=2).sum() > np.any(draw_eyes(astronaut, eyes) != astronaut, axis=2).sum()


def test_draw_eyes_leaves_a_crop_as_it_is():
    crop = draw_eye(True, np.random.default_rng(2), 48)
    out = draw_eyes(crop, find_eyes(crop), ["open"])
    np.testing.assert_array_equal(out, crop)


def closed_astronaut(astronaut) -> np.ndarray:
    """The astronaut with both eyes painted shut (skin over the eye, a dark lid line)."""
    out = astronaut.copy()
    for e in find_eyes(astronaut):
        cx, cy = int(e.x + e.w / 2), int(e.y + e.h / 2)
        rx, ry = int(e.w * 0.3), int(e.h * 0.16)
        skin = astronaut[cy + 2 * ry:cy + 3 * ry, cx - rx:cx + rx].reshape(-1, 3).mean(axis=0)
        cv2.ellipse(out, (cx, cy), (rx, ry), 0, 0, 360, [int(v) for v in skin], -1)
        cv2.ellipse(out, (cx, cy), (rx, ry // 2), 0, 0, 180, (60, 40, 30), 2)
    return out


def test_a_portrait_with_closed_eyes_is_a_face_not_a_close_up(astronaut):
    search = locate_eyes(closed_astronaut(astronaut))
    opened = find_eyes(astronaut)
    assert search.how == "faces" and [e.side for e in search.eyes] == ["right", "left"]
    for shut, eye in zip(search.eyes, opened):  # cut where the open eyes were, and the lids read closed
        assert np.hypot(*(centre(shut) - centre(eye))) < 0.25 * eye.w
        assert shut.opening < eye.opening - 0.1


def test_locate_eyes_says_what_it_did(astronaut):
    found = locate_eyes(astronaut)
    assert found.how == "faces" and found.message == "2 eye(s) found in 1 face(s)."
    forced = locate_eyes(astronaut, whole_image=True)
    assert forced.how == "forced" and [e.side for e in forced.eyes] == ["crop"] and "as asked" in forced.message
    crop = locate_eyes(draw_eye(True, np.random.default_rng(3), 48))
    assert crop.how == "crop" and crop.message == "Classified the whole image as one eye crop."
    nothing = locate_eyes(np.full((300, 500, 3), 128, np.uint8))
    assert nothing.eyes == [] and nothing.message.startswith("No eye found") and "--whole-image" in nothing.message


def test_a_face_whose_eyes_are_too_small_says_so(astronaut):
    """Shrunk until her eyes are narrower than MIN_EYE_WIDTH, on a large canvas: the face is reported with the size."""
    face = cv2.resize(astronaut[30:260, 120:350], (50, 50), interpolation=cv2.INTER_AREA)
    canvas = np.full((240, 320, 3), 90, np.uint8)
    canvas[100:150, 140:190] = face
    search = locate_eyes(canvas)
    assert search.how == "faces" and len(search.faces) == 1  # a face, not a close-up of one eye
    assert search.eyes == [] and "too small" in search.message and "px wide" in search.message
    assert f"{MIN_EYE_WIDTH:.0f} needed" in search.faces[0].note


def test_a_profile_face_answers_for_the_near_eye_only(monkeypatch, astronaut):
    from eyebench.faces import mesh_faces
    from eyebench.faces.eyes import HeadPose

    real = mesh_faces.head_pose
    for yaw, near in ((70.0, "right"), (-70.0, "left")):  # turned toward the picture's right: her left eye is far
        monkeypatch.setattr(mesh_faces, "head_pose", lambda mesh, yaw=yaw: HeadPose(yaw, 0.0, real(mesh).roll))
        search = locate_eyes(astronaut)
        assert [e.side for e in search.eyes] == [near] and "profile" in search.message


def test_yaw_sign_matches_which_eye_looks_narrower(astronaut):
    """Squeezing the picture's right half narrows the eye there, as turning the head toward the picture's right does:
    the measured yaw is positive and the narrower eye is the person's left."""
    from eyebench.faces.mesh_faces import eye_width

    h, w = astronaut.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0], [w, 40], [w, h - 40], [0, h]])  # the right side further away (smaller)
    turned = cv2.warpPerspective(astronaut, cv2.getPerspectiveTransform(src, dst), (w, h),
                                 borderMode=cv2.BORDER_REPLICATE)
    face = locate_eyes(turned).faces[0]
    assert face.pose.yaw > 0 and eye_width(face.mesh, "left") < eye_width(face.mesh, "right")


@pytest.mark.parametrize("label", [EyeState.OPEN, EyeState.CLOSED])
def test_a_close_up_of_one_eye_is_classified_whole(label):
    """A ~300 px colour close-up of one eye with its eyebrow has no face: it is one eye crop, and the message says
    why, instead of 'No eye found'."""
    close_up = render_eye_photo(label, width=300, height=220, seed=4)
    search = locate_eyes(close_up)
    assert search.how == "close-up" and [e.side for e in search.eyes] == ["crop"]
    np.testing.assert_array_equal(search.eyes[0].crop, close_up)
    assert search.message.startswith("No face found; the picture looks like a close-up of one eye (")


def test_in_doubt_the_picture_is_classified_with_a_notice_saying_what_was_tried():
    scene = data.coffee()  # 600x400, no face, no eye
    search = locate_eyes(scene)
    assert search.how == "doubt" and [e.side for e in search.eyes] == ["crop"]
    assert search.message.startswith("Not sure this is one eye") and "MediaPipe face detection" in search.message
    assert "only if the picture shows a single eye" in search.message
