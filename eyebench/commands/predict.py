"""`eyebench predict`: label and probabilities for eye crops, or for each eye of a face photo."""
from __future__ import annotations

from .args import input_path
from .common import PICTURE_HELP, _add_whole_image, _named_models, _noted


def run(args) -> int:
    models = _named_models(args.model)
    status = 0
    for path, res in _pictures(args.images, models, args.whole_image, maps=False):
        if res is None:
            status = 1
            continue
        for eye in res["eyes"]:
            for r in eye["results"]:
                print(f"{path}\t{r['model']}\t{r['decision']}\tp(open)={r['p_open']:.4f}\tp(closed)={r['p_closed']:.4f}"
                      f"\teye={eye['side']}\tbox={','.join(map(str, eye['box']))}\t{_band_text(r['band'])}"
                      f"\tface={eye['face'] + 1}")
    return status


def _pictures(paths, models: dict, whole_image: bool, maps: bool):
    """(path, workbench.predict_picture result or None) per readable image; says why an image gives no eye."""
    from ..data.images import ImageError, decode_image
    from ..workbench import predict_picture

    for path in paths:
        try:
            res = predict_picture(models, decode_image(path), whole_image=whole_image, maps=maps)
        except ImageError as exc:
            print(f"{path}: cannot read: {exc}")
            yield path, None
            continue
        yield path, _noted(path, res)


def _band_text(band) -> str:
    return f"uncertain band on p(closed)=[{band[0]:.3f}, {band[1]:.3f}]" if band else "no band (cut at p(closed)=0.5)"


def add_parser(sub) -> None:
    pr = sub.add_parser("predict", help="label and probabilities for eye crops, or for each eye of a face photo",
                        description=PICTURE_HELP)
    pr.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    pr.add_argument("images", nargs="+", type=input_path,
                    help="image files: eye crops, close-ups of one eye, or face / scene photos")
    _add_whole_image(pr)
    pr.set_defaults(func=run)
