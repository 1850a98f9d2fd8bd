"""`eyebench evaluate`: metrics of one or more checkpoints on a dataset."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import pct
from ..errors import EyebenchError
from .args import EPILOG, _add_data, _add_output, bounded, input_path, output_file
from .common import _load_data, _load_models


def run(args) -> int:
    from ..evaluate.report import evaluate_checkpoint, format_head_angles, format_table

    models = _load_models(args.model)
    dataset = _load_data(args)
    rows, data_report = [], None
    for i, clf in enumerate(models, 1):
        print(f"[{i}/{len(models)}] {clf.checkpoint}", file=sys.stderr)
        row, used = evaluate_checkpoint(clf, dataset, args.split, args.bootstrap)
        if args.compare_labels:
            row["label_comparison"] = _label_comparison(clf, used)
        rows.append(row)
        data_report = data_report or used.report()
    print(format_table(rows))
    for r in rows if args.compare_labels else []:
        print(_comparison_line(r))
    for r in rows:
        if r.get("split"):
            print(f"{r['name']}: --split {r['split']} kept {r['n']} images of its {r['split']} people and left out "
                  f"{r['split_removed']} others")
        if r.get("leak"):
            print(f"WARNING {r['name']}: {r['leak']['message']}")
        for line in format_head_angles(r):
            print(line)
        ci = r.get("bootstrap_accuracy")
        if ci:
            print(f"{r['name']}: accuracy 95% CI over subjects " + (f"[{100 * ci['low']:.2f}%, {100 * ci['high']:.2f}%] "
                  f"({ci['n_subjects']} subjects, {ci['n_boot']} resamples)" if ci["low"] is not None else ci["note"]))
            if ci["low"] is not None and ci.get("subjects_trusted") is False:
                print(f"WARNING {r['name']}: {ci['note']}")
        if r.get("band"):
            u = r["band"]
            print(f"{r['name']}: uncertain band {[round(b, 4) for b in u['band']]} -> {u['n_uncertain']} uncertain "
                  f"(coverage {100 * u['coverage']:.2f}%, selective risk "
                  + ("-" if u["selective_risk"] is None else f"{100 * u['selective_risk']:.2f}%") + ")")
    rep = data_report or dataset.report()
    print(f"\nimages read: {rep['n_read']}, skipped: {rep['n_skipped']} {rep['skipped_reasons'] or ''}")
    for ex in rep["skipped_examples"]:
        print(f"  skipped {ex['path']}: {ex['reason']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"models": rows, "data": rep}, indent=1))
        print(f"wrote {args.json}")
    return 0


def _label_comparison(clf, used) -> dict:
    """A model's metrics on the original and the corrected labels of the same images (--compare-labels)."""
    from ..data.dataset import load_images
    from ..evaluate.audit import compare_labels

    arrays, kept = load_images(used, clf.data_config.input_size, clf.data_config.channels)
    result = compare_labels(kept, clf.proba_prepared(arrays))
    if result is None:
        raise EyebenchError("--compare-labels needs a corrected manifest: a CSV with an original_label column (the Review "
                         "tab's export, or `audit --accept-top`)")
    return result


def _comparison_line(row: dict) -> str:
    """One model's accuracy and closed recall before and after the label corrections."""
    c = row["label_comparison"]
    before, after = c["original"], c["corrected"]
    return (f"{row['name']}: {c['changed']} of {c['n']} labels changed ({c['open_to_closed']} open -> closed, "
            f"{c['closed_to_open']} closed -> open); accuracy {pct(before['accuracy'], sign=False)} on the original "
            f"labels -> {pct(after['accuracy'], sign=False)} on the corrected; closed recall "
            f"{pct(before['recall_closed'], sign=False)} -> {pct(after['recall_closed'], sign=False)}")


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
