"""The text of video: the speed of each stage, how frames were timed, and a sentence per model."""
from __future__ import annotations

from ..video.outputs import summary_sentence
from ..video.pipeline import VideoAnalysis
from ..video.temporal import frame_interval


def video_lines(analysis: VideoAnalysis, fps: float | None, files: dict) -> list[str]:
    """Frames and speed per stage, the frame timing (`fps` as given by --fps), each model's summary, the files."""
    sec = analysis.seconds
    interval = frame_interval([r.time_s for r in analysis.rows])
    stated = f"the file states {analysis.info.fps:g} frames/s" if analysis.info.fps else "the file states no rate"
    return [f"{len(analysis.rows)} frames in {sec['total']:.1f} s: {analysis.frames_per_second:.1f} frames/s "
            f"(decode {sec['decode']:.1f} s, track {sec['track']:.1f} s, "
            + ", ".join(f"{k.split(':', 1)[1]} {v:.1f} s" for k, v in sec.items() if k.startswith("classify:")) + ")",
            f"frame times from {f'--fps {fps:g}' if fps else 'the video timestamps'}: one frame every "
            f"{1000 * interval:.1f} ms ({stated}; --fps sets another)",
            *(f"{name}: {summary_sentence(timeline)}" for name, timeline in analysis.timelines.items()),
            "wrote " + ", ".join(str(p) for p in files.values())]
