"""The one error type for what a user can fix (bad input, data, checkpoint or option): the CLI and app show its text."""
from __future__ import annotations


class EyebenchError(ValueError):
    """A problem with what the user gave, said in words they can act on; anything else is a bug and keeps its traceback.

    A ValueError, so code and tests that catch ValueError around eyebench calls keep working.
    """
