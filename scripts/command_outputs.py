"""Run every eyebench command on a fixed synthetic fixture and record a hash of each output file and printout.

    python scripts/command_outputs.py record  BEFORE.json   # before a refactor
    python scripts/command_outputs.py compare BEFORE.json   # after it: lists every output that changed

Everything runs in one folder ($EYEBENCH_OUTPUTS_ROOT, default /tmp/eyebench-command-outputs; emptied first) whose
path is masked in what is printed or written (give another folder a path of the same length: tables pad to it). Wall-clock figures (timings, dates, speeds) are masked before hashing:
they change at every run whatever the code does. Torch runs single-threaded so training is reproducible.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(os.environ.get("EYEBENCH_OUTPUTS_ROOT", "/tmp/eyebench-command-outputs"))
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ["EYEBENCH_CACHE"] = str(ROOT / "cache")
os.getloadavg = lambda: (0.5, 0.5, 0.5)  # an idle machine: bench's BUSY notes follow the load of the moment

# readings that change at every run whatever the code does: clocks, machine load, random plot ids, and hashes
# of safetensors files (whose header order is random; their tensors and metadata are compared instead)
VOLATILE_TEXT = [
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?"), "<date>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b"), "<sha>"),
    (re.compile(r"\bload [\d.]+"), "load <l>"),
    (re.compile(r"[\d.]+(?:e[+-]?\d+)? ?(?:ms|s|min|frames/s|img/s|images/s|eyes/s|fps|it/s|s/it)\b"), "<t>"),
]
VOLATILE_KEY = re.compile(r"per_second|ms_per|_ms_default|^seconds$|^load_\dmin$|^busy$|sha256")


def _mask_json(value):
    """The JSON value with every clock/load/hash field replaced (key order kept: order changes count)."""
    if isinstance(value, dict):
        return {k: "<masked>" if VOLATILE_KEY.search(k) else _mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return value


def mask(path_or_name: str, data: bytes) -> bytes:
    """The bytes with run-to-run readings replaced; safetensors as metadata + tensors in a fixed order."""
    if path_or_name.endswith(".safetensors"):
        from safetensors import safe_open

        with safe_open(path_or_name, "np") as f:
            meta = {k: v for k, v in sorted((f.metadata() or {}).items()) if "sha256" not in k}
            parts = [json.dumps(meta).encode()] + [k.encode() + f.get_tensor(k).tobytes() for k in sorted(f.keys())]
        return b"".join(parts)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data
    text = text.replace(str(ROOT), "<root>")
    if path_or_name.endswith(".json"):
        text = json.dumps(_mask_json(json.loads(text)), indent=1)
    if path_or_name == "printout":
        text = "\n".join(part for part in re.split(r"[\r\n]", text) if "%|" not in part and part.strip())
    for pattern, repl in VOLATILE_TEXT:
        text = pattern.sub(repl, text)
    return text.encode()


def fixture() -> dict[str, Path]:
    """The synthetic data (MRL names, 6 people) and a video, written from fixed seeds."""
    from conftest import write_manifest, write_mrl_dataset

    from eyebench.video.synthetic import demo_video

    records = write_mrl_dataset(ROOT / "data" / "mrl", n_subjects=6, per_subject=12)
    manifest = write_manifest(ROOT / "data" / "eyes.csv", records)
    video, _ = demo_video(ROOT / "data" / "blinks.avi", seconds=3.0, fps=10.0)
    return {"mrl": ROOT / "data" / "mrl", "manifest": manifest, "video": video,
            "eye": records[0]["path"], "face": REPO / "sample_images" / "astronaut_face.jpg"}


def commands(d: dict[str, Path]) -> list[list[str]]:
    """Every command (and cv-report subcommand) with its outputs under ROOT/out."""
    o, mrl = ROOT / "out", str(d["mrl"])
    cnn, svm, com = str(o / "small_cnn"), str(o / "svm"), str(o / "committee")
    tiny = ["--epochs", "2", "--batch-size", "16"]
    return [
        ["train", "small_cnn", "--data", mrl, "--out", cnn, *tiny],
        ["train", "lbp_hog_svm", "--data", mrl, "--out", svm],
        ["train", "student", "--data", mrl, "--out", str(o / "student"), "--teacher", cnn, *tiny],
        ["committee", "--member", cnn, "--member", svm, "--data", mrl, "--out", com],
        ["calibrate", "--model", cnn, "--data", mrl],
        ["summary", cnn, svm, com],
        ["evaluate", "--model", cnn, "--model", svm, "--data", mrl, "--json", str(o / "evaluate.json"),
         "--bootstrap", "50"],
        ["predict", "--model", cnn, "--model", svm, str(d["eye"]), str(d["face"])],
        ["explain", "--model", cnn, "--model", svm, str(d["eye"]), "--out", str(o / "explain.png")],
        ["robustness", "--model", cnn, "--model", svm, "--data", str(d["manifest"]), "--json",
         str(o / "robustness.json"), "--csv", str(o / "robustness_csv"), "--sweep-images", "8"],
        ["report", "--model", cnn, "--model", svm, "--data", mrl, "--out", str(o / "report.html"),
         "--bootstrap", "50", "--sweep-images", "8"],
        ["triage", "--model", cnn, "--model", svm, "--data", mrl, "--csv", str(o / "triage.csv")],
        ["audit", "--model", cnn, "--model", svm, "--data", mrl, "--csv", str(o / "audit.csv"),
         "--accept-top", "2"],
        ["evaluate", "--model", cnn, "--data", str(o / "audit.csv"), "--compare-labels"],
        ["heldout", "--model", cnn, "--model", svm, "--data", mrl, "--out", str(o / "heldout"),
         "--sweep-images", "8"],
        ["cv", "small_cnn", "--data", mrl, "--out", str(o / "cv_cnn"), "--folds", "3", *tiny,
         "--json", str(o / "cv_cnn.json")],
        ["cv", "lbp_hog_svm", "--data", mrl, "--out", str(o / "cv_svm"), "--folds", "3"],
        ["cv-report", "pooled", str(o / "cv_cnn.json"), "--json", str(o / "pooled.json")],
        ["cv-report", "ensemble", "--data", mrl, "--run", f"cnn={o / 'cv_cnn'}", "--run", f"svm={o / 'cv_svm'}",
         "--json", str(o / "ensemble.json")],
        ["cv-report", "audit", "--data", mrl, "--run", str(o / "cv_cnn"), "--csv", str(o / "cv_audit.csv"),
         "--sheet", str(o / "cv_audit.png"), "--sheet-size", "8"],
        ["cv-report", "committee", "--data", mrl, "--run", str(o / "cv_cnn"), "--run", str(o / "cv_svm"),
         "--out", str(o / "cv_committee"), "--json", str(o / "cv_committee.json")],
        ["export", "--model", cnn, "--onnx", str(o / "cnn.onnx")],
        ["video", str(d["video"]), "--model", cnn, "--out", str(o / "video")],
        ["bench", "--model", cnn, "--seconds", "0.2", "--json", str(o / "bench.json")],
        ["evaluate", "--model", str(o / "missing"), "--data", mrl],  # a user error: its message and exit code
        ["train", "small_cnn", "--data", mrl, "--out", cnn, *tiny],  # refused: the output exists
    ]


def run_all() -> dict[str, str]:
    """Run every command in order; sha256 of each masked printout and output file."""
    import torch

    from eyebench.cli import main

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    shutil.rmtree(ROOT, ignore_errors=True)
    hashes = {}
    for i, argv in enumerate(commands(fixture())):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as e:
                rc = e.code
        printed = f"exit {rc}\n--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}"
        key = f"{i:02d} {' '.join(a.replace(str(ROOT), '') for a in argv[:2])}"
        hashes[f"printout {key}"] = hashlib.sha256(mask("printout", printed.encode())).hexdigest()
        (ROOT / "printouts").mkdir(exist_ok=True)
        (ROOT / "printouts" / f"{i:02d}.txt").write_text(printed)
        print(f"{key}: exit {rc}", file=sys.__stdout__, flush=True)
    for path in sorted((ROOT / "out").rglob("*")):
        if path.is_file():
            hashes[f"file {path.relative_to(ROOT)}"] = hashlib.sha256(mask(str(path), path.read_bytes())).hexdigest()
    return hashes


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("record", "compare"):
        print(__doc__)
        return 2
    hashes, target = run_all(), Path(sys.argv[2])
    if sys.argv[1] == "record":
        target.write_text(json.dumps(hashes, indent=1) + "\n")
        print(f"recorded {len(hashes)} outputs in {target}")
        return 0
    before = json.loads(target.read_text())
    changed = sorted(k for k in before.keys() | hashes.keys() if before.get(k) != hashes.get(k))
    for k in changed:
        print(f"CHANGED {k}" if k in before and k in hashes else f"{'MISSING' if k in before else 'NEW'} {k}")
    print(f"{len(hashes) - len([k for k in changed if k in hashes])} of {len(hashes)} outputs byte-identical "
          f"(after masking clock readings)")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
