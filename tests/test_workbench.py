"""workbench.predict_picture, the app's Predict logic without the UI: which parts of a picture it classifies."""
import numpy as np

from eyebench.results import EyeState
from eyebench.samples import render_eye_photo
from eyebench.workbench import predict_picture


def test_a_close_up_of_one_eye_is_classified_without_ticking_anything(untrained_cnn):
    close_up = render_eye_photo(EyeState.CLOSED, width=300, height=220, seed=1)
    res = predict_picture({"cnn": untrained_cnn}, close_up)  # the app's call, whole_image not ticked
    assert res.how == "close-up" and "close-up of one eye" in res.message
    (eye,) = res.eyes
    assert eye.side == "crop" and eye.box == (0, 0, 300, 220)
    (row,) = eye.answers
    assert row.model == "cnn" and 0 <= row.p_closed <= 1 and row.map.shape[:2] == (220, 300)
    np.testing.assert_array_equal(res.annotated, close_up)  # nothing drawn on a whole-image crop


def test_a_blank_picture_is_refused_with_the_way_round(untrained_cnn):
    res = predict_picture({"cnn": untrained_cnn}, np.full((320, 480, 3), 128, np.uint8))
    assert res.eyes == () and res.how == "none" and res.message.startswith("No eye found")
    assert "treat the whole image as one eye crop" in res.message


def test_threshold_subsets_are_the_robustness_tabs_subsets():
    """Rejection per subset: the same (factor, value) pairs as the Robustness tab, so images without a value (another
    source's) make no blank row, and the source is a subset of its own."""
    from eyebench.data.dataset import Dataset, Sample
    from eyebench.evaluate.robustness import subset_factors
    from eyebench.workbench import probability_cache, threshold_stats

    samples = [Sample(f"mrl_{i}.png", i % 2, f"s{i % 3}", "mrl", {"glasses": "yes" if i % 4 < 2 else "no",
                                                                  "image_id": str(i)}) for i in range(8)]
    samples += [Sample(f"cew_{i}.png", i % 2, f"p{i}", "cew", {}) for i in range(4)]
    dataset = Dataset(samples)
    p = np.linspace(0.05, 0.95, len(samples))
    cache = probability_cache(dataset, {"m": p}, {})
    rows = threshold_stats(cache, "m", 0.3, 0.7).subset_rejection
    factors = subset_factors(dataset)
    assert [(r["factor"], r["value"]) for r in rows] == [(k, v) for k, vs in factors.items() for v in vs]
    assert {(r["factor"], r["value"], r["n"]) for r in rows} == {
        ("glasses", "no", 4), ("glasses", "yes", 4), ("source", "cew", 4), ("source", "mrl", 8)}
    uncertain = (p > 0.3) & (p < 0.7)
    cew = next(r for r in rows if r["value"] == "cew")
    assert cew["rejected"] == uncertain[8:].mean()
