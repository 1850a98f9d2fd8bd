"""`eyebench heldout`: the held-out results bundle the app opens on (numbers, no pixels)."""
from __future__ import annotations

from pathlib import Path

from .args import Output, _add_data, _add_output, bounded, heldout_bundle, input_path
from .common import _load_data


HELDOUT_OUT = Output(folder=True, writes=("predictions.csv", "bundle.json", "README.md"), own=heldout_bundle,
                     note="; not needed to replace an earlier held-out bundle in --out (its bundle.json), which is "
                          "replaced with a line saying so")


def run(args) -> int:
    from ..evaluate.heldout import build_bundle, write_bundle
    from ..formatters.evaluation import heldout_line
    from ..models.checkpoint import load_classifier

    models = {Path(d).name: load_classifier(d) for d in args.model}
    rows, summary = build_bundle(models, _load_data(args), sweep_max=args.sweep_images, seed=args.seed,
                                 command=args.command_line)
    out = write_bundle(args.out, rows, summary)
    print(heldout_line(out, len(rows), summary, sum(f.stat().st_size for f in out.iterdir())))
    return 0


def add_parser(sub) -> None:
    h = sub.add_parser("heldout", help="precompute the held-out results bundle the app opens on (numbers, no pixels)",
                       description="Per-image p(closed) of every checkpoint on the test people of their shared split, "
                                   "every perturbation sweep per model, and each checkpoint's weight hash: the "
                                   "app's Evaluate, Threshold and Robustness tabs open on it without any data.")
    h.add_argument("--model", action="append", type=input_path, required=True,
                   help="checkpoint folder (repeatable); all must share one saved split; named by folder name")
    _add_data(h, help="the data folders the checkpoints were trained on")
    _add_output(h, "--out", HELDOUT_OUT, required=True,
                help="folder to write predictions.csv, bundle.json and README.md into")
    h.add_argument("--sweep-images", type=bounded(int, 2), default=1000,
                   help="test images per perturbation level (class-stratified; default 1000)")
    h.add_argument("--seed", type=int, default=0, help="seed of the sweep sample (default 0)")
    h.set_defaults(func=run)
