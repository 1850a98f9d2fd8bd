"""The Robustness tab: metrics per data subset and accuracy under perturbation sweeps for the chosen models."""
from __future__ import annotations

import threading

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from .. import workbench
from ..config import QUICK_SWEEP_IMAGES
from .common import (
    Bench,
    legend_below,
    model_and_data_inputs,
    on_model_threads,
    pct_number,
)

# the shares, shown as percentages under the names the Evaluate and Threshold tabs use
SHARES = {"accuracy": "accuracy %", "recall_closed": "closed recall %", "recall_open": "open recall %",
          "rejection_rate": "rejected %", "selective_risk": "selective risk %"}
COUNTS = {"n_open": "n open", "n_closed": "n closed"}


def subset_table(rows: list[dict]) -> pd.DataFrame:
    """The subset rows with their shares as rounded percentages, under readable column names."""
    return pd.DataFrame([{SHARES.get(k, COUNTS.get(k, k)): (pct_number(v) if k in SHARES else v) for k, v in r.items()}
                         for r in rows])


class RobustnessTab:
    """Builds the tab and answers the `robustness` endpoint with an update per component."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self._opening: dict | None = None  # what the tab shows as the page opens (see `opening`)
        self._lock = threading.Lock()

    @on_model_threads
    def robustness(self, models_chosen, choice, zip_file=None, sweep_images=QUICK_SWEEP_IMAGES,
                   progress=gr.Progress()) -> dict:
        """Subset table + bar chart and perturbation sweep curves for the chosen models."""
        if self.bench.precomputed(choice, zip_file):
            return self.precomputed(models_chosen)
        chosen = self.bench.pick(models_chosen)
        progress(0.05, desc="reading images")
        with self.bench.dataset(choice, zip_file) as ds:
            rows, sweeps = workbench.robustness_analysis(
                chosen, ds, int(sweep_images), progress=lambda fraction, text: progress(0.1 + 0.9 * fraction, desc=text))
        return self.shown(rows, sweeps, f"{sweeps.n} images per level")

    def precomputed(self, models_chosen) -> dict:
        """The tab's outputs for the held-out bundle: its subsets and stored sweeps (no image read, no model run)."""
        chosen, stale = self.bench.pick_precomputed(models_chosen)
        rows, sweeps = workbench.heldout_robustness(self.bench.heldout, chosen)
        where = f"stored sweeps on {sweeps.n} held-out images per level (made when the bundle was)"
        return self.shown(rows, sweeps, where, stale)

    def shown(self, rows: list[dict], sweeps: workbench.SweepResults, where: str, stale: str = "") -> dict:
        """Note, subset table, closed recall per subset, sweep curves and the raw numbers of one analysis."""
        return {self.note: f"{workbench.ANGLE_NOTE} Sweeps: {where}.{stale}",
                self.table: subset_table(rows),
                self.bars: legend_below(workbench.plots.subset_figure(rows, "recall_closed").update_yaxes(
                    title_text="closed recall")) if rows else go.Figure(),
                self.sweeps: legend_below(workbench.plots.sweep_grid_figure(sweeps).update_yaxes(title_text="accuracy", col=1)),
                self.raw: {"subsets": rows, "sweeps": sweeps.to_dict()}}

    def opening(self) -> dict:
        """What the tab shows as the page opens, before any click: the precomputed results of every model they hold
        (made once from the bundle and handed to every visitor)."""
        with self._lock:
            if self._opening is None:
                self._opening = self.precomputed(list(self.bench.models))
            return self._opening

    def build(self):
        """Lay out the tab and wire Run robustness."""
        gr.Markdown("Each model's metrics per data **subset** (from the data's metadata: MRL names give glasses, "
                    "reflections, lighting, sensor, gender; a manifest's extra columns such as `angle`), and its "
                    "accuracy as each **perturbation** (blur, noise, rotation...) grows. Subset shares use the model's "
                    "stored band.")
        with gr.Row():
            inputs = model_and_data_inputs(self.bench, "...or upload a .zip (MRL names, open/closed folders, or "
                                                       "manifest.csv)")
            stored = self.bench.heldout and self.bench.heldout.record.sweeps.n
            n = gr.Slider(20, 2000, value=QUICK_SWEEP_IMAGES, step=10, label="images per sweep level",
                          info="for a live test set" + (f" (the precomputed sweeps are stored, {stored} images per "
                                                        "level)" if stored else ""))
        run = gr.Button("Run robustness", variant="primary")
        self.note = gr.Markdown(label="Robustness notes", show_label=False, elem_id="robustness-note")
        self.table = gr.Dataframe(label="Subsets", interactive=False, elem_id="robustness-table",
                                  headers=["model", "factor", "value", "n"])  # not "1 2 3" before the first run
        self.bars = gr.Plot(label="Closed recall per subset", elem_id="robustness-bars")
        self.sweeps = gr.Plot(label="Sweeps", elem_id="robustness-sweeps")
        self.raw = gr.JSON(label="Subsets and sweeps (numbers)", visible=False)
        self.outputs = [self.note, self.table, self.bars, self.sweeps, self.raw]  # the API answers in this order
        run.click(self.robustness, [*inputs, n], self.outputs, api_name="robustness")

    def load(self, demo: gr.Blocks):
        """Fill the tab as the page opens with the precomputed results (when the app has models in them)."""
        if self.bench.heldout is not None and self.bench.fresh:
            demo.load(self.opening, None, self.outputs, api_name=False, show_progress="hidden")
