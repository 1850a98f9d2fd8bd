"""Score eye finding and eye state on labelled face photos, and closure counts on labelled face videos.

Photos: a folder with `labels.csv` (`file,faces,open_eyes,closed_eyes`: counts per photo, no positions). Per photo the
eyes of its `faces` largest faces are taken; an eye counts as found up to the labelled count (open_eyes +
closed_eyes), and a model's state is judged by counts: of its confident answers (open or closed, not uncertain), at
most min(predicted open, labelled open) + min(predicted closed, labelled closed) are right, out of at most the
labelled count. Videos: a folder with `labels.csv` (`file,blinks,long_closures`), counted by the video pipeline.
"""
from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .data.images import decode_image
from .errors import EyebenchError
from .faces import CROP_SCALE
from .faces.aspect_ratio import EyeAspectRatio


@dataclass(frozen=True)
class StateScore:
    """A model's eye state over labelled photos: right answers of the eyes judged."""

    right: int
    judged: int

    @property
    def accuracy(self) -> float:
        """right / judged (NaN with none judged)."""
        return self.right / self.judged if self.judged else float("nan")

    def to_dict(self) -> dict:
        """{"right", "judged", "accuracy"}, as bench --faces writes it."""
        return {"right": self.right, "judged": self.judged, "accuracy": self.accuracy}


@dataclass(frozen=True)
class PhotoScores:
    """Eyes found and state right per model over a folder of labelled face photos."""

    photos: int
    crop_scale: float
    labelled: int  # labelled eyes
    found: int  # eyes found, up to the labelled count per photo
    models: dict[str, StateScore]
    per_photo: tuple[dict, ...]  # file, labelled, found, eyes, and "right/judged" per model

    @property
    def found_share(self) -> float:
        """found / labelled (NaN without a labelled eye)."""
        return self.found / self.labelled if self.labelled else float("nan")

    def to_dict(self) -> dict:
        """The "photos" part of bench --faces' JSON."""
        return {"photos": self.photos, "crop_scale": self.crop_scale, "labelled": self.labelled, "found": self.found,
                "models": {n: m.to_dict() for n, m in self.models.items()}, "per_photo": list(self.per_photo),
                "found_share": self.found_share}


@dataclass(frozen=True)
class ClosureCounts:
    """Blinks, long closures and other closures counted in a video."""

    blinks: int
    long_closures: int
    closures: int


@dataclass(frozen=True)
class VideoScore:
    """A labelled video: its labelled blinks and long closures, and each model's counts."""

    file: str
    blinks: int
    long_closures: int
    frames_per_second: float
    models: dict[str, ClosureCounts]

    def exact(self, model: str) -> bool:
        """Whether the model counted the labelled blinks and long closures."""
        c = self.models[model]
        return (c.blinks, c.long_closures) == (self.blinks, self.long_closures)

    def to_dict(self) -> dict:
        """A row of the "videos" part of bench --face-videos' JSON."""
        return {"file": self.file, "blinks": self.blinks, "long_closures": self.long_closures,
                "frames_per_second": self.frames_per_second,
                "models": {n: dataclasses.asdict(c) for n, c in self.models.items()}}


def _rows(folder: Path, counts: tuple[str, ...]) -> list[dict]:
    """The rows of `folder`'s labels.csv with its `counts` columns as integers; a damaged file is refused, naming the
    file and the line."""
    path, columns = folder / "labels.csv", ",".join(("file", *counts))
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no labels.csv ({columns}) in it")
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            for r in reader:
                where = f"{path}:{reader.line_num}"
                missing = [c for c in ("file", *counts) if r.get(c) is None]
                if missing:
                    raise EyebenchError(f"{where}: no {', '.join(missing)} (labels.csv needs the columns {columns})")
                rows.append({**r, **{c: _count(r[c], f"{where}: {c}") for c in counts}})
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EyebenchError(f"{path}: not a UTF-8 CSV file ({exc})") from None
    return rows


def _count(text: str, where: str) -> int:
    """A labelled count as an integer, or an EyebenchError saying `where` it is not one."""
    try:
        return int(text)
    except ValueError:
        raise EyebenchError(f"{where} is {text!r}, not a whole number") from None


def _tally(decisions: list[str], n_open: int, n_closed: int) -> tuple[int, int]:
    """(right, judged) for one photo's decisions against its labelled counts."""
    po, pc = decisions.count("open"), decisions.count("closed")
    return min(po, n_open) + min(pc, n_closed), min(po + pc, n_open + n_closed)


def score_photos(models: dict, folder, progress: bool = False, crop_scale: float = CROP_SCALE) -> PhotoScores:
    """Eyes found and state right per model (and for the eye aspect ratio) over the labelled photos of `folder`, the
    eyes cut `crop_scale` x their corner distance wide."""
    from tqdm.auto import tqdm

    from .workbench import predict_picture

    folder = Path(folder)
    rows = _rows(folder, ("faces", "open_eyes", "closed_eyes"))
    names = [*models, EyeAspectRatio.name]
    labelled, found_all, right_all, judged_all, per_photo = 0, 0, dict.fromkeys(names, 0), dict.fromkeys(names, 0), []
    ear = EyeAspectRatio()
    for r in tqdm(rows, desc="photos", unit="photo", disable=not progress):
        res = predict_picture(models, decode_image(folder / r["file"]), maps=False, crop_scale=crop_scale)
        n_open, n_closed = r["open_eyes"], r["closed_eyes"]
        eyes = [e for e in res.eyes if e.side != "crop" and e.face < r["faces"]]
        found = min(len(eyes), n_open + n_closed)
        labelled += n_open + n_closed
        found_all += found
        photo = {"file": r["file"], "labelled": n_open + n_closed, "found": found, "eyes": len(eyes)}
        for name in names:
            if name == EyeAspectRatio.name:
                decisions = [ear.decide(e.eyelid_opening) for e in eyes]
            else:
                decisions = [e.answer(name).decision.text for e in eyes]
            right, judged = _tally(decisions, n_open, n_closed)
            right_all[name] += right
            judged_all[name] += judged
            photo[name] = f"{right}/{judged}"
        per_photo.append(photo)
    return PhotoScores(len(rows), crop_scale, labelled, found_all,
                       {n: StateScore(right_all[n], judged_all[n]) for n in names}, tuple(per_photo))


def score_videos(models: dict, folder) -> list[VideoScore]:
    """Per labelled video: the labelled blinks and long closures, and each model's counts (eye aspect ratio too)."""
    from .video.pipeline import analyse_video

    folder = Path(folder)
    out = []
    for r in _rows(folder, ("blinks", "long_closures")):
        analysis = analyse_video(folder / r["file"], models)
        counts = {}
        for name, timeline in analysis.timelines.items():
            summary = timeline.summary()
            counts[name] = ClosureCounts(summary["blinks"], summary["long_closures"], summary["closures"])
        out.append(VideoScore(r["file"], r["blinks"], r["long_closures"], analysis.frames_per_second,
                              counts))
    return out
