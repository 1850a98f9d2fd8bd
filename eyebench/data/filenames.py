"""Parse MRL Eye Dataset file names and derive identity groups from CEW/LFW-style names."""
from __future__ import annotations

import re
from pathlib import Path

from ..config import CLOSED, OPEN

MRL_PATTERN = re.compile(
    r"^s(?P<subject>\d{4})_(?P<image>\d+)_(?P<gender>[01])_(?P<glasses>[01])_(?P<eyestate>[01])"
    r"_(?P<reflections>[012])_(?P<lighting>[01])_(?P<sensor>\d{2})$"
)
GENDER = {0: "man", 1: "woman"}
REFLECTIONS = {0: "none", 1: "small", 2: "big"}
LIGHTING = {0: "bad", 1: "good"}
SENSOR = {1: "RealSense", 2: "IDS", 3: "Aptina"}


def parse_mrl_name(name: str) -> dict | None:
    """Return label, subject and typed metadata for an MRL file name, or None if it is not one."""
    m = MRL_PATTERN.match(Path(name).stem)
    if not m:
        return None
    g = {k: int(v) for k, v in m.groupdict().items()}
    return {
        "label": OPEN if g["eyestate"] == 1 else CLOSED,  # MRL: 0 closed, 1 open
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
