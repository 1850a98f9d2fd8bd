"""The Threshold tab: tune the uncertain band on the last evaluation's cached probabilities (no model runs)."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from .. import workbench
from ..config import pct
from ..results import EyeState
from ..workbench import MIN_GROUP_N
from .common import OUTPUT_FOLDER, Bench, legend_below, pct_number

PER_PERSON, POOLED = "for every person", "over all images"
NEED_EVALUATION = "Run an evaluation first (Evaluate tab), then tune its models here."
SUBSET_COLUMNS = ["factor", "value", "n", "rejected %"]


def evaluated(state, model) -> bool:
    """Whether this session's last evaluation holds probabilities of `model`."""
    cache = workbench.session_cache(state)
    return cache is not None and cache.holds(model)


def cached(state, model) -> workbench.ProbabilityCache:
    """The session's evaluation cache, or a message saying that the Evaluate tab has to run first."""
    if not evaluated(state, model):
        raise gr.Error(NEED_EVALUATION, print_exception=False)
    return workbench.session_cache(state)


def people_order(rows: list[dict], min_n: int = MIN_GROUP_N) -> list[dict]:
    """Per-person rejection rows with the people of at least `min_n` images first, most rejected first, then the
    smaller groups (whose shares rest on a few images) in the same order."""
    return sorted(rows, key=lambda r: (r["n"] < min_n, -r["rejected"], -r["n"], r["subject"]))


def band_text(model, low, high, s: workbench.BandDetail) -> str:
    """One line of band statistics: coverage, accuracy and closed recall on the accepted images, rejections."""
    return (f"**{model}** · band **[{min(low, high):.3f}, {max(low, high):.3f}]** · coverage "
            f"**{pct(s.coverage)}** · accuracy on accepted **{pct(s.accepted_accuracy)}** · "
            f"closed recall (accepted) {pct(s.closed_recall_accepted)} · uncertain {s.n_uncertain} of "
            f"{s.n} · rejected open {pct(s.rejection_rate(EyeState.OPEN))}, closed "
            f"{pct(s.rejection_rate(EyeState.CLOSED))}")


class ThresholdTab:
    """Builds the tab and answers `threshold`, `suggest_band`, `reset_band` and `export_uncertain`."""

    def __init__(self, bench: Bench, state: gr.State):
        self.bench = bench
        self.state = state  # the session's evaluation: {"cache": ..., "models": [...]}, set by the Evaluate tab

    def threshold(self, state, model, low, high) -> dict:
        """Band statistics from cached probabilities (no model runs): fast enough to follow a slider."""
        cache = cached(state, model)
        low, high = float(low), float(high)
        s = workbench.threshold_stats(cache, model, low, high)
        subsets = pd.DataFrame([{"factor": r["factor"], "value": r["value"], "n": r["n"],
                                 "rejected %": pct_number(r["rejected"])} for r in s.subset_rejection],
                               columns=SUBSET_COLUMNS)
        figure, histogram = workbench.band_figures(cache, model, s)
        three = pd.DataFrame([{"true class": c, **counts} for c, counts in s.three_way.items()])
        people = pd.DataFrame([{"subject": r["subject"], "n": r["n"], "rejected %": pct_number(r["rejected"]),
                                "accuracy on accepted %": pct_number(r["accepted_accuracy"])}
                               for r in people_order(s.person_rejection)])
        return {self.stats: band_text(model, low, high, s), self.subsets: subsets, self.rc: legend_below(figure),
                self.raw: s.numbers(), self.hist: legend_below(histogram),
                self.three: three, self.people: people}

    def threshold_live(self, state, model, low, high) -> dict:
        """The sliders' live update: like `threshold`, but before any evaluation it says so in the text (no pop-up)."""
        if not evaluated(state, model):
            return {self.stats: f"*{NEED_EVALUATION}*"}  # the other outputs stay as they are
        return self.threshold(state, model, low, high)

    def suggest(self, state, model, target, rule=PER_PERSON):
        """The widest band whose selective risk on the evaluated set stays under the target."""
        cache = cached(state, model)
        if target is None or not 0 <= float(target) < 100:
            raise gr.Error("The target selective risk is a percentage from 0 to 100.", print_exception=False)
        (low, high), reached = workbench.suggest_band(cache, model, float(target) / 100, per_person=rule == PER_PERSON)
        if not reached:
            gr.Warning(f"No band keeps the selective risk at or under {float(target):g}% {rule} on this set: this is "
                       "the band of lowest risk.")
        return low, high

    def reset_band(self, model):
        """The model's stored band (0.5, 0.5 when it has none)."""
        return self.bench.stored_band(model)

    def export_uncertain(self, state, model, low, high):
        """A CSV of the images inside the band, most ambiguous first."""
        folder = OUTPUT_FOLDER.new_dir("band_")
        workbench.write_uncertain(cached(state, model), model, float(low), float(high), folder / f"uncertain_{model}.csv")
        return str(OUTPUT_FOLDER.by_content(folder) / f"uncertain_{model}.csv")

    def _layout(self):
        first = next(iter(self.bench.models), None)
        band = self.bench.stored_band(first)
        gr.Markdown("Tune the **uncertain band** on p(closed): below *low* = open, above *high* = closed, between = "
                    "uncertain. Uses the probabilities of the last evaluation (no model runs), so it updates "
                    "instantly; before any evaluation, those of the precomputed held-out test people.")
        with gr.Row():
            self.model = gr.Dropdown(list(self.bench.models), value=first, label="Model")
            self.low = gr.Slider(0, 1, value=band[0], step=0.001, label="low (p(closed) at or below = open)",
                                 elem_id="band-low")
            self.high = gr.Slider(0, 1, value=band[1], step=0.001, label="high (p(closed) at or above = closed)",
                                  elem_id="band-high")
        with gr.Row():
            self.target = gr.Number(value=1.0, label="target selective risk %")
            self.rule = gr.Radio([PER_PERSON, POOLED], value=PER_PERSON, label="the risk must hold",
                                 info="per person: no single person (with 50+ images) above the target; pooled: on "
                                      "average")
            self.suggest_btn = gr.Button("Suggest band for target risk")
            self.reset_btn = gr.Button("Reset to the model's stored band")
            self.export_btn = gr.Button("Export uncertain images (CSV)")
        # right under the buttons and shown once exported: the answer appears where the user clicked
        self.csv_out = gr.File(label="Uncertain images (CSV, most ambiguous first)", interactive=False, visible=False,
                               elem_id="band-csv")
        self.stats = gr.Markdown(label="Band statistics", show_label=False, elem_id="band-stats")
        with gr.Row():
            with gr.Column():
                self.hist = gr.Plot(label="p(closed) per true class, with the band", elem_id="band-histogram")
                self.three = gr.Dataframe(label="True class x decision (open / uncertain / closed)",
                                          interactive=False, elem_id="band-three-way")
            with gr.Column():
                self.rc = gr.Plot(label="Risk-coverage")
        with gr.Row():
            with gr.Column():
                self.subsets = gr.Dataframe(label="Rejection per subset", interactive=False, max_height=300)
            with gr.Column():
                self.people = gr.Dataframe(label=f"Rejection per person (most rejected first; people with fewer "
                                                 f"than {MIN_GROUP_N} images last)", interactive=False,
                                           max_height=300, elem_id="band-people")
        self.raw = gr.JSON(label="Band statistics (numbers)", visible=False)

    def build(self):
        """Lay out the tab and wire the sliders (live), the model choice and the three buttons."""
        self._layout()
        self.inputs = [self.state, self.model, self.low, self.high]
        self.outputs = [self.stats, self.subsets, self.rc, self.raw, self.hist, self.three,
                        self.people]  # the API answers in this order
        ins, outs, live = self.inputs, self.outputs, dict(trigger_mode="always_last", show_progress="hidden")
        # `change` follows every move (pointer, keyboard, typed number, and values set by suggest/reset/evaluate);
        # `release` (pointer up, number box left) is the public endpoint and reports a missing evaluation as an error
        self.low.change(self.threshold_live, ins, outs, api_name=False, **live)
        self.high.change(self.threshold_live, ins, outs, api_name=False, **live)
        self.low.release(self.threshold, ins, outs, api_name="threshold", **live)
        self.high.release(self.threshold, ins, outs, api_name=False, **live)
        self.model.change(self.reset_band, self.model, [self.low, self.high], api_name=False).then(
            self.threshold_live, ins, outs, api_name=False, **live)
        self.suggest_btn.click(self.suggest, [self.state, self.model, self.target, self.rule], [self.low, self.high],
                               api_name="suggest_band")
        self.reset_btn.click(self.reset_band, self.model, [self.low, self.high], api_name="reset_band")
        self.export_btn.click(self.export_uncertain, ins, self.csv_out, api_name="export_uncertain").success(
            lambda: gr.File(visible=True), None, self.csv_out, api_name=False, show_progress="hidden")
