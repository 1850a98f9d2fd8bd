"""Link a class-balanced random sample of an MRL folder into a new folder (for timing commands on a fixed image set).

Usage: python scripts/pick_images.py path/to/mrl OUT --per-class 150 [--seed 0]
The files are sorted by name per class (open, then closed) and drawn with Python's random.Random(seed); OUT holds
symbolic links, never copies of the images.
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mrl", type=Path, help="a folder of MRL-named images (searched recursively)")
    parser.add_argument("out", type=Path, help="a new folder for the links")
    parser.add_argument("--per-class", type=int, default=150, help="images per class (default 150)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    args = parser.parse_args()
    if args.out.exists():
        parser.error(f"{args.out} exists: give a new folder")
    files = sorted(args.mrl.rglob("s*_*.png"), key=lambda p: p.name)
    by_state = {state: [p for p in files if p.name.split("_")[4] == state] for state in ("1", "0")}  # open, closed
    rng = random.Random(args.seed)
    picked = [p for state in ("1", "0") for p in rng.sample(by_state[state], args.per_class)]
    args.out.mkdir(parents=True)
    for p in picked:
        (args.out / p.name).symlink_to(p.resolve())
    print(f"linked {len(picked)} images into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
