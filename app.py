"""Gradio app: every checkpoint in checkpoints/ side by side on eye or face pictures, with evaluation and tuning tabs."""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import threading
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from eyebench.config import CLASS_NAMES, CLOSED
from eyebench.data.dataset import load_images
from eyebench.data.images import ImageError, decode_image
from eyebench.data.splits import SplitError
from eyebench.evaluate import plots
from eyebench.evaluate.perturbations import ANGLE_NOTE
from eyebench.evaluate.triage import write_csv
from eyebench.models.checkpoint import CheckpointError
from eyebench.models.profile import flops_per_image
from eyebench.safezip import ZipError, extract_zip, remove_tree
from eyebench import workbench

ROOT = Path(__file__).resolve().parent
CHECKPOINTS = Path(os.environ.get("EYEBENCH_CHECKPOINTS", ROOT / "checkpoints"))
SAMPLES = ROOT / "sample_images"
MODELS, NOTICES = workbench.load_all(CHECKPOINTS)
USER_ERRORS = (ImageError, ValueError, KeyError, FileNotFoundError, CheckpointError, SplitError, ZipError)
MAX_FILE_SIZE = "50mb"
OUTPUTS = Path(tempfile.gettempdir()) / "eyebench_app_outputs"
OUTPUTS.mkdir(exist_ok=True)


class SafeImage(gr.Image):
    """gr.Image that hands every upload to our own decoder (a clear message) instead of failing in Gradio.

    Create it with `image_mode=None` and `type="filepath"`: the uploaded file then reaches `decode_image` as it is
    (Gradio's default "RGB" mode re-saves RGBA and 16-bit files itself, dropping transparency and clipping 16-bit
    values). No `__init__` override here: Gradio builds the component's config from `__init__`'s signature.
    """

    is_template = True  # the browser draws it with gr.Image's own code (else it looks for a custom "safeimage")

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:  # noqa: BLE001 - any decoding failure is reported by _read_image with its reason
            path = getattr(payload, "path", None)
            if path is None:
                raise gr.Error("Cannot use this file: not a readable image.", print_exception=False) from None
            return path


def _fail(exc: Exception):
    """Turn an expected failure into a readable message in the UI (never a traceback)."""
    raise gr.Error(str(exc) or exc.__class__.__name__, print_exception=False)


def _read_image(path) -> np.ndarray:
    if path is None:
        raise gr.Error("Upload an image, take a webcam picture or pick an example first.", print_exception=False)
    try:
        return decode_image(path)
    except ImageError as exc:
        _fail(ImageError(f"Cannot use this file: {exc}"))


def _png(rgb: np.ndarray) -> str:
    """Write an output picture once, named by its content, and return its path.

    Gradio rewrites the cache file of an array output on every request, so a second request with the same picture
    can truncate it while the first is still being downloaded; a path output is copied atomically instead.
    """
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)
    data = buf.tobytes()
    path = OUTPUTS / f"{hashlib.sha1(data).hexdigest()}.png"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return str(path)


# ---------------------------------------------------------------- predict
def predict(image_path, whole_image=False):
    """One picture -> annotated picture, message, JSON (per eye, per model), one map gallery per model, then one
    label text per model (the galleries first, so their positions in the API output do not depend on the labels)."""
    rgb = _read_image(image_path)
    try:
        res = workbench.predict_picture(MODELS, rgb, whole_image=bool(whole_image))
    except USER_ERRORS as exc:
        _fail(exc)
    summary = {"message": res["message"], "eyes": [
        {"side": e["side"], "box": e["box"], "models": {r["model"]: {
            "label": r["decision"], "p_open": round(r["p_open"], 4), "p_closed": round(r["p_closed"], 4),
            "band": r["band"], "ms": round(r["ms_predict"] + r["ms_map"], 1)} for r in e["results"]}}
        for e in res["eyes"]]}
    galleries, labels = [], []
    for name in MODELS:
        items, lines = [], []
        for e in res["eyes"]:
            r = next(r for r in e["results"] if r["model"] == name)
            ms = r["ms_predict"] + r["ms_map"]
            items.append((_png(r["map"]), f"{e['side']}: {r['decision'].upper()}  p(closed)={r['p_closed']:.3f}  {ms:.0f} ms"))
            lines.append(f"{e['side']}: **{r['decision'].upper()}** · p(closed) {r['p_closed']:.3f} · {ms:.0f} ms")
        galleries.append(items)
        labels.append("<br>".join(lines) or "no eye classified")
    return _png(res["annotated"]), res["message"], summary, *galleries, *labels


def build_predict_tab():
    with gr.Row():
        with gr.Column(scale=1):
            image = SafeImage(sources=["upload", "webcam", "clipboard"], type="filepath", image_mode=None,
                              label="Eye crop or face picture", height=320, elem_id="predict-image")
            whole = gr.Checkbox(label="treat the whole image as one eye crop (skip eye detection)")
            run = gr.Button("Classify", variant="primary")
            examples = sorted(str(p) for p in SAMPLES.glob("*") if p.suffix.lower() in (".png", ".jpg"))
            samples = gr.Examples(examples=examples, inputs=image, api_name="load_example",
                                  label="Sample images (made by eyebench; see sample_images/): click one to classify it")
        with gr.Column(scale=1):
            annotated = gr.Image(label="Detections", interactive=False, height=320, elem_id="detections")
            message = gr.Markdown(elem_id="predict-message")
    galleries, labels = [], []
    items = list(MODELS.items())
    per_row = math.ceil(len(items) / max(1, math.ceil(len(items) / 4)))  # balanced rows of at most 4 models
    for start in range(0, len(items), per_row):
        with gr.Row(equal_height=True):
            for i, (name, clf) in enumerate(items[start:start + per_row], start):
                with gr.Column(min_width=200):
                    band = clf.uncertain_band
                    gr.Markdown(f"**{name}**<br><small>band {'-' if not band else f'[{band[0]:.3f}, {band[1]:.3f}]'}</small>")
                    labels.append(gr.Markdown(elem_id=f"model-result-{i}"))
                    galleries.append(gr.Gallery(label=f"{name} maps", columns=2, fit_columns=False, height=320,
                                                object_fit="contain", elem_id=f"model-maps-{i}"))
            for _ in range(per_row - len(items[start:start + per_row])):  # keep the last row's columns the same width
                with gr.Column(min_width=200):
                    pass
    details = gr.JSON(label="All results (per eye, per model)")
    outputs = [annotated, message, details, *galleries, *labels]
    run.click(predict, [image, whole], outputs, api_name="predict")
    image.upload(predict, [image, whole], outputs, api_name=False)  # also a webcam picture or a pasted image
    samples.load_input_event.then(predict, [image, whole], outputs, api_name=False)


# ---------------------------------------------------------------- evaluate
def _resolve_dataset(choice, zip_file):
    """A dataset from an uploaded zip (extracted to a temp folder) or from a named choice; never a free path."""
    if zip_file:
        folder, skipped = extract_zip(zip_file)
        try:
            ds = workbench.open_dataset(folder, source=Path(zip_file).stem)
        except USER_ERRORS:
            remove_tree(folder)
            raise
        ds.skipped[:0] = list(skipped)  # the archive's own refusals first, so the note shows them
        return ds, folder
    choices = workbench.dataset_choices(SAMPLES)
    if choice not in choices:
        raise ValueError(f"unknown test set {choice!r}")
    return workbench.open_dataset(choices[choice], SAMPLES), None


def _pick(models_chosen):
    chosen = {k: MODELS[k] for k in (models_chosen or []) if k in MODELS}
    if not chosen:
        raise gr.Error("Choose at least one model.", print_exception=False)
    return chosen


def evaluate(models_chosen, choice, zip_file, bootstrap=200, progress=gr.Progress()):
    """Metrics table, confusion matrices, ROC + risk-coverage, worst mistakes, downloads; caches probabilities."""
    chosen = _pick(models_chosen)
    progress(0.05, desc="reading images")
    folder = None
    try:
        ds, folder = _resolve_dataset(choice, zip_file)
        progress(0.3, desc="running models")
        result, cache = workbench.evaluate_models(chosen, ds, bootstrap=int(bootstrap or 0))
        progress(0.8, desc="drawing")
        gallery = _worst_mistakes(cache, ds)
    except USER_ERRORS as exc:
        _fail(exc)
    finally:
        if folder:
            remove_tree(folder)
    out_dir = Path(tempfile.mkdtemp(prefix="eyebench_eval_"))
    (out_dir / "evaluation.json").write_text(json.dumps(_jsonable(result), indent=1))
    rows = [{"path": Path(p).name, "subject": s, "label": CLASS_NAMES[y],
             **{f"p_closed[{m}]": round(float(cache["proba"][m][i]), 6) for m in cache["proba"]}}
            for i, (p, s, y) in enumerate(zip(cache["paths"], cache["subjects"], cache["y"]))]
    write_csv(rows, out_dir / "predictions.csv")
    d = result["data"]
    reasons = "; ".join(f"{reason} ({n})" for reason, n in d["skipped_reasons"].items())
    ci_notes = sorted({(r.get("bootstrap_accuracy") or {}).get("note") for r in result["models"].values()} - {None})
    note = (f"**{d['n_read']} images read, {d['n_skipped']} skipped**" + (f": {reasons}" if reasons else "")
            + "".join(f"<br>skipped `{Path(e['path']).name}`: {e['reason']}" for e in d["skipped_examples"])
            + "".join(f"<br>95% CI: {n}" for n in ci_notes))
    state = {"cache": cache, "models": list(chosen)}
    first = list(chosen)[0]
    low, high = reset_band(first)
    return (note, _metrics_table(result), _confusions(result), _roc_rc(cache, result), gallery,
            [str(out_dir / "evaluation.json"), str(out_dir / "predictions.csv")], state,
            gr.update(choices=list(chosen), value=first), low, high)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _pct(v):
    return None if v is None else round(100 * v, 2)


def _pct_text(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _metrics_table(result) -> pd.DataFrame:
    rows = []
    for name, r in result["models"].items():
        ci = r.get("bootstrap_accuracy") or {}
        rows.append({"model": name, "n": r["n"], "accuracy %": _pct(r["accuracy"]),
                     "95% CI (subjects)": (f"{_pct(ci['low'])}-{_pct(ci['high'])}" if ci.get("low") is not None
                                           else "-"),  # why not: in the note above the table
                     "closed recall %": _pct(r["recall_closed"]), "open recall %": _pct(r["recall_open"]),
                     "ROC-AUC": None if r["roc_auc"] is None else round(r["roc_auc"], 4), "ECE": round(r["ece"], 4),
                     "AURC": round(r["risk_coverage"]["aurc"], 4),
                     "uncertain %": None if not r.get("band") else _pct(1 - r["band"]["coverage"]),
                     "worst subject": (r.get("worst_subject") or {}).get("subject")})
    return pd.DataFrame(rows)


def _confusions(result) -> go.Figure:
    names = list(result["models"])
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    for i, name in enumerate(names, 1):
        cm = result["models"][name]["confusion_matrix"]
        sub = plots.confusion_figure(cm)
        fig.add_trace(sub.data[0], row=1, col=i)
        fig.update_yaxes(autorange="reversed", row=1, col=i)
    fig.update_layout(title="Confusion matrices (rows = true, columns = predicted)", template="plotly_white",
                      height=320, margin=dict(l=60, r=20, t=70, b=40))
    return fig


def _roc_rc(cache, result) -> go.Figure:
    from sklearn.metrics import roc_curve

    fig = make_subplots(rows=1, cols=2, subplot_titles=("ROC (closed = positive)", "Risk-coverage"))
    y = cache["y"] == CLOSED
    for name, p in cache["proba"].items():
        if y.any() and (~y).any():
            fpr, tpr, _ = roc_curve(y, p)
            fig.add_trace(go.Scatter(x=fpr, y=tpr, name=f"{name} ROC", mode="lines"), row=1, col=1)
        rc = result["models"][name]["risk_coverage"]
        step = max(1, len(rc["coverage"]) // 300)
        fig.add_trace(go.Scatter(x=rc["coverage"][::step], y=rc["risk"][::step], name=f"{name} RC", mode="lines"),
                      row=1, col=2)
    fig.update_xaxes(title_text="false positive rate", row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", row=1, col=1)
    fig.update_xaxes(title_text="coverage", row=1, col=2)
    fig.update_yaxes(title_text="selective risk", row=1, col=2)
    fig.update_layout(template="plotly_white", height=360, margin=dict(l=50, r=20, t=50, b=45))
    return fig


def _worst_mistakes(cache, ds, k: int = 12) -> list:
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
    return [(_png(crops[i]), f"{name}: true {CLASS_NAMES[cache['y'][i]]}, p(closed)={cache['proba'][name][i]:.2f}")
            for _, i, name in rows]


def build_evaluate_tab(choices):
    with gr.Row():
        models = gr.CheckboxGroup(list(MODELS), value=list(MODELS), label="Models")
        dataset = gr.Dropdown(list(choices), value=next(iter(choices)), label="Test set",
                              info="sample_images, or folders under EYEBENCH_DATA")
        zip_file = gr.File(label="...or upload a .zip (MRL names, open/closed folders, or manifest.csv)",
                           file_types=[".zip"], type="filepath")
        bootstrap = gr.Slider(0, 2000, value=200, step=100, label="bootstrap resamples (subject-level CI)")
    run = gr.Button("Evaluate", variant="primary")
    note = gr.Markdown(elem_id="eval-note")
    table = gr.Dataframe(label="Metrics", interactive=False, elem_id="metrics-table")
    conf = gr.Plot(label="Confusion matrices", elem_id="confusion-plot")
    curves = gr.Plot(label="ROC and risk-coverage")
    # a numeric height: "auto" keeps Gradio's 450 px minimum, mostly empty for a few small crops
    gallery = gr.Gallery(label="Most confident mistakes", columns=6, fit_columns=False, height=280)
    files = gr.File(label="Downloads", file_count="multiple", interactive=False)
    return run, [models, dataset, zip_file, bootstrap], [note, table, conf, curves, gallery, files]


# ---------------------------------------------------------------- threshold
def threshold(state, model, low, high):
    """Band statistics from cached probabilities (no model runs): fast enough to follow a slider."""
    if not state or model not in state.get("cache", {}).get("proba", {}):
        raise gr.Error("Run an evaluation first (Evaluate tab), then tune its models here.", print_exception=False)
    low, high = float(low), float(high)
    s = workbench.threshold_stats(state["cache"], model, low, high)
    text = (f"**{model}** · band **[{min(low, high):.3f}, {max(low, high):.3f}]** · coverage "
            f"**{_pct_text(s['coverage'])}** · accuracy on accepted **{_pct_text(s['accepted_accuracy'])}** · "
            f"closed recall (accepted) {_pct_text(s['closed_recall_accepted'])} · uncertain {s['n_uncertain']} of "
            f"{s['n']} · rejected open {_pct_text(s['rejection_rate']['open'])}, closed "
            f"{_pct_text(s['rejection_rate']['closed'])}")
    subsets = pd.DataFrame([{"factor": r["factor"], "value": r["value"], "n": r["n"], "rejected %": _pct(r["rejected"])}
                            for r in s["subset_rejection"]], columns=["factor", "value", "n", "rejected %"])
    fig = plots.risk_coverage_figure({model: state["cache"]["risk_coverage"][model]})  # computed once, at evaluation
    if s["selective_risk"] is not None:
        fig.add_trace(go.Scatter(x=[s["coverage"]], y=[s["selective_risk"]], mode="markers",
                                 marker=dict(size=12, color="red"), name="this band"))
    fig.update_layout(height=300)
    return text, subsets, fig, {k2: v for k2, v in s.items() if k2 != "subset_rejection"}


def threshold_live(state, model, low, high):
    """The sliders' live update: like `threshold`, but before any evaluation it says so in the text (no pop-up)."""
    if not state or model not in state.get("cache", {}).get("proba", {}):
        return ("*Run an evaluation first (Evaluate tab), then tune its models here.*", gr.skip(), gr.skip(),
                gr.skip())
    return threshold(state, model, low, high)


PER_PERSON, POOLED = "for every person", "over all images"


def suggest(state, model, target, rule=PER_PERSON):
    if not state or model not in state.get("cache", {}).get("proba", {}):
        raise gr.Error("Run an evaluation first.", print_exception=False)
    if target is None or not 0 <= float(target) < 100:
        raise gr.Error("The target selective risk is a percentage from 0 to 100.", print_exception=False)
    low, high = workbench.suggest_band(state["cache"], model, float(target) / 100, per_person=rule == PER_PERSON)
    return low, high


def reset_band(model):
    clf = MODELS.get(model)
    band = clf.uncertain_band if clf and clf.uncertain_band else [0.5, 0.5]
    return band[0], band[1]


def export_uncertain(state, model, low, high):
    if not state or model not in state.get("cache", {}).get("proba", {}):
        raise gr.Error("Run an evaluation first.", print_exception=False)
    rows = workbench.uncertain_rows(state["cache"], model, float(low), float(high))
    path = Path(tempfile.mkdtemp(prefix="eyebench_band_")) / f"uncertain_{model}.csv"
    write_csv(rows, path)
    return str(path)


def build_threshold_tab(state):
    first = next(iter(MODELS), None)
    band = (MODELS[first].uncertain_band or [0.5, 0.5]) if first else [0.5, 0.5]
    gr.Markdown("Tune the **uncertain band** on p(closed): below *low* = open, above *high* = closed, between = "
                "uncertain. Uses the probabilities of the last evaluation (no model runs), so it updates instantly.")
    with gr.Row():
        model = gr.Dropdown(list(MODELS), value=first, label="Model")
        low = gr.Slider(0, 1, value=band[0], step=0.001, label="low (p(closed) at or below = open)", elem_id="band-low")
        high = gr.Slider(0, 1, value=band[1], step=0.001, label="high (p(closed) at or above = closed)", elem_id="band-high")
    with gr.Row():
        target = gr.Number(value=1.0, label="target selective risk %")
        rule = gr.Radio([PER_PERSON, POOLED], value=PER_PERSON, label="the risk must hold",
                        info="per person: no single person (with 50+ images) above the target; pooled: on average")
        suggest_btn = gr.Button("Suggest band for target risk")
        reset_btn = gr.Button("Reset to the model's stored band")
        export_btn = gr.Button("Export uncertain images (CSV)")
    stats = gr.Markdown(elem_id="band-stats")
    with gr.Row():
        with gr.Column():
            rc = gr.Plot(label="Risk-coverage")
        with gr.Column():
            subsets = gr.Dataframe(label="Rejection per subset", interactive=False)
            csv_out = gr.File(label="Uncertain images (CSV)", interactive=False, height=120)
    raw = gr.JSON(visible=False)
    ins, outs = [state, model, low, high], [stats, subsets, rc, raw]
    live = dict(trigger_mode="always_last", show_progress="hidden")
    # `change` follows every move (pointer, keyboard, typed number, and values set by suggest/reset/evaluate);
    # `release` (pointer up, number box left) is the public endpoint and reports a missing evaluation as an error
    low.change(threshold_live, ins, outs, api_name=False, **live)
    high.change(threshold_live, ins, outs, api_name=False, **live)
    low.release(threshold, ins, outs, api_name="threshold", **live)
    high.release(threshold, ins, outs, api_name=False, **live)
    model.change(reset_band, model, [low, high], api_name=False).then(threshold_live, ins, outs, api_name=False,
                                                                      **live)
    suggest_btn.click(suggest, [state, model, target, rule], [low, high], api_name="suggest_band")
    reset_btn.click(reset_band, model, [low, high], api_name="reset_band")
    export_btn.click(export_uncertain, ins, csv_out, api_name="export_uncertain")
    return model, low, high, ins, outs


# ---------------------------------------------------------------- robustness
def robustness(models_chosen, choice, zip_file, sweep_images=200, progress=gr.Progress()):
    """Subset table + bar chart and perturbation sweep curves for the chosen models."""
    chosen = _pick(models_chosen)
    folder = None
    progress(0.05, desc="reading images")
    try:
        ds, folder = _resolve_dataset(choice, zip_file)
        from eyebench.evaluate.analysis import analyse_models

        progress(0.2, desc="subsets and sweeps")
        result = analyse_models(list(chosen.values()), ds, sweeps=True, sweep_max=int(sweep_images), progress=False)
    except USER_ERRORS as exc:
        _fail(exc)
    finally:
        if folder:
            remove_tree(folder)
    rows = [{"model": n, **r} for n, m in result["models"].items() for r in m["subsets"]]
    table = pd.DataFrame([{k: (_pct(v) if k in ("accuracy", "recall_closed", "recall_open", "rejection_rate",
                                                   "selective_risk") else v) for k, v in r.items()} for r in rows])
    bars = plots.subset_figure(rows, "recall_closed") if rows else go.Figure()
    sweeps = result["sweeps"]["sweeps"]
    fig = make_subplots(rows=2, cols=4, subplot_titles=list(sweeps))
    for i, (name, block) in enumerate(sweeps.items()):
        for j, (model, res) in enumerate(block["models"].items()):
            fig.add_trace(go.Scatter(x=[str(v) for v in block["levels"]], y=res["accuracy"], mode="lines+markers",
                                     name=model, legendgroup=model, showlegend=i == 0,
                                     line=dict(color=plots_colour(j))), row=i // 4 + 1, col=i % 4 + 1)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(template="plotly_white", height=560, title="Accuracy per perturbation level",
                      margin=dict(l=40, r=20, t=80, b=40))
    summary = {"subsets": rows, "sweeps": result["sweeps"]}
    return f"{ANGLE_NOTE} Sweeps use {result['sweeps']['n']} images per level.", table, bars, fig, summary


def plots_colour(i: int) -> str:
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    return palette[i % len(palette)]


def build_robustness_tab(choices):
    gr.Markdown(f"Subsets come from the data's metadata (MRL names: glasses, reflections, lighting, sensor, gender; "
                f"a manifest's extra columns such as `angle`). {ANGLE_NOTE}")
    with gr.Row():
        models = gr.CheckboxGroup(list(MODELS), value=list(MODELS), label="Models")
        dataset = gr.Dropdown(list(choices), value=next(iter(choices)), label="Test set")
        zip_file = gr.File(label="...or upload a .zip", file_types=[".zip"], type="filepath")
        n = gr.Slider(20, 2000, value=200, step=20, label="images per sweep level")
    run = gr.Button("Run robustness", variant="primary")
    note = gr.Markdown(elem_id="robustness-note")
    table = gr.Dataframe(label="Subsets", interactive=False)
    bars = gr.Plot(label="Closed recall per subset")
    sweeps = gr.Plot(label="Sweeps", elem_id="robustness-sweeps")
    raw = gr.JSON(visible=False)
    run.click(robustness, [models, dataset, zip_file, n], [note, table, bars, sweeps, raw], api_name="robustness")


# ---------------------------------------------------------------- models
def build_models_tab():
    if NOTICES:
        gr.Markdown("\n".join(f"- ⚠ {n}" for n in NOTICES))
    for name, clf in MODELS.items():
        with gr.Accordion(f"{name} ({clf.name})", open=False):
            flops = flops_per_image(clf)
            speed = (clf.info.get("bench") or {})
            gr.Markdown(f"**parameters** {clf.num_parameters():,} · **FLOPs/image** "
                        f"{'-' if flops is None else f'{flops / 1e6:.2f} M'} · **input** "
                        f"{clf.data_config.input_size}px, {clf.data_config.channels} channel(s)"
                        + (f" · **speed** {speed.get('batch_images_per_second', 0):.0f} img/s batch" if speed else ""))
            hist = Path(clf.checkpoint) / "history.json"
            if hist.exists():
                history = json.loads(hist.read_text())
                if isinstance(history, list) and history:
                    gr.Plot(plots.history_figure(history, f"{name}: training curves"))
            card = Path(clf.checkpoint) / "README.md"
            gr.Markdown(card.read_text() if card.exists() else "(no model card)")


# ---------------------------------------------------------------- layout
CHOICES = workbench.dataset_choices(SAMPLES)
with gr.Blocks(title="eyebench", delete_cache=(3600, 3600)) as demo:
    gr.Markdown("# eyebench · open/closed eye workbench\nEvery trained model side by side: predictions, where each "
                "model looked, test-set evaluation, uncertain-band tuning and robustness. "
                + (f"Loaded {len(MODELS)} model(s): {', '.join(MODELS)}." if MODELS else "**No model loaded.**")
                + ("".join(f"<br>⚠ {n}" for n in NOTICES)))
    eval_state = gr.State({})
    with gr.Tabs():
        with gr.Tab("Predict", id="predict"):
            build_predict_tab()
        with gr.Tab("Evaluate", id="evaluate"):
            run_eval, eval_in, eval_out = build_evaluate_tab(CHOICES)
        with gr.Tab("Threshold", id="threshold"):
            band_model, band_low, band_high, band_in, band_out = build_threshold_tab(eval_state)
        with gr.Tab("Robustness", id="robustness"):
            build_robustness_tab(CHOICES)
        with gr.Tab("Models", id="models"):
            build_models_tab()
    run_eval.click(evaluate, eval_in, [*eval_out, eval_state, band_model, band_low, band_high],
                   api_name="evaluate").success(threshold, band_in, band_out, api_name=False, show_progress="hidden")
demo.queue(default_concurrency_limit=2, max_size=64)

if __name__ == "__main__":
    demo.launch(max_file_size=MAX_FILE_SIZE)
