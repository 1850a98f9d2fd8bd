"""What several commands share: loading checkpoints and data, reading pictures, the picture-finding help text."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _load_models(dirs):
    from ..models import load_classifier

    return [load_classifier(d) for d in dirs]


def _load_data(args):
    """The --data of a command, scanned, with what the user must know about it printed: each source's layout, where
    its subjects came from, and every warning (many files skipped, subjects that look wrong)."""
    from ..data.dataset import DataSpec, describe

    dataset = DataSpec(args.data, args.subject_from).load()
    print("\n".join(describe(dataset.report())))
    return dataset


def _write_json(path, record) -> None:
    """Write a command's --json file (every command writes its record the same way)."""
    Path(path).write_text(json.dumps(record, indent=1))


def _print_report(lines: list[str], record, path) -> None:
    """Print a report's lines; with a --json path, also write its record there and say so."""
    print("\n".join(lines))
    if path:
        _write_json(path, record)
        print(f"wrote {path}")


def _named_models(dirs) -> dict:
    """Loaded checkpoints by folder name (the whole path where two folders share a name), as the app names them."""
    from ..models import load_classifier

    names = [Path(d).name for d in dirs]
    return {(n if names.count(n) == 1 else str(d)): load_classifier(d) for n, d in zip(names, dirs)}


def _picture(path: str) -> np.ndarray:
    """The RGB array of a picture named on the command line; an unreadable one is an ImageError naming it."""
    from ..data.images import ImageError, decode_image

    try:
        return decode_image(path)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None


PICTURE_HELP = ("Eyes are found as in the app: faces by MediaPipe's face detector and landmarks, each eye cut level on "
                "its corners (one answer per eye, with its face, side and box; a line per face gives its head pose and "
                "the eye aspect ratio, the landmark baseline); a picture the size of an eye crop, or a close-up of one "
                "eye without a face, is classified whole; the first line about a picture says which of these "
                "happened (none for a plain eye crop). Where MediaPipe cannot run, OpenCV Haar cascades are used, "
                "with a notice.")


def _add_whole_image(sp) -> None:
    sp.add_argument("--whole-image", action="store_true",
                    help="classify each picture whole, as one eye crop (no eye detection)")


def trainable_classifiers() -> list[str]:
    """The registry names `train` and `cv` accept (every classifier but those made from trained checkpoints)."""
    from ..models.registry import NOT_TRAINED, list_classifiers

    return [c for c in list_classifiers() if c not in NOT_TRAINED]
