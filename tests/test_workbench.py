"""workbench.predict_picture, the app's Predict logic without the UI: which parts of a picture it classifies."""
import numpy as np

from eyebench.config import CLOSED
from eyebench.samples import render_eye_photo
from eyebench.workbench import predict_picture


def test_a_close_up_of_one_eye_is_classified_without_ticking_anything(untrained_cnn):
    close_up = render_eye_photo(CLOSED, width=300, height=220, seed=1)
    res = predict_picture({"cnn": untrained_cnn}, close_up)  # the app's call, whole_image not ticked
    assert res["how"] == "close-up" and "close-up of one eye" in res["message"]
    (eye,) = res["eyes"]
    assert eye["side"] == "crop" and eye["box"] == [0, 0, 300, 220]
    (row,) = eye["results"]
    assert row["model"] == "cnn" and 0 <= row["p_closed"] <= 1 and row["map"].shape[:2] == (220, 300)
    np.testing.assert_array_equal(res["annotated"], close_up)  # nothing drawn on a whole-image crop


def test_a_blank_picture_is_refused_with_the_way_round(untrained_cnn):
    res = predict_picture({"cnn": untrained_cnn}, np.full((320, 480, 3), 128, np.uint8))
    assert res["eyes"] == [] and res["how"] == "none" and res["message"].startswith("No eye found")
    assert "treat the whole image as one eye crop" in res["message"]
