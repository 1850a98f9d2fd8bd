"""Person-disjoint train/val/test splits."""
import pytest
from conftest import N_SUBJECTS, real_data_dir

from eyebench.data.dataset import Dataset, Sample, load_dataset, scan_folder
from eyebench.data.splits import (
    SPLITS,
    SplitError,
    apply_split,
    check_disjoint,
    split_by_subject,
)


def assert_person_disjoint(dataset, assignment):
    """Every subject of the dataset is in exactly one split, and no split shares a subject with another."""
    parts = {name: set(assignment[name]) for name in SPLITS}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            assert not parts[a] & parts[b], f"subjects in both {a} and {b}: {sorted(parts[a] & parts[b])[:5]}"
    assert set().union(*parts.values()) == set(dataset.subjects.tolist())
    for name in SPLITS:
        assert parts[name], f"split {name} is empty"
        part = apply_split(dataset, assignment, name)
        assert set(part.subjects.tolist()) <= parts[name]
    assert sum(len(apply_split(dataset, assignment, n)) for n in SPLITS) == len(dataset)


def toy_dataset(n_subjects, per_subject=6, source="toy"):
    return Dataset([Sample(f"{source}/{s}_{i}.png", i % 2, f"p{s}", source)
                    for s in range(n_subjects) for i in range(per_subject)])


def test_synthetic_split_is_person_disjoint(mrl_dir):
    ds = scan_folder(mrl_dir)
    split = split_by_subject(ds, seed=0)
    assert_person_disjoint(ds, split)
    assert len(split["train"]) >= N_SUBJECTS - 2


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_split_deterministic_for_seed(seed):
    ds = toy_dataset(20)
    assert split_by_subject(ds, seed=seed) == split_by_subject(ds, seed=seed)


def test_split_changes_with_seed():
    ds = toy_dataset(20)
    assert len({str(split_by_subject(ds, seed=s)["test"]) for s in range(5)}) > 1


def test_split_fractions_roughly_respected():
    ds = toy_dataset(40)
    split = split_by_subject(ds, val_frac=0.2, test_frac=0.2, seed=3)
    assert_person_disjoint(ds, split)
    assert abs(len(split["val"]) - 8) <= 1 and abs(len(split["test"]) - 8) <= 1


def test_each_source_in_every_split():
    ds = toy_dataset(10, source="a") + toy_dataset(8, source="b")
    for s in ds.samples[60:]:
        s.subject = "b_" + s.subject  # the two sources have different people
    split = split_by_subject(ds, seed=0)
    assert_person_disjoint(ds, split)
    for name in SPLITS:
        assert {s[:2] == "b_" for s in split[name]} == {True, False}


def test_three_subjects_is_enough():
    ds = toy_dataset(3)
    split = split_by_subject(ds)
    assert sorted(len(split[n]) for n in SPLITS) == [1, 1, 1]


@pytest.mark.parametrize("n_subjects", [1, 2])
def test_too_few_subjects(n_subjects):
    with pytest.raises(SplitError, match="needs at least 3"):
        split_by_subject(toy_dataset(n_subjects))


def test_check_disjoint_raises_on_leak():
    check_disjoint({"train": ["a", "b"], "val": ["c"], "test": ["d"]})
    with pytest.raises(SplitError, match=r"both train and test: \['b'\]"):
        check_disjoint({"train": ["a", "b"], "val": ["c"], "test": ["b"]})
    with pytest.raises(SplitError, match="both val and test"):
        check_disjoint({"train": ["a"], "val": ["c", "d"], "test": ["d"]})


def test_apply_split_unknown_name():
    with pytest.raises(SplitError, match="unknown split"):
        apply_split(toy_dataset(3), {"train": []}, "holdout")


def test_real_mrl_and_cew_split_is_person_disjoint():
    ds = load_dataset([real_data_dir("mrl"), real_data_dir("cew")])
    assert set(ds.sources) == {"mrl", "cew"}
    split = split_by_subject(ds, seed=0)
    assert_person_disjoint(ds, split)
    # the left and right eye of one CEW face never end up on two sides of the split
    cew = [s for s in ds.samples if s.source == "cew"]
    side = {subj: name for name in SPLITS for subj in split[name]}
    stems = {}
    for s in cew:
        stem = s.path.rsplit("/", 1)[-1].rsplit("_", 1)[0]
        stems.setdefault(stem, set()).add(side[s.subject])
    assert all(len(v) == 1 for v in stems.values())
    # every MRL subject folder is one subject
    mrl_subjects = {s.subject for s in ds.samples if s.source == "mrl"}
    assert mrl_subjects == {p.name for p in real_data_dir("mrl").iterdir() if p.is_dir() and any(p.iterdir())}
