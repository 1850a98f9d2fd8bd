"""`eyebench cv-report pooled|ensemble|audit|committee`: analyses of finished cross-validation runs."""
from __future__ import annotations

from .args import (
    SHARE,
    Output,
    _add_data,
    _add_output,
    _add_zoom_average,
    bounded,
    input_path,
    output_file,
    recipe_run,
)
from .common import _print_report

CV_COMMITTEES = Output(folder=True, writes=("fold_*/config.json",), whole=True,
                       note="; fold committees (fold_K/config.json) in --out are replaced only with it")


def run(args) -> int:
    """Run the report named on the command line (`cv-report REPORT`)."""
    reports = {"pooled": run_pooled, "ensemble": run_ensemble, "audit": run_audit, "committee": run_committee}
    return reports[args.report](args)


def run_pooled(args) -> int:
    """`cv-report pooled`."""
    from ..evaluate.cvreport import pooled_rows
    from ..formatters.training import format_pooled

    rows = pooled_rows(args.files)
    _print_report(format_pooled(rows), rows, args.json)
    return 0


def run_ensemble(args) -> int:
    """`cv-report ensemble`."""
    from ..data.dataset import DataSpec
    from ..evaluate.cvreport import ensemble_rows, fold_logits
    from ..formatters.training import format_ensemble

    runs = [tuple(r.split("=", 1)) if "=" in r else (r, r) for r in args.run]
    rows = ensemble_rows(runs, fold_logits([folder for _, folder in runs], DataSpec(args.data, args.subject_from)))
    _print_report(format_ensemble(rows), rows, args.json)
    return 0


def run_audit(args) -> int:
    """`cv-report audit`."""
    from ..data.dataset import DataSpec
    from ..evaluate.cvreport import audit_rows, contact_sheet, fold_logits
    from ..evaluate.triage import write_csv
    from ..formatters.training import format_audit

    rows, summary = audit_rows(fold_logits(args.run, DataSpec(args.data, args.subject_from)))
    print("\n".join(summary + format_audit(rows)))
    if args.csv:
        write_csv(rows, args.csv)
        print(f"wrote {args.csv} ({len(rows)} rows)")
    if args.sheet:
        every = [r for r in rows if r["runs_wrong"] == r["runs"]][: args.sheet_size]
        contact_sheet(every, args.sheet)
        print(f"wrote {args.sheet} ({len(every)} images)")
    return 0


def run_committee(args) -> int:
    """`cv-report committee`."""
    from ..data.dataset import DataSpec
    from ..formatters.training import cv_run_lines
    from ..train.crossval import cross_validate_committee

    res = cross_validate_committee(args.run, DataSpec(args.data, args.subject_from), args.out, args.grid_step,
                                   args.flip_average, target_risk=args.target_risk, zoom_average=args.zoom_average)
    _print_report(cv_run_lines(res, "committee"), res, args.json)
    return 0


CV_RUN_HELP = ("a `cv --out` folder (fold_1 ... fold_K; repeatable); every run must hold out the same people in each "
               "fold, as `cv --holdout-of` runs with other seeds or recipes do")


def add_runs_report(reports, name: str, helptext: str, run_metavar: str, run_help: str):
    """A cv-report subcommand that scores cv fold checkpoints on their held-out people (--data, --run)."""
    r = reports.add_parser(name, help=helptext, description=helptext)
    _add_data(r, help="the data the folds were made from, to score (e.g. path/to/mrl; repeatable)", metavar="DIR")
    r.add_argument("--run", action="append", type=recipe_run if "=" in run_metavar else input_path, required=True,
                   metavar=run_metavar, help=run_help)
    return r


def add_parser(sub) -> None:
    """`cv-report pooled|ensemble|audit`: analyses of finished cross-validation runs."""
    cr = sub.add_parser("cv-report", help="analyse finished cv runs: pooled out-of-fold accuracy, averaged runs, "
                                          "label audit")
    cr.set_defaults(func=run)
    reports = cr.add_subparsers(dest="report", required=True)
    po = reports.add_parser("pooled", help="out-of-fold accuracy pooled over every tested image, from cv JSON files")
    po.add_argument("files", nargs="+", type=input_path, metavar="CV_JSON",
                    help="files written by `cv --json` (one line per seed of a --repeats file)")
    _add_output(po, "--json", output_file, metavar="FILE", help="also write the rows as JSON to this file")
    ens = add_runs_report(reports, "ensemble", "out-of-fold accuracy of each run and of each recipe's runs with averaged "
                       "logits (does averaging seeds or recipes help?)", "RECIPE=FOLDER",
                       CV_RUN_HELP + "; RECIPE= labels it, and the runs of one label are averaged together")
    _add_output(ens, "--json", output_file, metavar="FILE", help="also write the rows as JSON to this file")
    aud = add_runs_report(reports, "audit", "out-of-fold images the runs get wrong, by how many runs, per person (which "
                       "labels look wrong?)", "FOLDER", CV_RUN_HELP)
    _add_output(aud, "--csv", output_file, metavar="FILE",
                help="write every image at least one run gets wrong, most runs wrong first")
    _add_output(aud, "--sheet", output_file, metavar="PNG",
                help="contact sheet of the images every run gets wrong, worst first")
    aud.add_argument("--sheet-size", type=bounded(int, 1), default=120, metavar="N",
                     help="at most this many images on the sheet (default 120)")
    com = add_runs_report(reports, "committee", "cross-validate a committee of finished cv runs: in every fold, fit the "
                       "committee of the runs' fold checkpoints on that fold's validation people (as `committee` "
                       "does; pass every --data the runs were trained on) and test it on the fold's test people; prints "
                       "and writes what `cv` does",
                       "FOLDER", CV_RUN_HELP + "; also the same --seed (the same validation people)")
    _add_output(com, "--out", CV_COMMITTEES, required=True, help="folder for the fold committees (fold_1 ... fold_K)")
    com.add_argument("--grid-step", type=SHARE, default=0.1, help="step of the weight grid (default 0.1)")
    com.add_argument("--flip-average", action="store_true", help="the fold committees average crop and mirror")
    _add_zoom_average(com, "the fold committees average", 1.0)
    com.add_argument("--target-risk", type=SHARE, default=0.01,
                     help="selective risk of each fold committee's band on its validation people (default 0.01)")
    _add_output(com, "--json", output_file, metavar="FILE",
                help="also write the result (cv --json's shape) to this file")
