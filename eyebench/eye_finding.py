"""Score eye finding and eye state on labelled face photos, and closure counts on labelled face videos.

Photos: a folder with `labels.csv` (`file,faces,open_eyes,closed_eyes`: counts per photo, no positions). Per photo the
eyes of its `faces` largest faces are taken; an eye counts as found up to the labelled count (open_eyes +
closed_eyes), and a model's state is judged by counts: of its confident answers (open or closed, not uncertain), at
most min(predicted open, labelled open) + min(predicted closed, labelled closed) are right, out of at most the
labelled count. Videos: a folder with `labels.csv` (`file,blinks,long_closures`), counted by the video pipeline.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .data.images import decode_image
from .faces import CROP_SCALE
from .faces.aspect_ratio import EyeAspectRatio


def _rows(folder: Path) -> list[dict]:
    path = folder / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no labels.csv (file,faces,open_eyes,closed_eyes) in it")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _tally(decisions: list[str], n_open: int, n_closed: int) -> tuple[int, int]:
    """(right, judged) for one photo's decisions against its labelled counts."""
    po, pc = decisions.count("open"), decisions.count("closed")
    return min(po, n_open) + min(pc, n_closed), min(po + pc, n_open + n_closed)


def score_photos(models: dict, folder, progress: bool = False, crop_scale: float = CROP_SCALE) -> dict:
    """Eyes found and state right per model (and for the eye aspect ratio) over the labelled photos of `folder`, the
    eyes cut `crop_scale` x their corner distance wide."""
    from tqdm.auto import tqdm

    from .workbench import predict_picture

    folder = Path(folder)
    rows = _rows(folder)
    names = [*models, EyeAspectRatio.name]
    out = {"photos": len(rows), "crop_scale": crop_scale, "labelled": 0, "found": 0, "models": {n: {"right": 0, "judged": 0} for n in names},
           "per_photo": []}
    ear = EyeAspectRatio()
    for r in tqdm(rows, desc="photos", unit="photo", disable=not progress):
        res = predict_picture(models, decode_image(folder / r["file"]), maps=False, crop_scale=crop_scale)
        n_open, n_closed = int(r["open_eyes"]), int(r["closed_eyes"])
        eyes = [e for e in res["eyes"] if e["side"] != "crop" and e["face"] < int(r["faces"])]
        found = min(len(eyes), n_open + n_closed)
        out["labelled"] += n_open + n_closed
        out["found"] += found
        photo = {"file": r["file"], "labelled": n_open + n_closed, "found": found, "eyes": len(eyes)}
        for name in names:
            if name == EyeAspectRatio.name:
                decisions = [ear.decide(e["eyelid_opening"]) for e in eyes]
            else:
                decisions = [next(x["decision"] for x in e["results"] if x["model"] == name) for e in eyes]
            right, judged = _tally(decisions, n_open, n_closed)
            out["models"][name]["right"] += right
            out["models"][name]["judged"] += judged
            photo[name] = f"{right}/{judged}"
        out["per_photo"].append(photo)
    for m in out["models"].values():
        m["accuracy"] = m["right"] / m["judged"] if m["judged"] else float("nan")
    out["found_share"] = out["found"] / out["labelled"] if out["labelled"] else float("nan")
    return out


def score_videos(models: dict, folder) -> list[dict]:
    """Per labelled video: the labelled blinks and long closures, and each model's counts (eye aspect ratio too)."""
    from .video.pipeline import analyse_video

    folder = Path(folder)
    out = []
    for r in _rows(folder):
        analysis = analyse_video(folder / r["file"], models)
        counts = {name: {k: t.summary()[k] for k in ("blinks", "long_closures", "closures")}
                  for name, t in analysis.timelines.items()}
        out.append({"file": r["file"], "blinks": int(r["blinks"]), "long_closures": int(r["long_closures"]),
                    "frames_per_second": analysis.frames_per_second, "models": counts})
    return out
