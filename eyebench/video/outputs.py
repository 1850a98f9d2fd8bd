"""The files of a video analysis: frames.csv (per frame and eye), summary.json (per model) and timeline.html (offline)."""
from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path

import numpy as np

from ..config import count
from .pipeline import VideoAnalysis

KIND_COLOURS = {"blink": "rgba(255,140,0,0.30)", "closure": "rgba(148,103,189,0.30)",
                "long_closure": "rgba(214,39,40,0.30)", "incomplete": "rgba(127,127,127,0.25)"}
SCATTERGL_FROM = 20_000  # frames above which the timeline uses WebGL traces (a long video stays responsive)


def frame_columns(models) -> list[str]:
    """frames.csv's header: time, frame, eye, box, head pose, eyelid opening, tracking status, then p(closed) and
    state per model."""
    cols = ["time_s", "frame", "eye", "x", "y", "w", "h", "roll_deg", "yaw_deg", "pitch_deg", "eyelid_opening",
            "tracking"]
    for m in models:
        cols += [f"{m}_p_closed", f"{m}_frame_p_closed", f"{m}_state", f"{m}_uncertain"]
    return cols


def frame_rows(analysis: VideoAnalysis):
    """One row per frame and tracked eye (a frame without an eye: one row with eye "none"), as lists."""
    models = list(analysis.timelines)
    for i, r in enumerate(analysis.rows):
        per_model = {m: (analysis.timelines[m].p_smoothed[i], analysis.timelines[m].state[i],
                         bool(analysis.timelines[m].uncertain[i])) for m in models}
        eyes = r.eyes or [("none", None, "missing")]
        for k, (side, box, status) in enumerate(eyes):
            opening = r.openings[k] if box and k < len(r.openings) else None
            row = [f"{r.time_s:.4f}", r.frame, side, *(box if box else ("", "", "", "")), r.roll_deg,
                   _num(r.yaw_deg, 2), _num(r.pitch_deg, 2), _num(opening, 4), status]
            for m in models:
                p_eye = r.p_closed[m][k] if box else float("nan")
                frame_p, state, uncertain = per_model[m]
                row += [_num(p_eye), _num(frame_p), state, int(uncertain)]
            yield row


def _num(value: float | None, digits: int = 6) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def write_frames_csv(analysis: VideoAnalysis, path) -> Path:
    """frames.csv: `frame_columns` (p in [0, 1]; empty where the frame has no eye)."""
    path = Path(path)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(frame_columns(analysis.timelines))
        w.writerows(frame_rows(analysis))
    return path


def summaries(analysis: VideoAnalysis) -> dict:
    """summary.json's content: the video, the tracker options, the processing speed and one summary per model."""
    return {"video": analysis.info.to_dict(), "tracker": analysis.tracker,
            "processing_frames_per_second": analysis.frames_per_second,
            "seconds": {k: round(v, 3) for k, v in analysis.seconds.items()},
            "models": {m: analysis.timelines[m].summary() for m in analysis.timelines}}


def write_summary_json(analysis: VideoAnalysis, path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(summaries(analysis), indent=1, default=_json_default) + "\n")
    return path


def _json_default(o):
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def timeline_figure(analysis: VideoAnalysis):
    """One panel per model: frame p(closed), its uncertain band shaded, closure events shaded by kind, frames without
    an eye marked below the axis, and the sliding-window PERCLOS (dashed)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    models = list(analysis.timelines)
    pose = any(r.yaw_deg is not None for r in analysis.rows)
    panels = max(1, len(models)) + pose
    fig = make_subplots(rows=panels, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[_panel_title(m, analysis.timelines[m].summary()) for m in models]
                        + ["head pose (degrees, from the face landmarks)"] * pose)
    scatter = go.Scattergl if len(analysis.rows) > SCATTERGL_FROM else go.Scatter
    for row, m in enumerate(models, start=1):
        t = analysis.timelines[m]
        low, high = t.params.band
        shaded = dict(line_width=0, layer="below", row=row, col=1, exclude_empty_subplots=False)  # no trace yet
        fig.add_hrect(y0=low, y1=high, fillcolor="rgba(127,127,127,0.15)", **shaded)
        for e in t.events:
            fig.add_vrect(x0=e.start_s, x1=e.end_s, fillcolor=KIND_COLOURS[e.kind], **shaded)
        fig.add_trace(scatter(x=t.times, y=t.p_smoothed, mode="lines", name=f"{m} p(closed)", line=dict(width=1.5),
                              legendgroup=m, hovertemplate="%{x:.2f} s  p(closed) %{y:.3f}<extra></extra>"), row, 1)
        fig.add_trace(scatter(x=t.times, y=t.perclos, mode="lines", name=f"{m} PERCLOS "
                              f"({t.params.perclos_window_s:g} s)", line=dict(width=1, dash="dash"), legendgroup=m,
                              hovertemplate="%{x:.2f} s  PERCLOS %{y:.3f}<extra></extra>"), row, 1)
        if t.events:
            fig.add_trace(go.Scatter(
                x=[e.start_s for e in t.events], y=[1.04] * len(t.events), mode="markers", legendgroup=m,
                name=f"{m} closures", marker=dict(symbol="triangle-down", size=9, color="black"),
                text=[f"{e.kind} {e.duration_ms:.0f} ms (frames {e.start_frame}-{e.end_frame})" for e in t.events],
                hovertemplate="%{text}<extra></extra>"), row, 1)
        missing = t.times[t.state == "missing"]
        if len(missing):
            fig.add_trace(scatter(x=missing, y=[-0.04] * len(missing), mode="markers", name=f"{m} no eye",
                                  marker=dict(symbol="x", size=5, color="grey"), legendgroup=m,
                                  hovertemplate="%{x:.2f} s  no usable eye<extra></extra>"), row, 1)
        fig.update_yaxes(range=[-0.08, 1.08], title_text="p(closed)", row=row, col=1)
    if pose:
        _pose_panel(fig, analysis, panels, scatter)
    fig.update_xaxes(title_text="time (s)", row=panels, col=1)
    fig.update_layout(template="plotly_white", height=260 + 240 * (panels - (not models)), margin=dict(l=60, r=20, t=80, b=50),
                      title=f"Eyes over time: {Path(analysis.info.path).name} (grey band: uncertain; orange: blink, "
                            "purple: closure, red: long closure)")
    return fig


def _pose_panel(fig, analysis: VideoAnalysis, row: int, scatter) -> None:
    """Yaw, pitch and roll over time in the figure's last panel (gaps where no face was followed)."""
    times = [r.time_s for r in analysis.rows]
    for name, values in (("yaw", [r.yaw_deg for r in analysis.rows]), ("pitch", [r.pitch_deg for r in analysis.rows]),
                         ("roll", [r.roll_deg if r.yaw_deg is not None else None for r in analysis.rows])):
        fig.add_trace(scatter(x=times, y=[float("nan") if v is None else v for v in values], mode="lines",
                              name=f"head {name}", line=dict(width=1.2), legendgroup="pose",
                              hovertemplate=f"%{{x:.2f}} s  {name} %{{y:.0f}} degrees<extra></extra>"), row, 1)
    fig.update_yaxes(title_text="degrees", row=row, col=1)


def _rate_and_perclos(s: dict) -> tuple[str, str]:
    """A timeline summary's blink rate and PERCLOS as text ("n/a" where the video is too short to tell)."""
    rate = "n/a" if s["blink_rate_per_min"] is None else f"{s['blink_rate_per_min']:.1f}/min"
    return rate, "n/a" if s["perclos"] is None else f"{100 * s['perclos']:.1f}%"


def summary_sentence(timeline) -> str:
    """A timeline's summary in words: blinks, closures, PERCLOS, frames without an eye or uncertain, and the band."""
    s = timeline.summary()
    rate, perclos = _rate_and_perclos(s)
    peak = ("" if s["perclos_max"] is None
            else f" (highest over {s['perclos_window_s']:g} s: {100 * s['perclos_max']:.1f}%)")
    low, high = timeline.params.band
    return (f"{count(s['blinks'], 'blink')} ({rate}), {count(s['closures'], 'closure')}, "
            f"{count(s['long_closures'], 'long closure')}, PERCLOS {perclos}{peak}, "
            f"{count(s['frames_without_eye'], 'frame')} without an eye, {s['frames_uncertain']} uncertain "
            f"(band {low:.4g}-{high:.4g} on p(closed))")


def _panel_title(model: str, s: dict) -> str:
    rate, perclos = _rate_and_perclos(s)
    return (f"{model}: {count(s['blinks'], 'blink')} ({rate}), {count(s['long_closures'], 'long closure')}, "
            f"PERCLOS {perclos}, {count(s['frames_without_eye'], 'frame')} without an eye")


SUMMARY_KEYS = ("blinks", "closures", "long_closures", "incomplete_closures", "blink_rate_per_min", "mean_blink_ms",
                "perclos", "perclos_max", "frames_without_eye", "frames_uncertain", "frames")


def summary_table(analysis: VideoAnalysis) -> str:
    """An HTML table of the main numbers, a row per model."""
    head = "".join(f"<th>{html.escape(k)}</th>" for k in ("model",) + SUMMARY_KEYS)
    rows = []
    for m, t in analysis.timelines.items():
        s = t.summary()
        cells = "".join(f"<td>{_cell(s[k])}</td>" for k in SUMMARY_KEYS)
        rows.append(f"<tr><td>{html.escape(m)}</td>{cells}</tr>")
    return f"<div style='overflow-x:auto'><table><tr>{head}</tr>{''.join(rows)}</table></div>"


def _cell(v) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))


def write_timeline_html(analysis: VideoAnalysis, path) -> Path:
    """timeline.html: the figure with plotly.js inlined (works offline) and the summary table."""
    import plotly.io as pio

    path = Path(path)
    figure = pio.to_html(timeline_figure(analysis), include_plotlyjs=True, full_html=False)
    info = analysis.info
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>eyebench video: {html.escape(info.path)}</title>"
            "<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>"
            f"<h2>eyebench video timeline</h2><p>{html.escape(info.path)}: {info.width}x{info.height}, "
            f"{len(analysis.rows)} frames, {info.fps:g} frames/s. A frame's p(closed) is the mean over its tracked "
            "eyes; the state follows the model's uncertain band with hysteresis (definitions in "
            "eyebench/video/temporal.py).</p>"
            f"{summary_table(analysis)}{figure}</body></html>")
    path.write_text(page)
    return path


def write_outputs(analysis: VideoAnalysis, out_dir) -> dict[str, Path]:
    """frames.csv, summary.json and timeline.html in `out_dir` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {"frames": write_frames_csv(analysis, out / "frames.csv"),
            "summary": write_summary_json(analysis, out / "summary.json"),
            "timeline": write_timeline_html(analysis, out / "timeline.html")}
