"""The Predict tab: one picture (upload, webcam, clipboard or sample), every model's label and map per eye."""
from __future__ import annotations

import math

import gradio as gr

from .. import workbench
from .common import Bench, SafeImage, on_model_threads, png, read_image, reported

MAX_PER_ROW = 4  # model columns in one row


def eye_summary(eye: dict) -> dict:
    """One eye of a prediction for the JSON output: side, box and each model's label, probabilities, band, time."""
    return {"face": eye["face"], "side": eye["side"], "box": eye["box"],
            "eye_aspect_ratio": {"opening": None if eye["eyelid_opening"] is None else round(eye["eyelid_opening"], 3),
                                 "label": eye["eye_aspect_ratio"]}, "models": {r["model"]: {
        "label": r["decision"], "p_open": round(r["p_open"], 4), "p_closed": round(r["p_closed"], 4),
        "band": r["band"], "ms": round(r["ms_predict"] + r["ms_map"], 1)} for r in eye["results"]}}


def model_outputs(res: dict, name: str) -> tuple[list, str]:
    """One model's map gallery (a captioned picture per eye) and its label text (a line per eye)."""
    items, lines = [], []
    several = len({e["face"] for e in res["eyes"]}) > 1
    for e in res["eyes"]:
        r = next(r for r in e["results"] if r["model"] == name)
        ms = r["ms_predict"] + r["ms_map"]
        eye = eye_name(e, several)
        caption = f"{eye}: {r['decision'].upper()}"  # short, so it fits under a small map; details in the text
        items.append((png(r["map"]), caption))
        lines.append(f"{eye}: **{r['decision'].upper()}** · p(closed) {r['p_closed']:.3f} · {ms:.0f} ms")
    return items, "<br>".join(lines) or "no eye classified"


def eye_name(eye: dict, several_faces: bool) -> str:
    """'right' or, with several faces in the picture, 'face 2 right'."""
    return f"face {eye['face'] + 1} {eye['side']}" if several_faces else eye["side"]


def message_text(res: dict) -> str:
    """The search's message, then a line per face (head pose, eye aspect ratio)."""
    return "<br>".join([res["message"], *res["face_lines"]])


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
        updates = {self.annotated: png(res["annotated"]), self.message: message_text(res),
                   self.details: {"message": res["message"], "faces": res["faces"],
                                  "eyes": [eye_summary(e) for e in res["eyes"]]}}
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
