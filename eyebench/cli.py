"""Command-line interface: `eyebench train|evaluate|predict|bench|summary` (argument parsing and printing only)."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

EPILOG = """Data layouts accepted by --data (detected automatically):
  1. MRL Eye Dataset names anywhere below a folder (sSSSS_IIIII_G_L_E_R_Q_NN.png; metadata from the name)
  2. class folders: open/ and closed/ (aliases such as Open_Eyes, closedLeftEyes are recognised)
  3. a CSV manifest (a .csv file, or manifest.csv in the folder): path,label[,subject][,other columns...]
Subjects (people) come from MRL names, the manifest's subject column, or file-name stems with left/right
eyes grouped; every split is person-disjoint."""


def _model_args(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise SystemExit(f"--model-arg expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def cmd_train(args) -> int:
    from .train import run_training

    command = "python -m eyebench " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if args.command is None else args.command
    run_training(args.model, args.data, args.out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 seed=args.seed, val_frac=args.val_frac, test_frac=args.test_frac, patience=args.patience,
                 model_args=_model_args(args.model_arg), target_risk=args.target_risk, command=command)
    return 0


def _load_models(dirs):
    from .models import load_classifier

    return [load_classifier(d) for d in dirs]


def cmd_evaluate(args) -> int:
    from .data.dataset import load_dataset
    from .evaluate.report import evaluate_checkpoint, format_table

    models = _load_models(args.model)
    dataset = load_dataset(args.data)
    rows, data_report = [], None
    for clf in models:
        row, used = evaluate_checkpoint(clf, dataset, args.split)
        rows.append(row)
        data_report = data_report or used.report()
    print(format_table(rows))
    rep = data_report or dataset.report()
    print(f"\nimages read: {rep['n_read']}, skipped: {rep['n_skipped']} {rep['skipped_reasons'] or ''}")
    for ex in rep["skipped_examples"]:
        print(f"  skipped {ex['path']}: {ex['reason']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"models": rows, "data": rep}, indent=1))
        print(f"wrote {args.json}")
    return 0


def cmd_predict(args) -> int:
    from .data.images import ImageError, decode_image
    from .evaluate.thresholds import DECISION_NAMES, apply_band

    models = _load_models(args.model)
    status = 0
    for path in args.images:
        try:
            image = decode_image(path)
        except ImageError as exc:
            print(f"{path}: cannot read: {exc}")
            status = 1
            continue
        for clf in models:
            p = clf.predict_proba([image])[0]
            decision = DECISION_NAMES[apply_band([p[1]], clf.uncertain_band)[0]]
            band = "" if not clf.uncertain_band else f"\tband=[{clf.uncertain_band[0]:.3f}, {clf.uncertain_band[1]:.3f}]"
            print(f"{path}\t{clf.name}\t{decision}\tp(open)={p[0]:.4f}\tp(closed)={p[1]:.4f}{band}")
    return status


def cmd_bench(args) -> int:
    from .bench import bench_classifier

    rows = []
    for clf in _load_models(args.model):
        r = bench_classifier(clf, batch_size=args.batch_size, seconds=args.seconds)
        rows.append(r)
        print(f"{clf.name:<14} batch {r['batch_images_per_second']:>9.0f} img/s ({r['batch_ms_per_image']:.3f} ms/img, "
              f"batch {r['batch_size']})   single {r['single_ms_per_image']:.2f} ms/img "
              f"({r['single_images_per_second']:.0f} img/s)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def cmd_summary(args) -> int:
    from .models.summary import results_table

    print(results_table(args.checkpoints))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .models.registry import list_classifiers

    p = argparse.ArgumentParser(prog="eyebench", description="Open/closed eye-state workbench.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train a classifier on person-disjoint splits and save a checkpoint",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("model", choices=list_classifiers(), help="registry name of the classifier")
    t.add_argument("--data", action="append", required=True, help="data folder or CSV manifest (repeatable)")
    t.add_argument("--out", required=True, help="checkpoint folder to write, e.g. checkpoints/small_cnn")
    t.add_argument("--epochs", type=int, default=20, help="maximum epochs for torch models (default 20)")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of OneCycleLR (default 3e-3)")
    t.add_argument("--patience", type=int, default=6, help="early stop after this many epochs without val gain")
    t.add_argument("--seed", type=int, default=0, help="seed of the split, sampler and initialisation")
    t.add_argument("--val-frac", type=float, default=0.15, help="share of subjects for validation (default 0.15)")
    t.add_argument("--test-frac", type=float, default=0.15, help="share of subjects held out for test (default 0.15)")
    t.add_argument("--target-risk", type=float, default=0.01,
                   help="selective risk the uncertain band is fitted for on validation (default 0.01 = 1%%)")
    t.add_argument("--model-arg", action="append", metavar="KEY=VALUE",
                   help="model option, JSON value (e.g. balance=class_weight, standardize=false, widths=[16,32,64,128])")
    t.add_argument("--command", default=None, help=argparse.SUPPRESS)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="metrics of one or more checkpoints on a dataset",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--model", action="append", required=True, help="checkpoint folder (repeatable)")
    e.add_argument("--data", action="append", required=True, help="data folder or CSV manifest (repeatable)")
    e.add_argument("--split", choices=["train", "val", "test"], default=None,
                   help="only the subjects the checkpoint's saved split put in this part (e.g. test)")
    e.add_argument("--json", help="write the results as JSON to this file")
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="label and probabilities for image files")
    pr.add_argument("--model", action="append", required=True, help="checkpoint folder (repeatable)")
    pr.add_argument("images", nargs="+", help="image files (eye crops)")
    pr.set_defaults(func=cmd_predict)

    b = sub.add_parser("bench", help="inference speed on this machine (after a warm-up)")
    b.add_argument("--model", action="append", required=True, help="checkpoint folder (repeatable)")
    b.add_argument("--batch-size", type=int, default=256, help="batch size of the batch measurement (default 256)")
    b.add_argument("--seconds", type=float, default=3.0, help="time spent per measurement (default 3)")
    b.add_argument("--json", help="write the measurements as JSON to this file")
    b.set_defaults(func=cmd_bench)

    s = sub.add_parser("summary", help="markdown table of the held-out test results stored in checkpoints")
    s.add_argument("checkpoints", nargs="+", help="checkpoint folders")
    s.set_defaults(func=cmd_summary)
    return p


def main(argv=None) -> int:
    from .data.images import ImageError
    from .data.splits import SplitError
    from .models.checkpoint import CheckpointError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CheckpointError, SplitError, ImageError, FileNotFoundError, ValueError, KeyError) as exc:
        print(f"eyebench {args.cmd}: error: {exc}", file=sys.stderr)
        return 2
