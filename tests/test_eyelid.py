"""eyelid_landmarks: the iris model's eyelid contour -> lid-shape features -> logistic regression (synthetic eyes)."""
import numpy as np
import pytest
from conftest import draw_eye

from eyebench import NotFittedError, create_classifier, load_classifier
from eyebench.explain import explain_map
from eyebench.models.eyelid import FEATURE_NAMES, EyelidLandmarks


def eyes(n: int, seed: int, size: int = 48) -> tuple[list[np.ndarray], np.ndarray]:
    """n synthetic grayscale eye crops alternating open (label 0) and closed (label 1)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    return [draw_eye(not bool(y), rng, size) for y in labels], labels


@pytest.fixture(scope="module")
def fitted():
    x_tr, y_tr = eyes(40, 0)
    x_va, y_va = eyes(20, 1)
    clf = create_classifier("eyelid_landmarks")
    return clf.fit(clf.prepare(x_tr), y_tr, clf.prepare(x_va), y_va, seed=0, log=lambda *_: None)


def test_registry_creates_it():
    clf = create_classifier("eyelid_landmarks", C=0.5)
    assert isinstance(clf, EyelidLandmarks) and clf.name == "eyelid_landmarks" and clf.C == 0.5
    assert (clf.data_config.input_size, clf.data_config.channels) == (64, 3)
    with pytest.raises(ValueError, match="C is a number above 0"):
        create_classifier("eyelid_landmarks", C=0)


def test_features_have_the_documented_length():
    clf = create_classifier("eyelid_landmarks")
    crops, _ = eyes(3, 2)
    feats = clf.features(clf.prepare(crops + [np.zeros((30, 50, 3), np.uint8)]))
    assert feats.shape == (4, len(FEATURE_NAMES)) == (4, 10)
    assert np.all(np.isfinite(feats))
    assert clf.features(clf.prepare([])).shape == (0, 10)


def test_contour_features_of_a_known_contour():
    # corners at (10, 30) and (50, 30); upper lid 8 px above the line, lower lid 4 px below it
    xs = np.linspace(10, 50, 9)
    contour = np.array([[x, 30 + 4] for x in xs] + [[x, 30 - 8] for x in xs[1:8]])
    contour[0], contour[8] = (10, 30), (50, 30)
    f = dict(zip(FEATURE_NAMES, EyelidLandmarks.contour_features(contour, 64)))
    assert f["opening"] == pytest.approx(12 / 40)
    assert f["gap_4_12"] == pytest.approx(12 / 40)
    assert f["upper_curve"] == pytest.approx(8 / 40) and f["lower_curve"] == pytest.approx(4 / 40)
    assert f["tilt"] == pytest.approx(0) and f["width"] == pytest.approx(40 / 64)
    mirrored = contour.copy()
    mirrored[:, 0] = 64 - mirrored[:, 0]
    np.testing.assert_allclose(EyelidLandmarks.contour_features(mirrored, 64), list(f.values()), atol=1e-12)


def test_fit_predicts_rows_that_sum_to_one(fitted):
    crops, labels = eyes(10, 3)
    crops += [np.random.default_rng(4).integers(0, 256, (90, 70, 3), dtype=np.uint8)]  # any size, RGB
    p = fitted.predict_proba(crops)
    assert p.shape == (11, 2) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert ((p[:10, 1] >= 0.5) == labels).mean() >= 0.8  # the synthetic lids are told apart
    assert fitted.predict_proba([]).shape == (0, 2)
    assert {r["C"] for r in fitted.search_["grid"]} == {0.01, 0.1, 1.0, 10.0}
    assert fitted.model_args["C"] == fitted.C_


def test_save_load_round_trip_gives_identical_probabilities(fitted, tmp_path):
    from safetensors.numpy import load_file

    crops, _ = eyes(6, 5)
    fitted.temperature = 1.3
    fitted.save_pretrained(tmp_path / "ckpt")
    assert set(load_file(str(tmp_path / "ckpt" / "model.safetensors"))) == {"coef", "intercept", "mean", "scale"}
    loaded = load_classifier(tmp_path / "ckpt")
    assert isinstance(loaded, EyelidLandmarks) and loaded.temperature == 1.3
    np.testing.assert_array_equal(loaded.predict_proba(crops), fitted.predict_proba(crops))
    fitted.temperature = 1.0


def test_model_card_names_the_estimator(fitted, tmp_path):
    fitted.info = {"train_command": "python -m eyebench train eyelid_landmarks", "trained": {"seed": 0, "seconds": 1}}
    fitted.save_pretrained(tmp_path / "ckpt", weights=False)
    fitted.info = {}
    card = (tmp_path / "ckpt" / "README.md").read_text()
    assert "logistic regression on eyelid-landmark features C chosen on validation" in card and "SVM" not in card


def test_explain_gives_a_map_of_the_crop_size_in_0_1(fitted):
    crops, _ = eyes(2, 6, size=40)
    for crop in crops + [np.zeros((30, 50, 3), np.uint8)]:
        for target in (None, 0, 1):
            heat = fitted.explain(crop, target)
            assert heat.shape == crop.shape[:2] and heat.dtype == np.float32
            assert heat.min() >= 0 and heat.max() <= 1 and heat.max() == pytest.approx(1)
        np.testing.assert_allclose(explain_map(fitted, crop), fitted.explain(crop), atol=1e-6)  # same map either way


def test_unfitted_model_raises_not_fitted():
    clf = create_classifier("eyelid_landmarks")
    crops, _ = eyes(2, 7)
    for call in (lambda: clf.predict_proba(crops), lambda: clf.explain(crops[0]), clf.state_tensors):
        with pytest.raises(NotFittedError, match="eyelid_landmarks is not fitted"):
            call()


def test_wrong_tensors_are_refused():
    clf = create_classifier("eyelid_landmarks")
    with pytest.raises(ValueError, match="wrong shapes"):
        clf.load_state_tensors({"coef": np.zeros(3), "intercept": np.zeros(1), "mean": np.zeros(10),
                                "scale": np.ones(10)})
