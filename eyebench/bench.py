"""Measure inference speed on this machine: batch images/s on prepared input, and single-image latency."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .results import (
    BenchResult,
    BenchThreads,
    LoadSpan,
    MachineLoad,
    PictureBench,
    ThresholdBench,
    VideoBenchResult,
)
from .threads import SINGLE_IMAGE_THREADS, single_image_threads

MIN_RECORD_SECONDS = 10.0  # --record: a shorter measurement is noise, not a figure for a model card


def machine_load() -> MachineLoad:
    """The machine's load average (1 and 5 minutes), its cores, and whether it is busy (load above the cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    one, five, _ = os.getloadavg()
    return MachineLoad(round(one, 2), round(five, 2), cores, one > cores)


def recording_refusal(seconds: float, load: MachineLoad) -> str | None:
    """Why a measurement may not be recorded in a model card (too short, or a busy machine), or None."""
    if seconds < MIN_RECORD_SECONDS:
        return (f"--record needs --seconds {MIN_RECORD_SECONDS:g} or more (got {seconds:g}): a shorter run is too "
                "noisy to stand in a model card")
    if load.busy:
        return (f"--record refused: the machine is busy (load average {load.load_1min:.2f} over the last minute on "
                f"{load.cores} cores), so the figures would be too low; run it again when the machine is idle")
    return None


def _rate(fn, n_items: int, seconds: float) -> tuple[float, int]:
    """Calls fn repeatedly for about `seconds`; returns (seconds per call, calls)."""
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and calls >= 3:
            return elapsed / calls, calls


def bench_classifier(clf, before: MachineLoad, batch_size: int = 256, seconds: float = 3.0,
                     seed: int = 0) -> BenchResult:
    """Warm up, then time batch inference on prepared uint8 input and predict_proba on one raw crop; the load is
    `before` (taken at the start of the run) and the machine's after the measurement."""
    cfg = clf.data_config
    rng = np.random.default_rng(seed)
    batch = rng.integers(0, 256, (batch_size, cfg.input_size, cfg.input_size, cfg.channels), dtype=np.uint8)
    raw = rng.integers(0, 256, (88, 88), dtype=np.uint8)  # a typical MRL crop size
    clf.proba_prepared(batch)
    clf.predict_proba([raw])
    threads = _torch_threads()
    per_batch, _ = _rate(lambda: clf.proba_prepared(batch), batch_size, seconds)
    with single_image_threads():  # as predict and the app run one crop
        clf.predict_proba([raw])
        per_single, _ = _rate(lambda: clf.predict_proba([raw]), 1, seconds)
    per_default, _ = _rate(lambda: clf.predict_proba([raw]), 1, seconds / 3)
    return BenchResult(clf.name, clf.checkpoint, batch_size, batch_size / per_batch, 1000 * per_batch / batch_size,
                       1000 * per_single, 1 / per_single, 1000 * per_default, seconds,
                       BenchThreads(threads, SINGLE_IMAGE_THREADS), LoadSpan(before, machine_load()))


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def bench_picture(models: dict, rgb: np.ndarray, repeats: int = 5) -> PictureBench:
    """Median wall time of the app's predict path (eye finding, every model, every map) for one picture."""
    from .workbench import predict_picture

    predict_picture(models, rgb)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict_picture(models, rgb)
        times.append(time.perf_counter() - t0)
    return PictureBench(tuple(models), repeats, 1000 * float(np.median(times)), 1000 * float(np.max(times)))


def bench_threshold(n_images: int = 10_000, repeats: int = 20, seed: int = 0) -> ThresholdBench:
    """Median time of one threshold-slider update on cached probabilities of `n_images` images."""
    from .data.dataset import Dataset, Sample
    from .workbench import probability_cache, threshold_stats

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_images)
    dataset = Dataset([Sample(f"{i}.png", int(labels[i]), f"s{i % 30:04d}", "mrl",
                              {"glasses": str(i % 2), "sensor": str(i % 3)}) for i in range(n_images)])
    cache = probability_cache(dataset, {"m": rng.random(n_images)}, {})
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        threshold_stats(cache, "m", 0.1 + 0.01 * i, 0.9)
        times.append(time.perf_counter() - t0)
    return ThresholdBench(n_images, 1000 * float(np.median(times)))


def bench_video(models: dict, video=None, seconds: float = 10.0, fps: float = 30.0) -> list[VideoBenchResult]:
    """Frames per second of the whole video pipeline (decode, track, classify) for each model alone, and for the
    tracking alone, on `video` or on a 640x480 video made in code (`seconds` long at `fps`). Wall time and the
    process's CPU time are both given: on a busy machine the wall figure falls, the CPU one much less."""
    import tempfile
    from pathlib import Path

    from .video.pipeline import analyse_video
    from .video.synthetic import demo_video

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(video) if video else demo_video(Path(tmp) / "bench_640x480.avi", seconds=seconds, fps=fps)[0]
        analyse_video(path, models, max_frames=10)  # warm-up: cascades, models, decoder
        rows = []
        for name, clf in [("(tracking only)", None), *models.items()]:
            load = machine_load()
            cpu0 = time.process_time()
            analysis = analyse_video(path, {} if clf is None else {name: clf})
            cpu = time.process_time() - cpu0
            n, wall = len(analysis.rows), analysis.seconds["total"]
            rows.append(VideoBenchResult(name, str(path) if video else "made in code (640x480)", analysis.info.width,
                                         analysis.info.height, n, n / wall, cpu, n / cpu,
                                         {k: round(v, 3) for k, v in analysis.seconds.items()}, analysis.tracker,
                                         LoadSpan(load, machine_load())))
    return rows


def record_bench(rows: list[BenchResult], command: str) -> None:
    """Store each measurement, with the command and the machine it ran on, in its checkpoint's config.json and card."""
    import platform

    import torch

    from .models.checkpoint import update_record

    for r in rows:
        load = r.load.before
        machine = (f"{load.cores} CPU cores ({platform.machine()}), torch {torch.__version__}, "
                   f"{r.threads.batch or '-'} threads for batches, {r.threads.single} for single images, "
                   f"load average {load.load_1min:.2f} at the start, {r.seconds:g} s per measurement")
        update_record(r.checkpoint, "bench", {**r.to_dict(), "command": command, "machine": machine})
