"""The text of predict, explain and bench: answers per eye, deletion scores, speeds, eye finding and closure counts."""
from __future__ import annotations

from ..results import BenchResult, LoadSpan, MachineLoad, ModelAnswer, PictureResult, VideoBenchResult

DELETION_NOTE = ("deletion AUC: the mean p(decided class) while the map's most important pixels are blanked, 10% at a "
                 "time; lower than with a random order means the map points at pixels the model really uses")
BUSY_WARNING = "WARNING: the machine was busy (load average above its cores): these figures are lower than it can do"


def picture_notes(path, res: PictureResult) -> list[str]:
    """How the eyes of a picture were found, then a line per face (nothing for a plain eye crop, the usual input)."""
    if res.how == "crop":
        return []
    return [f"{path}: {res.message}", *(f"{path}: {line}" for line in res.face_lines)]


def band_text(band) -> str:
    """A model's uncertain band on p(closed), or the plain cut without one."""
    return f"uncertain band on p(closed)=[{band[0]:.3f}, {band[1]:.3f}]" if band else "no band (cut at p(closed)=0.5)"


def answer_lines(path, res: PictureResult) -> list[str]:
    """predict's tab-separated line per eye and model: decision, probabilities, eye, box, band and face."""
    return [f"{path}\t{a.model}\t{a.decision.text}\tp(open)={a.p_open:.4f}\tp(closed)={a.p_closed:.4f}"
            f"\teye={eye.side}\tbox={','.join(map(str, eye.box))}\t{band_text(a.band)}\tface={eye.face + 1}"
            for eye in res.eyes for a in eye.answers]


def deletion_lines(res: PictureResult, scores: list[list[dict]]) -> list[str]:
    """explain's line per eye and model: the decision and the map's deletion AUC against a random order."""
    lines = []
    for eye, eye_scores in zip(res.eyes, scores):
        for a, d in zip(eye.answers, eye_scores):
            verdict = "better than" if d["auc_saliency"] < d["auc_random"] else "NOT better than"
            lines.append(f"{eye.label(res.several_faces)} {a.model}: {a.decision.text} p(closed)={a.p_closed:.4f}; "
                         f"deletion AUC {d['auc_saliency']:.3f} vs random order {d['auc_random']:.3f} "
                         f"({verdict} random)")
    return lines


def _map_title(a: ModelAnswer) -> list[str]:
    return [a.model, f"{a.decision.text.upper()} p(closed)={a.p_closed:.3f}"]


def figure_rows(res: PictureResult) -> list[dict]:
    """The rows of explain's figure: a title and the crop per eye, then each model's map titled with its decision."""
    return [{"title": "whole image" if eye.side == "crop" else f"{eye.label(res.several_faces)} eye",
             "image": eye.crop, "panels": [(_map_title(a), a.map) for a in eye.answers]} for eye in res.eyes]


def load_text(load: MachineLoad) -> str:
    """The machine's load average over its cores, BUSY when above them."""
    return f"load {load.load_1min:.2f} on {load.cores} cores" + (" BUSY" if load.busy else "")


def bench_line(r: BenchResult) -> str:
    """bench's line per model: batch and single-image speed, with the threads and the load after it."""
    threads = r.threads.batch
    return (f"{r.name:<14} batch {r.batch_images_per_second:>9.0f} img/s ({r.batch_ms_per_image:.3f} ms/img, "
            f"batch {r.batch_size}, {threads or '-'} threads)   single {r.single_ms_per_image:.2f} ms/img "
            f"({r.single_images_per_second:.0f} img/s, {r.threads.single} thread as predict and the app use; "
            f"{r.single_ms_default_threads:.2f} ms with {threads or '-'})   {load_text(r.load.after)}")


def was_busy(before: MachineLoad, spans: list[LoadSpan]) -> bool:
    """Whether the machine was busy at the start or after any measurement."""
    return before.busy or any(s.after.busy for s in spans)


def tracking_text(tracker: dict) -> str:
    """How the eyes were followed: landmarks every frame, or (the Haar fallback) detection every N frames."""
    from ..faces import finder_notice

    if finder_notice():
        return f"Haar detection every {tracker['detect_every']} frames (MediaPipe unavailable)"
    return "face landmarks every frame, face detection when the face is lost"


def video_bench_lines(rows: list[VideoBenchResult]) -> list[str]:
    """bench --video: the video and how it was tracked, then a line per model (frames/s, CPU, stages, load)."""
    first = rows[0]
    lines = [f"video pipeline (decode, track, classify) on {first.video}, {first.width}x{first.height}, "
             f"{first.frames} frames, {tracking_text(first.tracker)}:"]
    for r in rows:
        stages = ", ".join(f"{k.split(':')[0]} {v:.2f} s" for k, v in r.seconds.items() if k != "total")
        lines.append(f"{r.model:<16} {r.frames_per_second:6.1f} frames/s   ({r.frames_per_cpu_second:.1f} per CPU "
                     f"second; {stages})   {load_text(r.load.after)}")
    return lines


def photo_score_lines(folder, scores, crop_scale: float) -> list[str]:
    """bench --faces: eyes found over the labelled ones, then each model's state right over the eyes it judged."""
    lines = [f"{folder}: {scores.photos} photos, eyes found {scores.found} of {scores.labelled} labelled "
             f"({100 * scores.found_share:.1f}%); eye crops {crop_scale:g} x the eye-corner distance"]
    for name, m in scores.models.items():
        lines.append(f"  {name:<18} " + (f"state right on {m.right} of {m.judged} judged eyes "
                                         f"({100 * m.accuracy:.1f}%)" if m.judged else "no eye judged"))
    return lines


def video_score_lines(videos) -> list[str]:
    """bench --face-videos: per video the labelled counts, then each model's, exact or WRONG."""
    lines = []
    for v in videos:
        lines.append(f"{v.file}: labelled {v.blinks} blinks, {v.long_closures} long closures "
                     f"({v.frames_per_second:.0f} frames/s)")
        for name, c in v.models.items():
            exact = "exact" if v.exact(name) else "WRONG"
            lines.append(f"  {name:<18} {c.blinks} blinks, {c.long_closures} long closures, {c.closures} "
                         f"other closures ({exact})")
    return lines
