"""Pick each architecture's best finished run by validation score and pack the winners for the trip back."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from eyebench.train import selection_score  # noqa: E402

CHUNK = 15 * 2**20  # the device tool brings back files of at most 16 MiB
BUDGET = 62 * 2**20  # ... and 64 MiB in all


def finished_runs(jobs: Path) -> list[dict]:
    """Every run folder with a finished checkpoint (config.json holding test metrics), with its validation score."""
    runs = []
    for cfg_file in sorted(jobs.glob("*/checkpoints/*/config.json")):
        cfg = json.loads(cfg_file.read_text())
        job = cfg_file.parents[2]
        log_tail = (job / "train.log").read_text().splitlines()[-3:] if (job / "train.log").exists() else []
        if "metrics" not in cfg:
            runs.append({"job": job.name, "finished": False, "log_tail": log_tail})
            continue
        runs.append({"job": job.name, "finished": True, "architecture": cfg["architecture"], "dir": str(cfg_file.parent),
                     "val_score": selection_score(cfg["metrics"]["val"]["per_source"]),
                     "epochs_run": cfg["trained"]["epochs_run"], "seconds": cfg["trained"]["seconds"],
                     "command": cfg["train_command"], "log_tail": log_tail})
    return runs


def main(jobs: str, results: str) -> None:
    jobs_dir, out = Path(jobs), Path(results)
    runs = finished_runs(jobs_dir)
    best: dict[str, dict] = {}
    for r in runs:
        if r["finished"] and (r["architecture"] not in best or r["val_score"] > best[r["architecture"]]["val_score"]):
            best[r["architecture"]] = r
    for r in runs:
        r["picked"] = r["finished"] and best[r["architecture"]] is r
    (out / "summary.json").write_text(json.dumps(runs, indent=1))
    logs = [f"===== {p.parent.name}\n{p.read_text()[-4000:]}" for p in sorted(jobs_dir.glob("*/train.log"))]
    (out / "logs.txt").write_text("\n".join(logs))
    used, stash = 0, out.parent / (out.name + "_stash")
    xz = shutil.which("xz")  # fp16 weights shrink ~9%; plain tar where xz is missing
    for r in sorted(best.values(), key=lambda r: Path(r["dir"]).joinpath("model.safetensors").stat().st_size):
        archive = out / f"{r['architecture']}.tar{'.xz' if xz else ''}"
        subprocess.run(f"tar -C {Path(r['dir']).parent} --exclude resume.pt -cf - {r['architecture']} "
                       f"{'| xz -T0 -1 ' if xz else ''}> {archive}", shell=True, check=True)
        size = archive.stat().st_size
        subprocess.run(["split", "-b", str(CHUNK), "-d", archive.name, archive.name + "."], cwd=out, check=True)
        archive.unlink()
        if used + size > BUDGET or len(list(out.iterdir())) > 8:  # too much for one trip: fetch it with a second call
            stash.mkdir(exist_ok=True)
            for part in out.glob(archive.name + ".*"):
                part.rename(stash / part.name)
        else:
            used += size
    for r in runs:
        print(("* " if r.get("picked") else "  ") + f"{r['job']:14s} " +
              (f"val score {r['val_score']:.4f}  epochs {r['epochs_run']}  {r['seconds']:.0f}s" if r["finished"]
               else f"not finished: {r['log_tail']}"))
    print("stashed for a second trip:", sorted(p.name for p in stash.glob("*")) if stash.exists() else [])


if __name__ == "__main__":
    main(*sys.argv[1:3])
