"""What the app does, without the UI: load every checkpoint, predict pictures with maps, evaluate sets, tune bands."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import CLASS_NAMES
from .data.dataset import Dataset, scan_folder
from .data.images import ImageError as ImageError, decode_image as decode_image  # the app reads uploads with them
from .evaluate import plots as plots  # the figures the tabs lay out
from .evaluate.analysis import analyse_models, analyse_probabilities
from .evaluate.audit import REVIEW_FIELDS, audit_models, review_rows
from .evaluate.heldout import SUMMARY, BundleError, HeldoutBundle
from .evaluate.leak import leak_report
from .evaluate.perturbations import ANGLE_NOTE as ANGLE_NOTE  # what the Robustness tab says of simulated yaw
from .evaluate.report import MIN_GROUP_N as MIN_GROUP_N  # the Threshold tab's smaller people
from .evaluate.results import Analysis, SweepResults
from .evaluate.robustness import model_keys, subset_masks
from .evaluate.thresholds import (
    BandDetail,
    ProbabilityCache,
    apply_band,
    band_detail,
    band_groups,
    fit_band,
    risk_coverage,
)
from .evaluate.triage import write_csv
from .explain import explain_map, overlay
from .faces import CROP_SCALE, Face, HeadPose, draw_eyes, locate_eyes
from .faces import finder_notice as finder_notice  # the app says when MediaPipe cannot run
from .faces.aspect_ratio import EyeAspectRatio
from .models.checkpoint import CheckpointError, load_classifier
from .safezip import extract_zip as extract_zip, remove_tree as remove_tree  # uploaded test sets
from .results import Decision, EyePrediction, EyeState, ModelAnswer, PictureResult
from .threads import single_image_threads
from .video.outputs import summary_sentence as summary_sentence, timeline_figure as timeline_figure
from .video.outputs import write_outputs as write_outputs  # the Video tab's text, figure and files
from .video.pipeline import analyse_video as analyse_video

if TYPE_CHECKING:
    from .models.base import Classifier


def load_all(folder="checkpoints") -> tuple[dict[str, Classifier], list[str]]:
    """Every loadable checkpoint under `folder`, by folder name, plus a notice for each one that failed."""
    models, notices = {}, []
    root = Path(folder)
    if not root.is_dir():
        return models, [f"no checkpoint folder at {root}"]
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            models[d.name] = load_classifier(d)
        except CheckpointError as exc:
            notices.append(f"skipped {d.name}: {exc}")
            continue
        if hasattr(models[d.name], "inference_net"):
            # fold BatchNorm now: torch.fx tracing patches every module's __call__ process-wide, so tracing lazily
            # on a first request broke the models that other requests were running at the same time
            models[d.name].inference_net()
    return models, notices


def predict_picture(models: dict[str, Classifier], rgb: np.ndarray, whole_image: bool = False, maps: bool = True,
                    crop_scale: float = CROP_SCALE) -> PictureResult:
    """Find the eyes (`faces.locate_eyes`: the app's and the CLI's one rule), then each model's decision (its band on
    p(closed)), probabilities, map (unless `maps` is False) and latency per eye, and the search's message."""
    search = locate_eyes(rgb, whole_image=whole_image, crop_scale=crop_scale)
    eyes = []
    for eye in search.eyes:
        answers = []
        for name, clf in models.items():
            with single_image_threads():  # one crop: one thread is fastest, and far faster on a busy machine
                t0 = time.perf_counter()
                p = clf.predict_proba([eye.crop])[0]
                t1 = time.perf_counter()
                heat = explain_map(clf, eye.crop) if maps else None
                t2 = time.perf_counter()
            decision = Decision(int(apply_band([p[EyeState.CLOSED]], clf.uncertain_band)[0]))
            answers.append(ModelAnswer(name, decision, float(p[EyeState.OPEN]), float(p[EyeState.CLOSED]),
                                       clf.uncertain_band, 1000 * (t1 - t0), 1000 * (t2 - t1),
                                       None if heat is None else overlay(eye.crop, heat), heat))
        eyes.append(EyePrediction(eye.side, eye.face, (eye.x, eye.y, eye.w, eye.h), eye.crop, eye.opening,
                                  EyeAspectRatio().decide(eye.opening), tuple(answers)))
    return PictureResult(tuple(eyes), tuple(face_summary(f) for f in search.faces),
                         draw_eyes(rgb, search.eyes, [e.vote() for e in eyes], search.faces), search.message,
                         search.how, search.finder, tuple(face_lines(search.faces, eyes)))


def face_lines(faces: list[Face], eyes: list[EyePrediction]) -> list[str]:
    """A line per face: its head pose (or note) and each eye's eye aspect ratio (the landmark baseline)."""
    lines = []
    for i, face in enumerate(faces):
        ratios = [f"{e.side} {e.eyelid_opening:.2f} {e.eye_aspect_ratio}" for e in eyes
                  if e.face == i and e.eyelid_opening is not None]
        text = f"face {i + 1}: " + (face.pose.describe() if face.pose else "no pose")
        text += f"; {face.note}" if face.note else ""
        if ratios:
            text += f"; eye aspect ratio (closed below {EyeAspectRatio().threshold:g}): " + ", ".join(ratios)
        lines.append(text)
    return lines


def face_summary(face: Face) -> dict:
    """One face as JSON-ready numbers: box, score, eye distance, head pose (degrees) and its note."""
    pose = None if face.pose is None else {k: round(v, 1) for k, v in dataclasses.asdict(face.pose).items()}
    return {"box": list(face.box), "score": round(face.score, 3), "eye_distance_px": round(face.eye_distance, 1),
            "head_pose_deg": pose, "note": face.note}


def deletion_scores(models: dict, res: PictureResult) -> list[list[dict]]:
    """`explain.deletion_curve` of each model's map on each eye's crop: a list per eye, in the answers' order."""
    from .explain import deletion_curve

    return [[deletion_curve(models[a.model], e.crop, a.heat) for a in e.answers] for e in res.eyes]


def flops_per_prediction(clf) -> float | None:
    """FLOPs of one prediction: of a forward pass times the views it averages (flip / zoom); None where unknown."""
    from .models.profile import flops_per_image

    flops = flops_per_image(clf)
    return None if flops is None else flops * clf.data_config.views


def training_curves(clf, title: str):
    """The figure of the checkpoint's history.json (epochs along x), or None without a history."""
    import json

    path = Path(clf.checkpoint) / "history.json"
    history = json.loads(path.read_text()) if path.exists() else None
    if not (isinstance(history, list) and history):
        return None
    return plots.history_figure(history, title).update_xaxes(title_text="epoch")


def model_card(clf) -> str | None:
    """The checkpoint's model card (README.md), or None without one."""
    path = Path(clf.checkpoint) / "README.md"
    return path.read_text() if path.exists() else None


@dataclasses.dataclass(frozen=True)
class LiveEye:
    """One eye of a live frame: its side, p(closed), the model's decision by its band, and the eye aspect ratio."""

    side: str
    p_closed: float
    decision: Decision
    opening: float | None
    eye_aspect_ratio: str


@dataclasses.dataclass(frozen=True)
class LiveFrame:
    """What one live frame gave: its eyes, the head pose (None without landmarks) and the running summary."""

    eyes: tuple[LiveEye, ...]
    pose: HeadPose | None
    summary: dict  # OnlineTimeline.summary(), with "perclos_window": the PERCLOS of the last window


def live_tracker():
    """A fresh eye tracker for a live stream (landmarks, or Haar detection where MediaPipe cannot run)."""
    from .video.landmark_tracking import make_tracker

    return make_tracker()


def live_timeline(band):
    """A fresh online temporal analysis (blinks, closures, PERCLOS) deciding by `band` on p(closed)."""
    from .video.temporal import OnlineTimeline, TemporalParams

    return OnlineTimeline(TemporalParams(band=tuple(band)))


def live_frame(clf, tracker, timeline, rgb: np.ndarray, t: float) -> LiveFrame:
    """Track the eyes of one frame, classify them with `clf` and add their mean p(closed) at time `t` (s) to the
    timeline (NaN without an eye)."""
    found = tracker.update(rgb)
    probs = []
    if found.eyes:
        with single_image_threads():
            probs = [float(v) for v in clf.predict_proba([e.crop for e in found.eyes])[:, EyeState.CLOSED]]
    timeline.update(t, float(np.mean(probs)) if probs else float("nan"))
    summary = timeline.summary()
    summary["perclos_window"] = timeline.window_perclos[-1]
    ear = EyeAspectRatio()
    eyes = tuple(LiveEye(e.side, p, Decision(int(d)), e.opening, ear.decide(e.opening))
                 for e, p, d in zip(found.eyes, probs, apply_band(probs, timeline.params.band)))
    return LiveFrame(eyes, found.pose, summary)


def data_roots() -> list[Path]:
    """Folders the app may evaluate, from EYEBENCH_DATA (colon-separated); never arbitrary server paths."""
    return [Path(p).resolve() for p in os.environ.get("EYEBENCH_DATA", "").split(":") if p and Path(p).is_dir()]


def dataset_choices(sample_dir="sample_images") -> dict[str, Path]:
    """Named test sets offered by the app: the sample images plus every folder directly under the data roots."""
    choices = {"sample_images (shipped)": Path(sample_dir)}
    for root in data_roots():
        choices[f"{root.name} (EYEBENCH_DATA)"] = root
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            choices[f"{root.name}/{sub.name} (EYEBENCH_DATA)"] = sub
    return choices


def sample_dataset(sample_dir="sample_images") -> Dataset:
    """The shipped sample images with their labels from samples.json (unlabelled pictures left out, not skipped)."""
    dataset = scan_folder(Path(sample_dir), "sample_images")
    dataset.skipped = []  # the face photo is a Predict example without a single label, not an unreadable test image
    return dataset


def open_dataset(path, sample_dir="sample_images", source: str | None = None) -> Dataset:
    """A dataset from a folder (any layout); the sample folder uses its samples.json labels."""
    path = Path(path)
    if path.resolve() == Path(sample_dir).resolve():
        return sample_dataset(sample_dir)
    return scan_folder(path, source)


def evaluate_models(models: dict[str, Classifier], dataset: Dataset, bootstrap: int = 200, sweeps: bool = False,
                    sweep_max: int = 300) -> tuple[Analysis, ProbabilityCache]:
    """Analysis of the chosen models (named as in `models`, with the leak guard's finding), plus per-image
    probabilities cached for the threshold tab."""
    chosen = list(models.values())
    result = analyse_models(chosen, dataset, bootstrap=bootstrap, sweeps=sweeps, sweep_max=sweep_max, progress=False,
                            keep_predictions=True)
    predictions = result.predictions
    keys = model_keys(chosen)  # the analysis names models by checkpoint; the app by its own names
    result = dataclasses.replace(result, predictions=None, models={
        name: result.models[key].with_leak(leak_report(clf, predictions.dataset))
        for (name, clf), key in zip(models.items(), keys)})
    p_closed = {name: predictions.p_closed[key] for name, key in zip(models, keys)}
    return result, probability_cache(predictions.dataset, p_closed, result.curves())


def probability_cache(dataset: Dataset, p_closed: dict, risk_coverage_curves: dict) -> ProbabilityCache:
    """What the Threshold tab works on: labels, people, the Robustness tab's subsets, each model's p(closed) per image
    and its curve."""
    return ProbabilityCache(dataset.labels, dataset.subjects, [s.source for s in dataset.samples],
                            [s.path for s in dataset.samples], subset_masks(dataset), p_closed, risk_coverage_curves)


def heldout_evaluation(bundle, models: dict, bootstrap: int = 200) -> tuple[Analysis, ProbabilityCache]:
    """`evaluate_models` on the held-out bundle's stored p(closed): no image is read and no model runs."""
    probas = {name: (clf, bundle.proba(name)) for name, clf in models.items()}
    result = analyse_probabilities(probas, bundle.dataset, bootstrap=bootstrap)
    return result, probability_cache(bundle.dataset, {n: bundle.p_closed[n] for n in models}, result.curves())


def heldout_cache(bundle, names) -> ProbabilityCache:
    """The Threshold tab's cache of the bundle for these models, without the rest of the analysis (app start-up)."""
    return probability_cache(bundle.dataset, {n: bundle.p_closed[n] for n in names},
                             {n: risk_coverage(bundle.dataset.labels, bundle.proba(n)) for n in names})


def threshold_stats(cache: ProbabilityCache, model: str, low: float, high: float) -> BandDetail:
    """Band statistics from cached probabilities: coverage, accepted accuracy, closed recall, rejections."""
    if low > high:
        low, high = high, low
    return band_detail(cache.labels, cache.p_closed[model], (low, high), cache.subjects, cache.subsets)


def suggest_band(cache: ProbabilityCache, model: str, target_risk: float = 0.01,
                 per_person: bool = True) -> tuple[list, bool]:
    """The widest band whose selective risk here is at most `target_risk` (per person by default), and if one is."""
    groups = band_groups(cache.subjects, cache.sources)
    fit = fit_band(cache.labels, cache.p_closed[model], target_risk, groups=groups, per_group=per_person)
    return fit["band"], fit["reached"]


def uncertain_rows(cache: ProbabilityCache, model: str, low: float, high: float) -> list[dict]:
    """Images inside the band (the data-cleaning list), most ambiguous first."""
    p = cache.p_closed[model]
    d = apply_band(p, (min(low, high), max(low, high)))
    rows = [{"path": cache.paths[i], "subject": cache.subjects[i], "label": CLASS_NAMES[cache.labels[i]],
             "p_closed": round(float(p[i]), 6)} for i in np.flatnonzero(d == Decision.UNCERTAIN)]
    return sorted(rows, key=lambda r: abs(r["p_closed"] - 0.5))


def session_cache(state) -> ProbabilityCache | None:
    """The probability cache of a session state (the Evaluate tab's {"cache": ..., "models": [...]}), None before
    any evaluation."""
    return (state or {}).get("cache")


def write_uncertain(cache: ProbabilityCache, model: str, low: float, high: float, path) -> None:
    """`uncertain_rows` as a CSV file."""
    write_csv(uncertain_rows(cache, model, low, high), path)


def band_figures(cache: ProbabilityCache, model: str, stats: BandDetail):
    """The Threshold tab's figures of a band: the model's risk-coverage curve with the band's point, and p(closed)
    per true class with the band."""
    low, high = stats.band
    return (plots.band_figure(model, cache.risk_coverage[model], stats.coverage, stats.selective_risk),
            plots.band_histogram_figure(cache.labels, cache.p_closed[model], low, high))


def audit_set(models: dict, dataset: Dataset) -> tuple[list[dict], dict, Path]:
    """The label audit of a set (evaluate.audit.audit_models), its paths relative to the folder the set was read
    from: (rows, decoded pictures by row path, that folder)."""
    folder = Path(dataset.sources[next(iter(dataset.sources))]["root"]) if dataset.sources else Path(".")
    folder = folder.parent if folder.is_file() else folder
    return (*audit_models(models, dataset, folder), folder)


def most_doubting(row: dict, names) -> str:
    """The model whose p(closed) of an audit row lies farthest from the row's label."""
    return max(names, key=lambda m: abs(row[f"p_closed_{m}"] - (row["label"] == "closed")))


def other_class_map(clf, picture: np.ndarray, label: str) -> np.ndarray:
    """The picture overlaid with the map of where `clf` sees the class other than `label`."""
    return overlay(picture, explain_map(clf, picture, int(EyeState.CLOSED if label == "open" else EyeState.OPEN)))


def write_review(rows: list[dict], decisions: dict, path) -> None:
    """The reviewed manifest (evaluate.audit.review_rows) of audit rows and a visitor's decisions as a CSV file."""
    write_csv(review_rows(rows, decisions), path, REVIEW_FIELDS)


def worst_mistakes(cache: ProbabilityCache, dataset: Dataset, k: int = 12) -> list[tuple[np.ndarray, str]]:
    """The `k` most confident mistakes over all cached models: each image's crop (96 px RGB) and a caption."""
    from .data.dataset import load_images

    rows = []
    for name, p in cache.p_closed.items():
        wrong = (p >= 0.5) != (cache.labels == EyeState.CLOSED)
        rows += [(max(p[i], 1 - p[i]), i, name) for i in np.flatnonzero(wrong)]
    rows = sorted(rows, reverse=True)[:k]
    if not rows:
        return []
    by_path = {s.path: n for n, s in enumerate(dataset.samples)}
    idx = sorted({i for _, i, _ in rows})
    images, _ = load_images(dataset.subset([by_path[cache.paths[i]] for i in idx]), 96, 3, progress=False)
    crops = dict(zip(idx, images))
    return [(crops[i], f"{name}: true {CLASS_NAMES[cache.labels[i]]}, p(closed)={cache.p_closed[name][i]:.2f}")
            for _, i, name in rows]


def write_predictions(cache: ProbabilityCache, path) -> None:
    """predictions.csv of an evaluation: per image its file name, subject, label and every model's p(closed)."""
    write_csv([{"path": Path(p).name, "subject": s, "label": CLASS_NAMES[y],
                **{f"p_closed[{m}]": round(float(cache.p_closed[m][i]), 6) for m in cache.p_closed}}
               for i, (p, s, y) in enumerate(zip(cache.paths, cache.subjects, cache.labels))], path)


def robustness_analysis(models: dict, dataset: Dataset, sweep_max: int, progress=False) -> tuple[list[dict],
                                                                                                SweepResults]:
    """The Robustness tab's live numbers: every model's subset rows (model first) and the perturbation sweeps."""
    result = analyse_models(list(models.values()), dataset, sweeps=True, sweep_max=sweep_max, progress=progress)
    return result.subset_rows(), result.sweeps


def heldout_robustness(bundle, models: dict) -> tuple[list[dict], SweepResults]:
    """Subset rows from the bundle's stored p(closed) and its stored sweeps, for the chosen models (no model runs)."""
    from .evaluate.robustness import subset_table

    rows = [{"model": n, **row} for n, clf in models.items()
            for row in subset_table(bundle.dataset, bundle.proba(n), clf.uncertain_band)]
    return rows, bundle.record.sweeps.only(models)


def read_heldout(folder) -> tuple[HeldoutBundle | None, str | None]:
    """The held-out results bundle in `folder` (None where there is none), or why it cannot be read."""
    if folder is None or not (Path(folder) / SUMMARY).exists():
        return None, None
    try:
        return HeldoutBundle(folder), None
    except BundleError as exc:
        return None, str(exc)
