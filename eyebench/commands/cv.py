"""`eyebench cv`: K-fold cross-validation by person."""
from __future__ import annotations

import dataclasses

from ..train.config import RECIPE, TrainConfig, add_options
from .args import (
    SHARE,
    Output,
    _add_data,
    _add_output,
    bounded,
    input_path,
    output_file,
)
from .common import _write_json, trainable_classifiers

CV_OUT = Output(folder=True, whole=True, note="; it does not apply to --out: a cross-validation there is continued "
                                               "with --resume and never replaced (give a new --out to start again)")


def run(args) -> int:
    from ..data.dataset import DataSpec
    from ..formatters.training import cv_lines
    from ..train.crossval import cross_validate, repeat_cross_validation

    config = dataclasses.replace(TrainConfig.from_args(args), resume=args.resume_folds)
    data = DataSpec(args.data, args.subject_from)
    kw = dict(k=args.folds, holdout_of=args.holdout_of, train_share=args.train_people)
    if args.repeats == 1:
        res = cross_validate(args.model, data, args.out, config, **kw)
    else:
        seeds = list(range(config.seed, config.seed + args.repeats))
        res = repeat_cross_validation(args.model, data, args.out, seeds, config, **kw)
    print("\n".join(cv_lines(res)))
    if args.json:
        _write_json(args.json, res)
    return 0


def add_parser(sub) -> None:
    cv = sub.add_parser("cv", help="K-fold cross-validation by person: mean +- std, worst fold, worst subject")
    cv.add_argument("model", choices=trainable_classifiers(), help="registry name of the classifier")
    _add_data(cv)
    _add_output(cv, "--out", CV_OUT, required=True, help="folder for the fold checkpoints")
    cv.add_argument("--folds", type=bounded(int, 2), default=5,
                    help="number of folds; each tests on its own people (default 5)")
    add_options(cv, RECIPE)  # the recipe part of TrainConfig: the same flags, defaults and help as `train`
    cv.add_argument("--holdout-of", type=input_path, metavar="DIR",
                    help="leave out the test people of this checkpoint (e.g. a shipped one): folds are made of its "
                         "train and val people only, so recipes can be compared without looking at its test set")
    cv.add_argument("--train-people", type=SHARE, default=1.0, metavar="SHARE",
                    help="train each fold on only this share of its training people (per source, drawn with the seed; "
                         "smaller shares nested in larger ones), test people unchanged: a learning curve that says "
                         "whether recording more people would help (default 1 = all)")
    cv.add_argument("--repeats", type=bounded(int, 1), default=1, metavar="N",
                    help="run the whole cross-validation N times with seeds SEED..SEED+N-1 (other validation people, "
                         "CEW folds, initialisation and sampling; with few people the grouped test folds may repeat) "
                         "into OUT/seed_S and report the mean over seeds and its spread (default 1)")
    cv.add_argument("--resume", action="store_true", dest="resume_folds",
                    help="continue a cross-validation that was stopped, with the same command: folds finished in OUT "
                         "are reused (after checking their model, people and recipe), a fold stopped mid-way continues "
                         "from its last epoch (OUT/fold_K/resume.pt), the others are trained")
    _add_output(cv, "--json", output_file, help="write the fold results here")
    cv.set_defaults(func=run)
