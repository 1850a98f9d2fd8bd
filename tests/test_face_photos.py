"""Labelled face photos as data: each eye found becomes a crop with the photo's label and measured head-angle subsets."""
import cv2
import numpy as np
import pytest
from conftest import draw_eye
from skimage import data
from test_faces import closed_astronaut

from eyebench.data.dataset import load_dataset, scan_folder
from eyebench.data.face_photos import PITCH_BINS, YAW_BINS, angle_bin
from eyebench.evaluate.report import per_head_angle
from eyebench.evaluate.results import CheckpointEvaluation
from eyebench.formatters.evaluation import format_head_angles
from eyebench.evaluate.robustness import subset_factors


def write(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)
    return path


@pytest.fixture
def photos(tmp_path):
    """open/: the astronaut and her mirror image, plus one small eye crop; closed/: her with eyes painted shut."""
    astronaut = data.astronaut()
    root = tmp_path / "photos"
    write(root / "open" / "astro_0001.jpg", astronaut)
    write(root / "open" / "mirror_0001.jpg", np.ascontiguousarray(astronaut[:, ::-1]))
    write(root / "open" / "crop_0001.png", draw_eye(True, np.random.default_rng(0), 48))
    write(root / "closed" / "astro_0002.jpg", closed_astronaut(astronaut))
    return root


def test_each_eye_of_a_face_photo_becomes_a_sample_with_the_photo_label(photos, isolated_cache):
    before = sorted(p.name for p in photos.rglob("*"))
    ds = scan_folder(photos)
    assert sorted(p.name for p in photos.rglob("*")) == before  # nothing written into the data folder
    eyes = [s for s in ds.samples if "photo" in s.meta]
    assert len(eyes) == 6 and len(ds.samples) == 7  # 3 photos x 2 eyes, and the small crop as it was
    for s in eyes:
        assert str(isolated_cache) in s.path and s.path.endswith(".png")  # crops live in the cache folder
        assert s.meta["eye"] in ("left", "right") and s.meta["head_yaw"] == "|yaw| 0-15"
        assert s.label == (1 if "closed" in s.meta["photo"] else 0)
        assert cv2.imread(s.path).shape[0] > 20
    crop = next(s for s in ds.samples if "photo" not in s.meta)
    assert crop.path.endswith("crop_0001.png") and crop.label == 0
    assert ds.sources["photos"]["face_photos"] == 3
    factors = subset_factors(ds)
    assert "head_yaw" in factors and "head_pitch" in factors and "photo" not in factors


def test_face_photo_crops_are_cached(photos, monkeypatch):
    first = scan_folder(photos)
    from eyebench.faces import mesh_faces

    monkeypatch.setattr(mesh_faces, "find_faces", lambda *a, **k: pytest.fail("searched again"))
    again = scan_folder(photos)
    assert [s.path for s in again.samples] == [s.path for s in first.samples]


def test_a_face_whose_eyes_are_too_small_is_skipped_with_the_reason(tmp_path):
    face = cv2.resize(data.astronaut()[30:260, 120:350], (50, 50), interpolation=cv2.INTER_AREA)
    canvas = np.full((240, 320, 3), 90, np.uint8)
    canvas[100:150, 140:190] = face
    write(tmp_path / "d" / "open" / "small_0001.png", canvas)
    write(tmp_path / "d" / "open" / "crop_0001.png", draw_eye(True, np.random.default_rng(1), 48))
    ds = load_dataset(tmp_path / "d")
    assert len(ds.samples) == 1
    assert ds.skipped and "eyes too small" in ds.skipped[0][1] and ds.skipped[0][0].endswith("small_0001.png")


def test_head_angle_bins():
    assert [angle_bin(v, YAW_BINS) for v in (0, 14.9, 15, 29, 31, 80)] == [
        "|yaw| 0-15", "|yaw| 0-15", "|yaw| 15-30", "|yaw| 15-30", "|yaw| 30+", "|yaw| 30+"]
    assert [angle_bin(v, PITCH_BINS) for v in (-20, -10, 0, 10, 25)] == [
        "down (pitch < -10)", "level (-10 to 10)", "level (-10 to 10)", "up (pitch > 10)", "up (pitch > 10)"]


def test_evaluation_reports_accuracy_per_measured_head_angle(photos):
    ds = scan_folder(photos)
    proba = np.array([[0.1, 0.9] if s.label else [0.8, 0.2] for s in ds.samples])
    assert "photo" in ds.samples[0].meta  # closed/ comes first: an eye of the closed photo
    proba[0] = proba[0][::-1]  # one wrong answer
    angles = per_head_angle(ds, proba)
    assert set(angles) == {"head_yaw", "head_pitch"}
    (yaw_bin, m), = angles["head_yaw"].items()
    assert yaw_bin == "|yaw| 0-15" and m["n"] == 6 and m["accuracy"] == pytest.approx(5 / 6)
    row = CheckpointEvaluation(name="m", checkpoint="", metrics={"n": len(ds)}, seconds=0.0, per_source={},
                               per_subject={}, worst_subject=None, band=None, leak=None, per_head_angle=angles)
    lines = format_head_angles(row)
    assert lines[0].startswith("m: head_yaw |yaw| 0-15 (degrees): n=6, accuracy")
    assert per_head_angle(ds.subset([i for i, s in enumerate(ds.samples) if "photo" not in s.meta]),
                          proba[:1]) == {}


def test_a_picture_without_a_face_is_searched_once(tmp_path, monkeypatch):
    from eyebench.data import face_photos

    write(tmp_path / "d" / "closed" / "scene_0001.png", data.coffee())  # 600x400, no face: stays one sample
    assert [s.path.endswith("scene_0001.png") for s in scan_folder(tmp_path / "d").samples] == [True]
    monkeypatch.setattr(face_photos, "_search", lambda *a: pytest.fail("searched again"))
    assert len(scan_folder(tmp_path / "d").samples) == 1
