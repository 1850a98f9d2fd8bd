"""`eyebench report`: one self-contained HTML report of one or more checkpoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import CLASS_NAMES, SWEEP_IMAGES
from .args import _add_model_data_args, _add_output, bounded, output_file
from .common import _load_data, _load_models


def run(args) -> int:
    from ..data.dataset import load_images
    from ..evaluate.analysis import analyse_models, restrict
    from ..evaluate.html import render_report

    models = _load_models(args.model)
    dataset = restrict(_load_data(args), models, args.split)
    result = analyse_models(models, dataset, bootstrap=args.bootstrap, sweep_max=args.sweep_images, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    y = dataset.labels
    pick = np.concatenate([rng.choice(np.flatnonzero(y == c), min(3, int((y == c).sum())), replace=False)
                           for c in (0, 1) if (y == c).any()])
    images, _ = load_images(dataset.subset(pick), 96, 3, progress=False)
    labels = [CLASS_NAMES[y[i]] for i in pick]
    command = args.command_line
    Path(args.out).write_text(render_report(result, models, (list(images), labels), command=command))
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
