"""The Video tab: upload a video -> every chosen model's p(closed) over time (band shaded, closures marked), a table
of closure events, the summary numbers and the files (frames.csv, summary.json, timeline.html)."""
from __future__ import annotations

import gradio as gr

from ..workbench import analyse_video, summary_sentence, timeline_figure, write_outputs
from .common import OUTPUT_FOLDER, Bench, on_model_threads, reported
from .live_tab import LiveMode

MAX_FRAMES = 9000  # frames analysed per upload (5 min at 30 frames/s): the rest of a longer video is left out
VIDEO_TYPES = [".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"]
EVENT_COLUMNS = ["model", "kind", "start (s)", "end (s)", "duration (ms)", "first frame", "last frame", "complete"]


def events_rows(analysis) -> list[list]:
    """A row per closure event and model, in time order."""
    rows = [[m, e.kind, round(e.start_s, 3), round(e.end_s, 3), round(e.duration_ms), e.start_frame, e.end_frame,
             e.complete] for m, t in analysis.timelines.items() for e in t.events]
    return sorted(rows, key=lambda r: (r[2], r[0]))


def summary_markdown(analysis, truncated: bool) -> str:
    """The video, the speed, then a line per model: blinks, blink rate, closures, PERCLOS, frames without an eye."""
    info = analysis.info
    lines = [f"**{len(analysis.rows)} frames** of {info.width}x{info.height} at {info.fps:g} frames/s, analysed at "
             f"{analysis.frames_per_second:.1f} frames/s (decode, track, classify)."
             + (f" Only the first {MAX_FRAMES} frames were analysed." if truncated else "")]
    for m, t in analysis.timelines.items():
        lines.append(f"- **{m}**: {summary_sentence(t)}")
    lines.append("A frame's p(closed) is the mean over its eyes; frames inside a model's band keep the state they had "
                 "(hysteresis). Blink: a closure shorter than 500 ms; long closure: longer than 500 ms.")
    return "\n".join(lines)


class VideoTab:
    """Builds the tab and answers the `video` endpoint: timeline figure, summary, events table and files."""

    def __init__(self, bench: Bench):
        self.bench = bench

    @on_model_threads
    def analyse(self, video_path, names, progress=gr.Progress(track_tqdm=True)):
        """One uploaded video and the chosen models -> (timeline figure, summary markdown, events rows, file paths)."""
        if not video_path:
            raise gr.Error("Upload a video first.", print_exception=False)
        models = self.bench.pick(names)
        with reported(video_path):  # the message names the file, not its path on the server
            analysis = analyse_video(video_path, models, progress=True, max_frames=MAX_FRAMES)
        truncated = len(analysis.rows) == MAX_FRAMES and analysis.info.frame_count > MAX_FRAMES
        files = write_outputs(analysis, OUTPUT_FOLDER.new_dir("video_"))
        return (timeline_figure(analysis), summary_markdown(analysis, truncated), events_rows(analysis),
                [str(p) for p in files.values()])

    def build(self):
        """Lay out the tab and wire the Analyse button to `analyse` (API name `video`)."""
        names = list(self.bench.models)
        default = ["student"] if "student" in names else names[:1]
        gr.Markdown("Upload a video of a face: the eyes are tracked frame by frame and every chosen model gives "
                    "p(closed), blinks, closures and PERCLOS (the share of time the eyes are closed). Nothing is "
                    "kept after the files expire.")
        with gr.Row():
            video = gr.File(label="Video", file_types=VIDEO_TYPES, type="filepath", elem_id="video-file")
            with gr.Column():
                chosen = gr.CheckboxGroup(names, value=default, label="Models", elem_id="video-models")
                run = gr.Button("Analyse", variant="primary", elem_id="video-run")
        summary = gr.Markdown(label="Video summary", show_label=False, elem_id="video-summary")
        plot = gr.Plot(label="p(closed) over time", elem_id="video-timeline")
        events = gr.Dataframe(headers=EVENT_COLUMNS, label="Closure events", interactive=False, elem_id="video-events")
        files = gr.File(label="Downloads: frames.csv, summary.json, timeline.html", file_count="multiple",
                        interactive=False, elem_id="video-downloads")
        run.click(self.analyse, [video, chosen], [plot, summary, events, files], api_name="video")


def build_video_tab(bench: Bench) -> VideoTab:
    """The Video tab inside the app's tabs."""
    tab = VideoTab(bench)
    with gr.Tab("Video", id="video"):
        tab.build()
        LiveMode(bench).build()
    return tab
