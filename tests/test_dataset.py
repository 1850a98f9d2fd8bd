"""Scanning the three data layouts, skipped-file reporting and the decoded-image cache."""
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    CLASS_FOLDERS,
    IMAGES_PER_SUBJECT,
    N_SUBJECTS,
    PERSONS,
    dataset_of,
    draw_eye,
    write_broken_files,
    write_manifest,
    write_png,
)

import eyebench.data.dataset as dataset_mod
from eyebench.data.dataset import (
    UNLABELLED,
    class_from_folder,
    describe,
    load_dataset,
    load_images,
    parse_label,
    scan_folder,
)
from eyebench.results import EyeState

N_IMAGES = N_SUBJECTS * IMAGES_PER_SUBJECT


def by_name(ds):
    return {Path(s.path).name: s for s in ds.samples}


# -- layouts ------------------------------------------------------------------------------------------------
def test_scan_mrl_layout(mrl_dir, records):
    ds = scan_folder(mrl_dir)
    assert len(ds) == N_IMAGES and ds.skipped == []
    assert ds.sources == {"mrl": {"root": str(mrl_dir), "layout": "mrl", "subjects_from": "MRL file names",
                                  "subject_rule": "auto", "n_subjects": N_SUBJECTS, "subjects_trusted": True,
                                  "subjects_doubt": None, "warnings": []}}
    samples = by_name(ds)
    for r in records:
        s = samples[r["path"].name]
        assert (s.label, s.subject, s.source) == (r["label"], r["subject"], "mrl")
        assert s.meta["glasses"] == r["glasses"] and s.meta["lighting"] == "good"
    assert sorted(set(ds.subjects)) == [f"s{i:04d}" for i in range(1, N_SUBJECTS + 1)]
    assert np.bincount(ds.labels).tolist() == [N_IMAGES // 2, N_IMAGES // 2]


def test_scan_class_folders_with_aliases(synthetic):
    ds = scan_folder(synthetic["classes"])
    assert len(ds) == N_IMAGES and ds.skipped == []
    assert ds.sources["classes"]["layout"] == "class-folders"
    for s in ds.samples:
        assert s.path.split("/")[-2] == CLASS_FOLDERS[s.label]
        assert s.meta == {}
    # left and right eyes (and every photo) of one person share a subject
    assert sorted(set(ds.subjects)) == sorted(PERSONS)


@pytest.mark.parametrize("folder, label", [
    ("open", EyeState.OPEN), ("Open_Eyes", EyeState.OPEN), ("openLeftEyes", EyeState.OPEN), ("closed", EyeState.CLOSED), ("Closed_Eyes", EyeState.CLOSED),
    ("closedRightEyes", EyeState.CLOSED), ("eyes-closed", EyeState.CLOSED), ("other", None), ("0", None),
])
def test_class_folder_aliases(folder, label):
    assert class_from_folder(folder) == label


@pytest.mark.parametrize("value, label", [("open", EyeState.OPEN), (" Closed ", EyeState.CLOSED), ("OPENED", EyeState.OPEN), ("1", None),
                                          ("0", None), ("", None), ("maybe", None)])
def test_manifest_labels(value, label):
    assert parse_label(value) == label


def test_scan_manifest_extra_columns_become_meta(synthetic, records):
    ds = scan_folder(synthetic["manifest"])
    assert len(ds) == N_IMAGES and ds.skipped == []
    assert ds.sources["eyes"]["layout"] == "manifest"
    assert ds.sources["eyes"]["subjects_from"] == "manifest column 'subject'"
    samples = by_name(ds)
    for r in records:
        s = samples[r["path"].name]
        assert (s.label, s.subject) == (r["label"], r["person"])
        assert s.meta == {"glasses": r["glasses"], "angle": r["angle"]}
        assert Path(s.path).resolve() == r["path"].resolve()


def test_manifest_named_manifest_csv_in_folder_wins(tmp_path, records):
    write_manifest(tmp_path / "manifest.csv", records[:4])
    ds = scan_folder(tmp_path)
    assert len(ds) == 4 and ds.sources[tmp_path.name]["layout"] == "manifest"


def test_manifest_without_subject_groups_by_file_name(tmp_path):
    (tmp_path / "m.csv").write_text("path,label\nimgs/Aaron_Guiel_0001_L.png,open\nimgs/Aaron_Guiel_0001_R.png,open\n")
    ds = scan_folder(tmp_path / "m.csv")
    assert ds.subjects.tolist() == ["Aaron_Guiel", "Aaron_Guiel"]
    assert ds.sources["m"]["subjects_from"].startswith("file names")


def test_manifest_bad_rows_are_skipped(tmp_path):
    (tmp_path / "m.csv").write_text("path,label,subject\n"
                                    "a.png,open,p1\n"
                                    "b.png,1,p1\n"            # numeric labels are ambiguous
                                    "c.png,half,p2\n"
                                    "d.png,closed,p2,surplus\n")  # more fields than the header
    ds = scan_folder(tmp_path / "m.csv")
    assert [s.path.split("/")[-1] for s in ds.samples] == ["a.png"]
    reasons = dict(ds.skipped)
    assert reasons[str(tmp_path / "b.png")].startswith("unlabelled")
    assert reasons[str(tmp_path / "c.png")].startswith("unlabelled")
    assert "more fields than the header" in reasons[f"{tmp_path / 'm.csv'}:5"]


def test_a_file_is_read_once_however_often_it_is_listed(mrl_dir):
    ds = load_dataset([mrl_dir, mrl_dir / "s0001"])  # a folder and a folder inside it
    assert len(ds) == N_IMAGES and len({s.path for s in ds.samples}) == N_IMAGES
    reasons = [r for _, r in ds.skipped if r.startswith("duplicate")]
    assert len(reasons) == IMAGES_PER_SUBJECT and "already read from source mrl" in reasons[0]
    assert "'duplicate: already read from source mrl'" in describe(ds.report())[-1]


def test_a_file_listed_with_both_labels_is_skipped_everywhere(tmp_path):
    (tmp_path / "m.csv").write_text("path,label,subject\na.png,open,p1\nb.png,closed,p1\na.png,closed,p2\n"
                                    "b.png,closed,p1\n")
    ds = load_dataset(tmp_path / "m.csv")
    assert [Path(s.path).name for s in ds.samples] == ["b.png"]
    assert sorted(r.split(":")[0] for _, r in ds.skipped) == ["conflicting labels"] * 2 + ["duplicate"]


def test_manifest_needs_path_and_label(tmp_path):
    (tmp_path / "m.csv").write_text("file,class\na.png,open\n")
    with pytest.raises(ValueError, match="'path' and 'label'"):
        scan_folder(tmp_path / "m.csv")


def test_unlabelled_files_reported(tmp_path, records):
    mixed = tmp_path / "mixed"
    shutil.copytree(records[0]["path"].parent, mixed / "s0001")
    write_png(mixed / "notes.png", np.zeros((16, 16), np.uint8))
    (mixed / "readme.txt").write_text("not an image")
    ds = scan_folder(mixed)
    assert len(ds) == IMAGES_PER_SUBJECT
    assert ds.skipped == [(str(mixed / "notes.png"), UNLABELLED)]

    loose = tmp_path / "loose"
    write_png(loose / "open" / "a_L.png", np.zeros((16, 16), np.uint8))
    write_png(loose / "unsorted" / "b_L.png", np.zeros((16, 16), np.uint8))
    ds = scan_folder(loose)
    assert len(ds) == 1
    assert ds.skipped == [(str(loose / "unsorted" / "b_L.png"), UNLABELLED)]


def class_tree(root, n_per_class: int = 10):
    """open/ and closed/ folders of n_per_class CEW-style crops each (Name_000k_L.png)."""
    rng = np.random.default_rng(5)
    for label, folder in ((EyeState.OPEN, "open"), (EyeState.CLOSED, "closed")):
        for k in range(n_per_class):
            write_png(root / folder / f"Person{k % 5}_{k:04d}_L.png", draw_eye(label == EyeState.OPEN, rng, 40))
    return root


def test_one_mrl_name_in_a_class_tree_changes_nothing_else(tmp_path):
    """A folder's layout is decided per file: one MRL-named file among class folders no longer hides the others."""
    tree = class_tree(tmp_path / "tree")
    stray = write_png(tree / "closed" / "s0001_00001_0_0_0_0_1_01.png", np.zeros((40, 40), np.uint8))
    ds = scan_folder(tree)
    assert len(ds) == 21 and ds.skipped == []
    info = ds.sources["tree"]
    assert info["layout"] == "mixed" and "MRL file names (1 images)" in info["subjects_from"] and info["warnings"] == []
    by_path = {s.path: s for s in ds.samples}
    assert by_path[str(stray)].subject == "s0001" and by_path[str(stray)].label == EyeState.CLOSED
    assert by_path[str(tree / "open" / "Person1_0001_L.png")].subject == "Person1"
    assert ds.labels.tolist().count(EyeState.CLOSED) == 11


def test_a_name_and_a_folder_that_disagree_are_refused(tmp_path):
    tree = class_tree(tmp_path / "tree")
    wrong = write_png(tree / "open" / "s0001_00001_0_0_0_0_1_01.png", np.zeros((40, 40), np.uint8))  # MRL: closed
    ds = scan_folder(tree)
    assert len(ds) == 20 and ds.skipped == [(str(wrong), "conflict: the MRL name says closed, the class folder says open")]


def test_a_small_remainder_is_never_silent(tmp_path):
    """Most files unlabelled: the report warns that everything is about the few that were read."""
    folder = class_tree(tmp_path / "few", n_per_class=1)
    rng = np.random.default_rng(0)
    for k in range(20):
        write_png(folder / "unsorted" / f"img_{k}.png", draw_eye(True, rng, 40))
    report = scan_folder(folder).report()
    assert report["n_read"] == 2 and report["n_skipped"] == 20
    (warning,) = report["warnings"]
    assert warning.startswith("few: 20 of 22 files were skipped") and "about the 2 that were read" in warning
    assert f"WARNING {warning}" in describe(report)


def camera_folder(root, names, people=None):
    """Eye crops with camera-style names in open/ and closed/ (alternating), optionally in a folder per person."""
    rng = np.random.default_rng(7)
    for k, name in enumerate(names):
        person = f"{people[k % len(people)]}/" if people else ""
        write_png(root / f"{person}{'open' if k % 2 else 'closed'}" / name, draw_eye(bool(k % 2), rng, 40))
    return root


def test_camera_names_that_merge_everyone_are_warned_about(tmp_path):
    folder = camera_folder(tmp_path / "phone", [f"IMG_{1001 + k}.jpg" for k in range(40)])
    ds = scan_folder(folder)
    assert set(ds.subjects.tolist()) == {"IMG"}
    (warning,) = ds.report()["warnings"]
    assert warning.startswith("phone: all 40 images are one subject by file names (left/right grouped)")
    assert "-> 'IMG'" in warning and "--subject-from" in warning and "subject column" in warning


def test_frame_names_that_make_each_image_a_person_are_warned_about(tmp_path):
    folder = camera_folder(tmp_path / "video", [f"frame_{k:03d}.png" for k in range(30)])
    (warning,) = scan_folder(folder).report()["warnings"]
    assert warning.startswith("video: each of the 30 images is a subject of its own")


@pytest.mark.parametrize("rule, subjects", [("folder", {"ann", "ben", "cid"}), ("regex:^IMG_(\\d{3})", {"100", "101"}),
                                            ("file", None)])
def test_subject_from_chooses_the_people(tmp_path, rule, subjects):
    folder = camera_folder(tmp_path / "phone", [f"IMG_{1001 + k}.jpg" for k in range(12)], people=["ann", "ben", "cid"])
    ds = load_dataset([folder], subject_from=rule)
    info = ds.sources["phone"]
    assert set(ds.subjects.tolist()) == (subjects or {str(Path(s.path).relative_to(folder)) for s in ds.samples})
    assert info["subject_rule"] == rule and f"--subject-from {rule}" in info["subjects_from"]
    assert info["warnings"] == [] and len(ds) == 12
    assert f"{len(set(ds.subjects.tolist()))} subjects from" in describe(ds.report())[0]


def test_a_file_the_pattern_misses_is_skipped_with_the_reason(tmp_path):
    folder = camera_folder(tmp_path / "phone", ["ann_1.jpg", "ben_2.jpg", "IMG_3.jpg"])
    ds = scan_folder(folder, subject_from="regex:^([a-z]+)_")
    assert sorted(ds.subjects.tolist()) == ["ann", "ben"]
    assert ds.skipped == [(str(folder / "closed" / "IMG_3.jpg"),
                           "no subject: the file name does not match --subject-from regex:^([a-z]+)_")]


def test_sure_subjects_are_not_second_guessed(mrl_dir, tmp_path, records):
    one = tmp_path / "one"
    shutil.copytree(records[0]["path"].parent, one / "s0001")  # one MRL person: one subject, and that is right
    assert scan_folder(one).report()["warnings"] == []


def test_scan_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        scan_folder(tmp_path / "empty")
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(ValueError, match="folder or a CSV"):
        scan_folder(tmp_path / "x.png")


def test_load_dataset_combines_sources_with_unique_names(tmp_path, mrl_dir, synthetic):
    other = tmp_path / "mrl"
    shutil.copytree(mrl_dir / "s0001", other / "s0001")
    ds = load_dataset([mrl_dir, synthetic["classes"], other])
    assert set(ds.sources) == {"mrl", "classes", "mrl_"}
    assert len(ds) == 2 * N_IMAGES + IMAGES_PER_SUBJECT
    rep = ds.report()
    assert rep["per_source"] == {"mrl": N_IMAGES, "classes": N_IMAGES, "mrl_": IMAGES_PER_SUBJECT}
    assert rep["n_subjects"] == N_SUBJECTS + len(PERSONS)


def test_load_dataset_without_labelled_images(tmp_path):
    write_png(tmp_path / "d" / "misc" / "x.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match="no labelled images"):
        load_dataset(tmp_path / "d")


# -- decoding -----------------------------------------------------------------------------------------------
def test_load_images_shapes(mrl_dir, isolated_cache):
    ds = scan_folder(mrl_dir)
    arr, used = load_images(ds, 32, 1, progress=False)
    assert arr.shape == (N_IMAGES, 32, 32, 1) and arr.dtype == np.uint8
    assert used is ds
    rgb, _ = load_images(ds, 24, 3, progress=False)
    assert rgb.shape == (N_IMAGES, 24, 24, 3)
    assert np.array_equal(rgb[..., 0], rgb[..., 2])  # gray copied to three channels
    assert len(list(isolated_cache.glob("*.npy"))) == 2  # one cache entry per size/channels


def test_unreadable_files_skipped_with_reason(tmp_path, records):
    folder = tmp_path / "data"
    shutil.copytree(records[0]["path"].parent, folder / "s0001")
    broken = write_broken_files(folder / "s0099")
    ds = scan_folder(folder)
    assert len(ds) == IMAGES_PER_SUBJECT + len(broken)
    arr, used = load_images(ds, 64, 1, progress=False)
    assert len(arr) == len(used) == IMAGES_PER_SUBJECT
    assert all(s.subject == "s0001" for s in used.samples)
    reasons = dict(used.skipped)
    assert set(reasons) == {str(p) for p in broken.values()}
    assert all(r.startswith("unreadable: ") for r in reasons.values())
    assert "not a readable image" in reasons[str(broken["empty"])]
    assert "not a readable image" in reasons[str(broken["random"])]
    assert "truncated" in reasons[str(broken["truncated"])]
    rep = used.report()
    assert rep["n_read"] == IMAGES_PER_SUBJECT and rep["n_skipped"] == 3
    assert sum(rep["skipped_reasons"].values()) == 3


def test_decode_cache_reused(tmp_path, records, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(records[0]["path"].parent, folder / "s0001")
    write_broken_files(folder / "s0099")
    ds = scan_folder(folder)
    first, used1 = load_images(ds, 64, 1, progress=False)

    def fail(*_a, **_k):
        raise AssertionError("decode_image called although the cache is valid")

    monkeypatch.setattr(dataset_mod, "decode_image", fail)
    second, used2 = load_images(ds, 64, 1, progress=False)
    assert np.array_equal(first, second)
    assert used2.skipped == used1.skipped and [s.path for s in used2.samples] == [s.path for s in used1.samples]
    with pytest.raises(AssertionError, match="cache is valid"):
        load_images(ds, 64, 1, use_cache=False, progress=False)
    with pytest.raises(AssertionError, match="cache is valid"):
        load_images(ds, 48, 1, progress=False)  # another size is another cache entry


def test_cache_invalidated_when_file_changes(tmp_path, records):
    folder = tmp_path / "data"
    shutil.copytree(records[0]["path"].parent, folder / "s0001")
    ds = scan_folder(folder)
    before, _ = load_images(ds, 64, 1, progress=False)
    target = ds.samples[0].path
    write_png(Path(target), np.full((50, 50), 255, np.uint8))
    after, _ = load_images(ds, 64, 1, progress=False)
    assert (after[0] == 255).all() and not np.array_equal(before[0], after[0])
    assert np.array_equal(before[1:], after[1:])


def test_damaged_cache_is_rebuilt(tmp_path, records, isolated_cache):
    folder = tmp_path / "data"
    shutil.copytree(records[0]["path"].parent, folder / "s0001")
    ds = scan_folder(folder)
    first, _ = load_images(ds, 64, 1, progress=False)
    for f in isolated_cache.glob("*.npy"):
        f.write_bytes(b"garbage")
    again, _ = load_images(ds, 64, 1, progress=False)
    assert np.array_equal(first, again)


def test_cache_write_survives_a_concurrent_writer(records, isolated_cache, monkeypatch):
    """Two torchrun ranks (or two app users) decoding the same data at once: each writes its own temp file."""
    ds = dataset_of(records[:6])
    real_replace = dataset_mod.os.replace
    raced = []

    def replace(src, dst):  # the other writer saves and renames between our save and our rename
        if not raced:
            raced.append(src)
            load_images(ds, 32, 1, progress=False)
        return real_replace(src, dst)

    monkeypatch.setattr(dataset_mod.os, "replace", replace)
    arrays, kept = load_images(ds, 32, 1, progress=False)
    monkeypatch.undo()
    assert raced and arrays.shape == (6, 32, 32, 1) and len(kept) == 6
    np.testing.assert_array_equal(load_images(ds, 32, 1, progress=False)[0], arrays)  # the cache reads back
    assert not [p.name for p in isolated_cache.iterdir() if "tmp" in p.name]  # no temp file left behind


def test_subset_keeps_skipped(mrl_dir):
    ds = scan_folder(mrl_dir)
    ds.skipped.append(("x", "unlabelled: test"))
    sub = ds.subset(ds.labels == EyeState.OPEN)
    assert len(sub) == N_IMAGES // 2 and set(sub.labels) == {EyeState.OPEN}
    assert sub.skipped == [("x", "unlabelled: test")]
    assert [s.path for s in ds.subset([2, 0]).samples] == [ds.samples[2].path, ds.samples[0].path]
