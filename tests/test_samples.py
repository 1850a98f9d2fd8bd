"""sample_images/: made by eyebench.samples.make_samples (byte for byte), labelled for the CLI as for the app, and the
rendered closed-eye close-up is what the shipped checkpoints call closed."""
import json

import numpy as np
import pytest
from conftest import REPO_ROOT

from eyebench.config import CLASS_NAMES
from eyebench.data.dataset import load_dataset, scan_folder
from eyebench.data.images import decode_image
from eyebench.results import EyeState
from eyebench.samples import make_samples, render_eye_photo
from eyebench.workbench import sample_dataset

SAMPLES = REPO_ROOT / "sample_images"
SHIPPED = sorted(p for p in (REPO_ROOT / "checkpoints").iterdir() if (p / "config.json").is_file())


def test_the_shipped_samples_are_what_make_samples_makes(tmp_path):
    rows = make_samples(tmp_path)
    assert json.loads((SAMPLES / "samples.json").read_text()) == rows
    for r in rows:
        assert (tmp_path / r["file"]).read_bytes() == (SAMPLES / r["file"]).read_bytes(), r["file"]
        assert r["provenance"]
    assert {p.name for p in SAMPLES.iterdir()} == {r["file"] for r in rows} | {"samples.json"}


def test_the_cli_reads_sample_images_as_the_app_does():
    cli, app = load_dataset([SAMPLES]), sample_dataset(SAMPLES)
    assert len(cli) == len(app) == sum(1 for r in json.loads((SAMPLES / "samples.json").read_text()) if r["label"])
    assert [(s.path, s.label, s.subject, s.meta["kind"]) for s in cli.samples] == [
        (s.path, s.label, s.subject, s.meta["kind"]) for s in app.samples]
    assert cli.skipped == [(str(SAMPLES / "astronaut_face.jpg"), "unlabelled: samples.json gives it no single label")]
    assert cli.sources["sample_images"]["layout"] == "samples.json"
    assert CLASS_NAMES[EyeState.CLOSED] in {CLASS_NAMES[s.label] for s in cli.samples if s.meta["kind"] == "closeup"}


def test_a_broken_samples_list_is_a_clear_error(tmp_path):
    (tmp_path / "samples.json").write_text('{"file": "a.png"}')
    with pytest.raises(ValueError, match="not a samples list"):
        scan_folder(tmp_path)


def test_the_close_up_is_a_colour_rendering_with_texture():
    closed = decode_image(SAMPLES / "closeup_closed_0.png")
    assert closed.shape == (256, 320, 3)
    np.testing.assert_array_equal(closed, render_eye_photo(EyeState.CLOSED, seed=1))
    assert closed[..., 0].mean() > closed[..., 2].mean() + 20  # skin tones, not grey
    assert len(np.unique(closed.reshape(-1, 3), axis=0)) > 10_000  # shaded and textured, not flat fills


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_checkpoints_call_the_rendered_close_ups_what_they_are(folder):
    from eyebench import load_classifier

    clf = load_classifier(folder)
    images = [decode_image(SAMPLES / f"closeup_{name}_0.png") for name in CLASS_NAMES]
    assert clf.predict_proba(images).argmax(axis=1).tolist() == [0, 1]  # open, closed
