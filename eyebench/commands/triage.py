"""`eyebench triage`: CSV of uncertain and misclassified images, worst first."""
from __future__ import annotations

from .args import _add_image_list_args
from .common import _load_data, _named_models, _print_first_rows

TRIAGE_RULE = ("Each model decides by its own uncertain band on p(closed) (uncertain inside the band; a 0.5 cut "
               "without one); an image is listed once per model whose decision is uncertain or the wrong class, with "
               "that model's name, decision and reason.")


def run(args) -> int:
    from ..data.dataset import load_images
    from ..evaluate.analysis import restrict
    from ..evaluate.triage import RULE, band_text, triage_rows, write_csv

    models = _named_models(args.model)
    dataset = restrict(_load_data(args), list(models.values()), args.split)
    rows = []
    print(f"rule: {RULE}")
    for name, clf in models.items():
        arrays, used = load_images(dataset, clf.data_config.input_size, clf.data_config.channels)
        listed = triage_rows(used, clf.proba_prepared(arrays), clf.uncertain_band, model=name)
        n_wrong = sum(r["reason"] == "misclassified" for r in listed)
        print(f"{name}: {len(listed)} of {len(used)} images listed ({n_wrong} misclassified, {len(listed) - n_wrong} "
              f"uncertain); band on p(closed) {band_text(clf.uncertain_band)}")
        rows += listed
    rows.sort(key=lambda r: r["p_true_class"])
    write_csv(rows, args.csv)
    _print_first_rows(rows, f"wrote {args.csv}: {len(rows)} rows, one per listed image and model, worst first "
                      "(lowest p(true class)); columns model, path, subject, label, decision, reason, p_closed, band, "
                      "p_true_class",
                      lambda r: f"  {r['p_true_class']:.4f}  {r['model']:<12} {r['label']:<6} -> {r['decision']:<9} "
                                f"({r['reason']}) {r['path']}")
    return 0


def add_parser(sub) -> None:
    tg = sub.add_parser("triage", help="CSV of uncertain and misclassified images, worst first (data cleaning)",
                        description=TRIAGE_RULE)
    _add_image_list_args(tg)
    tg.set_defaults(func=run)
