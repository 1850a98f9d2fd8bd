"""`eyebench robustness`: metrics per metadata subset and per perturbation level, per model."""
from __future__ import annotations

from pathlib import Path

from ..config import SWEEP_IMAGES
from ..errors import EyebenchError
from .args import Output, _add_model_data_args, _add_output, bounded, output_file
from .common import _load_data, _load_models, _write_json

CSV_FOLDER = Output(folder=True, writes=("subsets.csv", "sweeps.csv"))


def run(args) -> int:
    from ..evaluate.analysis import analyse_models, restrict
    from ..evaluate.perturbations import SWEEPS
    from ..formatters.evaluation import robustness_lines

    unknown = [name for name in args.sweep or () if name not in SWEEPS]
    if unknown:
        raise EyebenchError(f"--sweep {', '.join(unknown)}: no such sweep (choose from {', '.join(SWEEPS)})")
    models = _load_models(args.model)
    dataset = restrict(_load_data(args), models, args.split)
    result = analyse_models(models, dataset, sweep_max=args.sweep_images, seed=args.seed, sweep_names=args.sweep)
    _write_json(args.json, result.robustness_dict())
    for line in robustness_lines(result):
        print(line)
    if args.csv:
        from ..evaluate.triage import write_csv

        out = Path(args.csv)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(result.subset_rows(), out / "subsets.csv")
        write_csv(result.sweeps.rows(), out / "sweeps.csv")
    print(f"wrote {args.json}" + (f" and CSV files in {args.csv}" if args.csv else ""))
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("robustness", help="metrics per metadata subset and per perturbation level, per model",
                       epilog="Subsets: every metadata factor (MRL: glasses, reflections, lighting, sensor, gender; "
                              "manifest: every extra column). Sweeps: rotation, simulated yaw, glasses/glare, blur, "
                              "gamma, noise, JPEG, down-scaling, framing (the eye smaller or larger in the same "
                              "crop). Angles are simulated, unless the data has measured ones: face photos (head_yaw, head_pitch) or an angle column.")
    _add_model_data_args(r)
    _add_output(r, "--json", output_file, required=True, help="write subsets and sweeps here")
    _add_output(r, "--csv", CSV_FOLDER, metavar="DIR", help="also write subsets.csv and sweeps.csv into DIR")
    r.add_argument("--sweep-images", type=bounded(int, 2), default=SWEEP_IMAGES,
                   help=f"images per sweep level (class-stratified, default {SWEEP_IMAGES}: a level's accuracy within "
                        "about 3 points; more for finer differences, at proportionally more time)")
    r.add_argument("--sweep", action="append", metavar="NAME",
                   help="run only this perturbation sweep (repeatable; default every one: rotation_deg, yaw_deg, "
                        "glasses, blur_sigma, gamma, noise_sigma, jpeg_quality, downscale_px, framing)")
    r.set_defaults(func=run)
