"""`eyebench video`: blinks, closures and PERCLOS of a video, per model."""
from __future__ import annotations

import argparse

from .args import SHARE, Output, _add_output, bounded, input_path
from .common import _named_models

VIDEO_OUT = Output(folder=True, writes=("frames.csv", "summary.json", "timeline.html"))


def run(args) -> int:
    from ..formatters.video import video_lines
    from ..video.options import TrackerOptions
    from ..video.outputs import write_outputs
    from ..video.pipeline import analyse_video
    from ..video.temporal import TemporalParams

    models = _named_models(args.model)
    tracker = TrackerOptions(detect_every=args.detect_every, detect_width=args.detect_width, smoothing=args.smoothing,
                             hold_frames=args.hold_frames)
    params = TemporalParams(median_frames=args.median, max_blink_ms=args.max_blink_ms,
                            long_closure_ms=args.long_closure_ms, min_closure_ms=args.min_closure_ms,
                            max_gap_ms=args.max_gap_ms, perclos_window_s=args.perclos_window)
    analysis = analyse_video(args.input, models, tracker, params, band=args.band, max_side=args.max_side, fps=args.fps,
                             progress=True, max_frames=args.max_frames)
    files = write_outputs(analysis, args.out)
    print("\n".join(video_lines(analysis, args.fps, files)))
    return 0


VIDEO_HELP = """Eye state over time in a video: the largest face is followed frame by frame with MediaPipe's face
landmarks (the mesh every frame from the last frame's face region; face detection again only when the face is lost),
its eyes are cut level on their corners, every model gives p(closed) per eye, and per model a hysteresis on its
uncertain band gives the state, closures (blink / closure / long closure), blink rate and PERCLOS. The eye aspect
ratio of the landmarks (closed below 0.2, Soukupova and Cech 2016) is analysed beside the models as the baseline.
Writes OUT/frames.csv (per frame and eye: time, box, head pose, eyelid opening, p(closed) and state per model),
OUT/summary.json (per model: blinks, closures, blink rate, PERCLOS, frames without an eye, parameters used) and
OUT/timeline.html (offline plotly, with the head pose over time). Where MediaPipe cannot run, OpenCV Haar cascades
find the eyes every N frames with template tracking between (the --detect-* and tracking options below).
Definitions: eyebench/video/temporal.py, landmark_tracking.py and tracking.py (the fallback)."""


def add_parser(sub) -> None:
    from ..video.options import TrackerOptions
    from ..video.temporal import TemporalParams

    tracker, params = TrackerOptions(), TemporalParams()
    v = sub.add_parser("video", help="blinks, closures and PERCLOS of a video, per model (CSV, JSON, HTML timeline)",
                       description=VIDEO_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("input", type=input_path, metavar="INPUT",
                   help="video file (any container and codec OpenCV's FFmpeg reads)")
    v.add_argument("--model", action="append", type=input_path, required=True, metavar="DIR",
                   help="checkpoint folder (repeatable)")
    _add_output(v, "--out", VIDEO_OUT, required=True, metavar="DIR",
                help="folder for frames.csv, summary.json, timeline.html")
    v.add_argument("--detect-every", type=bounded(int, 1), default=tracker.detect_every, metavar="N",
                   help=f"Haar fallback only: detect every N frames, template tracking between (default {tracker.detect_every})")
    v.add_argument("--detect-width", type=int, default=tracker.detect_width, metavar="PX",
                   help=f"Haar fallback only: detect on a copy at most this wide (>= 320; default {tracker.detect_width})")
    v.add_argument("--smoothing", type=SHARE, default=tracker.smoothing,
                   help=f"Haar fallback only: weight of a new detection in the smoothed boxes, 1 = none (default {tracker.smoothing})")
    v.add_argument("--hold-frames", type=bounded(int, 0), default=tracker.hold_frames, metavar="N",
                   help=f"Haar fallback only: keep an eye the detector misses for N frames (default {tracker.hold_frames})")
    v.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="uncertain band on p(closed) for every model (default: each model's own band)")
    v.add_argument("--median", type=int, default=params.median_frames, metavar="FRAMES",
                   help="median smoothing of p(closed) over this many frames, odd, 1 = off (default 1)")
    v.add_argument("--max-blink-ms", type=float, default=params.max_blink_ms,
                   help=f"a closure shorter than this is a blink (default {params.max_blink_ms:g})")
    v.add_argument("--long-closure-ms", type=float, default=params.long_closure_ms,
                   help=f"a closure longer than this is a long closure (default {params.long_closure_ms:g})")
    v.add_argument("--min-closure-ms", type=float, default=params.min_closure_ms,
                   help=f"closures shorter than this are dropped as noise (default {params.min_closure_ms:g})")
    v.add_argument("--max-gap-ms", type=float, default=params.max_gap_ms,
                   help=f"frames without an eye bridged up to this long (default {params.max_gap_ms:g})")
    v.add_argument("--perclos-window", type=float, default=params.perclos_window_s, metavar="SECONDS",
                   help=f"sliding PERCLOS window (default {params.perclos_window_s:g})")
    v.add_argument("--fps", type=bounded(float, 0, above=True),
                   help="frame rate to time frames by (default: the video's own timestamps)")
    v.add_argument("--max-side", type=bounded(int, 1), default=4096, metavar="PX",
                   help="refuse videos wider or taller than this (default 4096)")
    v.add_argument("--max-frames", type=bounded(int, 1), metavar="N", help="stop after N frames")
    v.set_defaults(func=run)
