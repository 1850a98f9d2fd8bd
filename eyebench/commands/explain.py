"""`eyebench explain`: the explanation map of every model for one image, with its deletion score."""
from __future__ import annotations

from pathlib import Path

from ..errors import EyebenchError
from .args import _add_output, input_path, output_file
from .common import PICTURE_HELP, _add_whole_image, _named_models, _noted, _picture

DELETION_NOTE = ("deletion AUC: the mean p(decided class) while the map's most important pixels are blanked, 10% at a "
                 "time; lower than with a random order means the map points at pixels the model really uses")


def run(args) -> int:
    import cv2

    from ..explain import deletion_curve
    from ..explain.figure import explanation_figure
    from ..workbench import predict_picture

    if Path(args.out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise EyebenchError(f"--out {args.out}: give a .png or .jpg file name")
    models = _named_models(args.model)
    image = _picture(args.image)
    res = _noted(args.image, predict_picture(models, image, whole_image=args.whole_image, maps=True))
    if res is None:
        return 1
    print(DELETION_NOTE)
    rows = []
    several = len({e["face"] for e in res["eyes"]}) > 1
    for eye in res["eyes"]:
        panels = []
        label = f"face {eye['face'] + 1} {eye['side']}" if several and eye["side"] != "crop" else eye["side"]
        title = "whole image" if eye["side"] == "crop" else f"{label} eye"
        for r in eye["results"]:
            d = deletion_curve(models[r["model"]], eye["crop"], r["heat"])
            verdict = "better than" if d["auc_saliency"] < d["auc_random"] else "NOT better than"
            print(f"{label} {r['model']}: {r['decision']} p(closed)={r['p_closed']:.4f}; deletion AUC "
                  f"{d['auc_saliency']:.3f} vs random order {d['auc_random']:.3f} ({verdict} random)")
            panels.append(([r["model"], f"{r['decision'].upper()} p(closed)={r['p_closed']:.3f}"], r["map"]))
        rows.append({"title": title, "image": eye["crop"], "panels": panels})
    figure = explanation_figure(rows)
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
