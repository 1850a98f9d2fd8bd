"""Labelled face photos as eye crops: each eye found in a photo becomes a sample with the photo's label, and the head
pose measured from the face's landmarks becomes the subsets `head_yaw` and `head_pitch` (real angles, not simulated).

A picture of a class folder or a manifest larger than an eye crop (`faces.CROP_MAX_SIDE`) is searched for faces by
`faces.locate_eyes`, the rule predict uses. With a face, every eye of its faces is a sample (the photo's label holds
for each); a face whose eyes are too small is skipped with that reason. Without a face the picture stays one sample
(a close-up of one eye, as before). The crops are written once to the cache folder (`config.cache_dir`), keyed by the
photo's path, size and time and by the crop rule, never into the data folder.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from tqdm.auto import tqdm

from ..config import cache_dir
from .filenames import parse_mrl_name

CROP_RULE = "mediapipe-corners-v2"  # changes when the crops would change: old cached crops are then not reused
YAW_BINS = ((15.0, "|yaw| 0-15"), (30.0, "|yaw| 15-30"), (float("inf"), "|yaw| 30+"))  # degrees: upper limit, name
PITCH_BINS = ((-10.0, "down (pitch < -10)"), (10.0, "level (-10 to 10)"), (float("inf"), "up (pitch > 10)"))


def angle_bin(value: float, bins) -> str:
    """The name of the first bin whose upper limit `value` is below."""
    return next(name for limit, name in bins if value < limit)


def _picture_side(path: str) -> int:
    """The longer side of a picture from its header (0 when it cannot be read: decoding reports that later)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return max(im.size)
    except Exception:  # unreadable: left to load_images, which names the reason
        return 0


def _photo_key(path: str) -> str:
    st = os.stat(path)
    return hashlib.sha1(f"{CROP_RULE}|{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()


def photo_eyes(path: str) -> list[dict] | str | None:
    """The eyes of one photo as cached crop files with side, face and head pose; None without a face; a string saying
    why when its faces' eyes cannot be used. Every answer is cached (a photo is searched once), an unreadable file
    excepted."""
    from .images import ImageError, decode_image

    folder = cache_dir() / "face_crops" / _photo_key(path)
    index = folder / "result.json"
    if index.is_file():
        return json.loads(index.read_text())["result"]
    try:
        rgb = decode_image(path)
    except ImageError:
        return None  # load_images reports the unreadable file
    result = _search(rgb, folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"result.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"photo": os.path.abspath(path), "result": result}))
    os.replace(tmp, index)
    return result


def _search(rgb, folder: Path) -> list[dict] | str | None:
    """`photo_eyes`' answer for a decoded photo, its eye crops written into `folder`."""
    import cv2

    from ..faces import locate_eyes

    search = locate_eyes(rgb)
    if search.how != "faces":
        return None
    if not search.eyes:
        return "face photo: " + ("; ".join(f.note for f in search.faces if f.note) or "no usable eye")
    folder.mkdir(parents=True, exist_ok=True)
    eyes = []
    for e in search.eyes:
        crop = folder / f"face{e.face}_{e.side}.png"
        cv2.imwrite(str(crop), cv2.cvtColor(e.crop, cv2.COLOR_RGB2BGR) if e.crop.ndim == 3 else e.crop)
        pose = search.faces[e.face].pose
        eyes.append({"crop": str(crop), "side": e.side, "face": e.face, "yaw": pose.yaw, "pitch": pose.pitch,
                     "roll": pose.roll})
    return eyes


def expand_face_photos(dataset, progress: bool = True):
    """The dataset with each face photo replaced by its eyes (see the module docstring); MRL-named files and pictures
    of eye-crop size are kept as they are."""
    from ..faces import CROP_MAX_SIDE

    candidates = [i for i, s in enumerate(dataset.samples)
                  if dataset.sources.get(s.source, {}).get("layout") != "mrl" and parse_mrl_name(Path(s.path).name) is None
                  and "photo" not in s.meta and _picture_side(s.path) > CROP_MAX_SIDE]
    if not candidates:
        return dataset
    found = {}
    for i in tqdm(candidates, desc="finding eyes in face photos", unit="photo", disable=not progress, leave=False):
        found[i] = photo_eyes(dataset.samples[i].path)
    samples, skipped, photos = [], list(dataset.skipped), 0
    for i, s in enumerate(dataset.samples):
        eyes = found.get(i)
        if isinstance(eyes, str):
            skipped.append((s.path, eyes))
        elif eyes:
            photos += 1
            samples += [dataclasses.replace(s, path=e["crop"], meta={
                **s.meta, "photo": s.path, "eye": e["side"], "head_yaw": angle_bin(abs(e["yaw"]), YAW_BINS),
                "head_pitch": angle_bin(e["pitch"], PITCH_BINS)}) for e in eyes]
        else:
            samples.append(s)
    sources = {k: dict(v) for k, v in dataset.sources.items()}
    for name in {dataset.samples[i].source for i, e in found.items() if e and not isinstance(e, str)}:
        sources[name]["face_photos"] = sum(1 for i, e in found.items() if e and not isinstance(e, str)
                                           and dataset.samples[i].source == name)
    return type(dataset)(samples, skipped, sources)
