"""MRL file-name parsing and identity groups from CEW/LFW-style names."""
from pathlib import Path

import pytest
from conftest import mrl_name

from eyebench.data.filenames import (
    identity_from_name,
    looks_like_counter,
    parse_mrl_name,
    subject_rule,
)
from eyebench.results import EyeState


@pytest.mark.parametrize("eyestate, label", [(0, EyeState.CLOSED), (1, EyeState.OPEN)])
def test_mrl_eyestate_maps_to_label(eyestate, label):
    info = parse_mrl_name(mrl_name(1, 1, eyestate))
    assert info["label"] == label
    assert (EyeState.CLOSED, EyeState.OPEN) == (1, 0)  # class index order of CLASS_NAMES = ("open", "closed")


def test_mrl_all_fields():
    info = parse_mrl_name("s0001_00001_0_0_1_0_0_01.png")
    assert info == {"label": EyeState.OPEN, "subject": "s0001",
                    "meta": {"gender": "man", "glasses": "no", "reflections": "none", "lighting": "bad",
                             "sensor": "RealSense", "image_id": 1}}
    info = parse_mrl_name("s0037_84898_1_1_0_2_1_03.png")
    assert info["label"] == EyeState.CLOSED and info["subject"] == "s0037"
    assert info["meta"] == {"gender": "woman", "glasses": "yes", "reflections": "big", "lighting": "good",
                            "sensor": "Aptina", "image_id": 84898}


def test_mrl_small_reflections_and_ids_sensor():
    meta = parse_mrl_name("s0012_00456_0_1_1_1_1_02.png")["meta"]
    assert (meta["reflections"], meta["sensor"], meta["glasses"]) == ("small", "IDS", "yes")


def test_mrl_unknown_sensor_kept_as_number():
    assert parse_mrl_name("s0001_00001_0_0_1_0_0_07.png")["meta"]["sensor"] == "07"


def test_mrl_accepts_paths_and_other_extensions():
    assert parse_mrl_name("some/dir/s0002_00010_0_0_0_0_1_01.jpg")["subject"] == "s0002"


@pytest.mark.parametrize("name", [
    "s001_00001_0_0_1_0_0_01.png",      # subject needs four digits
    "s0001_00001_0_0_2_0_0_01.png",     # eye state is 0 or 1
    "s0001_00001_0_0_1_3_0_01.png",     # reflections 0-2
    "s0001_00001_0_0_1_0_0_1.png",      # sensor has two digits
    "s0001_00001_0_0_1_0_0_01_x.png",   # trailing text
    "Aaron_Guiel_0001_L.jpg",
    "notes.png",
])
def test_not_mrl_names(name):
    assert parse_mrl_name(name) is None


@pytest.mark.parametrize("name, identity", [
    ("closed_eye_0001.jpg_face_1_L.jpg", "closed_eye_0001"),
    ("closed_eye_0001.jpg_face_1_R.jpg", "closed_eye_0001"),
    ("Aaron_Guiel_0001_L.jpg", "Aaron_Guiel"),
    ("Aaron_Guiel_0002_R.jpg", "Aaron_Guiel"),
    ("GL_Peiris_0001_L.jpg", "GL_Peiris"),
    ("dir/Some_Person_0001_left.png", "Some_Person"),
    ("face12_R.png", "face12"),
    ("plain.png", "plain"),
])
def test_identity_from_name(name, identity):
    assert identity_from_name(name) == identity


@pytest.mark.parametrize("spec, path, subject", [
    ("folder", "alice/open/IMG_1001.jpg", "alice"),       # the nearest folder that is not a class folder
    ("folder", "open/bob/frame_001.png", "bob"),
    ("folder", "Closed_Eyes/x.png", "data"),             # directly in a class folder: the data folder itself
    ("file", "open/IMG_1001.jpg", "open/IMG_1001.jpg"),  # every file its own subject
    ("regex:^([a-z]+)_", "open/carol_0001_L.png", "carol"),
    ("regex:[A-Z]{3}_\\d{2}", "open/IMG_1001.jpg", "IMG_10"),  # no group: the whole match
    ("regex:^person(\\d+)", "open/IMG_1001.jpg", None),  # no match: no subject (the file is skipped)
])
def test_subject_rules(spec, path, subject):
    derive, how = subject_rule(spec)
    root = Path("/d/data")
    assert derive(str(root / path), root) == subject
    assert f"--subject-from {spec}" in how


def test_subject_rule_auto_and_errors():
    assert subject_rule(None) is None and subject_rule("auto") is None
    with pytest.raises(ValueError, match="expected auto, folder, file or regex:PATTERN"):
        subject_rule("parent")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        subject_rule("regex:([a-z")


@pytest.mark.parametrize("name, counter", [
    ("_660.jpg", True), ("_1234.jpg", True), ("0001_L.png", True), ("IMG_1234.jpg", True), ("frame_012.png", True),
    ("DSC_0042.JPG", True), ("face12_R.png", True), ("closed_eye_0001.jpg_face_1_L.jpg", False),
    ("Aaron_Guiel_0001_L.jpg", False), ("GL_Peiris_0001_L.jpg", False), ("plain.png", False), ("Ada3.png", False),
])
def test_counter_like_identities(name, counter):
    assert looks_like_counter(identity_from_name(name)) is counter
