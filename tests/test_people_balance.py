"""People-balanced training (--person-cap) and what cv measures per person and per condition: the capped sampling
weights, the option's flag, record and card line, the people-balanced accuracy, the glasses x reflections cells, and
a tiny cv that reports them per fold and overall."""
import json

import numpy as np
import pytest
from conftest import IMAGES_PER_SUBJECT, N_SUBJECTS, dataset_of

from eyebench.cli import main
from eyebench.data.dataset import Dataset, Sample
from eyebench.evaluate.metrics import people_balanced_accuracy
from eyebench.evaluate.robustness import condition_cells, pool_cells
from eyebench.models.card import model_card
from eyebench.train.config import TrainConfig
from eyebench.formatters.training import view_lines
from eyebench.train.crossval import pooled_views, view_measures
from eyebench.train.samplers import PersonSampler, balanced_weights, capped_people


def uneven_people() -> Dataset:
    """One source: p1 with 10 open / 10 closed images, p2 with 100 / 20, p3 with 1000 / 30; a second source `cew`."""
    samples = []
    for person, n_open, n_closed in (("p1", 10, 10), ("p2", 100, 20), ("p3", 1000, 30)):
        samples += [Sample(f"{person}o{i}", 0, person, "mrl") for i in range(n_open)]
        samples += [Sample(f"{person}c{i}", 1, person, "mrl") for i in range(n_closed)]
    samples += [Sample(f"q{i}", i % 2, f"q{i // 2}", "cew") for i in range(40)]
    return Dataset(samples)


def person_share(ds: Dataset, w: np.ndarray, person: str, label: int) -> float:
    return float(w[(ds.subjects == person) & (ds.labels == label)].sum())


def test_capped_people_cuts_only_the_people_above_k_times_the_median():
    people = np.array(["a"] * 10 + ["b"] * 100 + ["c"] * 1000)
    w = capped_people(people, 1.0)  # median 100: c counts as 100 images, a and b as they are
    assert w.sum() == pytest.approx(1.0)
    assert w[people == "a"].sum() == pytest.approx(10 / 210) and w[people == "c"].sum() == pytest.approx(100 / 210)
    assert w[people == "a"][0] == w[people == "b"][0] > w[people == "c"][0]  # no image drawn more than another
    assert capped_people(people, 2.0)[people == "c"].sum() == pytest.approx(200 / 310)  # K = 2: c counts as 200
    np.testing.assert_allclose(capped_people(people, 0.0), 1 / len(people))  # off: equal per image


def test_balanced_weights_with_a_person_cap_keep_classes_and_sources_balanced():
    ds = uneven_people()
    plain, capped = balanced_weights(ds), balanced_weights(ds, person_cap=1.0)
    src = np.array([s.source for s in ds.samples])
    for w in (plain, capped):
        assert w.sum() == pytest.approx(1.0)
        for name in ("mrl", "cew"):  # classes equally likely within each source; sources by sqrt(size) as before
            m = src == name
            assert w[m & (ds.labels == 0)].sum() == pytest.approx(w[m & (ds.labels == 1)].sum())
        assert w[src == "mrl"].sum() == pytest.approx(plain[src == "mrl"].sum())
    # open eyes in mrl: 10 / 100 / 1000 images, median 100 -> p3 counts as 100 of 210 (was 1000 of 1110)
    assert person_share(ds, plain, "p3", 0) / person_share(ds, plain, "p1", 0) == pytest.approx(100)
    assert person_share(ds, capped, "p3", 0) / person_share(ds, capped, "p1", 0) == pytest.approx(10)
    assert person_share(ds, capped, "p3", 0) == pytest.approx(person_share(ds, capped, "p2", 0))
    np.testing.assert_allclose(capped[src == "cew"], plain[src == "cew"])  # two images per person: nobody capped
    sampler = PersonSampler(ds, person_cap=1.0)
    np.testing.assert_allclose(sampler.base.numpy(), capped)


def test_person_cap_is_a_checked_recorded_option_with_a_card_sentence():
    with pytest.raises(ValueError, match=r"--person-cap is a multiple of the median person's images"):
        TrainConfig(person_cap=-1.0)
    assert TrainConfig().recorded()["person_cap"] is None and TrainConfig(person_cap=2).recorded()["person_cap"] == 2
    config = {"architecture": "small_cnn", "class_names": ["open", "closed"], "family": "torch",
              "data_config": {"input_size": 64, "channels": 1}, "trained": TrainConfig(person_cap=1.5).recorded()}
    assert "a person counts as at most 1.5x the median person's images, --person-cap 1.5" in model_card(config)
    from eyebench.cli import build_parser

    args = build_parser().parse_args(["cv", "small_cnn", "--data", "d", "--out", "o", "--person-cap", "2"])
    assert TrainConfig.from_args(args) == TrainConfig(person_cap=2.0)


def test_people_balanced_accuracy_counts_every_person_once():
    y = np.array([0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 0, 0, 0, 1])  # a: 4/4 right, b: 1/2 right
    assert people_balanced_accuracy(y, pred, ["a"] * 4 + ["b"] * 2) == pytest.approx(0.75)
    assert people_balanced_accuracy([], [], []) is None


def test_condition_cells_split_glasses_by_reflections_and_class(records):
    ds = dataset_of(records)
    for s, r in zip(ds.samples, records):
        s.meta["reflections"] = "big" if r["number"] % 3 == 0 else "none"
    pred = ds.labels.copy()
    pred[:5] = 1 - pred[:5]  # five wrong
    cells = condition_cells(ds, pred)
    assert set(cells) == {f"glasses={g} reflections={r}" for g in ("no", "yes") for r in ("big", "none")}
    assert sum(c["n"] for c in cells.values()) == len(ds) and sum(c["right"] for c in cells.values()) == len(ds) - 5
    for c in cells.values():
        assert c["n_open"] + c["n_closed"] == c["n"] and c["right_open"] + c["right_closed"] == c["right"]
        assert c["accuracy"] == pytest.approx(c["right"] / c["n"])
    assert condition_cells(dataset_of(records), pred) is None  # no reflections metadata: skipped
    pooled = pool_cells([cells, None, cells])
    assert all(pooled[k]["n"] == 2 * cells[k]["n"] and pooled[k]["accuracy"] == pytest.approx(cells[k]["accuracy"])
               for k in cells)
    assert pool_cells([None, None]) is None


def test_pooled_views_count_each_person_once(records):
    ds = dataset_of(records)
    first, second = ds.subset(ds.subjects < "s0004"), ds.subset(ds.subjects >= "s0004")
    views = [{"as_trained": "no flip", "no flip": view_measures(part, part.labels * 0),  # always "open"
              "flip": view_measures(part, part.labels)} for part in (first, second)]  # always right
    pooled = pooled_views(views)
    assert pooled["no flip"]["n"] == len(ds) and pooled["no flip"]["n_people"] == N_SUBJECTS
    assert pooled["no flip"]["accuracy"] == pytest.approx(0.5)
    assert pooled["no flip"]["people_balanced_accuracy"] == pytest.approx(0.5)
    assert pooled["flip"]["people_balanced_accuracy"] == 1.0
    row = {"people_balanced_accuracy": 0.5, "glasses_reflections": None, "views": pooled}
    assert view_lines(row) == [f"people-balanced accuracy 50.00% over {N_SUBJECTS} people",
                               "flip averaging (the checkpoint: off): accuracy 50.00% without, 100.00% with; "
                               "people-balanced 50.00% without, 100.00% with"]


def test_cv_reports_people_balanced_accuracy_and_conditions_per_fold(capsys, tmp_path, mrl_dir):
    json_file, out_dir = tmp_path / "cv.json", tmp_path / "cv"
    rc = main([str(a) for a in ("cv", "small_cnn", "--data", mrl_dir, "--out", out_dir, "--folds", "2", "--epochs",
                                "1", "--batch-size", "32", "--model-arg", "widths=[4,4,8,8]", "--person-cap", "1",
                                "--json", json_file)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    res = json.loads(json_file.read_text())
    for fold in res["folds"]:
        per = [v["accuracy"] for v in fold["per_subject"].values()]
        assert fold["people_balanced_accuracy"] == pytest.approx(np.mean(per))
        cells = fold["glasses_reflections"]
        assert set(cells) == {"glasses=no reflections=none", "glasses=yes reflections=none"}
        assert sum(c["n"] for c in cells.values()) == fold["n"]
        assert sum(c["right"] for c in cells.values()) == pytest.approx(fold["accuracy"] * fold["n"])
    every = [v["accuracy"] for f in res["folds"] for v in f["per_subject"].values()]
    assert res["people_balanced_accuracy"] == pytest.approx(np.mean(every))
    assert sum(c["n"] for c in res["glasses_reflections"].values()) == N_SUBJECTS * IMAGES_PER_SUBJECT
    assert res["views"]["as_trained"] == "no flip" and res["views"]["no flip"]["n_people"] == N_SUBJECTS
    cfg = json.loads((out_dir / "fold_1" / "config.json").read_text())
    assert cfg["trained"]["person_cap"] == 1
    assert "--person-cap 1)" in (out_dir / "fold_1" / "README.md").read_text()
    for fold in res["folds"]:  # each fold's stored band, scored on its test people
        band = json.loads((out_dir / f"fold_{fold['fold']}" / "config.json").read_text())["metrics"]["test"]["band"]
        assert fold["band"]["coverage"] == band["coverage"] and fold["band"]["n"] == fold["n"]
    answered = [f["band"]["n"] * f["band"]["coverage"] for f in res["folds"]]
    assert res["band"]["coverage"] == pytest.approx(sum(answered) / res["band"]["n"])
    assert out.count("stored band answers") == 3
    assert out.count("people-balanced accuracy") == 3 and out.count("flip averaging (the checkpoint: off)") == 3 and "seed 0, all folds: people-balanced accuracy" in out
    assert "glasses x reflections, accuracy all/open/closed (n): g=no r=none" in out
