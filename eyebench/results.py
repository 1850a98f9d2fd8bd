"""What models say of eyes, as types: the eye's class and a model's decision (JSON and files keep their numbers)."""
from __future__ import annotations

from enum import IntEnum, StrEnum


class EyeState(IntEnum):
    """The class of an eye: its label in data and the column of its probability (p_open, p_closed)."""

    OPEN = 0
    CLOSED = 1

    @property
    def text(self) -> str:
        """The class name used in files, tables and the app: "open" or "closed"."""
        return self.name.lower()


class Decision(IntEnum):
    """A model's decision on one eye: a class, or uncertain when p(closed) lies inside its band."""

    OPEN = 0
    CLOSED = 1
    UNCERTAIN = 2

    @property
    def text(self) -> str:
        """"open", "closed" or "uncertain"."""
        return self.name.lower()


class FrameState(StrEnum):
    """An eye in one video frame: its class (held through frames inside the band), unknown before any, or missing."""

    OPEN = EyeState.OPEN.text
    CLOSED = EyeState.CLOSED.text
    UNKNOWN = "unknown"
    MISSING = "missing"
