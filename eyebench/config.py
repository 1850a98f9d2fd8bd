"""Fixed labels, data configuration dataclass and cache location shared by every module."""
from __future__ import annotations

import dataclasses
import math
import os
import shlex
from pathlib import Path

from .errors import EyebenchError
from .results import Decision, EyeState

CLASS_NAMES: tuple[str, ...] = tuple(state.text for state in EyeState)  # ("open", "closed"): probability columns
DECISION_NAMES: tuple[str, ...] = tuple(decision.text for decision in Decision)  # the classes, then "uncertain"
CONTRAST_STEPS = ("none", "clahe")
MIN_GROUP_IMAGES = 50  # a person with fewer validation images joins their source's pool in the per-person band rule
MIN_ZOOM, MAX_ZOOM = 1.0, 2.0  # zoom_average: 1 is off; 2 already shows only the middle quarter of the crop
ZOOM_AVERAGE = 1.25  # what --zoom-average without a number asks for
ZOOM_OUT_RANGE = (0.55, 0.9)  # --zoom-out: a wider-framed training crop shows the eye at this share of its size
THIN_NOTE = ("the validation people rarely show these conditions, common in training, so the epochs, temperature and "
             "band chosen on them are not tested on those images: measure them on other people (cv reports the glasses "
             "x reflections cells of every fold)")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """How a classifier wants its input: square size, channels (1 gray / 3 RGB), contrast step and normalisation.

    `contrast` "clahe" equalises local contrast (CLAHE, clip 2, 4x4 tiles on the resized uint8 input) before the
    mean/std normalisation, in training (after augmentation) and at inference alike; "none" leaves pixels as they are.
    `flip_average` makes every prediction the mean closed logit of the crop and its horizontal mirror (a mirrored
    left eye is a plausible right eye), at twice the inference cost; training batches are not affected.
    `zoom_average` above 1 averages it with the closed logit of the crop's centre framed that many times tighter (the
    eye larger, as `frame` does; for crops cut wider than the training crops); 1 is off. With both, four views.
    """

    input_size: int = 64
    channels: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    contrast: str = "none"
    flip_average: bool = False
    zoom_average: float = 1.0

    def __post_init__(self):
        if isinstance(self.input_size, bool) or not isinstance(self.input_size, int) or self.input_size < 1:
            raise EyebenchError(f"input_size is a whole number of pixels of at least 1, got {self.input_size!r}")
        if self.channels not in (1, 3) or isinstance(self.channels, bool):
            raise EyebenchError(f"channels is 1 (gray) or 3 (RGB), got {self.channels!r}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise EyebenchError(f"mean and std need one value per channel ({self.channels}), got {self.mean} and "
                             f"{self.std}")
        if self.contrast not in CONTRAST_STEPS:
            raise EyebenchError(f"contrast must be one of {', '.join(CONTRAST_STEPS)}, got {self.contrast!r}")
        if not isinstance(self.flip_average, bool):
            raise EyebenchError(f"flip_average is true or false, got {self.flip_average!r}")
        if isinstance(self.zoom_average, bool) or not isinstance(self.zoom_average, (int, float)) \
                or not MIN_ZOOM <= self.zoom_average <= MAX_ZOOM:
            raise EyebenchError(f"zoom_average is a number from {MIN_ZOOM} (off) to {MAX_ZOOM}, got {self.zoom_average!r}")

    @property
    def views(self) -> int:
        """How many forward passes one prediction takes: 1, x2 with flip averaging, x2 with zoom averaging."""
        return (2 if self.flip_average else 1) * (2 if self.zoom_average > 1 else 1)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "DataConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise EyebenchError(f"unknown data_config keys: {sorted(unknown)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)


def cache_dir() -> Path:
    """Folder for decoded-image caches: $EYEBENCH_CACHE, else ~/.cache/eyebench."""
    root = os.environ.get("EYEBENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "eyebench")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pct(value, digits: int = 2, sign: bool = True) -> str:
    """A share as percent text (`97.12%`, or `97.12` with sign=False); "-" for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.{digits}f}" + ("%" if sign else "")


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 blink`, `2 blinks`: a number and its noun in the right number."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def command_line(argv) -> str:
    """The command to record in checkpoints and reports: `python -m eyebench` and the arguments, shell-quoted."""
    return " ".join(["python -m eyebench", *(shlex.quote(str(a)) for a in argv)])


# Eye crops cut from faces are this many times their eye-corner distance wide: the framing at which the shipped
# checkpoints judged the most eyes right on the development photos (docs/history.md, section 18)
EYE_CROP_SCALE = 1.4

# Images per perturbation-sweep level (why these numbers: eyebench/evaluate/analysis.py): the default for files that
# are kept (robustness, report) and the app's interactive first look
SWEEP_IMAGES = 100
QUICK_SWEEP_IMAGES = 50

# how `audit` ranks images (here so that --help states it without importing the evaluation code)
AUDIT_RULE = ("doubt = the mean over the models of the calibrated probability each gives to the class other than the "
              "label (0: every model sure of the label, 1: every model sure of the other class); rows are ranked by "
              "doubt, then by how many models decide the other class by their own uncertain band (n_disagree), then "
              "by path; suggested = the other class when doubt is above 0.5, else the label")
