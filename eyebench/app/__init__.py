"""The Gradio app as a package: `build_demo(models, notices)` lays out one tab per module and wires the API."""
from __future__ import annotations

import sys
from pathlib import Path

import gradio as gr

from .. import workbench
from .common import (
    MAX_FILE_SIZE,
    PRECOMPUTED,
    SAMPLES,
    Bench,
    Shared,
    limit_malloc_arenas,
)
from .evaluate_tab import EvaluateTab
from .models_tab import build_models_tab
from .predict_tab import PredictTab
from .review_tab import build_review_tab
from .robustness_tab import RobustnessTab
from .threshold_tab import ThresholdTab
from .video_tab import build_video_tab

__all__ = ["MAX_FILE_SIZE", "SESSIONS", "build_demo"]
# sessions whose state and last outputs Gradio keeps (launch's state_session_capacity): each visitor's session holds
# about 0.4 MB (its last plots and tables), and Gradio's default of 10,000 let a long-running server grow by ~4 GB
SESSIONS = 500
TITLE = "# eyebench · open/closed eye workbench"


def header(models: dict, notices) -> str:
    """The page's title, what it offers, which models loaded and which checkpoints did not."""
    return (f"{TITLE}\nEvery trained model side by side: predictions, where each model looked, test-set evaluation, "
            "uncertain-band tuning and robustness. "
            + (f"Loaded {len(models)} model(s): {', '.join(models)}." if models else "**No model loaded.**")
            + "".join(f"<br>⚠ {n}" for n in notices))


def announce(notices) -> None:
    """Each notice shown at the top of the page (a checkpoint skipped, a model missing from the precomputed results)
    also in the server log."""
    for notice in notices:
        print(f"eyebench: {notice}", file=sys.stderr)


def open_heldout(bench: Bench, folder) -> None:
    """Offer the held-out bundle first when one is given and readable; note the models it does not cover."""
    bundle, problem = workbench.read_heldout(folder)
    if bundle is None:
        bench.notices += [problem] if problem else []
        return
    bench.heldout = bundle
    bench.fresh = [n for n, clf in bench.models.items() if bundle.matches(n, clf.checkpoint)]
    bench.notices += [f"{n}: not in the precomputed results (re-run `python -m eyebench heldout`)"
                      for n in bench.models if n not in bench.fresh]
    bench.datasets = {PRECOMPUTED: Path(folder), **bench.datasets}


def heldout_state(bench: Bench) -> dict:
    """The session state every visitor starts with: the bundle's probabilities, so Threshold works at once (one
    copy shared by all sessions)."""
    if bench.heldout is None or not bench.fresh:
        return {}
    return Shared(cache=workbench.heldout_cache(bench.heldout, bench.fresh), models=list(bench.fresh))


def build_demo(models: dict, notices=(), samples: Path | str = SAMPLES,
               datasets: dict[str, Path] | None = None, heldout: Path | str | None = None) -> gr.Blocks:
    """The app for these loaded models (name -> classifier) and load notices, queued and ready to launch.

    `samples` is the folder of sample pictures (the Predict tab's examples and the shipped test set); `datasets`
    the test sets offered by name (default: the sample pictures plus the folders under EYEBENCH_DATA); `heldout`
    a held-out results bundle (`python -m eyebench heldout`) that Evaluate, Threshold and Robustness open on.
    """
    limit_malloc_arenas()  # before the server's threads allocate
    samples = Path(samples)
    bench = Bench(dict(models), list(notices), samples,
                  dict(datasets) if datasets is not None else workbench.dataset_choices(samples))
    open_heldout(bench, heldout)
    notice = workbench.finder_notice()
    if notice:  # LiteRT cannot run here: say so on the page (announce puts it in the server log too)
        bench.notices.append(notice)
    announce(bench.notices)
    with gr.Blocks(title="eyebench", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(header(bench.models, bench.notices))
        state = gr.State(heldout_state(bench))
        evaluate, band, robustness = EvaluateTab(bench), ThresholdTab(bench, state), RobustnessTab(bench)
        with gr.Tabs():
            with gr.Tab("Predict", id="predict"):
                PredictTab(bench).build()
            with gr.Tab("Evaluate", id="evaluate"):
                evaluate.build()
            with gr.Tab("Threshold", id="threshold"):
                band.build()
            with gr.Tab("Robustness", id="robustness"):
                robustness.build()
            build_video_tab(bench)
            build_review_tab(bench, demo)
            with gr.Tab("Models", id="models"):
                build_models_tab(bench)
        evaluate.connect(band)
        if bench.heldout is not None:  # Evaluate, Threshold and Robustness show the bundle as soon as the page opens
            demo.load(band.threshold_live, band.inputs, band.outputs, api_name=False, show_progress="hidden")
            evaluate.load(demo)
            robustness.load(demo)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo
