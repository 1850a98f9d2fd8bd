"""`eyebench triage`: CSV of uncertain and misclassified images, worst first."""
from __future__ import annotations

from .args import _add_image_list_args
from .common import _load_data, _named_models

TRIAGE_RULE = ("Each model decides by its own uncertain band on p(closed) (uncertain inside the band; a 0.5 cut "
               "without one); an image is listed once per model whose decision is uncertain or the wrong class, with "
               "that model's name, decision and reason.")


def run(args) -> int:
    from ..evaluate.analysis import restrict
    from ..evaluate.triage import RULE, merged_rows, triage_models, write_csv
    from ..formatters.data import triage_model_line, triage_rows_lines

    models = _named_models(args.model)
    dataset = restrict(_load_data(args), list(models.values()), args.split)
    print(f"rule: {RULE}")
    triages = triage_models(models, dataset)
    for t in triages:
        print(triage_model_line(t))
    rows = merged_rows(triages)
    write_csv(rows, args.csv)
    print("\n".join(triage_rows_lines(rows, args.csv)))
    return 0


def add_parser(sub) -> None:
    tg = sub.add_parser("triage", help="CSV of uncertain and misclassified images, worst first (data cleaning)",
                        description=TRIAGE_RULE)
    _add_image_list_args(tg)
    tg.set_defaults(func=run)
