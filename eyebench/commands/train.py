"""`eyebench train`: train a classifier on person-disjoint splits and save a checkpoint."""
from __future__ import annotations

import argparse
import dataclasses

from ..train.config import RECIPE, TRAIN, TrainConfig, add_options
from .args import CHECKPOINT, EPILOG, _add_data, _add_output, input_path
from .common import trainable_classifiers

TRAIN_OUT = dataclasses.replace(CHECKPOINT, writes=("config.json", "resume.pt"), resumes="resume.pt",
                                note="; a finished checkpoint (config.json) in --out is replaced only with it, a "
                                     "stopped run (resume.pt) continues with --resume instead")


def run(args) -> int:
    from ..data.dataset import DataSpec
    from ..train.pipeline import run_training

    run_training(args.model, DataSpec(args.data, args.subject_from), args.out, TrainConfig.from_args(args),
                 command=args.command_line, split_from=args.split_from)
    return 0


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a classifier on person-disjoint splits and save a checkpoint",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("model", choices=trainable_classifiers(), help="registry name of the classifier")
    _add_data(t)
    _add_output(t, "--out", TRAIN_OUT, required=True, help="checkpoint folder to write, e.g. checkpoints/small_cnn")
    t.add_argument("--split-from", type=input_path, metavar="DIR", default=None,
                   help="reuse the train/val/test people of this checkpoint's split.json instead of drawing a new split "
                        "(to retrain on more images of the same people without testing on anyone it learned from; "
                        "people it does not know go to train)")
    add_options(t, RECIPE, TRAIN)  # every TrainConfig field: recipe options, then the train-only ones
    t.set_defaults(func=run)
