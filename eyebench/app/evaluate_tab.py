"""The Evaluate tab: chosen models on a named or uploaded test set; metrics, plots, worst mistakes, downloads."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from .. import workbench
from ..config import CLASS_NAMES, CLOSED
from ..data.dataset import load_images
from ..evaluate import plots
from ..evaluate.triage import write_csv
from .common import (OUTPUT_FOLDER, Bench, jsonable, legend_below, model_and_data_inputs, on_model_threads, pct_number,
                     png)


def metrics_table(result) -> pd.DataFrame:
    """A row per model: accuracy with its subject-level CI, recalls, ROC-AUC, ECE, AURC, uncertain share."""
    rows = []
    for name, r in result["models"].items():
        ci = r.get("bootstrap_accuracy") or {}
        rows.append({"model": name, "n": r["n"], "accuracy %": pct_number(r["accuracy"]),
                     "95% CI (subjects)": (f"{100 * ci['low']:.2f}-{100 * ci['high']:.2f}"
                                           if ci.get("low") is not None else "-"),  # why not: in the note above
                     "closed recall %": pct_number(r["recall_closed"]), "open recall %": pct_number(r["recall_open"]),
                     "ROC-AUC": None if r["roc_auc"] is None else round(r["roc_auc"], 4), "ECE": round(r["ece"], 4),
                     "AURC": round(r["risk_coverage"]["aurc"], 4),
                     "uncertain %": None if not r.get("band") else pct_number(1 - r["band"]["coverage"]),
                     "worst subject": worst_subject(r.get("worst_subject"))})
    return pd.DataFrame(rows)


def worst_subject(worst) -> str | None:
    """The person with the lowest accuracy and that accuracy ("s0024 (92.29%)"), or None when none is named."""
    return None if not worst else f"{worst['subject']} ({100 * worst['accuracy']:.2f}%)"


def worst_mistakes(cache, ds, k: int = 12) -> list:
    """The most confident mistakes over all chosen models, with the crop and a caption."""
    rows = []
    for name, p in cache["proba"].items():
        wrong = (p >= 0.5) != (cache["y"] == CLOSED)
        rows += [(max(p[i], 1 - p[i]), i, name) for i in np.flatnonzero(wrong)]
    rows = sorted(rows, reverse=True)[:k]
    if not rows:
        return []
    by_path = {s.path: n for n, s in enumerate(ds.samples)}
    idx = sorted({i for _, i, _ in rows})
    images, _ = load_images(ds.subset([by_path[cache["paths"][i]] for i in idx]), 96, 3, progress=False)
    crops = dict(zip(idx, images))
    return [(png(crops[i]), f"{name}: true {CLASS_NAMES[cache['y'][i]]}, p(closed)={cache['proba'][name][i]:.2f}")
            for _, i, name in rows]


def data_note(result) -> str:
    """Images read and skipped (with the reasons and a few examples), and why a confidence interval is missing."""
    d = result["data"]
    reasons = "; ".join(f"{reason} ({n})" for reason, n in d["skipped_reasons"].items())
    ci_notes = sorted({(r.get("bootstrap_accuracy") or {}).get("note") for r in result["models"].values()} - {None})
    return (f"**{d['n_read']} images read, {d['n_skipped']} skipped**" + (f": {reasons}" if reasons else "")
            + "".join(f"<br>skipped `{Path(e['path']).name}`: {e['reason']}" for e in d["skipped_examples"])
            + "".join(f"<br>95% CI: {n}" for n in ci_notes) + class_note(d) + leak_note(result))


def class_note(data) -> str:
    """Why closed or open recall and ROC-AUC are empty: the test set lacks one of the two classes."""
    missing = [c for c in CLASS_NAMES if not data["per_class"].get(c)]
    return "".join(f"<br>⚠ No {c}-eye image in this test set: {c} recall, ROC-AUC and the ROC curve are left "
                   "empty (ROC-AUC needs both classes)." for c in missing)


def heldout_note(bundle, result) -> str:
    """Where the precomputed numbers come from: which people, how many images, the command that made them."""
    d, s = result["data"], bundle.summary
    return (f"**Precomputed held-out results**: {d['n_read']} images of the {s['split']['n_subjects']} test people "
            f"of the shipped checkpoints' split ({', '.join(f'{n} {k}' for k, n in sorted(d['per_source'].items()))})"
            ": no checkpoint saw these people in training, validation or calibration. Made by `python -m eyebench "
            "heldout` (the full command is in results/heldout/README.md); no images are shipped, so 'Most confident "
            "mistakes' needs a live test set.")


def leak_note(result) -> str:
    """The person-leak guard: for each model, how many images belong to its own training or validation people."""
    return "".join(f"<br>⚠ **{name}**: {r['leak']['message']}" for name, r in result["models"].items()
                   if r.get("leak"))


def downloads(result, cache) -> list[str]:
    """evaluation.json and predictions.csv (p(closed) per image and model) in a folder of the outputs named by
    their content (a repeated evaluation reuses its files)."""
    out_dir = OUTPUT_FOLDER.new_dir("eval_")
    (out_dir / "evaluation.json").write_text(json.dumps(jsonable(result), indent=1))
    rows = [{"path": Path(p).name, "subject": s, "label": CLASS_NAMES[y],
             **{f"p_closed[{m}]": round(float(cache["proba"][m][i]), 6) for m in cache["proba"]}}
            for i, (p, s, y) in enumerate(zip(cache["paths"], cache["subjects"], cache["y"]))]
    write_csv(rows, out_dir / "predictions.csv")
    out_dir = OUTPUT_FOLDER.by_content(out_dir)
    return [str(out_dir / "evaluation.json"), str(out_dir / "predictions.csv")]


METRICS_HELP = (
    "<small>Decisions at p(closed) 0.5. **95% CI**: accuracy's interval from resampling whole people (bootstrap). "
    "**closed / open recall**: share of truly closed / open eyes called so. **ROC-AUC**: 1 = every closed eye "
    "scored above every open one. **ECE**: calibration error (0 = the confidence matches the accuracy). **AURC**: "
    "area under the risk-coverage curve (lower is better). **uncertain %**: images inside the model's stored band. "
    "**worst subject**: the person with the lowest accuracy among those with 20+ images (among everyone when nobody "
    "has 20).</small>")


class EvaluateTab:
    """Builds the tab; `evaluate` also fills the session's probability cache and points the Threshold tab at it."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self._heldout: dict = {}

    def build(self):
        """Lay out the inputs and result components (wired by `connect`, once the Threshold tab exists)."""
        with gr.Row():
            self.inputs = model_and_data_inputs(
                self.bench, "...or upload a .zip (MRL names, open/closed folders, or manifest.csv)",
                info="the precomputed held-out people, sample_images, or folders under EYEBENCH_DATA")
            self.bootstrap = gr.Slider(0, 2000, value=200, step=100, label="bootstrap resamples (subject-level CI)")
        self.run = gr.Button("Evaluate", variant="primary")
        self.note = gr.Markdown(elem_id="eval-note")
        self.table = gr.Dataframe(label="Metrics", interactive=False, elem_id="metrics-table")
        gr.Markdown(METRICS_HELP, elem_id="metrics-help")
        self.conf = gr.Plot(label="Confusion matrices", elem_id="confusion-plot")
        self.curves = gr.Plot(label="ROC and risk-coverage")
        # a numeric height: "auto" keeps Gradio's 450 px minimum, mostly empty for a few small crops
        self.gallery = gr.Gallery(label="Most confident mistakes", columns=6, fit_columns=False, height=280,
                                  visible=False, elem_id="eval-mistakes")
        self.files = gr.File(label="Downloads", file_count="multiple", interactive=False)

    @on_model_threads
    def evaluate(self, models_chosen, choice, zip_file, bootstrap=200, progress=gr.Progress()) -> dict:
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
                gallery = worst_mistakes(cache, ds)
            note = data_note(result) + ("" if gallery else "<br>No mistakes at p(closed) 0.5: nothing to show in "
                                                           "'Most confident mistakes'.")
        first = next(iter(chosen))
        low, high = self.bench.stored_band(first)
        band = self.band
        return {self.note: note, self.table: metrics_table(result),
                self.conf: plots.confusion_grid_figure(result),
                self.curves: legend_below(plots.roc_risk_coverage_figure(cache["y"], cache["proba"],
                                                                         cache["risk_coverage"])),
                self.gallery: gallery, self.files: downloads(result, cache),
                band.state: {"cache": cache, "models": list(chosen)},
                band.model: gr.update(choices=list(chosen), value=first), band.low: low, band.high: high}

    def heldout(self, names: tuple, bootstrap: int) -> tuple[dict, dict]:
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
