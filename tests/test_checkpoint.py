"""Checkpoint folders: exact round trips, clear errors for damaged folders, and no pickle anywhere."""
import io
import json
import re
import tokenize

import numpy as np
import pytest
from conftest import REPO_ROOT, draw_eye

from eyebench import CheckpointError, load_classifier
from eyebench.models.checkpoint import read_config


@pytest.fixture
def crops():
    rng = np.random.default_rng(5)
    return [draw_eye(bool(i % 2), rng, 40 + 4 * i) for i in range(6)] + [rng.integers(0, 256, (30, 60, 3), np.uint8)]


@pytest.fixture
def cnn_dir(untrained_cnn, tmp_path):
    out = tmp_path / "cnn"
    untrained_cnn.save_pretrained(out)
    return out


def edit_config(folder, **changes):
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


def test_saved_files(cnn_dir, untrained_cnn):
    assert sorted(p.name for p in cnn_dir.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    cfg = read_config(cnn_dir)
    assert cfg["architecture"] == "small_cnn" and cfg["family"] == "torch"
    assert cfg["class_names"] == ["open", "closed"]
    assert cfg["num_parameters"] == untrained_cnn.num_parameters() > 0
    assert (cnn_dir / "README.md").read_text().startswith("# small_cnn")


def test_small_cnn_round_trip(cnn_dir, untrained_cnn, crops):
    loaded = load_classifier(cnn_dir)
    assert type(loaded) is type(untrained_cnn)
    assert loaded.data_config == untrained_cnn.data_config
    assert loaded.checkpoint == str(cnn_dir)
    np.testing.assert_array_equal(loaded.predict_proba(crops), untrained_cnn.predict_proba(crops))


def test_scalar_buffers_keep_their_shape(cnn_dir):
    from safetensors.numpy import load_file

    tensors = load_file(str(cnn_dir / "model.safetensors"))
    assert tensors["blocks.0.1.num_batches_tracked"].shape == ()  # BatchNorm's counter is 0-d


def test_float16_storage_round_trip(untrained_cnn, tmp_path, crops):
    untrained_cnn.storage_dtype = "float16"
    untrained_cnn.round_to_storage()  # evaluation before saving sees the stored precision
    untrained_cnn.save_pretrained(tmp_path / "half")
    loaded = load_classifier(tmp_path / "half")
    assert loaded.storage_dtype == "float16"
    np.testing.assert_array_equal(loaded.predict_proba(crops), untrained_cnn.predict_proba(crops))


def test_round_trip_keeps_model_args_and_calibration(tmp_path, crops):
    from eyebench import create_classifier

    clf = create_classifier("small_cnn", widths=[8, 8, 16, 16], num_logits=2)
    clf.temperature, clf.uncertain_band = 1.7, [0.4, 0.6]
    clf.info = {"note": "kept"}
    clf.save_pretrained(tmp_path / "c")
    loaded = load_classifier(tmp_path / "c")
    assert (loaded.temperature, loaded.uncertain_band, loaded.info) == (1.7, [0.4, 0.6], {"note": "kept"})
    assert loaded.model_args == {"widths": [8, 8, 16, 16], "num_logits": 2}
    np.testing.assert_array_equal(loaded.predict_proba(crops), clf.predict_proba(crops))


def test_lbp_hog_svm_round_trip(fitted_svm, tmp_path, crops):
    fitted_svm.save_pretrained(tmp_path / "svm")
    loaded = load_classifier(tmp_path / "svm")
    assert loaded.model_args["C"] == fitted_svm.C_ == loaded.C == loaded.C_  # the chosen C is a model argument
    for attr in ("coef_", "intercept_", "mean_", "scale_", "platt_"):  # loading sets the learned attributes
        np.testing.assert_array_equal(getattr(loaded, attr), getattr(fitted_svm, attr))
    np.testing.assert_array_equal(loaded.predict_proba(crops), fitted_svm.predict_proba(crops))


def test_svm_follows_the_estimator_contract(records, tmp_path, crops):
    from conftest import prepared_arrays

    from eyebench import NotFittedError, create_classifier

    clf = create_classifier("lbp_hog_svm", C=0.01)
    assert (clf.C, clf.balance, clf.lbp_grid) == (0.01, "undersample", 4)  # __init__ stores the parameters ...
    assert not [k for k in vars(clf) if k.endswith("_")]  # ... and learns nothing
    for call in (lambda: clf.predict_proba(crops), lambda: clf.state_tensors(), lambda: clf.save_pretrained(tmp_path),
                 lambda: clf.feature_contributions(crops[0])):
        with pytest.raises(NotFittedError, match="lbp_hog_svm is not fitted: train it or load a checkpoint"):
            call()
    assert not (tmp_path / "model.safetensors").exists()
    train = [r for r in records if r["subject"] <= "s0004"]
    val = [r for r in records if r["subject"] > "s0004"]
    assert clf.fit(*prepared_arrays(train), *prepared_arrays(val), log=lambda *_: None) is clf  # fit returns self
    learned = sorted(k for k in vars(clf) if k.endswith("_"))
    assert learned == ["C_", "coef_", "intercept_", "mean_", "platt_", "scale_", "search_"]
    assert clf.search_ == {"grid": [{"C": 0.01, "val_balanced_accuracy": clf.search_["grid"][0]["val_balanced_accuracy"]}],
                           "chosen_C": 0.01}
    assert clf.predict_proba(crops).shape == (len(crops), 2)


def test_shipped_svm_checkpoint_keeps_its_tensor_names():
    from safetensors.numpy import load_file

    folder = REPO_ROOT / "checkpoints" / "lbp_hog_svm"
    assert sorted(load_file(str(folder / "model.safetensors"))) == ["coef", "intercept", "mean", "platt", "scale"]
    clf = load_classifier(folder)
    assert clf.coef_.shape == clf.mean_.shape == (clf.feature_dim(),) and clf.C_ == clf.model_args["C"]


def test_fitted_svm_separates_synthetic_eyes(fitted_svm):
    rng = np.random.default_rng(9)
    crops = [draw_eye(bool(i % 2), rng, 56) for i in range(20)]
    pred = fitted_svm.predict_proba(crops).argmax(axis=1)
    assert (pred == np.array([0 if i % 2 else 1 for i in range(20)])).mean() >= 0.9


# -- damaged checkpoints ------------------------------------------------------------------------------------
def test_not_a_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not a folder"):
        load_classifier(tmp_path / "missing")


def test_missing_config(cnn_dir):
    (cnn_dir / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_classifier(cnn_dir)


def test_invalid_json(cnn_dir):
    (cnn_dir / "config.json").write_text('{"format": "eyebench-checkpoint",')
    with pytest.raises(CheckpointError, match="config.json is not valid JSON"):
        load_classifier(cnn_dir)


@pytest.mark.parametrize("content", ["[1, 2]", '{"format": "something-else"}', "{}"])
def test_foreign_config(cnn_dir, content):
    (cnn_dir / "config.json").write_text(content)
    with pytest.raises(CheckpointError, match="not an eyebench checkpoint config"):
        load_classifier(cnn_dir)


def test_missing_weights(cnn_dir):
    (cnn_dir / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_classifier(cnn_dir)


@pytest.mark.parametrize("keep", [0.5, 0.01, 0.0])
def test_truncated_weights(cnn_dir, keep):
    weights = cnn_dir / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="model.safetensors is unreadable or truncated"):
        load_classifier(cnn_dir)


def test_weights_shape_mismatch(cnn_dir):
    edit_config(cnn_dir, model_args={"widths": [8, 16, 32, 64]})
    with pytest.raises(CheckpointError, match=r"weights do not match config.json \(.*wrong shapes"):
        load_classifier(cnn_dir)


def test_svm_weights_shape_mismatch(fitted_svm, tmp_path):
    fitted_svm.save_pretrained(tmp_path / "svm")
    edit_config(tmp_path / "svm", model_args={"lbp_grid": 2})
    with pytest.raises(CheckpointError, match="weights do not match"):
        load_classifier(tmp_path / "svm")


def test_unknown_model_arg(cnn_dir):
    edit_config(cnn_dir, model_args={"depth": 50})
    with pytest.raises(CheckpointError, match="config.json's model_args or data_config do not make a small_cnn.*depth"):
        load_classifier(cnn_dir)


def test_unknown_architecture(cnn_dir):
    edit_config(cnn_dir, architecture="vit_giant")
    with pytest.raises(CheckpointError, match=r"unknown architecture 'vit_giant' \(known: .*small_cnn"):
        load_classifier(cnn_dir)


@pytest.mark.parametrize("names", [["closed", "open"], ["open", "closed", "half"], ["awake", "asleep"]])
def test_wrong_class_names(cnn_dir, names):
    edit_config(cnn_dir, class_names=names)
    with pytest.raises(CheckpointError, match="class names .* do not match"):
        load_classifier(cnn_dir)


def test_bad_data_config(cnn_dir):
    edit_config(cnn_dir, data_config={"input_size": 64, "colour": 1})
    with pytest.raises(CheckpointError, match="unknown data_config keys"):
        load_classifier(cnn_dir)


@pytest.mark.parametrize("key,value", [("temperature", 0), ("temperature", -1.0), ("temperature", "abc"),
                                       ("temperature", float("inf")), ("uncertain_band", [0.5]),
                                       ("uncertain_band", [0.7, 0.3]), ("uncertain_band", [0.2, 5]),
                                       ("uncertain_band", "x")])
def test_damaged_temperature_or_band(cnn_dir, key, value):
    """A damaged calibration would give wrong probabilities or decisions without a word: refused on loading."""
    edit_config(cnn_dir, **{key: value})
    with pytest.raises(CheckpointError, match=f"config.json is damaged: its {key} is not"):
        load_classifier(cnn_dir)


def test_error_names_the_folder(cnn_dir):
    (cnn_dir / "model.safetensors").unlink()
    with pytest.raises(CheckpointError) as info:
        load_classifier(cnn_dir)
    assert str(cnn_dir) in str(info.value)


# -- no pickle ----------------------------------------------------------------------------------------------
FORBIDDEN_NAMES = {"pickle", "cPickle", "cloudpickle", "dill", "joblib", "marshal", "shelve"}
FORBIDDEN_CODE = [re.compile(r"allow_pickle\s*=\s*True"), re.compile(r"weights_only\s*=\s*False")]


def python_sources():
    files = sorted((REPO_ROOT / "eyebench").rglob("*.py"))
    app = REPO_ROOT / "app.py"
    return files + ([app] if app.exists() else [])


def code_tokens(path):
    """The file's code tokens (names, operators) without comments and string literals such as docstrings."""
    skip = (tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    return [t for t in tokenize.generate_tokens(io.StringIO(path.read_text()).readline) if t.type not in skip]


def unsafe_torch_loads(tokens):
    """Lines of `torch.load(...)` calls that do not pass weights_only=True (those unpickle arbitrary objects)."""
    words = [t.string for t in tokens]
    lines = []
    for i in range(len(words) - 3):
        if words[i:i + 4] == ["torch", ".", "load", "("]:
            depth, j = 1, i + 4
            while depth and j < len(words):
                depth += {"(": 1, ")": -1}.get(words[j], 0)
                j += 1
            if "weights_only = True" not in " ".join(words[i + 4:j]):
                lines.append(tokens[i].start[0])
    return lines


def pickle_problems(path):
    tokens = code_tokens(path)
    code = " ".join(t.string for t in tokens)
    found = [f"line {t.start[0]}: {t.string}" for t in tokens if t.type == tokenize.NAME and t.string in FORBIDDEN_NAMES]
    found += [f"line {n}: torch.load without weights_only=True" for n in unsafe_torch_loads(tokens)]
    return found + [m.group(0) for rx in FORBIDDEN_CODE for m in rx.finditer(code)]


def test_no_pickle_based_loading():
    files = python_sources()
    assert len(files) > 10
    problems = [f"{p.relative_to(REPO_ROOT)}: {msg}" for p in files for msg in pickle_problems(p)]
    assert not problems, "pickle-based serialisation found:\n" + "\n".join(problems)


def test_pickle_check_detects_usage(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text('"""no pickle in docstrings counts"""  # nor pickle in comments\n'
                      'import joblib\n'
                      'a = torch.load(f)\n'
                      'b = torch.load(g, map_location="cpu", weights_only=True)\n'
                      'c = torch.load(h, weights_only=False)\n'
                      'np.load(f, allow_pickle=True)\n'
                      'np.load(f, allow_pickle=False)\n')
    assert pickle_problems(sample) == ["line 2: joblib", "line 3: torch.load without weights_only=True",
                                       "line 5: torch.load without weights_only=True", "allow_pickle = True",
                                       "weights_only = False"]
