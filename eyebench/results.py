"""Result types: the eye-state and decision enums, what models say of a picture, and bench measurements."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class _Named:
    """`text`: the member's name as files, tables and the app write it ("open", "closed", "uncertain")."""

    @property
    def text(self) -> str:
        """The lower-case name."""
        return self.name.lower()


class EyeState(_Named, IntEnum):
    """The class of an eye: its label in data and the column of its probability (p_open, p_closed)."""

    OPEN = 0
    CLOSED = 1


class Decision(_Named, IntEnum):
    """A model's decision on one eye: a class, or uncertain when p(closed) lies inside its band."""

    OPEN = 0
    CLOSED = 1
    UNCERTAIN = 2


class FrameState(StrEnum):
    """An eye in one video frame: its class (held through frames inside the band), unknown before any, or missing."""

    OPEN = EyeState.OPEN.text
    CLOSED = EyeState.CLOSED.text
    UNKNOWN = "unknown"
    MISSING = "missing"


@dataclass(frozen=True)
class ModelAnswer:
    """One model's answer on one eye: its decision (its band on p(closed)), probabilities, times, and map."""

    model: str
    decision: Decision
    p_open: float
    p_closed: float
    band: list[float] | None  # the model's stored band [low, high], as it holds it
    ms_predict: float
    ms_map: float
    map: np.ndarray | None = None  # the map drawn over the crop (RGB); None without maps
    heat: np.ndarray | None = None  # the map's values, the crop's height and width

    @property
    def ms(self) -> float:
        """Milliseconds to classify and to draw the map."""
        return self.ms_predict + self.ms_map

    def to_dict(self) -> dict:
        """The app's JSON of the answer: label, rounded probabilities, band and milliseconds."""
        return {"label": self.decision.text, "p_open": round(self.p_open, 4), "p_closed": round(self.p_closed, 4),
                "band": self.band, "ms": round(self.ms, 1)}


@dataclass(frozen=True)
class EyePrediction:
    """One eye of a picture (or the whole picture as one crop): where it is, its crop, and each model's answer."""

    side: str  # "right", "left" or "crop"
    face: int  # index of its face in the picture's faces
    box: tuple[int, int, int, int]  # x, y, width, height
    crop: np.ndarray
    eyelid_opening: float | None  # eye aspect ratio from the landmarks, None without them
    eye_aspect_ratio: str  # the landmark baseline's decision on it
    answers: tuple[ModelAnswer, ...]

    def answer(self, model: str) -> ModelAnswer:
        """The answer of the model of this name."""
        return next(a for a in self.answers if a.model == model)

    def label(self, several_faces: bool) -> str:
        """The side, or with several faces in the picture 'face 2 right'."""
        return f"face {self.face + 1} {self.side}" if several_faces and self.side != "crop" else self.side

    def vote(self) -> str:
        """The decision most models gave ("" without a model)."""
        votes = [a.decision.text for a in self.answers]
        return max(set(votes), key=votes.count) if votes else ""

    def to_dict(self) -> dict:
        """The app's JSON of the eye: face, side, box, eye aspect ratio and each model's answer."""
        opening = None if self.eyelid_opening is None else round(self.eyelid_opening, 3)
        return {"face": self.face, "side": self.side, "box": list(self.box),
                "eye_aspect_ratio": {"opening": opening, "label": self.eye_aspect_ratio},
                "models": {a.model: a.to_dict() for a in self.answers}}


@dataclass(frozen=True)
class PictureResult:
    """Every eye found in a picture with each model's answer, the faces, the annotated picture and how they were found."""

    eyes: tuple[EyePrediction, ...]
    faces: tuple[dict, ...]  # JSON-ready summaries: box, score, eye distance, head pose, note
    annotated: np.ndarray
    message: str
    how: str  # "crop", "close-up", "faces", "none", ...
    finder: str
    face_lines: tuple[str, ...]  # a line per face: head pose and eye aspect ratios

    @property
    def several_faces(self) -> bool:
        """Whether the eyes come from more than one face."""
        return len({e.face for e in self.eyes}) > 1

    def answers_of(self, model: str) -> list[tuple[EyePrediction, ModelAnswer]]:
        """Each eye with the answer of one model."""
        return [(e, e.answer(model)) for e in self.eyes]

    def to_dict(self) -> dict:
        """The app's JSON of the picture: the search's message, the faces and each eye."""
        return {"message": self.message, "faces": list(self.faces), "eyes": [e.to_dict() for e in self.eyes]}


class _AsDict:
    """`to_dict`: the fields by name, nested dataclasses as dicts (as bench's JSON and the bench record hold them)."""

    def to_dict(self) -> dict:
        """dataclasses.asdict of the result."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MachineLoad:
    """The load average (1 and 5 minutes) and cores of the machine, and whether it is busy (load above the cores)."""

    load_1min: float
    load_5min: float
    cores: int
    busy: bool


@dataclass(frozen=True)
class LoadSpan:
    """The machine's load before and after a measurement."""

    before: MachineLoad
    after: MachineLoad


@dataclass(frozen=True)
class BenchThreads:
    """Torch threads of the batch measurement (None before torch is loaded) and of the single-image one."""

    batch: int | None
    single: int


@dataclass(frozen=True)
class BenchResult(_AsDict):
    """Inference speed of one classifier: batch images/s on prepared input, and single-image latency."""

    name: str
    checkpoint: str
    batch_size: int
    batch_images_per_second: float
    batch_ms_per_image: float
    single_ms_per_image: float
    single_images_per_second: float
    single_ms_default_threads: float
    seconds: float  # time spent per measurement
    threads: BenchThreads
    load: LoadSpan


@dataclass(frozen=True)
class VideoBenchResult(_AsDict):
    """Frames per second of the whole video pipeline with one model (or the tracking alone)."""

    model: str
    video: str
    width: int
    height: int
    frames: int
    frames_per_second: float
    cpu_seconds: float
    frames_per_cpu_second: float
    seconds: dict  # seconds per stage, and in total
    tracker: dict  # how the eyes were followed
    load: LoadSpan


@dataclass(frozen=True)
class PictureBench:
    """Wall time of the app's predict path on one picture."""

    models: tuple[str, ...]
    repeats: int
    median_ms: float
    max_ms: float


@dataclass(frozen=True)
class ThresholdBench:
    """Time of one threshold-slider update on cached probabilities."""

    n_images: int
    median_ms: float
