"""The app's outputs folder stays under its size and age limits as it is written to; model handlers run on fixed
threads (the server's memory no longer grows with Gradio's worker threads). No server needed."""
from __future__ import annotations

import contextvars
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from eyebench.app import common
from eyebench.app.common import MODEL_THREADS, OutputFolder, on_model_threads

KB = 1024


def folder_bytes(root) -> int:
    return sum(os.path.getsize(os.path.join(top, n)) for top, _, names in os.walk(root) for n in names)


def age(path, seconds: float) -> None:
    """Make a file look `seconds` old."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_stated_bound():
    assert common.OUTPUT_FOLDER.root == common.OUTPUTS
    assert common.OUTPUT_FOLDER.max_bytes == common.OUTPUTS_MAX_MB * 2**20 == 100 * 2**20
    assert common.OUTPUT_FOLDER.max_age_s == common.OUTPUTS_MAX_AGE_S == 3600


def test_folder_stays_under_its_size_limit_while_written(tmp_path):
    out = OutputFolder(tmp_path / "out", max_bytes=20 * KB, max_age_s=3600, min_age_s=0, every_s=0)
    for i in range(300):
        out.write(f"{i:04d}.png", os.urandom(KB))
        assert folder_bytes(out.root) <= 21 * KB  # the limit plus the file just written (pruned before writing)
    kept = sorted(p.name for p in out.root.iterdir())
    assert len(kept) in (20, 21) and kept[-1] == "0299.png"  # the newest are kept


def test_oldest_files_go_first_and_young_ones_stay(tmp_path):
    out = OutputFolder(tmp_path, max_bytes=5 * KB, max_age_s=3600, min_age_s=60)
    for i in range(10):
        age(out.write(f"{i}.bin", b"x" * KB), 1000 - i)  # 0.bin is the oldest
    young = out.write("young.bin", b"y" * 20 * KB)  # over the limit alone, but just written
    removed = out.prune()
    assert young.exists()  # never removed before min_age_s: Gradio still has to copy it
    assert removed == 10 and sorted(p.name for p in tmp_path.iterdir()) == ["young.bin"]
    out2 = OutputFolder(tmp_path / "b", max_bytes=5 * KB, max_age_s=3600, min_age_s=60)
    for i in range(10):
        age(out2.write(f"{i}.bin", b"x" * KB), 1000 - i)
    assert out2.prune() == 5
    assert sorted(p.name for p in out2.root.iterdir()) == [f"{i}.bin" for i in range(5, 10)]


def test_old_files_go_even_under_the_size_limit(tmp_path):
    out = OutputFolder(tmp_path, max_bytes=100 * 2**20, max_age_s=3600, min_age_s=60)
    old, recent = out.write("old.png", b"a"), out.write("recent.png", b"b")
    age(old, 3601)
    age(recent, 3000)
    assert out.prune() == 1
    assert not old.exists() and recent.exists()


def test_writing_the_same_content_again_refreshes_its_age(tmp_path):
    out = OutputFolder(tmp_path, max_bytes=2**20, max_age_s=3600, min_age_s=60)
    path = out.write("same.png", b"data")
    age(path, 4000)
    assert out.write("same.png", b"data") == path  # in use again: not written twice, its age starts over
    assert out.prune() == 0 and path.read_bytes() == b"data"


def test_download_folders_are_inside_and_removed_when_old_and_empty(tmp_path):
    out = OutputFolder(tmp_path, max_bytes=2**20, max_age_s=3600, min_age_s=60)
    d = out.new_dir("eval_")
    assert d.parent == tmp_path and d.name.startswith("eval_")
    f = d / "evaluation.json"
    f.write_text("{}")
    out.prune()
    assert f.exists()  # young
    age(f, 4000)
    age(d, 4000)
    out.prune()  # the file goes (too old), then its folder (now empty)
    assert not f.exists()
    out.prune(now=time.time() + 120)
    assert not d.exists()


def test_pruning_runs_at_most_every_few_seconds(tmp_path):
    out = OutputFolder(tmp_path, max_bytes=KB, max_age_s=3600, min_age_s=0, every_s=3600)
    for i in range(5):
        out.write(f"{i}.bin", b"x" * KB)  # the first write pruned (an empty folder); the next ones do not
    assert len(list(tmp_path.iterdir())) == 5
    assert out.prune() == 4


def test_png_writes_into_the_bounded_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "OUTPUT_FOLDER", OutputFolder(tmp_path, 2**20, 3600))
    rgb = np.zeros((8, 8, 3), np.uint8)
    path = common.png(rgb)
    assert os.path.dirname(path) == str(tmp_path) and path.endswith(".png")
    assert common.png(rgb) == path and len(list(tmp_path.iterdir())) == 1


def test_model_handlers_run_on_fixed_threads():
    names = set()
    request = contextvars.ContextVar("request")

    @on_model_threads
    def handler(i, progress=None):
        names.add(threading.current_thread().name)
        return i, request.get(None), inner()

    @on_model_threads
    def inner():
        return threading.current_thread().name  # already on a model thread: runs inline (no deadlock)

    def caller(i):
        request.set(f"r{i}")  # as Gradio sets its request/progress context per event
        return handler(i)

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(caller, range(48)))
    assert [r[:2] for r in results] == [(i, f"r{i}") for i in range(48)]
    assert len(names) <= MODEL_THREADS and all(n.startswith("eyebench-model") for n in names)
    assert all(r[2].startswith("eyebench-model") for r in results)


def test_model_thread_errors_reach_the_caller():
    @on_model_threads
    def fails():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        fails()


def test_handlers_keep_their_signature_for_gradio():
    import inspect

    from eyebench.app.evaluate_tab import EvaluateTab
    from eyebench.app.predict_tab import PredictTab
    from eyebench.app.robustness_tab import RobustnessTab

    assert list(inspect.signature(PredictTab.predict).parameters) == ["self", "image_path", "whole_image"]
    assert "progress" in inspect.signature(EvaluateTab.evaluate).parameters
    assert "progress" in inspect.signature(RobustnessTab.robustness).parameters


def test_download_folders_named_by_content_are_written_once(tmp_path):
    out = OutputFolder(tmp_path, max_bytes=2**20, max_age_s=3600, min_age_s=60)
    paths = []
    for text in ("same", "same", "other"):
        d = out.new_dir("eval_")
        (d / "evaluation.json").write_text(text)
        (d / "predictions.csv").write_text("a,b\n")
        paths.append(out.by_content(d))
    assert paths[0] == paths[1] != paths[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({p.name for p in paths})
    assert (paths[0] / "evaluation.json").read_text() == "same" and (paths[2] / "evaluation.json").read_text() == "other"
    os.remove(paths[0] / "predictions.csv")  # pruned in part: the next identical evaluation writes it again
    d = out.new_dir("eval_")
    (d / "evaluation.json").write_text("same")
    (d / "predictions.csv").write_text("a,b\n")
    assert out.by_content(d) == paths[0] and (paths[0] / "predictions.csv").exists()


def test_session_state_default_is_shared_not_copied():
    import copy

    import gradio as gr

    from eyebench.app import SESSIONS
    from eyebench.app.common import Shared

    value = Shared(cache={"proba": {"m": np.zeros(4000)}}, models=["m"])
    state = gr.State(value)
    assert copy.deepcopy(state.value) is value and copy.copy(value) is value  # Gradio deep-copies it per session
    app_py = (common.SAMPLES.parent / "app.py").read_text()
    assert "state_session_capacity=SESSIONS" in app_py and 0 < SESSIONS <= 1000


def test_malloc_arena_cap(monkeypatch):
    from eyebench.app.common import limit_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False  # the environment's own setting wins
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert isinstance(limit_malloc_arenas(), bool)  # True on glibc, False elsewhere; never raises
