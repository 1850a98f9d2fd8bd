"""What every tab shares: the loaded models and test sets, the upload component, user-facing errors, output files."""
from __future__ import annotations

import contextvars
import ctypes
import dataclasses
import functools
import hashlib
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import gradio as gr
import numpy as np

from .. import workbench
from ..errors import EyebenchError

if TYPE_CHECKING:
    from ..evaluate.heldout import HeldoutBundle

USER_ERRORS = (EyebenchError, FileNotFoundError)  # what a user can fix; anything else is a bug, logged with its traceback
MAX_FILE_SIZE = "50mb"
OUTPUTS = Path(tempfile.gettempdir()) / "eyebench_app_outputs"  # output pictures and downloads (OutputFolder)
OUTPUTS_MAX_MB = 100  # the stated bound of that folder: oldest files removed first above it...
OUTPUTS_MAX_AGE_S = 3600  # ...and any file older than this (Gradio's own cache uses delete_cache=(3600, 3600))
MODEL_THREADS = 2  # the fixed threads every model-running handler runs on (see on_model_threads)
MALLOC_ARENAS = 2  # glibc malloc arenas of the app's process (see limit_malloc_arenas)
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


def fail(exc: Exception, path=None, name: str = ""):
    """A readable UI message for an expected failure (never a traceback); the upload's server `path` shown as `name`."""
    message = str(exc) or exc.__class__.__name__
    if path:
        message = message.replace(str(path), name or Path(path).name)
    raise gr.Error(message, print_exception=False)


@contextmanager
def reported(path=None, name: str = ""):
    """Report the block's expected failures (bad images, checkpoints, splits, archives) as readable messages."""
    try:
        yield
    except USER_ERRORS as exc:
        fail(exc, path, name)


def read_image(path) -> np.ndarray:
    """The uploaded picture as RGB, or a readable message saying why it cannot be used."""
    if path is None:
        raise gr.Error("Upload an image, take a webcam picture or pick an example first.", print_exception=False)
    try:
        return workbench.decode_image(path)
    except workbench.ImageError as exc:
        fail(workbench.ImageError(f"Cannot use this file: {exc}"))


class OutputFolder:
    """The folder every output picture and download is written to, kept under a size and an age limit as the app runs.

    At most every `every_s` seconds, a write first removes the files older than `max_age_s`, then the oldest ones
    while the folder holds more than `max_bytes`, then the empty folders. A file younger than `min_age_s` is never
    removed: Gradio copies an output into its own cache right after the handler returns, so a just-written file is
    still needed. The folder can pass `max_bytes` only by what is written within `min_age_s` (or `every_s`).
    """

    def __init__(self, root: Path, max_bytes: int, max_age_s: float, min_age_s: float = 60, every_s: float = 30):
        self.root, self.max_bytes, self.max_age_s = Path(root), max_bytes, max_age_s
        self.min_age_s, self.every_s = min_age_s, every_s
        self._lock = threading.Lock()  # one pruner at a time
        self._io = threading.Lock()  # a write (or refresh) and a removal never interleave
        self._last = float("-inf")

    def write(self, name: str, data: bytes) -> Path:
        """`data` as `name` in the folder (written atomically; an existing file of that name is kept and refreshed)."""
        self.maybe_prune()
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / name
        with self._io:
            try:
                os.utime(path)  # the same content again: now in use, so its age starts over
            except FileNotFoundError:
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
        return path

    def new_dir(self, prefix: str) -> Path:
        """A fresh sub-folder for one request's downloads (removed with the rest when old)."""
        self.maybe_prune()
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.root))

    def by_content(self, folder: Path) -> Path:
        """A filled folder from `new_dir`, renamed after its files' names and content. When an identical one is
        already there, that one is kept (its files' ages start over) and this one removed: an evaluation repeated
        (the precomputed one every visitor can run) writes nothing new."""
        folder = Path(folder)
        names = sorted(p.name for p in folder.iterdir())
        digest = hashlib.sha1()
        for name in names:
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
        target = folder.with_name(f"{folder.name.split('_', 1)[0]}_{digest.hexdigest()[:24]}")
        with self._io:
            try:
                if sorted(p.name for p in target.iterdir()) == names:
                    for name in names:
                        os.utime(target / name)
                    shutil.rmtree(folder, ignore_errors=True)
                    return target
                shutil.rmtree(target, ignore_errors=True)  # partly pruned: replaced by the new one
            except FileNotFoundError:
                pass
            try:
                os.replace(folder, target)
            except OSError:  # another process just made the same one: this folder is as good
                return folder
        return target

    def maybe_prune(self) -> None:
        """Prune when the last pruning is older than `every_s` (one thread prunes; the others go on writing)."""
        if time.monotonic() - self._last < self.every_s or not self._lock.acquire(blocking=False):
            return
        try:
            self._last = time.monotonic()
            self.prune()
        finally:
            self._lock.release()

    def prune(self, now: float | None = None) -> int:
        """Remove the files above the age and size limits (oldest first, none younger than `min_age_s`) and the
        empty sub-folders; returns how many files were removed."""
        now = time.time() if now is None else now
        files, dirs = [], []
        for top, subdirs, names in os.walk(self.root):
            dirs += [os.path.join(top, d) for d in subdirs]
            for name in names:
                try:
                    st = os.lstat(os.path.join(top, name))
                except FileNotFoundError:
                    continue
                files.append((st.st_mtime, st.st_size, os.path.join(top, name)))
        files.sort()
        total, removed = sum(f[1] for f in files), 0
        for mtime, size, path in files:
            age = now - mtime
            if age < self.min_age_s or (age <= self.max_age_s and total <= self.max_bytes):
                continue
            with self._io:
                try:
                    if now - os.lstat(path).st_mtime < self.min_age_s:  # refreshed since the walk: in use
                        continue
                    os.remove(path)
                    removed += 1
                except FileNotFoundError:
                    pass
            total -= size
        for d in sorted(dirs, key=len, reverse=True):  # the deepest first
            try:
                if now - os.lstat(d).st_mtime >= self.min_age_s:
                    os.rmdir(d)  # only when empty
            except OSError:
                pass
        return removed


OUTPUT_FOLDER = OutputFolder(OUTPUTS, OUTPUTS_MAX_MB * 2**20, OUTPUTS_MAX_AGE_S)


def png(rgb: np.ndarray) -> str:
    """Write an output picture once, named by its content, and return its path.

    Gradio rewrites the cache file of an array output on every request, so a second request with the same picture
    can truncate it while the first is still being downloaded; a path output is copied atomically instead.
    """
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb)
    data = buf.tobytes()
    return str(OUTPUT_FOLDER.write(f"{hashlib.sha1(data).hexdigest()}.png", data))


def limit_malloc_arenas(n: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas in this process at `n`, as MALLOC_ARENA_MAX=n would (unless that is set already).

    glibc gives each thread that allocates an arena of its own, up to 8 per core, and an arena keeps the memory of
    its peak. Gradio post-processes every answer (tables, figures, files) on its worker threads, so even with models
    on fixed threads the server kept growing by ~30 MB per 1,000 requests; capped, it stays flat. Takes effect for
    arenas made after the call: call it before the server starts. False where this is not glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return ctypes.CDLL("libc.so.6").mallopt(-8, int(n)) == 1  # -8: M_ARENA_MAX
    except (OSError, AttributeError):
        return False


_MODEL_POOL = ThreadPoolExecutor(MODEL_THREADS, thread_name_prefix="eyebench-model")


def on_model_threads(fn):
    """Run a handler that runs models on the app's MODEL_THREADS fixed threads, not on Gradio's worker pool.

    Gradio calls handlers on up to 40 worker threads. Each thread that runs a model gets its own malloc arena
    (glibc keeps up to 8 per core, each holding on to its peak) and its own OpenMP team, so the server's memory grew
    with every new thread that ran a model (1.5 GB -> 2.9 GB in the first predictions). On fixed threads it stays
    flat. The request's context (progress bar, request) goes along; a handler already on these threads runs inline.
    """
    @functools.wraps(fn)
    def run(*args, **kwargs):
        if threading.current_thread().name.startswith("eyebench-model"):
            return fn(*args, **kwargs)
        return _MODEL_POOL.submit(contextvars.copy_context().run, fn, *args, **kwargs).result()

    return run


class Shared(dict):
    """A session-state value that every session reads and none changes in place, so it is never copied.

    gr.State deep-copies its initial value into each new session (every visitor), and Gradio keeps up to 10,000
    sessions: with the held-out bundle's probabilities as that value, the server grew by about 2 MB per visitor.
    """

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


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
    heldout: HeldoutBundle | None = None  # the held-out bundle the tabs open on, if shipped
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

    @contextmanager
    def dataset(self, choice, zip_file):
        """The chosen or uploaded test set for the block; failures in it become messages; an upload is removed after."""
        if not zip_file:
            with reported():
                if choice not in self.datasets:
                    raise EyebenchError(f"unknown test set {choice!r}")
                yield workbench.open_dataset(self.datasets[choice], self.samples)
            return
        with reported():
            folder, skipped = workbench.extract_zip(zip_file)
        try:
            with reported(folder, Path(zip_file).name):  # the message names the upload, not the server's temp folder
                try:
                    ds = workbench.open_dataset(folder, source=Path(zip_file).stem)
                except EyebenchError as exc:  # e.g. no image found: say which entries the archive refused
                    refused = "; ".join(f"{n} ({r})" for n, r in skipped[:3])
                    raise EyebenchError(f"{exc}; skipped in the archive: {refused}" if refused else str(exc)) from None
                ds.skipped[:0] = list(skipped)  # the archive's own refusals first, so the note shows them
                yield ds
        finally:
            workbench.remove_tree(folder)


def model_and_data_inputs(bench: Bench, zip_label: str, **dataset_options):
    """The models checkbox, test-set dropdown and zip upload that start an evaluation or a robustness run."""
    models = gr.CheckboxGroup(list(bench.models), value=list(bench.models), label="Models")
    # wide enough for the longest name: on a phone it goes below the models instead of cutting the name off
    dataset = gr.Dropdown(list(bench.datasets), value=next(iter(bench.datasets)), label="Test set", min_width=300,
                          **dataset_options)
    zip_file = gr.File(label=zip_label, file_types=[".zip"], type="filepath")
    return models, dataset, zip_file


def legend_below(fig):
    """The figure with its legend in rows under the plot, so the plot keeps the full width (a phone, many models)."""
    return fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0,
                                         yanchor="bottom"))
