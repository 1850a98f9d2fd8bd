"""What file and folder names say: MRL names, class folders, identity groups and the --subject-from rules."""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import EyebenchError
from ..results import EyeState

MRL_PATTERN = re.compile(
    r"^s(?P<subject>\d{4})_(?P<image>\d+)_(?P<gender>[01])_(?P<glasses>[01])_(?P<eyestate>[01])"
    r"_(?P<reflections>[012])_(?P<lighting>[01])_(?P<sensor>\d{2})$"
)
_CLASS_ALIASES = {
    EyeState.OPEN: {"open", "opened", "openeye", "openeyes", "eyeopen", "eyesopen", "openlefteyes", "openrighteyes",
           "lefteyeopen", "righteyeopen", "awake"},
    EyeState.CLOSED: {"closed", "close", "closedeye", "closedeyes", "eyeclosed", "eyesclosed", "closedlefteyes",
             "closedrighteyes", "lefteyeclosed", "righteyeclosed"},
}
ALIASES = {alias: label for label, names in _CLASS_ALIASES.items() for alias in names}


GENDER = {0: "man", 1: "woman"}
REFLECTIONS = {0: "none", 1: "small", 2: "big"}
LIGHTING = {0: "bad", 1: "good"}
SENSOR = {1: "RealSense", 2: "IDS", 3: "Aptina"}


def class_from_folder(name: str) -> int | None:
    """Map a folder name such as `Open_Eyes` or `closedLeftEyes` to a label, or None."""
    return ALIASES.get("".join(ch for ch in name.lower() if ch.isalpha()))


def parse_label(value: str) -> int | None:
    """A manifest label: a class name or alias (`open`, `closed`, ...); numbers are ambiguous and refused."""
    return ALIASES.get("".join(ch for ch in str(value).strip().lower() if ch.isalpha()))


def parse_mrl_name(name: str) -> dict | None:
    """Return label, subject and typed metadata for an MRL file name, or None if it is not one."""
    m = MRL_PATTERN.match(Path(name).stem)
    if not m:
        return None
    g = {k: int(v) for k, v in m.groupdict().items()}
    return {
        "label": EyeState.OPEN if g["eyestate"] == 1 else EyeState.CLOSED,  # MRL: 0 closed, 1 open
        "subject": f"s{g['subject']:04d}",
        "meta": {
            "gender": GENDER[g["gender"]],
            "glasses": "yes" if g["glasses"] else "no",
            "reflections": REFLECTIONS[g["reflections"]],
            "lighting": LIGHTING[g["lighting"]],
            "sensor": SENSOR.get(g["sensor"], f"{g['sensor']:02d}"),
            "image_id": g["image"],
        },
    }


_SIDE = re.compile(r"(?i)[_-](l|r|left|right)$")
_LFW_NUMBER = re.compile(r"_\d{4}$")


def identity_from_name(name: str) -> str:
    """Group key for a crop file: left/right eyes and all photos of one named person share it.

    `closed_eye_0001.jpg_face_1_L.jpg` -> `closed_eye_0001` (crops of one source photo);
    `Aaron_Guiel_0001_L.jpg` -> `Aaron_Guiel` (LFW person name); anything else -> stem without side.
    """
    base = Path(name).name
    stem, _, rest = base.partition(".")
    if rest.count(".") >= 1:  # a crop cut from another image file: group by that source image
        return stem
    stem = _SIDE.sub("", stem)
    return _LFW_NUMBER.sub("", stem) or stem


# name stems a camera, a screenshot tool or a frame grabber numbers: `IMG_1234` says which picture, not who is in it
COUNTER_WORDS = {"img", "image", "images", "pic", "pics", "picture", "photo", "foto", "frame", "dsc", "dscn", "dscf",
                 "screenshot", "capture", "snapshot", "snap", "untitled", "file", "crop", "sample", "eye", "eyes",
                 "face", "left", "right", "l", "r"}


def looks_like_counter(identity: str) -> bool:
    """Whether an identity read from a file name (`identity_from_name`) looks like a counter rather than a person: empty
    or only digits and punctuation (`_660`, `0001`), or a camera's or a tool's word and a number (`IMG_1234` -> `IMG`,
    `frame_012`). A numbered source photo of eye crops (CEW's `closed_eye_0001`) is one photo, so one face: not a
    counter."""
    letters = "".join(ch for ch in identity.lower() if ch.isalpha())
    return not letters or letters in COUNTER_WORDS


SUBJECT_RULES = "auto, folder, file or regex:PATTERN"


def subject_rule(spec: str | None):
    """The subject (person) of each image under a --subject-from rule: (function of (path, root) -> subject or None
    when a file does not fit the rule, a description for the user), or None for `auto`: the layout's own subjects
    (MRL names, the manifest's subject column, else `identity_from_name`).

    `folder`: the nearest folder above the file that is not a class folder (`open/`, `closed/`, ...);
    `file`: one subject per file; `regex:PATTERN`: the pattern's first group (or whole match) in the file name.
    """
    spec = (spec or "auto").strip()
    if spec == "auto":
        return None
    if spec == "folder":
        return _folder_subject, "the nearest folder above each image that is not a class folder (--subject-from folder)"
    if spec == "file":
        return (lambda path, root: str(Path(path).relative_to(root)) if Path(path).is_relative_to(root)
                else Path(path).name), "one subject per file (--subject-from file)"
    if spec.startswith("regex:"):
        try:
            pattern = re.compile(spec[len("regex:"):])
        except re.error as exc:
            raise EyebenchError(f"--subject-from {spec!r}: not a valid regular expression ({exc})") from None

        def from_name(path, root) -> str | None:
            m = pattern.search(Path(path).name)
            return None if not m else (m.group(1) if pattern.groups else m.group(0)) or None

        return from_name, f"file names matched by {pattern.pattern!r} (--subject-from {spec})"
    raise EyebenchError(f"--subject-from {spec!r}: expected {SUBJECT_RULES}")


def _folder_subject(path, root) -> str:
    parent = Path(path).parent
    while parent != parent.parent and class_from_folder(parent.name) is not None:
        parent = parent.parent
    return parent.name or str(parent)
