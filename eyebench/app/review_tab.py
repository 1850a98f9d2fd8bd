"""The Review tab: the images the models doubt most, one at a time, relabelled by keyboard, exported as a manifest."""
from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import numpy as np

from .. import workbench
from .common import OUTPUT_FOLDER, PRECOMPUTED, Bench, on_model_threads, png

MAX_IMAGES = 3000  # a live review audits at most this many images (the first ones of the set)
GALLERY = 40  # thumbnails of the most doubted images
KEYS = {"o": "review-open", "c": "review-closed", "x": "review-exclude", "u": "review-unsure",
        "ArrowLeft": "review-prev", "ArrowRight": "review-next", "z": "review-undo"}
# one key press clicks the matching button while the Review tab is on screen and no text field has the focus
KEYBOARD_JS = """() => {
  const keys = %s;
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) || (e.target && e.target.isContentEditable)) return;
    const id = keys[e.key];
    const button = id && document.getElementById(id);
    if (!button || button.offsetParent === null) return;
    e.preventDefault();
    button.click();
  });
}""" % str(KEYS).replace("'", '"')
INTRO = ("Review the labels of a test set: the images the models doubt most come first (the mean probability they give "
         "to the other class; see `python -m eyebench audit --help`). Keys: **o** open, **c** closed, **x** exclude, "
         "**u** unsure, **←/→** move, **z** undo. Decisions stay in this browser (they survive a reload) and nothing is "
         "written into the data folder; **Export** gives the reviewed manifest (`path,label,subject,original_label,"
         "decision,reviewed_at`; excluded images left out), with paths relative to the folder reviewed: save it there "
         "and train or evaluate with `--data corrected.csv`.")


def key_of(choice, zip_file) -> str:
    """What a visitor's decisions are kept under: the test set's name, or the uploaded archive's file name."""
    return f"zip:{Path(zip_file).name}" if zip_file else f"set:{choice}"


def progress_text(session: dict, decisions: dict) -> str:
    """'reviewed 40 of 312' and where the current image is."""
    rows, done = session["rows"], decisions.get(session["key"], {})
    reviewed = sum(1 for r in rows if r["path"] in done)
    return (f"**reviewed {reviewed} of {len(rows)}** · image {session['index'] + 1} of {len(rows)}"
            + (f" · {session['note']}" if session.get("note") else ""))


class ReviewTab:
    """Builds the tab and answers its events; the audit of the chosen set lives in the visitor's session state."""

    def __init__(self, bench: Bench):
        self.bench = bench

    @on_model_threads
    def audit(self, models_chosen, choice, zip_file=None, stored=None, progress=gr.Progress()):
        """Audit the chosen set with the chosen models and show its most doubted image."""
        if choice == PRECOMPUTED and not zip_file:
            raise gr.Error("The precomputed held-out results hold numbers, not pictures: pick a test set with images "
                           "or upload a .zip.", print_exception=False)
        models = self.bench.pick(models_chosen)
        progress(0.1, desc="reading the images and running the models")
        with self.bench.dataset(choice, zip_file) as ds:
            note = f"the first {MAX_IMAGES} of {len(ds)} images" if len(ds) > MAX_IMAGES else ""
            if len(ds) > MAX_IMAGES:
                ds = ds.subset(range(MAX_IMAGES))
            rows, pictures, folder = workbench.audit_set(models, ds)
        if not rows:
            raise gr.Error("No readable labelled image in this test set.", print_exception=False)
        if self.bench.samples.resolve() == Path(folder).resolve():
            note = "the shipped sample pictures (start the app with EYEBENCH_DATA or upload a .zip to review your own)"
        session = {"key": key_of(choice, zip_file), "rows": rows, "pictures": pictures, "index": 0, "note": note,
                   "models": list(models)}
        stored = stored or {}
        done = stored.get(session["key"], {})
        session["index"] = next((i for i, r in enumerate(rows) if r["path"] not in done), 0)
        return (session, *self.view(session, stored), self.gallery(session))

    def view(self, session: dict, stored: dict) -> tuple:
        """The current image, the map of the model that disagrees most with its label, its details and progress."""
        row = session["rows"][session["index"]]
        picture = session["pictures"][row["path"]]
        name = workbench.most_doubting(row, session["models"])
        heat = workbench.other_class_map(self.bench.models[name], picture, row["label"])
        done = (stored or {}).get(session["key"], {}).get(row["path"])
        probs = " · ".join(f"{m} {row[f'p_closed_{m}']:.3f}" for m in session["models"])
        info = (f"**{row['path']}**<br>label **{row['label'].upper()}** · suggested {row['suggested']} · doubt "
                f"{row['doubt']:.3f} · {row['n_disagree']} of {row['n_models']} models decide the other class<br>"
                f"p(closed): {probs}<br>decision: **{done['decision'] if done else 'not reviewed'}**")
        return png(np.asarray(picture)), png(heat), f"map of {name}", info, \
            progress_text(session, stored or {})

    def gallery(self, session: dict) -> list:
        """Thumbnails of the most doubted images with their label and doubt."""
        return [(png(np.asarray(session["pictures"][r["path"]])), f"{k + 1}. {r['label']} · doubt {r['doubt']:.2f}")
                for k, r in enumerate(session["rows"][:GALLERY])]

    @on_model_threads
    def decide(self, decision: str, session, stored):
        """Record a decision for the current image (kept in the browser), remember it for undo, go to the next one."""
        self._need(session)
        stored = dict(stored or {})
        done = dict(stored.get(session["key"], {}))
        path = session["rows"][session["index"]]["path"]
        undo = list(stored.get("_undo", []))[-200:]
        undo.append([session["key"], path, done.get(path)])
        done[path] = {"decision": decision, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        stored[session["key"]], stored["_undo"] = done, undo
        session = {**session, "index": min(session["index"] + 1, len(session["rows"]) - 1)}
        return (session, stored, *self.view(session, stored))

    @on_model_threads
    def move(self, step: int, session, stored):
        """The previous or next image."""
        self._need(session)
        session = {**session, "index": int(np.clip(session["index"] + step, 0, len(session["rows"]) - 1))}
        return (session, *self.view(session, stored))

    @on_model_threads
    def undo(self, session, stored):
        """Take back the last decision of this set and show its image again."""
        self._need(session)
        stored = dict(stored or {})
        undo = list(stored.get("_undo", []))
        while undo and undo[-1][0] != session["key"]:
            undo.pop()
        if not undo:
            gr.Info("Nothing to undo.")
            return (session, stored, *self.view(session, stored))
        _, path, previous = undo.pop()
        done = dict(stored.get(session["key"], {}))
        if previous is None:
            done.pop(path, None)
        else:
            done[path] = previous
        stored[session["key"]], stored["_undo"] = done, undo
        index = next(i for i, r in enumerate(session["rows"]) if r["path"] == path)
        session = {**session, "index": index}
        return (session, stored, *self.view(session, stored))

    @on_model_threads
    def select(self, session, stored, evt: gr.SelectData):
        """Jump to a thumbnail's image."""
        self._need(session)
        session = {**session, "index": int(evt.index)}
        return (session, *self.view(session, stored))

    def export(self, session, stored):
        """The reviewed manifest as a CSV download."""
        self._need(session)
        folder = OUTPUT_FOLDER.new_dir("review_")
        workbench.write_review(session["rows"], (stored or {}).get(session["key"], {}), folder / "corrected.csv")
        return str(OUTPUT_FOLDER.by_content(folder) / "corrected.csv")

    @staticmethod
    def _need(session) -> None:
        if not session:
            raise gr.Error("Press Audit first: it ranks the images of the chosen test set.", print_exception=False)

    def build(self, demo: gr.Blocks):
        """Lay out the tab and wire its buttons, keys, gallery and export."""
        gr.Markdown(INTRO, elem_id="review-intro")
        sets = [k for k in self.bench.datasets if k != PRECOMPUTED]  # the precomputed results hold no pictures
        with gr.Row():
            models = gr.CheckboxGroup(list(self.bench.models), value=list(self.bench.models), label="Models")
            dataset = gr.Dropdown(sets, value=sets[0] if sets else None, label="Test set", min_width=300)
            zip_file = gr.File(label="...or upload a .zip of labelled images", file_types=[".zip"], type="filepath")
        run = gr.Button("Audit", variant="primary", elem_id="review-run")
        progress = gr.Markdown(label="Review progress", show_label=False, elem_id="review-progress")
        with gr.Row():
            image = gr.Image(label="image", interactive=False, height=240, elem_id="review-image")
            heat = gr.Image(label="map", interactive=False, height=240, elem_id="review-map")
            with gr.Column():
                map_name = gr.Markdown(label="Map of", show_label=False, elem_id="review-map-name")
                info = gr.Markdown(label="Image details", show_label=False, elem_id="review-info")
        with gr.Row():
            buttons = {key: gr.Button(text, elem_id=KEYS[key], size="sm") for key, text in (
                ("o", "Open (o)"), ("c", "Closed (c)"), ("x", "Exclude (x)"), ("u", "Unsure (u)"),
                ("ArrowLeft", "← Previous"), ("ArrowRight", "Next →"), ("z", "Undo (z)"))}
        gallery = gr.Gallery(label="most doubted first", columns=8, height=260, allow_preview=False,
                             elem_id="review-gallery")
        export = gr.Button("Export the reviewed manifest", elem_id="review-export-run")
        download = gr.File(label="corrected.csv", interactive=False, elem_id="review-export")
        session = gr.State(None)
        stored = gr.BrowserState({}, storage_key="eyebench-review")
        shown = [image, heat, map_name, info, progress]
        run.click(self.audit, [models, dataset, zip_file, stored], [session, *shown, gallery], api_name="review")
        for key, decision in (("o", "open"), ("c", "closed"), ("x", "excluded"), ("u", "unsure")):
            buttons[key].click(lambda s, b, d=decision: self.decide(d, s, b), [session, stored],
                               [session, stored, *shown], api_name=False, show_progress="hidden")
        for key, step in (("ArrowLeft", -1), ("ArrowRight", 1)):
            buttons[key].click(lambda s, b, k=step: self.move(k, s, b), [session, stored], [session, *shown],
                               api_name=False, show_progress="hidden")
        buttons["z"].click(self.undo, [session, stored], [session, stored, *shown], api_name=False,
                           show_progress="hidden")
        gallery.select(self.select, [session, stored], [session, *shown], api_name=False)
        export.click(self.export, [session, stored], download, api_name=False)
        demo.load(None, None, None, js=KEYBOARD_JS, api_name=False)


def build_review_tab(bench: Bench, demo: gr.Blocks) -> ReviewTab:
    """The Review tab inside the app's tabs."""
    tab = ReviewTab(bench)
    with gr.Tab("Review", id="review"):
        tab.build(demo)
    return tab
