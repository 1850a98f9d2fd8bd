"""The Models tab: load notices, then each model's size, speed, training curves and model card."""
from __future__ import annotations

import gradio as gr

from .. import workbench
from .common import Bench, legend_below


def model_facts(clf) -> str:
    """Parameters, FLOPs per prediction, input size and channels, and the benchmarked batch speed when recorded."""
    flops = workbench.flops_per_prediction(clf)
    views = clf.data_config.views  # flip / zoom averaging: several forward passes per prediction
    speed = (clf.info.get("bench") or {})
    return (f"**parameters** {clf.num_parameters():,} · **FLOPs/prediction** "
            f"{'-' if flops is None else f'{flops / 1e6:.2f} M'}"
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
            figure = workbench.training_curves(clf, f"{name}: training curves")
            if figure is not None:
                gr.Plot(legend_below(figure), label="Training curves (train: solid, validation: dotted)")
            card = workbench.model_card(clf)
            gr.Markdown("(no model card)" if card is None else card)
