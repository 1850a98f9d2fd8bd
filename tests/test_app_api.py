"""The Gradio app through its API (gradio_client against a live server on temp checkpoints)."""
from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_server import (
    BROKEN,
    MODEL_NAMES,
    REPO_ROOT,
    SAMPLE_SET,
    SAMPLES,
    free_port,
    server,  # noqa: F401  (module-scoped app fixture)
)
from conftest import write_broken_files
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

N_SAMPLES = sum(1 for r in json.loads((SAMPLES / "samples.json").read_text()) if r["label"])  # labelled sample pictures

PUBLIC_ENDPOINTS = {"predict", "evaluate", "threshold", "suggest_band", "reset_band", "export_uncertain", "robustness",
                    "video", "review"}


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False, download_files=False)


@pytest.fixture(scope="module")
def evaluated(server):
    """A client session that has run an evaluation on the sample images (the threshold tab's cache)."""
    c = Client(server.url, verbose=False, download_files=False)
    out = c.predict(list(MODEL_NAMES), SAMPLE_SET, None, 0, api_name="/evaluate")
    return c, out


def predict(client, path, whole=False):
    """/predict: annotated picture, message, JSON summary, then one map gallery per model, then one label text per
    model (returned here as a list of (gallery, label) pairs, in model order)."""
    annotated, message, summary, *rest = client.predict(handle_file(str(path)), whole, api_name="/predict")
    n = len(MODEL_NAMES)
    assert len(rest) == 2 * n
    return annotated, message, summary, list(zip(rest[:n], rest[n:]))


def _path(value) -> str:
    """A file output: a FileData dict (download_files=False) or a path."""
    return value["path"] if isinstance(value, dict) else value


def app_error(client, path, whole=False) -> str:
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(path)), whole, api_name="/predict")
    return str(info.value)


# -- startup and API surface -------------------------------------------------------------------------------
def test_loads_temp_checkpoints_and_reports_the_broken_one(server):
    assert list(server.models) == list(MODEL_NAMES)
    assert len(server.notices) == 1 and BROKEN in server.notices[0]
    assert "config.json is not valid JSON" in server.notices[0]


def test_every_event_has_an_explicit_api_name(server, client):
    fns = server.demo.fns.values()
    public = {fn.api_name for fn in fns if fn.api_visibility == "public"}
    assert public == PUBLIC_ENDPOINTS
    # everything else is internal (api_name=False) or the examples' loader
    others = {fn.api_name for fn in fns if fn.api_visibility != "public"}
    assert all(name == "load_example" or name.startswith("false") for name in others), others
    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert named == {f"/{n}" for n in PUBLIC_ENDPOINTS}



def test_the_demo_builds_without_any_model():
    """An empty or missing checkpoints folder still gives the page (it says so) with the same API."""
    from eyebench.app import build_demo

    demo = build_demo({}, ["no checkpoint folder at nowhere"], samples=SAMPLES, datasets={SAMPLE_SET: SAMPLES})
    assert {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"} == PUBLIC_ENDPOINTS
    texts = [c.value for c in demo.blocks.values() if c.get_block_name() == "markdown"]
    assert any("**No model loaded.**" in t and "no checkpoint folder at nowhere" in t for t in texts)

# -- predict -------------------------------------------------------------------------------------------------
def test_predict_eye_crop_gives_every_model(client):
    annotated, message, summary, galleries = predict(client, SAMPLES / "synthetic_closed_0.png")
    assert "whole image" in message
    assert len(summary["eyes"]) == 1
    eye = summary["eyes"][0]
    assert eye["side"] == "crop"
    assert set(eye["models"]) == set(MODEL_NAMES)
    for name, r in eye["models"].items():
        assert r["label"] in ("open", "closed", "uncertain")
        assert 0 <= r["p_closed"] <= 1 and abs(r["p_open"] + r["p_closed"] - 1) < 1e-3
        assert r["ms"] >= 0
    assert eye["models"]["cnn_untrained"]["band"] == [0.3, 0.7]
    assert Path(_path(annotated)).suffix
    assert len(galleries) == len(MODEL_NAMES)
    for (gallery, label), name in zip(galleries, MODEL_NAMES):
        assert len(gallery) == 1 and gallery[0]["caption"].startswith("crop: ")
        assert label.startswith(f"crop: **{eye['models'][name]['label'].upper()}**")


def test_predict_face_finds_two_eyes(client):
    _, message, summary, galleries = predict(client, SAMPLES / "astronaut_face.jpg")
    assert "2 eye(s) found" in message
    assert sorted(e["side"] for e in summary["eyes"]) == ["left", "right"]
    for eye in summary["eyes"]:
        assert set(eye["models"]) == set(MODEL_NAMES)
        assert all("p_closed" in r and "label" in r for r in eye["models"].values())
    assert all(len(g) == 2 and label.count("<br>") == 1 for g, label in galleries)


def test_predict_without_eyes_offers_the_whole_image(client, tmp_path):
    flat = tmp_path / "flat.png"
    Image.new("RGB", (480, 320), (120, 130, 140)).save(flat)  # too big to be taken as an eye crop
    _, message, summary, galleries = predict(client, flat)
    assert "No eye found" in message and summary["eyes"] == []
    assert all(g == [] and label == "no eye classified" for g, label in galleries)
    _, message, summary, _ = predict(client, flat, whole=True)
    assert [e["side"] for e in summary["eyes"]] == ["crop"]


def test_predict_rgba_and_16bit_images(client, tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[16:48, 16:48] = (30, 30, 30, 255)  # transparent elsewhere
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    deep = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    for name in ("rgba.png", "deep.png"):
        _, _, summary, _ = predict(client, tmp_path / name, whole=True)
        assert set(summary["eyes"][0]["models"]) == set(MODEL_NAMES)


def test_predict_bad_uploads_give_readable_messages(client, tmp_path):
    broken = write_broken_files(tmp_path / "broken")
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    assert "not a readable image" in app_error(client, text)
    assert "not a readable image" in app_error(client, broken["empty"])
    assert "corrupt or truncated image" in app_error(client, broken["truncated"])
    tiny = tmp_path / "tiny.png"
    Image.new("L", (4, 4)).save(tiny)
    assert "image too small" in app_error(client, tiny)


def test_predict_blank_eye_sized_picture_is_not_classified(client, tmp_path):
    """A fully transparent (blank once composited) 64x64 PNG has no eye: no confident label for it."""
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(tmp_path / "blank.png")
    _, message, summary, galleries = predict(client, tmp_path / "blank.png")
    assert "nearly uniform" in message and summary["eyes"] == []
    assert all(g == [] and label == "no eye classified" for g, label in galleries)


def test_predict_huge_picture_is_refused_with_the_reason(client, tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("L", (8000, 5100)).save(huge)  # 40.8 M pixels, a few KB on disk
    assert "image too large" in app_error(client, huge)


# -- evaluate ------------------------------------------------------------------------------------------------
def _table(value):
    return [dict(zip(value["headers"], row)) for row in value["data"]]


def test_evaluate_sample_images(evaluated):
    _, out = evaluated
    note, table, confusion, curves, mistakes, files, band_model, low, high = out
    assert f"{N_SAMPLES} images read, 0 skipped" in note
    rows = _table(table)
    assert [r["model"] for r in rows] == list(MODEL_NAMES)
    assert all(r["n"] == N_SAMPLES and 0 <= r["accuracy %"] <= 100 for r in rows)
    fig = json.loads(confusion["plot"])
    assert len([t for t in fig["data"] if t["type"] == "heatmap"]) == len(MODEL_NAMES)
    assert json.loads(curves["plot"])["data"]
    assert isinstance(mistakes, list)
    names = sorted(Path(_path(f)).name for f in files)
    assert names == ["evaluation.json", "predictions.csv"]
    assert band_model["value"] == MODEL_NAMES[0] and [c[0] for c in band_model["choices"]] == list(MODEL_NAMES)
    assert (low, high) == (0.3, 0.7)  # the first model's stored band


def _class_zip(path: Path, records) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for r in records:
            folder = "open" if r["label"] == 0 else "closed"
            zf.write(r["path"], f"eyes/{folder}/{r['person']}_{r['number']:04d}_{r['side']}.png")
        zf.writestr("eyes/notes.txt", "junk that is not an image")
        zf.writestr("eyes/../escape.png", b"not extracted")
        zf.writestr("eyes/open/broken_0001_L.png", b"\x89PNG\r\n\x1a\n truncated")
    return path


def test_evaluate_uploaded_zip_reports_junk(client, records, tmp_path):
    from eyebench.results import EyeState

    picked = records[:16]
    archive = _class_zip(tmp_path / "my_eyes.zip", picked)
    note, table, *_ = client.predict(list(MODEL_NAMES), SAMPLE_SET, handle_file(str(archive)), 0, api_name="/evaluate")
    assert f"{len(picked)} images read" in note
    assert "notes.txt" in note and "not an image (.txt)" in note
    assert "unsafe path" in note
    assert "broken_0001_L.png" in note  # unreadable image: skipped with its reason
    rows = _table(table)
    assert [r["model"] for r in rows] == list(MODEL_NAMES) and all(r["n"] == len(picked) for r in rows)
    assert sum(r["label"] == EyeState.OPEN for r in picked) == len(picked) // 2


def test_evaluate_one_class_set_says_why_metrics_are_empty(client, records, tmp_path):
    """Open eyes only: closed recall and ROC-AUC are empty, and the note says why (it said nothing)."""
    from eyebench.results import EyeState

    opened = [r for r in records if r["label"] == EyeState.OPEN][:6]
    archive = tmp_path / "open_only.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for r in opened:
            zf.write(r["path"], f"open/{r['person']}_{r['number']:04d}_{r['side']}.png")
    note, table, *_ = client.predict(list(MODEL_NAMES), SAMPLE_SET, handle_file(str(archive)), 0, api_name="/evaluate")
    rows = _table(table)
    assert all(r["closed recall %"] is None and r["ROC-AUC"] is None and r["open recall %"] is not None for r in rows)
    assert "No closed-eye image in this test set: closed recall, ROC-AUC and the ROC curve are left empty" in note
    assert "No open-eye image" not in note


def test_evaluate_refuses_a_bad_zip_and_no_model(client, tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_text("not a zip")
    with pytest.raises(AppError, match="not a readable zip archive"):
        client.predict(list(MODEL_NAMES), SAMPLE_SET, handle_file(str(fake)), 0, api_name="/evaluate")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    with pytest.raises(AppError):
        client.predict(list(MODEL_NAMES), SAMPLE_SET, handle_file(str(empty)), 0, api_name="/evaluate")
    with pytest.raises(AppError, match="Choose at least one model"):
        client.predict([], SAMPLE_SET, None, 0, api_name="/evaluate")
    with pytest.raises(AppError, match="not in the list of choices"):  # Gradio checks the dropdown itself
        client.predict(list(MODEL_NAMES), "/etc", None, 0, api_name="/evaluate")


def test_evaluate_and_robustness_refuse_a_zip_without_a_usable_image(client, tmp_path):
    """Every image unreadable or unlabelled: one readable line naming why (it was a KeyError from an empty
    analysis); a zip of refused entries only is named by the upload, never by the server's temp folder."""
    useless = tmp_path / "useless.zip"
    with zipfile.ZipFile(useless, "w") as zf:
        zf.writestr("open/broken.png", b"not a picture")
        zf.write(SAMPLES / "synthetic_open_0.png", "no_label.png")
    for api, last in (("/evaluate", 0), ("/robustness", 20)):
        with pytest.raises(AppError, match=r"no usable image: 2 file\(s\) skipped: .*unlabelled") as info:
            client.predict(list(MODEL_NAMES), SAMPLE_SET, handle_file(str(useless)), last, api_name=api)
        assert "not a readable image" in str(info.value)
    refused = tmp_path / "refused.zip"
    with zipfile.ZipFile(refused, "w") as zf:
        zf.writestr("../escape.png", b"x")
    with pytest.raises(AppError) as info:
        client.predict(list(MODEL_NAMES), SAMPLE_SET, handle_file(str(refused)), 0, api_name="/evaluate")
    message = str(info.value)
    assert message.startswith("refused.zip: no images found") and "eyebench_zip_" not in message
    assert "../escape.png (unsafe path" in message


# -- threshold -----------------------------------------------------------------------------------------------
def test_threshold_uses_the_session_evaluation(evaluated):
    c, _ = evaluated
    wide = c.predict(MODEL_NAMES[1], 0.01, 0.99, api_name="/threshold")
    narrow = c.predict(MODEL_NAMES[1], 0.5, 0.5, api_name="/threshold")
    text, subsets, plot, raw, *_ = narrow
    assert raw["coverage"] == 1.0 and raw["n_uncertain"] == 0 and raw["n"] == N_SAMPLES
    assert "coverage **100.00%**" in text and MODEL_NAMES[1] in text
    assert wide[3]["coverage"] <= raw["coverage"]
    assert set(subsets["headers"]) == {"factor", "value", "n", "rejected %"}
    assert json.loads(plot["plot"])["data"]
    swapped = c.predict(MODEL_NAMES[1], 0.99, 0.01, api_name="/threshold")[3]
    assert swapped["band"] == wide[3]["band"]  # low > high is read as the same band


def test_threshold_needs_an_evaluation_first(server):
    fresh = Client(server.url, verbose=False, download_files=False)  # a new session: no cached probabilities
    with pytest.raises(AppError, match="Run an evaluation first"):
        fresh.predict(MODEL_NAMES[0], 0.2, 0.8, api_name="/threshold")


def test_suggest_reset_and_export_band(evaluated):
    c, _ = evaluated
    low, high = c.predict(MODEL_NAMES[1], 5.0, api_name="/suggest_band")  # default rule: for every person
    assert 0 <= low <= high <= 1
    pooled = c.predict(MODEL_NAMES[1], 5.0, "over all images", api_name="/suggest_band")
    assert 0 <= pooled[0] <= pooled[1] <= 1
    with pytest.raises(AppError, match="percentage"):
        c.predict(MODEL_NAMES[1], 150.0, api_name="/suggest_band")
    assert c.predict(MODEL_NAMES[0], api_name="/reset_band") == (0.3, 0.7)
    assert c.predict(MODEL_NAMES[1], api_name="/reset_band") == (0.5, 0.5)  # no stored band
    path = _path(c.predict(MODEL_NAMES[0], 0.0, 1.0, api_name="/export_uncertain"))
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == N_SAMPLES and {"path", "label", "p_closed"} <= set(rows[0])


def test_suggest_band_warns_when_no_band_reaches_the_target():
    """Every image confidently wrong: no band reaches the target, and the suggestion says so instead of silently
    setting the band of lowest risk."""
    import gradio as gr

    from eyebench.app.common import Bench
    from eyebench.app.threshold_tab import POOLED, ThresholdTab
    from eyebench.evaluate.thresholds import ProbabilityCache

    cache = ProbabilityCache(np.array([0, 1, 0, 1]), ["a", "a", "b", "b"], ["s"] * 4, [""] * 4, {},
                             {"m": np.array([1.0, 0.0, 1.0, 0.0])}, {})
    tab = ThresholdTab(Bench({}, [], SAMPLES, {}), gr.State())
    with pytest.warns(UserWarning, match="No band keeps the selective risk at or under 5%"):
        assert tab.suggest({"cache": cache}, "m", 5.0, POOLED) == (0.0, 1.0)


# -- robustness ----------------------------------------------------------------------------------------------
def test_robustness_on_sample_images(client):
    note, table, bars, sweeps, raw = client.predict(list(MODEL_NAMES), SAMPLE_SET, None, 20, api_name="/robustness")
    assert "angle" in note.lower() and f"{N_SAMPLES} images per level" in note
    rows = _table(table)
    assert {r["model"] for r in rows} == set(MODEL_NAMES)
    assert {"factor", "value", "n"} <= set(table["headers"])
    assert json.loads(bars["plot"])["data"]
    fig = json.loads(sweeps["plot"])
    assert {t["name"] for t in fig["data"]} == set(MODEL_NAMES)
    assert set(raw["sweeps"]["sweeps"]) and all(
        set(block["models"]) == set(MODEL_NAMES) for block in raw["sweeps"]["sweeps"].values())


def test_predict_file_over_the_size_limit_is_refused(client, server, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (50 * 1024 * 1024 + 1))
    from eyebench.app import MAX_FILE_SIZE

    assert MAX_FILE_SIZE == "50mb"
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # refused before uploading
        client.predict(handle_file(str(big)), False, api_name="/predict")


# -- app.py itself -------------------------------------------------------------------------------------------
def wait_for_port(proc: subprocess.Popen, port: int, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert proc.poll() is None, f"app.py exited with {proc.returncode}"
            time.sleep(0.5)
    raise AssertionError(f"app.py did not answer on port {port} within {seconds:.0f} s")


def test_app_py_serves_the_shipped_checkpoints(tmp_path):
    """`python app.py` loads every folder in checkpoints/ and answers /predict with each of them."""
    shipped = sorted(p.parent.name for p in (REPO_ROOT / "checkpoints").glob("*/config.json"))
    assert shipped
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("EYEBENCH_CHECKPOINTS", "EYEBENCH_DATA")}
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    with open(tmp_path / "app.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        wait_for_port(proc, port)
        c = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        named = set(c.view_api(print_info=False, return_format="dict")["named_endpoints"])
        assert named == {f"/{n}" for n in PUBLIC_ENDPOINTS}
        _, message, summary, *rest = c.predict(handle_file(str(SAMPLES / "astronaut_face.jpg")), False,
                                               api_name="/predict")
        assert "2 eye(s) found" in message and len(rest) == 2 * len(shipped)
        assert all(sorted(eye["models"]) == shipped for eye in summary["eyes"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
