"""`eyebench committee`: a committee checkpoint fitted from trained checkpoints."""
from __future__ import annotations

from .args import CHECKPOINT, SHARE, _add_data, _add_output, _add_zoom_average


def run(args) -> int:
    from ..data.dataset import DataSpec
    from ..train.committee import fit_committee

    fit_committee(args.member, DataSpec(args.data, args.subject_from), args.out, args.target_risk, args.band_rule,
                  args.grid_step, args.flip_average, args.command_line, zoom_average=args.zoom_average)
    return 0


def add_parser(sub) -> None:
    c = sub.add_parser("committee", help="make a committee checkpoint: the weighted mean of trained checkpoints' "
                                         "calibrated logits, weights, temperature and band fitted on validation people",
                       description="Loads the --member checkpoints (they must share one saved split), fits their "
                                   "weights on that split's validation people (the lowest people-balanced log loss on "
                                   "a grid over the simplex), then the committee's own temperature and uncertain band "
                                   "on the same people, and writes --out like any checkpoint (members named by paths "
                                   "relative to it). Use it in evaluate, bench, heldout and the app like any model.")
    c.add_argument("--member", action="append", required=True, metavar="DIR",
                   help="a member checkpoint folder (repeat for each, at least two)")
    _add_data(c, help="the data folders the members were trained on (repeatable)")
    _add_output(c, "--out", CHECKPOINT, required=True,
                help="the committee's checkpoint folder, e.g. checkpoints/committee")
    c.add_argument("--grid-step", type=SHARE, default=0.1, help="step of the weight grid (default 0.1)")
    c.add_argument("--flip-average", action="store_true",
                   help="average the committee's prediction over the crop and its horizontal mirror")
    _add_zoom_average(c, "average the committee's prediction", 1.0)
    c.add_argument("--target-risk", type=SHARE, default=0.01, help="selective risk on validation (default 0.01)")
    c.add_argument("--band-rule", choices=("per-person", "pooled"), default="per-person",
                   help="per-person (default): the risk holds for every validation person; pooled: on average")
    c.set_defaults(func=run)
