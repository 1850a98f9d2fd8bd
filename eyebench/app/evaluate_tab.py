"""The Evaluate tab: chosen models on a named or uploaded test set; metrics, plots, worst mistakes, downloads."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import gradio as gr
import pandas as pd

from .. import workbench
from ..config import CLASS_NAMES
from ..workbench import MIN_GROUP_N
from .common import (
    OUTPUT_FOLDER,
    Bench,
    jsonable,
    legend_below,
    model_and_data_inputs,
    on_model_threads,
    pct_number,
    png,
)

BOOTSTRAP = 200  # the slider's default: subject-level bootstrap resamples
CI_COLUMN = "95% CI (subjects)"
# the CI column's name when the data's subjects were read from file names that may not be people
CI_COLUMN_DOUBTED = "95% CI (subjects from file names: may not be people)"
TABLE_COLUMNS = ("model", "n", "accuracy %", CI_COLUMN, "closed recall %", "open recall %", "ROC-AUC", "ECE", "AURC",
                 "uncertain %", "worst subject")


def metrics_table(result: workbench.Analysis) -> pd.DataFrame:
    """A row per model: accuracy with its subject-level CI, recalls, ROC-AUC, ECE, AURC, uncertain share and the worst
    subject. The CI column says so when the data's subjects may not be people (`subjects_trusted` False)."""
    ci_column = CI_COLUMN if result.subjects_trusted() else CI_COLUMN_DOUBTED
    rows = []
    for name, r in result.models.items():
        ci = r.bootstrap_accuracy or {}
        rows.append({"model": name, "n": r.n, "accuracy %": pct_number(r.accuracy),
                     ci_column: (f"{100 * ci['low']:.2f}-{100 * ci['high']:.2f}"
                                 if ci.get("low") is not None else "-"),  # why not: in the note above
                     "closed recall %": pct_number(r.recall_closed), "open recall %": pct_number(r.recall_open),
                     "ROC-AUC": None if r.roc_auc is None else round(r.roc_auc, 4), "ECE": round(r.ece, 4),
                     "AURC": round(r.risk_coverage["aurc"], 4),
                     "uncertain %": None if not r.band else pct_number(1 - r.band["coverage"]),
                     "worst subject": worst_subject(r.worst_subject, bool(r.per_subject))})
    return pd.DataFrame(rows)


def worst_subject(worst, any_subject: bool = True, min_n: int = MIN_GROUP_N) -> str | None:
    """The person with the lowest accuracy, that accuracy and their images ("s0024 (92.29%, n=752)"), named only among
    people with at least `min_n` images; "none with n>=20" when nobody has that many; None without subjects."""
    if not worst or worst.get("n", 0) < min_n or worst.get("min_n") == 0:  # nobody has min_n images: none named
        return f"none with n>={min_n}" if worst or any_subject else None
    return f"{worst['subject']} ({100 * worst['accuracy']:.2f}%, n={worst['n']})"


def kept(paths) -> bool:
    """Refresh the ages of output files still shown (the output folder prunes old ones); False when one is gone."""
    try:
        for path in paths:
            os.utime(path)
    except FileNotFoundError:
        return False
    return True


def data_note(result: workbench.Analysis) -> str:
    """Images read and skipped (with the reasons and a few examples), and why a confidence interval is missing."""
    d = result.data
    reasons = "; ".join(f"{reason} ({n})" for reason, n in d["skipped_reasons"].items())
    return (f"**{d['n_read']} images read, {d['n_skipped']} skipped**" + (f": {reasons}" if reasons else "")
            + "".join(f"<br>skipped `{Path(e['path']).name}`: {e['reason']}" for e in d["skipped_examples"])
            + "".join(f"<br>⚠ {w}" for w in d.get("warnings") or []) + result_notes(result))


def result_notes(result: workbench.Analysis) -> str:
    """The notes every evaluation carries: missing confidence intervals, doubted subjects, one class, leaks."""
    ci_notes = sorted({(r.bootstrap_accuracy or {}).get("note") for r in result.models.values()} - {None})
    return ("".join(f"<br>95% CI: {n}" for n in ci_notes) + subject_note(result) + class_note(result.data)
            + leak_note(result))


def subject_note(result) -> str:
    """A warning when the subjects were read from file names that may not be people: the CI and worst subject rest
    on them."""
    if result.subjects_trusted():
        return ""
    return ("<br>⚠ **Subjects read from file names may not be people**: the 95% CI (which resamples subjects) and "
            "the worst subject rest on them.")


def class_note(data) -> str:
    """Why closed or open recall and ROC-AUC are empty, and what else means nothing: the test set lacks a class."""
    per_class = data.get("per_class") or {}
    missing = [c for c in CLASS_NAMES if not per_class.get(c)]
    if not missing or len(missing) == len(CLASS_NAMES):
        return ""
    (gone,), (kept,) = missing, [c for c in CLASS_NAMES if c not in missing]
    return (f"<br>⚠ **One class only: every image is {kept} ({per_class[kept]}).** No {gone}-eye image in this test "
            f"set: {gone} recall, ROC-AUC and the ROC curve are left empty (ROC-AUC needs both classes). Balanced "
            f"accuracy (in evaluation.json) is then only the {kept} recall, and accuracy only says how often {kept} "
            f"eyes are called {kept}: add {gone}-eye images to measure the models.")


def heldout_note(bundle, result) -> str:
    """Where the precomputed numbers come from: which people, how many images, the command that made them."""
    d = result.data
    return (f"**Precomputed held-out results**: {d['n_read']} images of the {bundle.record.n_subjects} test people "
            f"of the shipped checkpoints' split ({', '.join(f'{n} {k}' for k, n in sorted(d['per_source'].items()))})"
            ": no checkpoint saw these people in training, validation or calibration. Made by `python -m eyebench "
            "heldout` (the full command is in results/heldout/README.md); no images are shipped, so 'Most confident "
            "mistakes' needs a live test set." + result_notes(result))


def leak_note(result) -> str:
    """The person-leak guard: for each model, how many images belong to its own training or validation people."""
    return "".join(f"<br>⚠ **{name}**: {r.leak['message']}" for name, r in result.models.items() if r.leak)


def downloads(result, cache) -> list[str]:
    """evaluation.json and predictions.csv (p(closed) per image and model) in a folder of the outputs named by
    their content (a repeated evaluation reuses its files)."""
    out_dir = OUTPUT_FOLDER.new_dir("eval_")
    (out_dir / "evaluation.json").write_text(json.dumps(jsonable(result.to_dict()), indent=1))
    workbench.write_predictions(cache, out_dir / "predictions.csv")
    out_dir = OUTPUT_FOLDER.by_content(out_dir)
    return [str(out_dir / "evaluation.json"), str(out_dir / "predictions.csv")]


METRICS_HELP = (
    "<small>Decisions at p(closed) 0.5. **95% CI**: accuracy's interval from resampling whole people (bootstrap). "
    "**closed / open recall**: share of truly closed / open eyes called so. **ROC-AUC**: 1 = every closed eye "
    "scored above every open one. **ECE**: calibration error (0 = the confidence matches the accuracy). **AURC**: "
    "area under the risk-coverage curve (lower is better). **uncertain %**: images inside the model's stored band. "
    f"**worst subject**: the person with the lowest accuracy (and their images, n) among those with {MIN_GROUP_N}+ "
    "images; none is named when nobody has that many.</small>")


class EvaluateTab:
    """Builds the tab; `evaluate` also fills the session's probability cache and points the Threshold tab at it."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self._heldout: dict = {}
        self._opening: dict | None = None  # what the tab shows as the page opens (see `opening`)
        self._lock = threading.Lock()

    def build(self):
        """Lay out the inputs and result components (wired by `connect`, once the Threshold tab exists)."""
        with gr.Row():
            self.inputs = model_and_data_inputs(
                self.bench, "...or upload a .zip (MRL names, open/closed folders, or manifest.csv)",
                info="the precomputed held-out people, sample_images, or folders under EYEBENCH_DATA")
            self.bootstrap = gr.Slider(0, 2000, value=BOOTSTRAP, step=100,
                                       label="bootstrap resamples (subject-level CI)")
        self.run = gr.Button("Evaluate", variant="primary")
        self.note = gr.Markdown(label="Evaluation notes", show_label=False, elem_id="eval-note")
        self.table = gr.Dataframe(label="Metrics", interactive=False, elem_id="metrics-table",
                                  headers=list(TABLE_COLUMNS))  # not "1 2 3" before the first evaluation
        gr.Markdown(METRICS_HELP, elem_id="metrics-help")
        self.conf = gr.Plot(label="Confusion matrices", elem_id="confusion-plot")
        self.curves = gr.Plot(label="ROC and risk-coverage", elem_id="curves-plot")
        # a numeric height: "auto" keeps Gradio's 450 px minimum, mostly empty for a few small crops
        self.gallery = gr.Gallery(label="Most confident mistakes", columns=6, fit_columns=False, height=280,
                                  visible=False, elem_id="eval-mistakes")
        self.files = gr.File(label="Downloads", file_count="multiple", interactive=False)

    @on_model_threads
    def evaluate(self, models_chosen, choice, zip_file=None, bootstrap=BOOTSTRAP, progress=gr.Progress()) -> dict:
        """Metrics table, confusion matrices, ROC + risk-coverage, worst mistakes, downloads; caches probabilities."""
        if self.bench.precomputed(choice, zip_file):
            chosen, note = self.bench.pick_precomputed(models_chosen)
            result, cache = self.heldout(tuple(chosen), int(bootstrap or 0))
            note = heldout_note(self.bench.heldout, result) + note
            gallery = []
        else:
            chosen = self.bench.pick(models_chosen)
            progress(0.05, desc="reading images")
            with self.bench.dataset(choice, zip_file) as ds:
                progress(0.3, desc="running models")
                result, cache = workbench.evaluate_models(chosen, ds, bootstrap=int(bootstrap or 0))
                progress(0.8, desc="drawing")
                gallery = [(png(crop), caption) for crop, caption in workbench.worst_mistakes(cache, ds)]
            note = data_note(result) + ("" if gallery else "<br>No mistakes at p(closed) 0.5: nothing to show in "
                                                           "'Most confident mistakes'.")
        first = next(iter(chosen))
        low, high = self.bench.stored_band(first)
        band = self.band
        return {**self.shown(note, result, cache), self.gallery: gallery,
                band.state: {"cache": cache, "models": list(chosen)},
                band.model: gr.update(choices=list(chosen), value=first), band.low: low, band.high: high}

    def shown(self, note: str, result: workbench.Analysis, cache: workbench.ProbabilityCache) -> dict:
        """The tab's own results: note, metrics table, confusion matrices, ROC + risk-coverage and downloads."""
        return {self.note: note, self.table: metrics_table(result),
                self.conf: workbench.plots.confusion_grid_figure(result),
                self.curves: legend_below(workbench.plots.roc_risk_coverage_figure(cache.labels, cache.p_closed,
                                                                         cache.risk_coverage)),
                self.files: downloads(result, cache)}

    def opening(self) -> dict:
        """What the tab shows as the page opens, before any click: the precomputed results for the default choice
        (every model, the held-out people, BOOTSTRAP resamples), as Evaluate shows them. Made once from the stored
        p(closed) (no image read, no model run) and handed to every visitor; remade only when the output folder
        has pruned its download files."""
        with self._lock:
            if self._opening is None or not kept(self._opening[self.files]):
                chosen, stale = self.bench.pick_precomputed(list(self.bench.models))
                result, cache = self.heldout(tuple(chosen), BOOTSTRAP)
                self._opening = self.shown(heldout_note(self.bench.heldout, result) + stale, result, cache)
            return self._opening

    def heldout(self, names: tuple, bootstrap: int) -> tuple[workbench.Analysis, workbench.ProbabilityCache]:
        """The analysis of the bundle for these models, computed once per choice (the bundle never changes)."""
        key = (names, bootstrap)
        if key not in self._heldout:
            if len(self._heldout) >= 16:
                self._heldout.clear()
            self._heldout[key] = workbench.heldout_evaluation(
                self.bench.heldout, {n: self.bench.models[n] for n in names}, bootstrap)
        return self._heldout[key]

    def connect(self, band):
        """Wire Evaluate: its results, the session cache and the Threshold tab's model and band, then its statistics."""
        self.band = band
        outputs = [self.note, self.table, self.conf, self.curves, self.gallery, self.files,
                   band.state, band.model, band.low, band.high]  # the API answers in this order (no state)
        done = self.run.click(self.evaluate, [*self.inputs, self.bootstrap], outputs, api_name="evaluate")
        done.success(band.threshold, band.inputs, band.outputs, api_name=False, show_progress="hidden")
        # an empty gallery is hidden (the note says why: precomputed results hold no images, or no mistake)
        done.success(lambda shown: gr.Gallery(visible=bool(shown)), self.gallery, self.gallery, api_name=False,
                     show_progress="hidden")

    def load(self, demo: gr.Blocks):
        """Fill the tab as the page opens with the precomputed results (when the app has models in them)."""
        if self.bench.heldout is not None and self.bench.fresh:
            demo.load(self.opening, None, [self.note, self.table, self.conf, self.curves, self.files],
                      api_name=False, show_progress="hidden")
