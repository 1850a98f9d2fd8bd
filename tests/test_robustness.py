"""Robustness: subset factors from metadata (MRL names, manifest columns) and perturbation sweeps per model."""
import copy

import numpy as np
import pytest
from conftest import IMAGES_PER_SUBJECT, N_SUBJECTS, draw_eye

from eyebench.config import DataConfig
from eyebench.data.dataset import Dataset, Sample, load_dataset
from eyebench.evaluate.metrics import classification_metrics
from eyebench.evaluate.perturbations import ANGLE_NOTE, SWEEPS, perturb_batch
from eyebench.evaluate.robustness import (
    MAX_LEVELS,
    model_key,
    model_keys,
    stratified_sample,
    subset_factors,
    subset_table,
    sweep_models,
)
from eyebench.models.base import BaseClassifier

N = N_SUBJECTS * IMAGES_PER_SUBJECT


def proba_of(p_closed):
    p = np.asarray(p_closed, float)
    return np.stack([1 - p, p], axis=1)


def test_subset_factors_from_mrl_names(mrl_dir):
    factors = subset_factors(load_dataset(mrl_dir))
    # every MRL metadata field except the image id, plus the source
    assert set(factors) == {"gender", "glasses", "reflections", "lighting", "sensor", "source"}
    assert factors["glasses"] == ["no", "yes"] and factors["gender"] == ["man", "woman"]
    assert factors["lighting"] == ["good"] and factors["source"] == ["mrl"]


def test_subset_factors_from_manifest_columns(synthetic):
    factors = subset_factors(load_dataset(synthetic["manifest"]))
    # the manifest's extra columns (glasses, angle) become factors; path/label/subject do not
    assert set(factors) == {"glasses", "angle", "source"}
    assert factors["angle"] == sorted(str(5 * k) for k in range(IMAGES_PER_SUBJECT))
    assert factors["source"] == ["eyes"]


def test_subset_factors_skip_ids_free_text_and_empty_values():
    samples = [Sample(f"{i}.png", i % 2, f"p{i % 3}", "src",
                      {"note": f"free text {i}", "angle": "" if i < 5 else str(i % 3), "image_id": i, "path": "x"})
               for i in range(MAX_LEVELS + 5)]
    factors = subset_factors(Dataset(samples))
    assert "note" not in factors  # more than MAX_LEVELS distinct values: an id or free text
    assert "image_id" not in factors and "path" not in factors
    assert factors["angle"] == ["0", "1", "2"]  # empty values are not a level


def test_subset_table(synthetic):
    ds = load_dataset(synthetic["manifest"])
    y = ds.labels
    rng = np.random.default_rng(0)
    p = np.clip(np.where(y == 1, 0.7, 0.3) + rng.normal(0, 0.25, len(y)), 0, 1)
    rows = subset_table(ds, proba_of(p))
    glasses = {r["value"]: r for r in rows if r["factor"] == "glasses"}
    assert set(glasses) == {"no", "yes"}
    assert sum(r["n"] for r in glasses.values()) == N
    mask = np.array([s.meta["glasses"] == "yes" for s in ds.samples])
    expected = classification_metrics(y[mask], proba_of(p[mask]))
    row = glasses["yes"]
    assert row["n"] == mask.sum() and row["n_open"] + row["n_closed"] == row["n"]
    assert row["n_closed"] == int((y[mask] == 1).sum())
    for key in ("accuracy", "recall_closed", "recall_open"):
        assert row[key] == pytest.approx(expected[key])
    assert "rejection_rate" not in row  # no band, no rejection
    angle_rows = [r for r in rows if r["factor"] == "angle"]
    assert len(angle_rows) == IMAGES_PER_SUBJECT and all(r["n"] == N_SUBJECTS for r in angle_rows)


def test_subset_table_with_a_band():
    samples = [Sample(f"{i}.png", i % 2, "p", "src", {"glasses": "yes" if i < 4 else "no"}) for i in range(8)]
    p = np.array([0.1, 0.5, 0.2, 0.9, 0.45, 0.55, 0.05, 0.95])
    rows = {(r["factor"], r["value"]): r for r in subset_table(Dataset(samples), proba_of(p), [0.3, 0.7])}
    yes, no = rows[("glasses", "yes")], rows[("glasses", "no")]
    assert yes["rejection_rate"] == pytest.approx(1 / 4) and yes["selective_risk"] == 0.0
    assert no["rejection_rate"] == pytest.approx(2 / 4)
    assert rows[("source", "src")]["rejection_rate"] == pytest.approx(3 / 8)


def test_sweep_models_gives_one_value_per_level_and_model(untrained_cnn, fitted_svm):
    rng = np.random.default_rng(1)
    images = np.stack([np.repeat(draw_eye(i % 2 == 0, rng, 96)[..., None], 3, axis=2) for i in range(4)])
    y = np.array([0, 1, 0, 1])
    out = sweep_models([untrained_cnn, fitted_svm], images, y, progress=False)
    assert out.note == ANGLE_NOTE and out.n == 4
    assert set(out.sweeps) == set(SWEEPS) and len(SWEEPS) == 9
    for name, block in out.sweeps.items():
        assert block.levels == list(SWEEPS[name][1])
        assert set(block.models) == {"small_cnn", "lbp_hog_svm"}
        for res in block.models.values():
            assert set(res) == {"accuracy", "recall_closed", "recall_open"}
            for values in res.values():
                assert len(values) == len(block.levels)
                assert all(0 <= v <= 1 for v in values)
    # the identity levels reproduce the model's accuracy on the untouched images
    clean = classification_metrics(y, fitted_svm.predict_proba(images))["accuracy"]
    block = out.sweeps["rotation_deg"]
    assert block.models["lbp_hog_svm"]["accuracy"][block.levels.index(0)] == clean


def test_sweep_models_with_chosen_sweeps(untrained_cnn):
    images = np.zeros((2, 32, 32, 3), np.uint8)
    out = sweep_models([untrained_cnn], images, np.array([0, 1]), sweeps={"blur_sigma": [0, 2]}, progress=False)
    assert list(out.sweeps) == ["blur_sigma"]
    assert out.sweeps["blur_sigma"].models["small_cnn"]["accuracy"] == [0.5, 0.5]


def test_models_with_the_same_folder_name_stay_apart(untrained_cnn):
    # two checkpoints called small_cnn in different folders: each keeps its own results
    a, b = copy.deepcopy(untrained_cnn), copy.deepcopy(untrained_cnn)
    a.checkpoint, b.checkpoint = "runs/mrl/small_cnn", "runs/mrl_cew/small_cnn/"
    assert model_key(a) == model_key(b) == "small_cnn"
    assert model_keys([a, b]) == ["mrl/small_cnn", "mrl_cew/small_cnn"]
    assert model_keys([a, a]) == ["small_cnn", "small_cnn (2)"]
    assert model_keys([a, untrained_cnn]) == ["mrl/small_cnn", "small_cnn"]  # a registry name (no folder)
    images = np.zeros((2, 32, 32, 3), np.uint8)
    out = sweep_models([a, b], images, np.array([0, 1]), sweeps={"gamma": [1.0, 2.0]}, progress=False)
    models = out.sweeps["gamma"].models
    assert set(models) == {"mrl/small_cnn", "mrl_cew/small_cnn"}
    assert all(len(v) == 2 for res in models.values() for v in res.values())


def test_stratified_sample():
    y = np.array([0] * 90 + [1] * 10)
    idx = stratified_sample(y, 20, seed=0)
    assert len(idx) == 20 and (np.diff(idx) > 0).all()
    assert (y[idx] == 1).sum() == 2  # the class ratio is kept
    np.testing.assert_array_equal(idx, stratified_sample(y, 20, seed=0))
    np.testing.assert_array_equal(stratified_sample(y, 500), np.arange(100))


@pytest.mark.parametrize("count", [1, 4, len(SWEEPS)])
def test_sweep_grid_has_a_panel_per_sweep(count):
    from eyebench.evaluate.plots import sweep_grid_figure
    from eyebench.evaluate.results import SweepCurves, SweepResults

    sweeps = {name: SweepCurves(levels, {m: {"accuracy": [0.9] * len(levels)} for m in ("a", "b")})
              for name, (_, levels) in list(SWEEPS.items())[:count]}
    fig = sweep_grid_figure(SweepResults("", 10, sweeps))
    assert [a.text for a in fig.layout.annotations] == list(sweeps)  # one titled panel each, three to a row
    assert len(fig.data) == 2 * count and sum(t.showlegend for t in fig.data) == 2  # one legend entry per model


# -- the fast sweep: one perturbed batch per level for every model, identity levels run once, models side by side ----
class Brightness(BaseClassifier):
    """A tiny image-dependent model: closed when the centre of its (size x size, channels) input is dark."""

    name = "brightness"

    def __init__(self, size=32, channels=1, centre=128.0):
        super().__init__(DataConfig(input_size=size, channels=channels, mean=(0.5,) * channels, std=(0.25,) * channels))
        self.centre, self.calls = centre, 0

    def view_scores(self, batch):
        self.calls += 1
        s = batch.shape[1]
        return (self.centre - batch[:, s // 4: 3 * s // 4, s // 4: 3 * s // 4].mean(axis=(1, 2, 3))) / 8.0


class RawOnly:
    """A model that only offers predict_proba on raw crops (no prepare / proba_prepared)."""

    name, checkpoint = "raw_only", ""  # every classifier names its checkpoint ("" when not loaded from one)

    def predict_proba(self, images):
        p = 1 / (1 + np.exp((np.stack(images).astype(float).std(axis=(1, 2, 3)) - 40) / 5))
        return np.stack([1 - p, p], axis=1)


def straightforward(models, images, y):
    """The sweep computed level by level and model by model, every model on its own predict_proba."""
    return {name: {key: [classification_metrics(y, clf.predict_proba(perturb_batch(images, name, lvl)))
                         for lvl in levels] for clf, key in zip(models, model_keys(models))}
            for name, (_, levels) in SWEEPS.items()}


@pytest.fixture(scope="module")
def sweep_fixture():
    rng = np.random.default_rng(3)
    images = np.stack([np.repeat(draw_eye(i % 2 == 0, rng, 96)[..., None], 3, axis=2) for i in range(12)])
    return images, np.array([i % 2 for i in range(12)]) ^ 1  # draw_eye(open) for even i: label 0 (open)


@pytest.mark.parametrize("cpus", [1, 4])
def test_fast_sweep_matches_the_straightforward_computation(trained_cnn, fitted_svm, sweep_fixture, cpus, monkeypatch):
    from eyebench import load_classifier
    from eyebench.evaluate import robustness

    monkeypatch.setattr(robustness.os, "cpu_count", lambda: cpus)  # one model at a time, or several side by side
    images, y = sweep_fixture
    gray64 = Brightness(64, 1, centre=150.0)
    models = [load_classifier(trained_cnn), fitted_svm, Brightness(32, 1), gray64, Brightness(48, 3), RawOnly()]
    out = sweep_models(models, images, y, progress=False)
    # the gray 64 px models share one prepared batch per level; the 8 identity levels reuse the clean one
    assert gray64.calls == sum(len(levels) for _, levels in SWEEPS.values()) - 7
    expected = straightforward(models, images, y)
    assert len({k for block in expected.values() for k in block}) == len(models)
    for name, block in out.sweeps.items():
        for key, res in block.models.items():
            for metric in ("accuracy", "recall_closed", "recall_open"):
                assert res[metric] == [m[metric] for m in expected[name][key]], (name, key, metric)
    accuracies = {a for block in out.sweeps.values() for res in block.models.values() for a in res["accuracy"]}
    assert len(accuracies) >= 4  # the models do answer to the perturbations: the comparison is not all 0.5


def test_sweep_progress_callback(untrained_cnn, sweep_fixture):
    images, y = sweep_fixture
    seen = []
    sweep_models([untrained_cnn, Brightness(32, 1)], images, y, sweeps={"blur_sigma": [0, 2], "gamma": [1.0, 2.5]},
                 progress=lambda fraction, text: seen.append((fraction, text)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 <= fractions[0]
    texts = " | ".join(t for _, t in seen)
    assert "blur_sigma 2" in texts and "small_cnn" in texts and "predictions reused" in texts  # gamma 1.0


def test_a_failing_model_raises_on_the_calling_thread(sweep_fixture, monkeypatch):
    from eyebench.evaluate import robustness

    class Broken(Brightness):
        def view_scores(self, batch):
            raise RuntimeError("broken model")

    monkeypatch.setattr(robustness.os, "cpu_count", lambda: 2)
    images, y = sweep_fixture
    with pytest.raises(RuntimeError, match="broken model"):
        sweep_models([Brightness(32, 1), Broken(48, 1)], images, y, sweeps={"blur_sigma": [0, 2]}, progress=False)
