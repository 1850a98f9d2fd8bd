"""The Gradio app as a package: `build_demo(models, notices)` lays out one tab per module and wires the API."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from .. import workbench
from .common import MAX_FILE_SIZE, SAMPLES, Bench
from .evaluate_tab import EvaluateTab
from .models_tab import build_models_tab
from .predict_tab import PredictTab
from .robustness_tab import RobustnessTab
from .threshold_tab import ThresholdTab

__all__ = ["MAX_FILE_SIZE", "build_demo"]
TITLE = "# eyebench · open/closed eye workbench"


def header(models: dict, notices) -> str:
    """The page's title, what it offers, which models loaded and which checkpoints did not."""
    return (f"{TITLE}\nEvery trained model side by side: predictions, where each model looked, test-set evaluation, "
            "uncertain-band tuning and robustness. "
            + (f"Loaded {len(models)} model(s): {', '.join(models)}." if models else "**No model loaded.**")
            + "".join(f"<br>⚠ {n}" for n in notices))


def build_demo(models: dict, notices=(), samples: Path | str = SAMPLES,
               datasets: dict[str, Path] | None = None) -> gr.Blocks:
    """The app for these loaded models (name -> classifier) and load notices, queued and ready to launch.

    `samples` is the folder of sample pictures (the Predict tab's examples and the shipped test set); `datasets`
    the test sets offered by name (default: the sample pictures plus the folders under EYEBENCH_DATA).
    """
    samples = Path(samples)
    bench = Bench(dict(models), list(notices), samples,
                  dict(datasets) if datasets is not None else workbench.dataset_choices(samples))
    with gr.Blocks(title="eyebench", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(header(bench.models, bench.notices))
        state = gr.State({})
        evaluate, band = EvaluateTab(bench), ThresholdTab(bench, state)
        with gr.Tabs():
            with gr.Tab("Predict", id="predict"):
                PredictTab(bench).build()
            with gr.Tab("Evaluate", id="evaluate"):
                evaluate.build()
            with gr.Tab("Threshold", id="threshold"):
                band.build()
            with gr.Tab("Robustness", id="robustness"):
                RobustnessTab(bench).build()
            with gr.Tab("Models", id="models"):
                build_models_tab(bench)
        evaluate.connect(band)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo
