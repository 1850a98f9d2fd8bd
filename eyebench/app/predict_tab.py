"""The Predict tab: one picture (upload, webcam, clipboard or sample), every model's label and map per eye."""
from __future__ import annotations

import math

import gradio as gr

from .. import workbench
from .common import Bench, SafeImage, on_model_threads, png, read_image, reported

MAX_PER_ROW = 4  # model columns in one row


def model_outputs(res: workbench.PictureResult, name: str) -> tuple[list, str]:
    """One model's map gallery (a captioned picture per eye) and its label text (a line per eye)."""
    items, lines = [], []
    for eye, answer in res.answers_of(name):
        label, decision = eye.label(res.several_faces), answer.decision.text.upper()
        items.append((png(answer.map), f"{label}: {decision}"))  # short, so it fits under a small map
        lines.append(f"{label}: **{decision}** · p(closed) {answer.p_closed:.3f} · {answer.ms:.0f} ms")
    return items, "<br>".join(lines) or "no eye classified"


def message_text(res: workbench.PictureResult) -> str:
    """The search's message, then a line per face (head pose, eye aspect ratio)."""
    return "<br>".join([res.message, *res.face_lines])


class PredictTab:
    """Builds the tab's components and answers the `predict` endpoint with an update per component."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self.galleries: dict[str, gr.Gallery] = {}
        self.labels: dict[str, gr.Markdown] = {}

    @on_model_threads
    def predict(self, image_path, whole_image=False) -> dict:
        """One picture -> annotated picture, message, JSON (per eye, per model), a map gallery and a label per model."""
        rgb = read_image(image_path)
        with reported():
            res = workbench.predict_picture(self.bench.models, rgb, whole_image=bool(whole_image))
        updates = {self.annotated: png(res.annotated), self.message: message_text(res), self.details: res.to_dict()}
        for name in self.bench.models:
            updates[self.galleries[name]], updates[self.labels[name]] = model_outputs(res, name)
        return updates

    def _model_columns(self):
        """A column per model (name, stored band, label, maps) in balanced rows of at most MAX_PER_ROW models."""
        items = list(self.bench.models.items())
        per_row = max(1, math.ceil(len(items) / max(1, math.ceil(len(items) / MAX_PER_ROW))))  # 1 with no model
        for start in range(0, len(items), per_row):
            with gr.Row(equal_height=True):
                for i, (name, clf) in enumerate(items[start:start + per_row], start):
                    with gr.Column(min_width=200):
                        band = clf.uncertain_band
                        gr.Markdown(f"**{name}**<br><small>band "
                                    f"{'-' if not band else f'[{band[0]:.3f}, {band[1]:.3f}]'}</small>")
                        self.labels[name] = gr.Markdown(label=f"{name} answer per eye", show_label=False,
                                                      elem_id=f"model-result-{i}")
                        self.galleries[name] = gr.Gallery(label=f"{name} maps", columns=2, fit_columns=False,
                                                          height=240, object_fit="contain", elem_id=f"model-maps-{i}")
                for _ in range(per_row - len(items[start:start + per_row])):  # the last row's columns keep their width
                    with gr.Column(min_width=200):
                        pass

    def build(self):
        """Lay out the tab and wire the Classify button, uploads and sample clicks to `predict`."""
        with gr.Row():
            with gr.Column(scale=1):
                image = SafeImage(sources=["upload", "webcam", "clipboard"], type="filepath", image_mode=None,
                                  label="Eye crop or face picture", height=320, elem_id="predict-image")
                whole = gr.Checkbox(label="treat the whole image as one eye crop (skip eye detection)")
                run = gr.Button("Classify", variant="primary")
                examples = sorted(str(p) for p in self.bench.samples.glob("*") if p.suffix.lower() in (".png", ".jpg"))
                samples = gr.Examples(examples=examples, inputs=image, api_name="load_example",
                                      label="Sample images (made by eyebench; see sample_images/): click one to "
                                            "classify it")
            with gr.Column(scale=1):
                self.annotated = gr.Image(label="Detections", interactive=False, height=320, elem_id="detections")
                self.message = gr.Markdown(label="Eye search and faces", show_label=False, elem_id="predict-message")
        gr.Markdown("**Each model's answer per eye**: OPEN when p(closed) is below the model's band, CLOSED above "
                    "it, UNCERTAIN inside it; ms = time to classify and draw the map. The maps show where the model "
                    "looked (red: the strongest evidence for its answer). Faces are found with MediaPipe's face "
                    "detector and landmarks (boxes in yellow, with head pose); the eye aspect ratio below the picture "
                    "is the landmark baseline of blink research.", elem_id="predict-help")
        self._model_columns()
        self.details = gr.JSON(label="All results (per eye, per model)")
        # the API answers in this order: the galleries first, so their positions do not depend on the labels
        outputs = [self.annotated, self.message, self.details, *self.galleries.values(), *self.labels.values()]
        run.click(self.predict, [image, whole], outputs, api_name="predict")
        image.upload(self.predict, [image, whole], outputs, api_name=False)  # also a webcam picture or a pasted image
        samples.load_input_event.then(self.predict, [image, whole], outputs, api_name=False)
