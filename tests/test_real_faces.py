"""Eye finding and eye state on real face photos and videos with hand-made labels (a development set kept outside the
repository, in shared/data/real beside it; skipped with the reason when absent). Scoring rule: eyebench/face_photos.py.
The README's figures come from `python -m eyebench bench --model checkpoints/small_cnn --faces FOLDER/faces
--face-videos FOLDER/videos`."""
from pathlib import Path

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
    from eyebench.face_photos import score_photos

    r = score_photos(small_cnn, REAL / "faces")
    assert r["labelled"] == 118
    assert r["found"] >= 0.98 * r["labelled"], r["per_photo"]
    m = r["models"]["small_cnn"]
    assert m["judged"] >= 0.8 * r["labelled"] and m["right"] >= 0.93 * m["judged"], r["per_photo"]


def test_closures_in_real_videos_are_counted_exactly(small_cnn):
    from eyebench.face_photos import score_videos

    videos = score_videos(small_cnn, REAL / "videos")
    assert len(videos) == 2
    for v in videos:
        counted = v["models"]["small_cnn"]
        assert (counted["blinks"], counted["long_closures"]) == (v["blinks"], v["long_closures"]), v
