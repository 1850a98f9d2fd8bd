"""The MediaPipe face models shipped beside this code, their hashes, and the LiteRT interpreters that run them."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import threading
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).parent / "mediapipe"
MODEL_SHA256 = {
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_detection_full_range_sparse.tflite": "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    "iris_landmark.tflite": "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
}
_interpreters: dict[str, object] = {}
_lock = threading.Lock()  # an interpreter runs one input at a time; the app serves several requests at once


def file_sha256(path: Path) -> str:
    """The sha256 of a file, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def litert_problem() -> str:
    """'' when LiteRT and the model files can be used; else why not (the face search then falls back to Haar).
    EYEBENCH_FACE_FINDER=haar asks for the fallback (to compare the two)."""
    if os.environ.get("EYEBENCH_FACE_FINDER", "").lower() == "haar":
        return "EYEBENCH_FACE_FINDER=haar asks for it"
    return _runtime_problem()


@functools.cache
def _runtime_problem() -> str:
    """Why LiteRT or the model files cannot be used here ('' when they can); found once per process."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except Exception as exc:  # an unsupported platform: no wheel, or a wheel that fails to load
        return f"the LiteRT runtime (ai-edge-litert) cannot be imported: {exc}"
    missing = [n for n in MODEL_SHA256 if not (MODEL_DIR / n).is_file()]
    return f"model files missing from {MODEL_DIR}: {', '.join(missing)}" if missing else ""


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (LiteRT's C++ log prints 'INFO: Created TensorFlow Lite XNNPACK delegate' there)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _interpreter(name: str):
    if name not in _interpreters:
        from ai_edge_litert.interpreter import Interpreter
        with _quiet_stderr():
            it = Interpreter(model_path=str(MODEL_DIR / name), num_threads=1)
            it.allocate_tensors()
        _interpreters[name] = it
    return _interpreters[name]


def run_model(name: str, tensor: np.ndarray) -> list[np.ndarray]:
    """Run one model file on one float32 NHWC input; its outputs in the model's order, as copies."""
    with _lock:
        it = _interpreter(name)
        it.set_tensor(it.get_input_details()[0]["index"], np.ascontiguousarray(tensor, dtype=np.float32))
        it.invoke()
        return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
