"""The held-out results bundle: per-image p(closed) of checkpoints on their test people, sweeps and weight hashes."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..config import CLASS_NAMES
from ..data.dataset import Dataset, Sample
from ..data.splits import SavedSplit
from ..errors import EyebenchError
from ..models.base import weights_sha256
from .analysis import analyse_models
from .results import HeldoutSummary
from .robustness import SKIP_FACTORS, model_keys

FORMAT = "eyebench-heldout"
FORMAT_VERSION = 1
PREDICTIONS = "predictions.csv"
SUMMARY = "bundle.json"
FIXED_COLUMNS = ("file", "source", "subject", "label", "height", "width")


class BundleError(EyebenchError):
    """A held-out bundle that cannot be built or read, with the reason."""


def shared_test_subjects(models: dict) -> list[str]:
    """The test people of the split every model was trained with (they must all have the same one)."""
    shared = SavedSplit.shared(
        {name: clf.split for name, clf in models.items()}, needs="test", parts=("test",), error=BundleError,
        missing="{names}: no saved split, so its test people are unknown",
        differ="{names} were tested on other people than {first}: a bundle compares models on one split (train them "
               "with the same data and --seed)")
    return sorted(shared.test)


def image_size(path: str) -> tuple[int, int]:
    """(height, width) of an image file from its header, without decoding the pixels."""
    from PIL import Image

    with Image.open(path) as im:
        return im.size[1], im.size[0]


def _meta_columns(dataset: Dataset) -> list[str]:
    keys = sorted({k for s in dataset.samples for k in s.meta} - SKIP_FACTORS)
    return [k for k in keys if k not in FIXED_COLUMNS]


def build_bundle(models: dict, dataset: Dataset, sweep_max: int = 1000, seed: int = 0, command: str = "",
                 progress: bool = True) -> tuple[list[dict], HeldoutSummary]:
    """Rows (one per test image, no pixels) and the summary (models, hashes, sweeps, data) of a held-out bundle."""
    test = set(shared_test_subjects(models))
    keep = np.array([s.subject in test for s in dataset.samples], dtype=bool)
    if not keep.any():
        raise BundleError("no image of the data given belongs to the models' test people")
    chosen = list(models.values())
    result = analyse_models(chosen, dataset.subset(keep), sweep_max=sweep_max, subsets=False, seed=seed,
                            progress=progress, keep_predictions=True)  # what `robustness` and the app compute
    data = result.predictions.dataset
    p_closed = {name: result.predictions.p_closed[key] for name, key in zip(models, model_keys(chosen))}
    columns = _meta_columns(data)
    rows = []
    for i, s in enumerate(data.samples):
        h, w = image_size(s.path)
        row = {"file": Path(s.path).name, "source": s.source, "subject": s.subject, "label": CLASS_NAMES[s.label],
               "height": h, "width": w, **{k: s.meta.get(k, "") for k in columns}}
        rows.append({**row, **{f"p_closed:{name}": f"{p[i]:.7g}" for name, p in p_closed.items()}})
    report = data.report()
    report.pop("skipped_files", None)
    summary = HeldoutSummary(
        command=command, subjects=sorted(set(data.subjects.tolist())), fixed_columns=list(FIXED_COLUMNS),
        metadata_columns=columns,
        models={name: {"checkpoint": str(clf.checkpoint), "architecture": clf.name,
                       "weights_sha256": weights_sha256(clf.checkpoint), "temperature": clf.temperature,
                       "uncertain_band": clf.uncertain_band} for name, clf in models.items()},
        data=report, sweeps=result.sweeps.renamed(list(models)), format=FORMAT, format_version=FORMAT_VERSION)
    return rows, summary


def write_bundle(out, rows: list[dict], summary: HeldoutSummary) -> Path:
    """Write predictions.csv, bundle.json and a README.md describing them into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / PREDICTIONS, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / SUMMARY).write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
    (out / "README.md").write_text(bundle_readme(summary, rows))
    return out


def bundle_readme(summary: HeldoutSummary, rows: list[dict]) -> str:
    """The README next to a bundle: what it holds, from which people, and the command that made it."""
    data, n_rows = summary.data, len(rows)
    per_source = ", ".join(f"{n} {src}" for src, n in sorted(data["per_source"].items()))
    people = ", ".join(f"{len({r['subject'] for r in rows if r['source'] == src})} {src}"
                       for src in sorted(data["per_source"]))
    lines = [
        "# Held-out results of the shipped checkpoints", "",
        "Numbers only, no pixels: the app's Evaluate, Threshold and Robustness tabs open on these files.", "",
        f"- **People**: the {summary.n_subjects} test people ({people}) of the split every checkpoint was "
        "trained with (no checkpoint saw them in training, validation, calibration or model selection).",
        f"- **Images**: {n_rows} ({per_source}; classes {data['per_class']}).",
        f"- **Models**: {', '.join(summary.models)}; each with the sha256 of its `model.safetensors`. The app "
        "lists a checkpoint whose weights no longer match as not in the precomputed results.",
        f"- **Sweeps**: {', '.join(summary.sweeps.sweeps)} on a class-stratified sample of "
        f"{summary.sweeps.n} of these images, perturbed from the pixels when the bundle was made.",
        "", "Made by:", "", "```", summary.command or "(command not recorded)", "```", "",
        "## predictions.csv", "",
        "One row per image: `file` (the file name), `source`, `subject` (person), `label` (open/closed), "
        "`height` and `width` of the file in pixels, the metadata columns "
        f"({', '.join(summary.metadata_columns) or 'none'}; MRL: glasses 0/1, reflections 0 none / 1 small / "
        "2 big, lighting 0 bad / 1 good, sensor 01/02/03), then `p_closed:<model>`: the calibrated p(closed) "
        "each model gives the image, as `evaluate` and the app compute it.", "",
        "## bundle.json", "",
        "`models` (checkpoint, architecture, weights_sha256, temperature, uncertain_band), `split` (the test "
        "people), `data` (counts), `sweeps` (per perturbation: levels, and per model accuracy, closed recall and "
        "open recall per level, on `n` images) and `command`.", ""]
    return "\n".join(lines)


def is_bundle(folder) -> bool:
    """Whether `folder` holds a bundle `heldout` wrote (its bundle.json says it is one)."""
    try:
        raw = json.loads((Path(folder) / SUMMARY).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(raw, dict) and raw.get("format") == FORMAT


class HeldoutBundle:
    """A bundle read back: the images as a Dataset (paths are file names), p(closed) per model, and its summary
    (`record`, bundle.json as a HeldoutSummary)."""

    def __init__(self, folder):
        folder = Path(folder)
        try:
            raw = json.loads((folder / SUMMARY).read_text())
            with open(folder / PREDICTIONS, newline="") as fh:
                rows = list(csv.DictReader(fh))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            raise BundleError(f"cannot read the held-out bundle in {folder}: {exc}") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BundleError(f"{folder / SUMMARY} is not an eyebench held-out bundle")
        self.folder = folder
        path = folder / SUMMARY
        try:
            self.record = HeldoutSummary.from_dict(raw)
            if not all(isinstance(m, dict) and isinstance(m.get("weights_sha256"), str)
                       for m in self.record.models.values()):
                raise ValueError("a model without its weights_sha256")
            path = folder / PREDICTIONS
            self.dataset, self.p_closed = self._read_rows(rows)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise BundleError(f"{path} is damaged: {exc!r}") from None

    def _read_rows(self, rows: list[dict]) -> tuple[Dataset, dict[str, np.ndarray]]:
        """The images of predictions.csv as a Dataset, and p(closed) per model of the record."""
        if not rows:
            raise ValueError("no images")
        ragged = next((i for i, r in enumerate(rows, 1) if None in r or None in r.values()), None)
        if ragged is not None:
            raise ValueError(f"row {ragged} has another number of fields than the header")
        meta = self.record.metadata_columns
        dataset = Dataset(
            [Sample(r["file"], CLASS_NAMES.index(r["label"]), r["subject"], r["source"],
                    {k: r[k] for k in meta}) for r in rows], [],
            {src: {"root": "precomputed", "layout": "held-out bundle", "subjects_from": "bundle"}
             for src in sorted({r["source"] for r in rows})})
        return dataset, {name: np.array([float(r[f"p_closed:{name}"]) for r in rows]) for name in self.record.models}

    @property
    def models(self) -> list[str]:
        return list(self.record.models)

    def proba(self, name: str) -> np.ndarray:
        """(n, 2) probabilities [p_open, p_closed] of one model, as `predict_proba` gives them."""
        p = self.p_closed[name]
        return np.stack([1 - p, p], axis=1)

    def matches(self, name: str, checkpoint) -> bool:
        """Whether `checkpoint`'s weights are the ones the bundle's numbers for `name` were computed from."""
        entry = self.record.models.get(name)
        try:
            return bool(entry) and weights_sha256(checkpoint) == entry["weights_sha256"]
        except OSError:
            return False
