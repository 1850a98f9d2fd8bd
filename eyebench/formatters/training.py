"""The text `cv`, `cv-report` and `summary` print: cross-validation runs, their reports, verified checkpoints."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..config import pct


def cv_lines(res: dict) -> list[str]:
    """What `cv` prints: the people left out (--holdout-of), each seed's run, and with several seeds their spread."""
    runs = res.get("runs") or [res]
    lines = []
    if runs[0]["left_out_subjects"]:
        lines.append(f"left out the {len(runs[0]['left_out_subjects'])} test subjects of {runs[0]['holdout_of']}")
    for run in runs:
        lines += cv_run_lines(run, f"seed {run['seed']}")
    if len(runs) > 1:
        lines.append(f"mean over {len(runs)} seeds: {100 * res['accuracy_mean']:.2f}% (per seed: "
                     + ", ".join(f"{100 * a:.2f}%" for a in res["accuracy_per_seed"])
                     + f"; spread between seeds {100 * res['accuracy_seed_std']:.2f} points sd): a recipe should beat "
                     "another by more than that spread")
        lines.append(f"people-balanced accuracy, mean over {len(runs)} seeds: "
                     f"{pct(res['people_balanced_accuracy_mean'])}")
    return lines


def cv_run_lines(run: dict, label: str) -> list[str]:
    """The lines of one cross-validation run (a `cv` seed, or a committee of runs): each fold, then all folds."""
    from ..evaluate.report import MIN_GROUP_N

    lines = []
    for f in run["folds"]:
        lines.append(f"{label} fold {f['fold']}: accuracy {100 * f['accuracy']:.2f}%  "
                     f"closed recall {100 * f['recall_closed']:.2f}%  n={f['n']}"
                     + ("  weights " + ", ".join(f"{m} {w:.2f}" for m, w in f["weights"].items())
                        if "weights" in f else ""))
        lines += ["    " + line for line in view_lines(f)]
    ws, worst = run["worst_subject"], run["worst_fold"]
    lines.append(f"{label}: accuracy {100 * run['accuracy_mean']:.2f}% +- {100 * run['accuracy_std']:.2f} "
                 f"over {run['k']} folds; worst fold {worst['fold']} ({100 * worst['accuracy']:.2f}%); worst subject "
                 + (f"(of those with n>={ws['min_n']}) {ws['subject']} ({100 * ws['accuracy']:.2f}%, n={ws['n']})"
                    if ws else f"none: no subject has {MIN_GROUP_N} images"))
    return lines + [f"{label}, all folds: " + line for line in view_lines(run)]


def view_lines(row: dict) -> list[str]:
    """What a fold row (or a whole run) adds to the accuracy line: the people-balanced accuracy (per source when
    there are several), the glasses x reflections cells (accuracy, then of the open and the closed eyes), and the
    accuracies without and with flip averaging."""
    views = row["views"]
    own = views[views["as_trained"]]
    by_source = own["people_balanced_by_source"]
    lines = [f"people-balanced accuracy {pct(row['people_balanced_accuracy'])} over {own['n_people']} people"
             + (" (" + ", ".join(f"{s} {pct(a)}" for s, a in by_source.items()) + ")" if len(by_source) > 1 else "")]
    if row["glasses_reflections"]:
        lines.append("glasses x reflections, accuracy all/open/closed (n): " + "; ".join(
            f"{key.replace('glasses=', 'g=').replace('reflections=', 'r=')} {pct(c['accuracy'], 1, False)}/"
            f"{pct(c['accuracy_open'], 1, False)}/{pct(c['accuracy_closed'], 1, False)} ({c['n']})"
            for key, c in row["glasses_reflections"].items()))
    if row.get("band"):
        band = row["band"]
        lines.append(f"stored band answers {pct(band['coverage'])} of the test images with accuracy "
                     f"{pct(band['accuracy_answered'])} on those")
    plain, flip = views["no flip"], views["flip"]
    lines.append(f"flip averaging (the checkpoint: {'on' if views['as_trained'] == 'flip' else 'off'}): accuracy "
                 f"{pct(plain['accuracy'])} without, "
                 f"{pct(flip['accuracy'])} with; people-balanced {pct(plain['people_balanced_accuracy'])} without, "
                 f"{pct(flip['people_balanced_accuracy'])} with")
    return lines


def format_pooled(rows: list[dict]) -> list[str]:
    """`cv-report pooled`: a line per cv file (per seed of a --repeats file)."""
    lines = []
    for r in rows:
        line = (f"{r['file']}" + (f" (seed {r['seed']})" if r["seed"] is not None else "")
                + f": pooled out-of-fold accuracy {pct(r['pooled_accuracy'])} over {r['n']} images "
                f"({r['k']} folds; mean of the folds {pct(r['mean_fold_accuracy'])})")
        if "people_balanced_accuracy" in r:
            sources = ", ".join(f"{k} {pct(v)}" for k, v in sorted(r["people_balanced_by_source"].items()))
            line += (f"; people-balanced {pct(r['people_balanced_accuracy'])}" + (f" ({sources})" if sources else "")
                     + f"; open eyes behind glasses with reflections {pct(r['accuracy_open_glasses_reflections'])} "
                     f"(n={r['n_open_glasses_reflections']})")
        lines.append(line)
    return lines


def format_ensemble(rows: list[dict]) -> list[str]:
    """`cv-report ensemble`: out-of-fold accuracy of each run and of each recipe's averaged runs."""
    return [f"out-of-fold accuracy on {rows[0]['n'] if rows else 0} images:"] + [
        f"  {r['name']:40s} {pct(r['accuracy'])}" for r in rows]


def format_audit(rows: list[dict]) -> list[str]:
    """The images every run gets wrong, counted by person and label (and by MRL glasses / reflections / sensor)."""
    every = [r for r in rows if r["runs_wrong"] == r["runs"]]
    lines = [f"wrong for every run: {len(every)} images; by person and label: " + ", ".join(
        f"{s} {lab} {n}" for (s, lab), n in Counter((r["subject"], r["label"]) for r in every).most_common(10))]
    keys = [k for k in ("glasses", "reflections", "sensor") if every and k in every[0]]
    if keys:  # MRL names carry these
        lines.append(f"by {' / '.join(keys)}: " + ", ".join(
            f"{' / '.join(v)} {n}" for v, n in Counter(tuple(str(r[k]) for k in keys) for r in every).most_common(8)))
    return lines


def summary_lines(verified: list[str], hashes: list[str]) -> list[str]:
    """What `summary` prints of the verified checkpoints: the results and model tables, then their weight hashes."""
    from ..models.summary import model_table, results_table

    return [results_table(verified), "", model_table(verified),
            "\nweights verified (model.safetensors loads and matches its config.json; sha256): "
            + ", ".join(f"{Path(d).name} {h[:12]}" for d, h in zip(verified, hashes))]
