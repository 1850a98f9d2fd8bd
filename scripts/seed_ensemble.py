"""Does averaging runs help? Out-of-fold MRL accuracy of each cv run and of the runs' averaged logits, fold by fold.

Each RUN is a `cv --out` folder (fold_1 ... fold_K). The runs must hold out the same MRL people in each fold (true for
`cv --holdout-of` runs with other seeds: the MRL folds do not depend on the seed here; checked, else it stops).
Example (results/cv/README.md, session 9):
  python scripts/seed_ensemble.py --data ../shared/data/mrl --run C=cv_c --run C=cv_c1 --run C=cv_c2 \\
      --run I=cv_i --run I=cv_i1 --run I=cv_i2
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from eyebench.data.dataset import Dataset, load_dataset, load_images
from eyebench.data.splits import split_mask
from eyebench.models.checkpoint import load_classifier


def fold_logits(runs: list[tuple[str, str]], data: list[str]) -> list[tuple[Dataset, list[np.ndarray]]]:
    """Per fold: the held-out images (a Dataset) and every run's closed logits on them."""
    first = load_classifier(str(Path(runs[0][1]) / "fold_1")).data_config
    arrays, ds = load_images(load_dataset(data), first.input_size, first.channels)
    folds, k = [], 1
    while (Path(runs[0][1]) / f"fold_{k}").is_dir():
        masks, logits = [], []
        for _, folder in runs:
            clf = load_classifier(str(Path(folder) / f"fold_{k}"))
            if (clf.data_config.input_size, clf.data_config.channels) != (first.input_size, first.channels):
                raise SystemExit(f"{folder}: another input size or channel count than {runs[0][1]}")
            masks.append(split_mask(ds, clf.info["split"], "test"))
            logits.append(clf.scores_prepared(arrays[masks[-1]]))
        if any(not np.array_equal(m, masks[0]) for m in masks):
            raise SystemExit(f"fold {k}: the runs hold out different images; use runs with the same folds")
        folds.append((ds.subset(masks[0]), logits))
        k += 1
    return folds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", action="append", required=True, help="the data to score (e.g. ../shared/data/mrl)")
    p.add_argument("--run", action="append", required=True, metavar="RECIPE=FOLDER",
                   help="a cv output folder, labelled by its recipe (runs of one recipe are averaged together)")
    args = p.parse_args()
    runs = [tuple(r.split("=", 1)) if "=" in r else (r, r) for r in args.run]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (recipe, _) in enumerate(runs):
        groups[recipe].append(i)
    names = [folder for _, folder in runs] + [f"{recipe} averaged" for recipe in groups]
    right, total = np.zeros(len(names), dtype=int), 0  # by position: a folder given twice is counted once each
    for held_out, logits in fold_logits(runs, args.data):
        y = held_out.labels
        total += len(y)
        right += [int(((z > 0) == y).sum()) for z in logits] + [
            int(((np.mean([logits[i] for i in members], 0) > 0) == y).sum()) for members in groups.values()]
    print(f"out-of-fold accuracy on {total} images:")
    for name, n in zip(names, right):
        print(f"  {name:40s} {100 * n / total:.2f}%")

if __name__ == "__main__":
    main()
