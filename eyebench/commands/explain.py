"""`eyebench explain`: the explanation map of every model for one image, with its deletion score."""
from __future__ import annotations

from pathlib import Path

from ..errors import EyebenchError
from .args import _add_output, input_path, output_file
from .common import PICTURE_HELP, _add_whole_image, _named_models, _picture


def run(args) -> int:
    import cv2

    from ..explain.figure import explanation_figure
    from ..formatters.prediction import DELETION_NOTE, deletion_lines, figure_rows, picture_notes
    from ..workbench import deletion_scores, predict_picture

    if Path(args.out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise EyebenchError(f"--out {args.out}: give a .png or .jpg file name")
    models = _named_models(args.model)
    image = _picture(args.image)
    res = predict_picture(models, image, whole_image=args.whole_image, maps=True)
    for line in picture_notes(args.image, res):
        print(line)
    if not res.eyes:
        return 1
    print(DELETION_NOTE)
    for line in deletion_lines(res, deletion_scores(models, res)):
        print(line)
    figure = explanation_figure(figure_rows(res))
    if not cv2.imwrite(args.out, cv2.cvtColor(figure, cv2.COLOR_RGB2BGR)):
        raise EyebenchError(f"could not write {args.out} (give a .png or .jpg file name)")
    print(f"wrote {args.out}: a row per eye (the input, then each model's map titled with its decision), "
          "and the colour scale")
    return 0


def add_parser(sub) -> None:
    x = sub.add_parser("explain", help="explanation map (Grad-CAM / occlusion) of every model for one image",
                       description=PICTURE_HELP)
    x.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    x.add_argument("image", type=input_path,
                   help="image file: an eye crop, a close-up of one eye, or a face / scene photo")
    _add_whole_image(x)
    _add_output(x, "--out", output_file, required=True,
                help="PNG or JPEG to write: a row per eye (the input, then each model's map titled with its "
                        "decision) and the colour scale")
    x.set_defaults(func=run)
