"""`eyebench calibrate`: refit the temperature and uncertain band of checkpoints on their validation people."""
from __future__ import annotations

import argparse

from .args import EPILOG, SHARE, _add_data, _add_zoom_average, input_path


def run(args) -> int:
    from ..data.dataset import DataSpec
    from ..models.checkpoint import load_classifier
    from ..train.pipeline import recalibrate

    first = load_classifier(args.model[0])  # a bad first checkpoint is reported before the data is read
    dataset = DataSpec(args.data, args.subject_from).load()  # scanned once for every checkpoint
    for model in [first, *args.model[1:]]:
        recalibrate(model, dataset, args.target_risk, args.band_rule, args.command_line,
                    flip_average=args.flip_average, zoom_average=args.zoom_average)
    return 0


def add_parser(sub) -> None:
    c = sub.add_parser("calibrate", help="refit temperature and uncertain band of checkpoints on their validation "
                                         "subjects (rewrites config.json and the model card; weights unchanged)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    _add_data(c, help="the data folders the checkpoint was trained on")
    c.add_argument("--target-risk", type=SHARE, default=None,
                   help="selective risk on validation (default: the one the checkpoint's band was fitted with, "
                        "else 0.01)")
    c.add_argument("--band-rule", choices=("per-person", "pooled"), default=None,
                   help="per-person: the risk holds for every validation person; pooled: on average (default: the "
                        "checkpoint's rule, else per-person)")
    c.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=None,
                   help="switch flip averaging on (--flip-average: each prediction is the mean closed logit of the crop "
                        "and its horizontal mirror) or off (--no-flip-average) before refitting, stored in config.json "
                        "(data_config.flip_average); default: keep the checkpoint's setting")
    _add_zoom_average(c, "before refitting, average each prediction", None)
    c.set_defaults(func=run)
