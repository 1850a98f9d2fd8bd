"""Scan a data folder in any of the three layouts and load its images through a decoded-array cache."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import CLASS_NAMES, CLOSED, IMAGE_EXTENSIONS, OPEN, cache_dir
from .filenames import identity_from_name, parse_mrl_name
from .images import ImageError, decode_image, to_model_input

CACHE_VERSION = 1
MANIFEST_NAMES = ("manifest.csv", "labels.csv")
_CLASS_ALIASES = {
    OPEN: {"open", "opened", "openeye", "openeyes", "eyeopen", "eyesopen", "openlefteyes", "openrighteyes",
           "lefteyeopen", "righteyeopen", "awake"},
    CLOSED: {"closed", "close", "closedeye", "closedeyes", "eyeclosed", "eyesclosed", "closedlefteyes",
             "closedrighteyes", "lefteyeclosed", "righteyeclosed"},
}
ALIASES = {alias: label for label, names in _CLASS_ALIASES.items() for alias in names}


@dataclasses.dataclass
class Sample:
    """One labelled image: path, label index into CLASS_NAMES, subject (person) id, source and metadata."""

    path: str
    label: int
    subject: str
    source: str
    meta: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Dataset:
    """The samples of one or more data sources plus every file that could not be used, with the reason."""

    samples: list[Sample]
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    sources: dict = dataclasses.field(default_factory=dict)  # source name -> {"root", "layout", "subjects_from"}

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=np.int64)

    @property
    def subjects(self) -> np.ndarray:
        return np.array([s.subject for s in self.samples], dtype=object)

    def subset(self, keep) -> "Dataset":
        """A dataset with the samples where `keep` (mask or indices) holds; skipped files are kept."""
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=int)
        return Dataset([self.samples[i] for i in idx], list(self.skipped), dict(self.sources))

    def report(self, n_examples: int = 5) -> dict:
        """Counts found/read/skipped, per class and source, skip reasons and the first skipped paths."""
        reasons = Counter(r for _, r in self.skipped)
        return {
            "sources": self.sources,
            "n_read": len(self.samples),
            "n_skipped": len(self.skipped),
            "skipped_reasons": dict(reasons),
            "skipped_examples": [{"path": p, "reason": r} for p, r in self.skipped[:n_examples]],
            "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped],
            "per_class": {CLASS_NAMES[k]: int(v) for k, v in sorted(Counter(self.labels.tolist()).items())},
            "per_source": dict(Counter(s.source for s in self.samples)),
            "n_subjects": len(set(self.subjects.tolist())),
        }

    def __add__(self, other: "Dataset") -> "Dataset":
        return Dataset(self.samples + other.samples, self.skipped + other.skipped, {**self.sources, **other.sources})


def class_from_folder(name: str) -> int | None:
    """Map a folder name such as `Open_Eyes` or `closedLeftEyes` to a label, or None."""
    return ALIASES.get("".join(ch for ch in name.lower() if ch.isalpha()))


def parse_label(value: str) -> int | None:
    """A manifest label: a class name or alias (`open`, `closed`, ...); numbers are ambiguous and refused."""
    return ALIASES.get("".join(ch for ch in str(value).strip().lower() if ch.isalpha()))


def _walk_images(root: Path) -> tuple[list[Path], list[Path]]:
    images, other = [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for f in sorted(filenames):
            p = Path(dirpath) / f
            (images if p.suffix.lower() in IMAGE_EXTENSIONS else other).append(p)
    return images, other


def _scan_manifest(csv_path: Path, source: str) -> Dataset:
    samples, skipped = [], []
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        if "path" not in cols or "label" not in cols:
            raise ValueError(f"{csv_path}: a manifest needs the columns 'path' and 'label' (found {cols})")
        for row in reader:
            if None in row:  # csv puts the fields beyond the header's columns under the key None
                skipped.append((f"{csv_path}:{reader.line_num}", "malformed: manifest row has more fields than the header"))
                continue
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            path = Path(row["path"])
            path = path if path.is_absolute() else csv_path.parent / path
            label = parse_label(row["label"])
            if label is None:
                skipped.append((str(path), f"unlabelled: label {row['label']!r} is not one of {CLASS_NAMES}"))
                continue
            subject = row.get("subject") or identity_from_name(path.name)
            meta = {k: v for k, v in row.items() if k not in ("path", "label", "subject") and k}
            samples.append(Sample(str(path), label, subject, source, meta))
    subjects_from = "manifest column 'subject'" if "subject" in cols else "file names (left/right grouped)"
    return Dataset(samples, skipped, {source: {"root": str(csv_path), "layout": "manifest", "subjects_from": subjects_from}})


def scan_folder(root, source: str | None = None) -> Dataset:
    """Find labelled images under `root` (MRL names, class folders or a CSV manifest), reporting the rest."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"data path does not exist: {root}")
    source = source or (root.stem if root.is_file() else root.name) or "data"
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise ValueError(f"{root}: --data must be a folder or a CSV manifest")
        return _scan_manifest(root, source)
    for name in MANIFEST_NAMES:
        if (root / name).is_file():
            return _scan_manifest(root / name, source)
    images, _ = _walk_images(root)
    parsed = [parse_mrl_name(p.name) for p in images]
    if any(parsed):
        samples, skipped = [], []
        for p, info in zip(images, parsed):
            if info is None:
                skipped.append((str(p), "unlabelled: not an MRL file name"))
            else:
                samples.append(Sample(str(p), info["label"], info["subject"], source, info["meta"]))
        return Dataset(samples, skipped, {source: {"root": str(root), "layout": "mrl", "subjects_from": "MRL file names"}})
    samples, skipped = [], []
    for p in images:
        rel_parts = p.relative_to(root).parts[:-1]
        label = next((class_from_folder(d) for d in reversed(rel_parts) if class_from_folder(d) is not None), None)
        if label is None:
            skipped.append((str(p), "unlabelled: not inside an open/closed class folder"))
            continue
        samples.append(Sample(str(p), label, identity_from_name(p.name), source, {}))
    if not samples and not skipped:
        raise ValueError(f"{root}: no images found (extensions {', '.join(IMAGE_EXTENSIONS)})")
    return Dataset(samples, skipped, {source: {"root": str(root), "layout": "class-folders", "subjects_from": "file names (left/right grouped)"}})


def load_dataset(roots) -> Dataset:
    """Scan one or more data paths; each becomes a source named after its folder (made unique)."""
    roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
    total = Dataset([])
    for root in roots:
        name = Path(root).stem if Path(root).is_file() else Path(root).resolve().name
        while name in total.sources:
            name += "_"
        total = total + scan_folder(root, source=name)
    if not total.samples:
        raise ValueError(f"no labelled images found in {', '.join(map(str, roots))} "
                         f"({len(total.skipped)} files skipped, e.g. {total.skipped[:3]})")
    return total


def _cache_key(paths: list[str], size: int, channels: int) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}|{size}|{channels}".encode())
    for p in paths:
        try:
            st = os.stat(p)
            h.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{os.path.abspath(p)}|missing\n".encode())
    return h.hexdigest()


def load_images(dataset: Dataset, size: int, channels: int, use_cache: bool = True,
                progress: bool = True) -> tuple[np.ndarray, Dataset]:
    """Decode and resize every sample to uint8 (n, size, size, channels); unreadable files move to skipped.

    Results are cached in `cache_dir()` keyed by the paths, their sizes and mtimes, and the target size.
    Returns the array and the dataset restricted to the samples that decoded.
    """
    paths = [s.path for s in dataset.samples]
    key = _cache_key(paths, size, channels)
    folder = cache_dir()
    arr_file, meta_file = folder / f"{key}.npy", folder / f"{key}.json"
    if use_cache and arr_file.exists() and meta_file.exists():
        try:
            failed = {int(k): v for k, v in json.loads(meta_file.read_text())["failed"].items()}
            arr = np.load(arr_file, allow_pickle=False)
            return _finish(arr, dataset, failed)
        except (ValueError, OSError, KeyError):
            pass  # a damaged cache is rebuilt
    arr = np.zeros((len(paths), size, size, channels), dtype=np.uint8)
    failed: dict[int, str] = {}
    for i, p in enumerate(tqdm(paths, desc=f"decoding {size}px", unit="img", disable=not progress, leave=False)):
        try:
            arr[i] = to_model_input(decode_image(p), size, channels)
        except ImageError as exc:
            failed[i] = str(exc)
    if use_cache:
        _write_atomic(arr_file, lambda fh: np.save(fh, arr, allow_pickle=False))
        _write_atomic(meta_file, lambda fh: fh.write(json.dumps({"failed": failed, "n": len(paths)}).encode()))
    return _finish(arr, dataset, failed)


def _write_atomic(path: Path, write) -> None:
    """Write through a temp file of its own, then rename: torchrun ranks or app threads that decode the same
    data at once each write their own temp file (a shared temp name let one rename the other's away)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _finish(arr: np.ndarray, dataset: Dataset, failed: dict[int, str]) -> tuple[np.ndarray, Dataset]:
    if not failed:
        return arr, dataset
    ok = np.ones(len(arr), dtype=bool)
    ok[list(failed)] = False
    kept = dataset.subset(ok)
    kept.skipped += [(dataset.samples[i].path, f"unreadable: {msg}") for i, msg in sorted(failed.items())]
    return arr[ok], kept
