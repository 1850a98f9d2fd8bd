"""Copy a dataset as lossless PNGs already resized to one model input size (same names), to carry it to a GPU machine.

Models whose input is that size see pixel-identical arrays from the copy and from the original, so a checkpoint
trained on the copy is trained on the same data; the script checks that equality before it finishes.
Usage: python scripts/gpu/pack_images.py ../shared/data/mrl .devdata/mrl --size 64 [--channels 1]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from eyebench.data.dataset import load_dataset, load_images  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="data folder (any layout eyebench reads)")
    ap.add_argument("dst", help="new folder; keeps the source's relative paths and file names")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--channels", type=int, default=1, choices=(1, 3))
    args = ap.parse_args(argv)
    src, dst = Path(args.src).resolve(), Path(args.dst)
    if Path(src.name) != Path(dst.name):
        ap.error("keep the folder name (it names the data source in every report)")
    ds = load_dataset([src])
    arrays, ds = load_images(ds, args.size, args.channels)
    for arr, sample in zip(arrays, ds.samples):
        out = (dst / Path(sample.path).relative_to(src)).with_suffix(".png")
        out.parent.mkdir(parents=True, exist_ok=True)
        img = arr[:, :, 0] if args.channels == 1 else cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(out), img, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f"cannot write {out}")
    packed, packed_ds = load_images(load_dataset([dst]), args.size, args.channels, use_cache=False)
    order = {Path(s.path).stem: i for i, s in enumerate(packed_ds.samples)}
    same = all(np.array_equal(arrays[i], packed[order[Path(s.path).stem]]) for i, s in enumerate(ds.samples))
    size = sum(f.stat().st_size for f in dst.rglob("*") if f.is_file())
    print(f"{len(ds)} images -> {dst} ({size / 2**20:.1f} MiB); pixel-identical at {args.size}px: {same}")
    if ds.skipped:
        print(f"{len(ds.skipped)} unreadable/unlabelled files were not copied, e.g. {ds.skipped[:3]}")
    return 0 if same and len(packed_ds) == len(ds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
