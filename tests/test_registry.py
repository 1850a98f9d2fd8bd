"""The classifier registry and the predict_proba contract of every built-in family."""
from pathlib import Path

import numpy as np
import pytest

from eyebench import (
    Classifier,
    create_classifier,
    list_classifiers,
    register_classifier,
)
from eyebench.errors import EyebenchError
from eyebench.models import registry

BUILT_IN = ("lbp_hog_svm", "small_cnn")


def test_list_classifiers():
    names = list_classifiers()
    assert set(BUILT_IN) <= set(names)
    assert names == sorted(names)


def test_unknown_classifier():
    with pytest.raises(EyebenchError, match="unknown classifier 'resnet9000'.*small_cnn"):
        create_classifier("resnet9000")


def test_register_twice_refused(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def small_cnn():
        return None

    with pytest.raises(ValueError, match="already registered"):
        register_classifier(small_cnn)


def test_register_custom(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_classifier
    def tiny_cnn(**kw):
        return create_classifier("small_cnn", widths=(4, 4, 4, 4), **kw)

    assert "tiny_cnn" in list_classifiers()
    clf = create_classifier("tiny_cnn", dropout=0.0)
    assert clf.name == "tiny_cnn" and clf.model_args == {"dropout": 0.0}


def test_create_records_name_and_args():
    clf = create_classifier("small_cnn", widths=[8, 8, 16, 16], num_logits=2)
    assert clf.name == "small_cnn" and clf.model_args == {"widths": [8, 8, 16, 16], "num_logits": 2}
    assert isinstance(clf, Classifier)
    assert clf.class_names == ("open", "closed")


def test_bad_options():
    with pytest.raises(ValueError, match="balance"):
        create_classifier("lbp_hog_svm", balance="oversample")
    with pytest.raises(ValueError, match="num_logits"):
        create_classifier("small_cnn", num_logits=3)


def mixed_crops(rng):
    """Gray and RGB crops of different sizes and dtypes, as a user or the app would pass them."""
    return [rng.integers(0, 256, (24, 24), dtype=np.uint8),
            rng.integers(0, 256, (90, 70, 3), dtype=np.uint8),
            rng.integers(0, 256, (64, 64, 1), dtype=np.uint8),
            rng.random((33, 47)).astype(np.float32),
            rng.integers(0, 256, (50, 80, 4), dtype=np.uint8)]


@pytest.mark.parametrize("name, kwargs", [("small_cnn", {}), ("small_cnn", {"num_logits": 2, "channels": 3}),
                                          ("lbp_hog_svm", {})])
def test_predict_proba_contract(name, kwargs, fitted_svm):
    clf = fitted_svm if name == "lbp_hog_svm" else create_classifier(name, **kwargs)  # an unfitted SVM refuses
    crops = mixed_crops(np.random.default_rng(0))
    p = clf.predict_proba(crops)
    assert p.shape == (len(crops), 2)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(clf.predict_proba(crops[:1]), p[:1], atol=1e-6)
    assert clf.predict_proba([]).shape == (0, 2)


def test_predict_proba_matches_prepared(untrained_cnn):
    cfg = untrained_cnn.data_config
    batch = np.random.default_rng(1).integers(0, 256, (5, cfg.input_size, cfg.input_size, cfg.channels), dtype=np.uint8)
    assert untrained_cnn.prepare(batch) is batch  # already prepared input is passed through
    np.testing.assert_array_equal(untrained_cnn.predict_proba(batch), untrained_cnn.proba_prepared(batch))


def test_temperature_softens(untrained_cnn):
    batch = np.random.default_rng(2).integers(0, 256, (8, 64, 64, 1), dtype=np.uint8)
    p1 = untrained_cnn.predict_proba(batch)
    untrained_cnn.temperature = 1000.0
    p2 = untrained_cnn.predict_proba(batch)
    assert np.all(np.abs(p2 - 0.5) <= np.abs(p1 - 0.5) + 1e-12)
    np.testing.assert_allclose(p2, 0.5, atol=1e-2)


def test_built_in_names_are_data_that_match_their_modules():
    import ast
    import importlib

    for module in sorted(set(registry.BUILT_IN.values())):  # every public factory of a model module is listed
        tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
        public = {f.name for f in tree.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")}
        assert public == {n for n, m in registry.BUILT_IN.items() if m == module}, module
        assert all(registry.factory(n).__module__ == module and registry.factory(n).__name__ == n for n in public)
        assert "registry" not in {getattr(n, "module", None) for n in ast.walk(tree)}  # models never import it
    assert list_classifiers() == sorted(registry.BUILT_IN)


def test_listing_and_creating_import_only_what_is_needed():
    import subprocess
    import sys

    code = ("import sys; from eyebench.models import create_classifier, list_classifiers; "
            "assert 'small_cnn' in list_classifiers(); assert 'torch' not in sys.modules and 'skimage' not in sys.modules; "
            "create_classifier('lbp_hog_svm'); assert 'torch' not in sys.modules and 'timm' not in sys.modules; "
            "create_classifier('small_cnn'); assert 'torch' in sys.modules and 'timm' not in sys.modules")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_user_classifier_registered_before_built_ins_are_imported(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})  # as in a fresh process: no built-in module imported yet

    @register_classifier
    def my_svm(**kw):
        return create_classifier("lbp_hog_svm", **kw)

    assert "my_svm" in list_classifiers() and "small_cnn" in list_classifiers()
    assert create_classifier("my_svm", C=0.1).name == "my_svm"

    def resnet18():  # a built-in name, though its module was never imported here
        return None

    with pytest.raises(ValueError, match="already registered"):
        register_classifier(resnet18)
