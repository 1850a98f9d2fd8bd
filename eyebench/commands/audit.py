"""`eyebench audit`: CSV of every image ranked by how much the models doubt its label (a manifest)."""
from __future__ import annotations

from pathlib import Path

from .args import _add_image_list_args, bounded
from .common import _load_data, _named_models


def run(args) -> int:
    from ..evaluate.analysis import restrict
    from ..evaluate.audit import RULE, accept_top, audit_models, write_rows
    from ..formatters.data import accepted_line, audit_rows_lines

    models = _named_models(args.model)
    dataset = restrict(_load_data(args), list(models.values()), args.split)
    rows, _ = audit_models(models, dataset, Path(args.csv).resolve().parent, progress=True)
    print(f"rule: {RULE}")
    if args.accept_top:
        rows = accept_top(rows, args.accept_top)
        print(accepted_line(rows, args.accept_top))
    write_rows(rows, args.csv)
    print("\n".join(audit_rows_lines(rows, args.csv)))
    return 0


def add_parser(sub) -> None:
    from ..config import AUDIT_RULE as RULE

    au = sub.add_parser("audit", help="CSV of every image ranked by how much the models doubt its label (a manifest)",
                        description=f"One row per image: path,label,subject,suggested,doubt,n_models,n_disagree,"
                                    f"n_uncertain and each model's p(closed). Ranking: {RULE}. The CSV is a manifest "
                                    "(--data reads it); paths are relative to its folder. Review it in the app's "
                                    "Review tab, or take the top suggestions unreviewed with --accept-top.")
    _add_image_list_args(au)
    au.add_argument("--accept-top", type=bounded(int, 1), metavar="N",
                    help="take the suggestion of the N most doubted images as their label (original_label and "
                         "decision columns added; the output says it is unreviewed)")
    au.set_defaults(func=run)
