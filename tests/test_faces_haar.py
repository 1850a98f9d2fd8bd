"""The fallback where MediaPipe cannot run: OpenCV Haar cascades, with a visible notice that answers are less reliable."""
import cv2
import pytest
from skimage import data

import eyebench.faces as faces
from eyebench.faces.haar import _faces
from eyebench.results import EyeState
from eyebench.samples import render_eye_photo


@pytest.fixture
def no_litert(monkeypatch):
    monkeypatch.setattr(faces, "litert_problem", lambda: "the LiteRT runtime (ai-edge-litert) cannot be imported")


def test_haar_finds_the_astronauts_eyes_and_says_it_is_less_reliable(no_litert):
    search = faces.locate_eyes(data.astronaut())
    assert search.finder == "haar" and [e.side for e in search.eyes] == ["right", "left"]
    assert "less reliable" in search.message and "cannot be imported" in search.message
    assert "less reliable" in faces.finder_notice()


def test_haar_finds_a_tilted_face(no_litert):
    astronaut = data.astronaut()
    turn = cv2.getRotationMatrix2D((256, 256), 30, 1.0)
    search = faces.locate_eyes(cv2.warpAffine(astronaut, turn, (512, 512), borderMode=cv2.BORDER_REPLICATE))
    assert search.how == "faces" and "tilted by about" in search.message and len(search.eyes) == 2


def test_a_false_haar_face_in_a_close_up_places_no_eyes(no_litert):
    """Haar finds a weak 'face' (8 detections) around the eyebrow of this close-up: no eyes are placed in it."""
    close_up = render_eye_photo(EyeState.CLOSED, width=640, height=480, seed=0)
    assert [n for _, n in _faces(cv2.equalizeHist(cv2.cvtColor(close_up, cv2.COLOR_RGB2GRAY)), 4)] == [8]
    search = faces.locate_eyes(close_up)
    assert search.how in ("close-up", "doubt") and [e.side for e in search.eyes] == ["crop"]


def test_the_video_tracker_falls_back_to_haar(no_litert):
    from eyebench.video.landmark_tracking import make_tracker
    from eyebench.video.tracking import EyeTracker

    assert type(make_tracker()) is EyeTracker


def test_with_litert_the_video_tracker_follows_landmarks():
    from eyebench.video.landmark_tracking import LandmarkTracker, make_tracker

    assert isinstance(make_tracker(), LandmarkTracker)


def test_the_app_says_when_it_falls_back_to_haar(no_litert, capsys):
    from eyebench.app import build_demo
    from eyebench.app.common import SAMPLES

    demo = build_demo({}, samples=SAMPLES)
    assert "less reliable" in capsys.readouterr().err
    page = str(demo.config)
    assert "less reliable" in page and "cannot be imported" in page


def test_the_face_finder_can_be_asked_for_haar(monkeypatch):
    from eyebench.faces.runtime import litert_problem

    monkeypatch.setenv("EYEBENCH_FACE_FINDER", "haar")
    assert "EYEBENCH_FACE_FINDER=haar" in litert_problem()
    assert faces.locate_eyes(data.astronaut()).finder == "haar"
