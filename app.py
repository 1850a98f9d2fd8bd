"""Gradio app (the Hugging Face Space): every checkpoint in checkpoints/ side by side; the tabs are in eyebench/app/."""
from __future__ import annotations

import os
from pathlib import Path

from eyebench import workbench
from eyebench.app import MAX_FILE_SIZE, SESSIONS, build_demo

ROOT = Path(__file__).resolve().parent
CHECKPOINTS = Path(os.environ.get("EYEBENCH_CHECKPOINTS", ROOT / "checkpoints"))
MODELS, NOTICES = workbench.load_all(CHECKPOINTS)
demo = build_demo(MODELS, NOTICES, samples=ROOT / "sample_images", heldout=ROOT / "results" / "heldout")

if __name__ == "__main__":
    demo.launch(max_file_size=MAX_FILE_SIZE, state_session_capacity=SESSIONS)
