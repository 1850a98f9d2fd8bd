"""What the app does, without the UI: load every checkpoint, predict pictures with maps, evaluate sets, tune bands."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from .config import CLASS_NAMES, DECISION_NAMES
from .data.dataset import Dataset, scan_folder
from .evaluate.analysis import analyse_models, analyse_probabilities
from .evaluate.leak import leak_report
from .evaluate.robustness import model_keys, subset_masks
from .evaluate.thresholds import (
    apply_band,
    band_groups,
    band_metrics,
    fit_band,
    risk_coverage,
)
from .explain import explain_map, overlay
from .faces import CROP_SCALE, Face, draw_eyes, locate_eyes
from .faces.aspect_ratio import EyeAspectRatio
from .models.checkpoint import CheckpointError, load_classifier
from .results import Decision, EyePrediction, EyeState, ModelAnswer, PictureResult
from .threads import single_image_threads


def load_all(folder="checkpoints") -> tuple[dict, list[str]]:
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


def predict_picture(models: dict, rgb: np.ndarray, whole_image: bool = False, maps: bool = True,
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

    from .evaluate import plots

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
    pose: object  # faces.HeadPose or None
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


def evaluate_models(models: dict, dataset: Dataset, bootstrap: int = 200, sweeps: bool = False,
                    sweep_max: int = 300) -> tuple[dict, dict]:
    """Analysis of the chosen models, plus per-image probabilities cached for the threshold tab."""
    chosen = list(models.values())
    result = analyse_models(chosen, dataset, bootstrap=bootstrap, sweeps=sweeps, sweep_max=sweep_max, progress=False,
                            keep_predictions=True)
    predictions = result.pop("predictions")
    keys = model_keys(chosen)  # the analysis names models by checkpoint; the app by its own names
    result["models"] = {name: result["models"][key] for name, key in zip(models, keys)}
    for name, clf in models.items():
        result["models"][name]["leak"] = leak_report(clf, predictions["dataset"])
    p_closed = {name: predictions["p_closed"][key] for name, key in zip(models, keys)}
    return result, probability_cache(predictions["dataset"], p_closed, curves(result))


def probability_cache(dataset: Dataset, p_closed: dict, risk_coverage_curves: dict) -> dict:
    """What the Threshold tab works on: labels, people, the Robustness tab's subsets, each model's p(closed) per image
    and its curve."""
    return {"y": dataset.labels, "subjects": dataset.subjects, "sources": [s.source for s in dataset.samples],
            "paths": [s.path for s in dataset.samples], "subsets": subset_masks(dataset), "proba": p_closed,
            "risk_coverage": risk_coverage_curves}


def curves(result: dict) -> dict:
    """Each analysed model's risk-coverage curve, by name."""
    return {name: row["risk_coverage"] for name, row in result["models"].items()}


def heldout_evaluation(bundle, models: dict, bootstrap: int = 200) -> tuple[dict, dict]:
    """`evaluate_models` on the held-out bundle's stored p(closed): no image is read and no model runs."""
    probas = {name: (clf, bundle.proba(name)) for name, clf in models.items()}
    result = analyse_probabilities(probas, bundle.dataset, bootstrap=bootstrap)
    return result, probability_cache(bundle.dataset, {n: bundle.p_closed[n] for n in models}, curves(result))


def heldout_cache(bundle, names) -> dict:
    """The Threshold tab's cache of the bundle for these models, without the rest of the analysis (app start-up)."""
    return probability_cache(bundle.dataset, {n: bundle.p_closed[n] for n in names},
                             {n: risk_coverage(bundle.dataset.labels, bundle.proba(n)) for n in names})


def threshold_stats(cache: dict, model: str, low: float, high: float) -> dict:
    """Band statistics from cached probabilities: coverage, accepted accuracy, closed recall, rejections."""
    if low > high:
        low, high = high, low
    y, p = cache["y"], cache["proba"][model]
    bm = band_metrics(y, p, (low, high))
    d = apply_band(p, (low, high))
    acc = d != Decision.UNCERTAIN
    closed = y == EyeState.CLOSED
    bm["accepted_accuracy"] = float((d[acc] == y[acc]).mean()) if acc.any() else None
    bm["closed_recall_accepted"] = float((d[acc & closed] == EyeState.CLOSED).mean()) if (acc & closed).any() else None
    bm["closed_recall_overall"] = float((d[closed] == EyeState.CLOSED).mean()) if closed.any() else None
    bm["subset_rejection"] = [{"factor": k, "value": v, "n": int(m.sum()), "rejected": float((~acc[m]).mean())}
                              for (k, v), m in cache["subsets"].items() if m.any()]
    order = [DECISION_NAMES.index(name) for name in ("open", "uncertain", "closed")]
    bm["three_way"] = {CLASS_NAMES[c]: {DECISION_NAMES[k]: int(np.sum((y == c) & (d == k))) for k in order}
                       for c in (0, 1)}
    bm["person_rejection"] = person_rejection(cache["subjects"], y, d)
    return bm


def person_rejection(subjects, y: np.ndarray, decisions: np.ndarray) -> list[dict]:
    """Per person: images, share sent to uncertain, and accuracy on the accepted ones (most rejected first)."""
    subjects = np.asarray(subjects, dtype=object)
    rows = []
    for person in sorted(set(subjects.tolist())):
        m = subjects == person
        acc = m & (decisions != Decision.UNCERTAIN)
        rows.append({"subject": person, "n": int(m.sum()), "rejected": float(1 - acc.sum() / m.sum()),
                     "accepted_accuracy": float((decisions[acc] == y[acc]).mean()) if acc.any() else None})
    return sorted(rows, key=lambda r: (-r["rejected"], -r["n"]))


def suggest_band(cache: dict, model: str, target_risk: float = 0.01, per_person: bool = True) -> tuple[list, bool]:
    """The widest band whose selective risk here is at most `target_risk` (per person by default), and if one is."""
    groups = band_groups(cache["subjects"], cache["sources"])
    fit = fit_band(cache["y"], cache["proba"][model], target_risk, groups=groups, per_group=per_person)
    return fit["band"], fit["reached"]


def uncertain_rows(cache: dict, model: str, low: float, high: float) -> list[dict]:
    """Images inside the band (the data-cleaning list), most ambiguous first."""
    p = cache["proba"][model]
    d = apply_band(p, (min(low, high), max(low, high)))
    rows = [{"path": cache["paths"][i], "subject": cache["subjects"][i], "label": CLASS_NAMES[cache["y"][i]],
             "p_closed": round(float(p[i]), 6)} for i in np.flatnonzero(d == Decision.UNCERTAIN)]
    return sorted(rows, key=lambda r: abs(r["p_closed"] - 0.5))
