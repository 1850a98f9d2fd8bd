"""`eyebench report`: one self-contained HTML report of one or more checkpoints."""
from __future__ import annotations

from pathlib import Path

from ..config import SWEEP_IMAGES
from .args import _add_model_data_args, _add_output, bounded, output_file
from .common import _load_data, _load_models


def run(args) -> int:
    from ..evaluate.analysis import analyse_models, restrict
    from ..evaluate.html import render_report, report_examples

    models = _load_models(args.model)
    dataset = restrict(_load_data(args), models, args.split)
    result = analyse_models(models, dataset, bootstrap=args.bootstrap, sweep_max=args.sweep_images, seed=args.seed)
    examples = report_examples(dataset, args.seed)
    Path(args.out).write_text(render_report(result, models, examples, command=args.command_line))
    print(f"wrote {args.out}")
    return 0


def add_parser(sub) -> None:
    rp = sub.add_parser("report", help="one self-contained HTML report (metrics, plots, subsets, sweeps, maps)")
    _add_model_data_args(rp)
    _add_output(rp, "--out", output_file, required=True, help="HTML file to write")
    rp.add_argument("--bootstrap", type=bounded(int, 0), default=1000,
                    help="subject-level bootstrap resamples (default 1000)")
    rp.add_argument("--sweep-images", type=bounded(int, 2), default=SWEEP_IMAGES,
                    help=f"images per sweep level (default {SWEEP_IMAGES})")
    rp.set_defaults(func=run)
