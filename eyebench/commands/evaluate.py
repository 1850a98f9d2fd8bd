"""`eyebench evaluate`: metrics of one or more checkpoints on a dataset."""
from __future__ import annotations

import argparse
import dataclasses
import sys

from .args import EPILOG, _add_data, _add_output, bounded, input_path, output_file
from .common import _load_data, _load_models, _write_json


def run(args) -> int:
    from ..evaluate.report import evaluate_model, label_comparison
    from ..formatters.evaluation import evaluate_lines

    models = _load_models(args.model)
    dataset = _load_data(args)
    rows, data_report = [], None
    for i, clf in enumerate(models, 1):
        print(f"[{i}/{len(models)}] {clf.checkpoint}", file=sys.stderr)
        row, used = evaluate_model(clf, dataset, args.split, args.bootstrap)
        if args.compare_labels:
            row = dataclasses.replace(row, label_comparison=label_comparison(clf, used))
        rows.append(row)
        data_report = data_report or used.report()
    rep = data_report or dataset.report()
    for line in evaluate_lines(rows, rep, args.compare_labels):
        print(line)
    if args.json:
        _write_json(args.json, {"models": [r.to_dict() for r in rows], "data": rep})
        print(f"wrote {args.json}")
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="metrics of one or more checkpoints on a dataset",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--model", action="append", type=input_path, required=True, help="checkpoint folder (repeatable)")
    _add_data(e)
    e.add_argument("--split", choices=["train", "val", "test"], default=None,
                   help="only the subjects the checkpoint's saved split put in this part (e.g. test)")
    _add_output(e, "--json", output_file, help="write the results as JSON to this file")
    e.add_argument("--bootstrap", type=bounded(int, 0), default=0, metavar="N",
                   help="add a subject-level bootstrap 95%% CI of accuracy with N resamples")
    e.add_argument("--compare-labels", action="store_true",
                   help="with a corrected manifest (original_label column: the Review tab's export or audit "
                        "--accept-top): how many labels changed and each model's metrics on the original and the "
                        "corrected labels of the same images")
    e.set_defaults(func=run)
