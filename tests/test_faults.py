"""Faulty inputs end to end: 5% broken files in a folder, odd image encodings, a file that vanishes mid-run."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import write_broken_files, write_mrl_dataset
from PIL import Image

from eyebench.cli import main
from eyebench.data.dataset import load_dataset, load_images
from eyebench.data.images import ImageError, decode_image

METRICS = ("n", "accuracy", "balanced_accuracy", "recall_open", "recall_closed", "precision_open",
           "precision_closed", "f1_closed", "roc_auc", "confusion_matrix")


def _evaluate(model, data, out) -> dict:
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_five_percent_broken_files_are_exactly_the_skipped_ones(tmp_path, trained_cnn):
    clean_dir, dirty_dir = tmp_path / "clean" / "mrl", tmp_path / "dirty" / "mrl"
    write_mrl_dataset(clean_dir, n_subjects=3, per_subject=19)  # 57 good images
    write_mrl_dataset(dirty_dir, n_subjects=3, per_subject=19)
    broken = write_broken_files(dirty_dir / "s0002", subject=2)  # 3 broken = 5% of 60
    clean = _evaluate(trained_cnn, clean_dir, tmp_path / "clean.json")
    dirty = _evaluate(trained_cnn, dirty_dir, tmp_path / "dirty.json")
    assert dirty["data"]["n_read"] == 57 and dirty["data"]["n_skipped"] == 3
    assert {f["path"] for f in dirty["data"]["skipped_files"]} == {str(p) for p in broken.values()}
    assert all(f["reason"].startswith("unreadable:") for f in dirty["data"]["skipped_files"])
    for key in METRICS:
        assert dirty["models"][0][key] == clean["models"][0][key], key


def _encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 20, 20))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    out = decode_image(_encoded(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.shape == (40, 20, 3)  # upright: taller than wide
    assert out[:15].mean() > 200 and out[-15:].mean() < 60  # the white half is now on top


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("L", (32, 32), v) for v in (10, 240)]
    data = _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    out = decode_image(data)
    assert out.shape == (32, 32, 3) and out.mean() < 40


@pytest.mark.parametrize("mode,fmt", [("CMYK", "JPEG"), ("P", "PNG"), ("1", "PNG"), ("LA", "PNG")])
def test_odd_modes_decode_to_rgb(mode, fmt):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 24, 3), dtype=np.uint8)).convert(mode)
    out = decode_image(_encoded(img, fmt))
    assert out.shape == (24, 24, 3) and out.dtype == np.uint8


def test_one_pixel_image_is_refused_with_a_reason():
    with pytest.raises(ImageError, match="too small"):
        decode_image(_encoded(Image.new("L", (1, 1)), "PNG"))


def test_a_file_that_disappears_mid_run_is_reported(tmp_path, monkeypatch):
    records = write_mrl_dataset(tmp_path / "mrl", n_subjects=2, per_subject=4)
    ds = load_dataset(tmp_path / "mrl")
    gone = str(records[3]["path"])
    import eyebench.data.dataset as dataset_module

    real = dataset_module.decode_image

    def vanish_then_decode(path, *a, **kw):
        if str(path) == gone:
            records[3]["path"].unlink()
        return real(path, *a, **kw)

    monkeypatch.setattr(dataset_module, "decode_image", vanish_then_decode)
    arrays, kept = load_images(ds, 64, 1, use_cache=False, progress=False)
    assert len(arrays) == len(records) - 1
    assert kept.skipped == [(gone, "unreadable: file not found (it may have been moved or deleted)")]
