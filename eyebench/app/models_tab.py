"""The Models tab: load notices, then each model's size, speed, training curves and model card."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from ..evaluate import plots
from ..models.profile import flops_per_image
from .common import Bench, legend_below


def model_facts(clf) -> str:
    """Parameters, FLOPs per prediction, input size and channels, and the benchmarked batch speed when recorded."""
    flops = flops_per_image(clf)
    views = clf.data_config.views  # flip / zoom averaging: several forward passes per prediction
    speed = (clf.info.get("bench") or {})
    return (f"**parameters** {clf.num_parameters():,} · **FLOPs/prediction** "
            f"{'-' if flops is None else f'{flops * views / 1e6:.2f} M'}"
            + (f" ({views} views)" if views > 1 else "") + " · **input** "
            f"{clf.data_config.input_size}px, {clf.data_config.channels} channel(s)"
            + (f" · **speed** {speed.get('batch_images_per_second', 0):.0f} img/s batch" if speed else ""))


def build_models_tab(bench: Bench):
    """The notices of checkpoints that did not load, then an accordion per loaded model."""
    gr.Markdown("Every loaded model: its size and speed, training curves and model card (how it was trained, "
                "calibrated and tested). Click a model to open it.")
    if bench.notices:
        gr.Markdown("\n".join(f"- ⚠ {n}" for n in bench.notices))
    for name, clf in bench.models.items():
        with gr.Accordion(name if clf.name == name else f"{name} ({clf.name})", open=False):
            gr.Markdown(model_facts(clf))
            hist = Path(clf.checkpoint) / "history.json"
            if hist.exists():
                history = json.loads(hist.read_text())
                if isinstance(history, list) and history:
                    figure = plots.history_figure(history, f"{name}: training curves").update_xaxes(title_text="epoch")
                    gr.Plot(legend_below(figure), label="Training curves (train: solid, validation: dotted)")
            card = Path(clf.checkpoint) / "README.md"
            gr.Markdown(card.read_text() if card.exists() else "(no model card)")
