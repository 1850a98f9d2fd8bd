"""What every tab shares: the loaded models and test sets, the upload component, user-facing errors, output files."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import cv2
import gradio as gr
import numpy as np

from ..data.images import ImageError, decode_image
from ..data.splits import SplitError
from ..models.checkpoint import CheckpointError
from ..safezip import ZipError, extract_zip, remove_tree
from .. import workbench

USER_ERRORS = (ImageError, ValueError, KeyError, FileNotFoundError, CheckpointError, SplitError, ZipError)
MAX_FILE_SIZE = "50mb"
OUTPUTS = Path(tempfile.gettempdir()) / "eyebench_app_outputs"
SAMPLES = Path(__file__).resolve().parents[2] / "sample_images"  # the repository's shipped sample pictures
NO_BAND = (0.5, 0.5)
PRECOMPUTED = "held-out test people (precomputed)"


class SafeImage(gr.Image):
    """gr.Image that hands every upload to our own decoder (a clear message) instead of failing in Gradio.

    Create it with `image_mode=None` and `type="filepath"`: the uploaded file then reaches `decode_image` as it is
    (Gradio's default "RGB" mode re-saves RGBA and 16-bit files itself, dropping transparency and clipping 16-bit
    values). No `__init__` override here: Gradio builds the component's config from `__init__`'s signature.
    """

    is_template = True  # the browser draws it with gr.Image's own code (else it looks for a custom "safeimage")

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:  # noqa: BLE001 - any decoding failure is reported by read_image with its reason
            path = getattr(payload, "path", None)
            if path is None:
                raise gr.Error("Cannot use this file: not a readable image.", print_exception=False) from None
            return path


def fail(exc: Exception):
    """Turn an expected failure into a readable message in the UI (never a traceback)."""
    raise gr.Error(str(exc) or exc.__class__.__name__, print_exception=False)


@contextmanager
def reported():
    """Report the expected failures (bad images, checkpoints, splits, archives) of the block as readable messages."""
    try:
        yield
    except USER_ERRORS as exc:
        fail(exc)


def read_image(path) -> np.ndarray:
    """The uploaded picture as RGB, or a readable message saying why it cannot be used."""
    if path is None:
        raise gr.Error("Upload an image, take a webcam picture or pick an example first.", print_exception=False)
    try:
        return decode_image(path)
    except ImageError as exc:
        fail(ImageError(f"Cannot use this file: {exc}"))


def png(rgb: np.ndarray) -> str:
    """Write an output picture once, named by its content, and return its path.

    Gradio rewrites the cache file of an array output on every request, so a second request with the same picture
    can truncate it while the first is still being downloaded; a path output is copied atomically instead.
    """
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)
    data = buf.tobytes()
    OUTPUTS.mkdir(exist_ok=True)
    path = OUTPUTS / f"{hashlib.sha1(data).hexdigest()}.png"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return str(path)


def jsonable(obj):
    """Nested results with numpy scalars turned into plain Python numbers (for json.dumps)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def pct_number(v):
    """A share as a percentage number rounded for a table cell (0.97123 -> 97.12); None stays None."""
    return None if v is None else round(100 * v, 2)


@dataclasses.dataclass
class Bench:
    """What the tabs work on: the loaded models by name, the load notices, the sample folder and named test sets."""

    models: dict
    notices: list[str]
    samples: Path
    datasets: dict[str, Path]  # the test sets offered by name; a request can name no other folder
    heldout: object = None  # the held-out bundle (evaluate.heldout.HeldoutBundle) the tabs open on, if shipped
    fresh: list = dataclasses.field(default_factory=list)  # models whose weights the bundle was computed from

    def precomputed(self, choice, zip_file) -> bool:
        """Whether a request asks for the held-out bundle (its name chosen, no zip uploaded)."""
        return self.heldout is not None and choice == PRECOMPUTED and not zip_file

    def pick_precomputed(self, names) -> tuple[dict, str]:
        """The chosen models that the bundle holds, and a note naming the chosen ones it does not."""
        chosen = self.pick(names)
        kept = {k: v for k, v in chosen.items() if k in self.fresh}
        stale = [k for k in chosen if k not in kept]
        note = "".join(f"<br>⚠ {k}: not in the precomputed results (its weights changed or it is new; re-run "
                       "`python -m eyebench heldout`); pick another test set to evaluate it live" for k in stale)
        if not kept:
            raise gr.Error("None of the chosen models is in the precomputed results: pick another test set.",
                           print_exception=False)
        return kept, note

    def pick(self, names) -> dict:
        """The chosen models by name, in the order given; at least one."""
        chosen = {k: self.models[k] for k in (names or []) if k in self.models}
        if not chosen:
            raise gr.Error("Choose at least one model.", print_exception=False)
        return chosen

    def stored_band(self, name) -> tuple[float, float]:
        """A model's stored uncertain band, or the point band at 0.5 when it has none (or is not loaded)."""
        clf = self.models.get(name)
        band = clf.uncertain_band if clf and clf.uncertain_band else NO_BAND
        return band[0], band[1]

    def _resolve(self, choice, zip_file):
        """A dataset from an uploaded zip (extracted to a temp folder) or from a named choice; never a free path."""
        if zip_file:
            folder, skipped = extract_zip(zip_file)
            try:
                ds = workbench.open_dataset(folder, source=Path(zip_file).stem)
            except USER_ERRORS:
                remove_tree(folder)
                raise
            ds.skipped[:0] = list(skipped)  # the archive's own refusals first, so the note shows them
            return ds, folder
        if choice not in self.datasets:
            raise ValueError(f"unknown test set {choice!r}")
        return workbench.open_dataset(self.datasets[choice], self.samples), None

    @contextmanager
    def dataset(self, choice, zip_file):
        """The chosen or uploaded test set for the block; failures in it become messages; an upload is removed after."""
        folder = None
        with reported():
            try:
                ds, folder = self._resolve(choice, zip_file)
                yield ds
            finally:
                if folder:
                    remove_tree(folder)


def model_and_data_inputs(bench: Bench, zip_label: str, **dataset_options):
    """The models checkbox, test-set dropdown and zip upload that start an evaluation or a robustness run."""
    models = gr.CheckboxGroup(list(bench.models), value=list(bench.models), label="Models")
    dataset = gr.Dropdown(list(bench.datasets), value=next(iter(bench.datasets)), label="Test set", **dataset_options)
    zip_file = gr.File(label=zip_label, file_types=[".zip"], type="filepath")
    return models, dataset, zip_file
