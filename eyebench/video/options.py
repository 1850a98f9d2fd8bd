"""The tracker's options as a light dataclass (no OpenCV import), so that the CLI can show their defaults in --help."""
from __future__ import annotations

import dataclasses

from ..errors import EyebenchError


@dataclasses.dataclass
class TrackerOptions:
    """How often to detect, how much to smooth, when to distrust a detection and how long to hold (the rules are in
    eyebench.video.tracking's docstring)."""

    detect_every: int = 3
    detect_width: int = 640
    smoothing: float = 0.5
    hold_frames: int = 15
    follow_frames: int = 150
    min_match: float = 0.5
    gate: float = 0.3
    max_rejects: int = 3
    max_roll_deg: float = 50.0  # the face search finds faces tilted up to about 50 degrees (faces.TILTS_DEG)

    def __post_init__(self):
        if self.detect_every < 1 or not 0 <= self.hold_frames <= self.follow_frames or not 0 < self.smoothing <= 1:
            raise EyebenchError("detect_every must be >= 1, 0 <= hold_frames <= follow_frames and smoothing in (0, 1]")
        if self.detect_width < 320:
            raise EyebenchError(f"detect_width must be at least 320 pixels, got {self.detect_width}")
        if not -1 <= self.min_match <= 1 or self.gate <= 0 or self.max_rejects < 0:
            raise EyebenchError("min_match must be in [-1, 1], gate > 0 and max_rejects >= 0")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
