"""`eyebench predict`: label and probabilities for eye crops, or for each eye of a face photo."""
from __future__ import annotations

from .args import input_path
from .common import PICTURE_HELP, _add_whole_image, _named_models


def run(args) -> int:
    from ..data.images import ImageError, decode_image
    from ..formatters.prediction import answer_lines, picture_notes
    from ..workbench import predict_picture

    models = _named_models(args.model)
    status = 0
    for path in args.images:
        try:
            res = predict_picture(models, decode_image(path), whole_image=args.whole_image, maps=False)
        except ImageError as exc:
            print(f"{path}: cannot read: {exc}")
            status = 1
            continue
        for line in picture_notes(path, res) + answer_lines(path, res):
            print(line)
        status = status if res.eyes else 1
    return status


def add_parser(sub) -> None:
    pr = sub.add_parser("predict", help="label and probabilities for eye crops, or for each eye of a face photo",
                        description=PICTURE_HELP)
    pr.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    pr.add_argument("images", nargs="+", type=input_path,
                    help="image files: eye crops, close-ups of one eye, or face / scene photos")
    _add_whole_image(pr)
    pr.set_defaults(func=run)
