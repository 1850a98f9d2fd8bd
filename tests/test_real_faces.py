"""Eye finding and eye state on real face photos and videos with hand-made labels (a development set kept outside the
repository, in shared/data/real beside it; skipped with the reason when absent). Scoring rule: eyebench/eye_finding.py.
The README's figures come from `python -m eyebench bench --model checkpoints/small_cnn --faces FOLDER/faces
--face-videos FOLDER/videos`."""

import pytest
from conftest import REPO_ROOT

REAL = REPO_ROOT.parent / "shared" / "data" / "real"
pytestmark = pytest.mark.skipif(not (REAL / "faces" / "labels.csv").is_file(),
                                reason=f"no real face photos and videos at {REAL} (a development set, not shipped)")


@pytest.fixture(scope="module")
def small_cnn():
    from eyebench import load_classifier

    return {"small_cnn": load_classifier(REPO_ROOT / "checkpoints" / "small_cnn")}


def test_eyes_are_found_and_read_right_on_real_photos(small_cnn):
    from eyebench.eye_finding import score_photos

    r = score_photos(small_cnn, REAL / "faces")
    assert r.labelled == 118
    assert r.found >= 0.98 * r.labelled, r.per_photo
    m = r.models["small_cnn"]
    assert m.judged >= 0.8 * r.labelled and m.right >= 0.93 * m.judged, r.per_photo


def test_closures_in_real_videos_are_counted_exactly(small_cnn):
    from eyebench.eye_finding import score_videos

    videos = score_videos(small_cnn, REAL / "videos")
    assert len(videos) == 2
    for v in videos:
        counted = v.models["small_cnn"]
        assert (counted.blinks, counted.long_closures) == (v.blinks, v.long_closures), v


def test_real_face_photos_as_labelled_data_give_measured_head_angles(tmp_path, small_cnn):
    """Single-face photos whose two eyes share a state, in open/ and closed/ folders: read as their eyes, with
    head_yaw and head_pitch subsets that evaluate reports."""
    import csv
    import shutil

    from eyebench.data.dataset import load_dataset
    from eyebench.evaluate.report import evaluate_model

    with open(REAL / "faces" / "labels.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["faces"] == "1" and {r["open_eyes"], r["closed_eyes"]} == {"2", "0"}:
                state = "open" if r["open_eyes"] == "2" else "closed"
                (tmp_path / state).mkdir(exist_ok=True)
                shutil.copy(REAL / "faces" / r["file"], tmp_path / state / r["file"])
    photos = len(list(tmp_path.glob("*/*")))
    ds = load_dataset(tmp_path)
    assert ds.sources[tmp_path.name]["face_photos"] == photos and len(ds) == 2 * photos
    row, _ = evaluate_model(small_cnn["small_cnn"], ds)
    yaw = row.per_head_angle["head_yaw"]
    assert sum(m["n"] for m in yaw.values()) == len(ds) and len(yaw) >= 2  # frontal and turned heads among them
    assert row.accuracy >= 0.9
