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

from ..config import CLASS_NAMES, IMAGE_EXTENSIONS, cache_dir
from ..errors import EyebenchError
from .face_photos import expand_face_photos
from .filenames import (
    class_from_folder,
    identity_from_name,
    parse_label,
    parse_mrl_name,
    subject_rule,
)
from .images import ImageError, decode_image, to_model_input
from .subjects import subject_doubt

CACHE_VERSION = 1
MANIFEST_NAMES = ("manifest.csv", "labels.csv")
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
    sources: dict = dataclasses.field(default_factory=dict)  # source name -> {"root", "layout", "subjects_from", ...}

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=np.int64)

    @property
    def subjects(self) -> np.ndarray:
        return np.array([s.subject for s in self.samples], dtype=object)

    @property
    def subject_doubts(self) -> list[str]:
        """Why the subjects of the sources that hold samples may not be people (one line per doubted source), or []:
        names that look like counters, one subject for everything, one per image (see `subjects.subject_doubt`)."""
        used = {s.source for s in self.samples}
        return [f"{name}: {info['subjects_doubt']}" for name, info in self.sources.items()
                if name in used and info.get("subjects_trusted") is False and info.get("subjects_doubt")]

    @property
    def subjects_trusted(self) -> bool:
        """False when the subjects of any source that holds samples were warned about (see `subject_doubts`)."""
        used = {s.source for s in self.samples}
        return all(info.get("subjects_trusted", True) for name, info in self.sources.items() if name in used)

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
            "subjects_trusted": self.subjects_trusted,
            "warnings": [w for info in self.sources.values() for w in info.get("warnings", [])],
        }

    def __add__(self, other: "Dataset") -> "Dataset":
        return Dataset(self.samples + other.samples, self.skipped + other.skipped, {**self.sources, **other.sources})


def _walk_images(root: Path) -> tuple[list[Path], list[Path]]:
    images, other = [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for f in sorted(filenames):
            p = Path(dirpath) / f
            (images if p.suffix.lower() in IMAGE_EXTENSIONS else other).append(p)
    return images, other


def _scan_manifest(csv_path: Path, source: str) -> Dataset:
    """The labelled rows of a CSV manifest (path, label[, subject, ...]); a file that is not a UTF-8 CSV is refused."""
    samples, skipped = [], []
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = [c.strip() for c in (reader.fieldnames or [])]
            if "path" not in cols or "label" not in cols:
                raise EyebenchError(f"{csv_path}: a manifest needs the columns 'path' and 'label' (found {cols})")
            for row in reader:
                if None in row:  # csv puts the fields beyond the header's columns under the key None
                    skipped.append((f"{csv_path}:{reader.line_num}",
                                    "malformed: manifest row has more fields than the header"))
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
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EyebenchError(f"{csv_path}: not a UTF-8 CSV manifest ({exc})") from None
    subjects_from = MANIFEST_SUBJECTS if "subject" in cols else "file names (left/right grouped)"
    return Dataset(samples, skipped, {source: {"root": str(csv_path), "layout": "manifest", "subjects_from": subjects_from}})


SAMPLES_JSON = "samples.json"  # the label list of sample_images/ (eyebench.samples.make_samples)


def _scan_samples_json(path: Path, source: str) -> Dataset:
    """A folder labelled by a samples.json list of {file, label, provenance[, subject, kind]}: a manifest in JSON. A
    picture without a single label (label null, e.g. a face photo) is skipped with that reason."""
    try:
        rows = json.loads(path.read_text())
        if not isinstance(rows, list) or not all(isinstance(r, dict) and "file" in r for r in rows):
            raise EyebenchError("not a list of objects with a 'file'")
    except (ValueError, UnicodeDecodeError) as exc:
        raise EyebenchError(f"{path}: not a samples list ({exc})") from None
    samples, skipped = [], []
    for r in rows:
        file, label = str(r["file"]), parse_label(r.get("label") or "")
        if label is None:
            skipped.append((str(path.parent / file), f"unlabelled: {SAMPLES_JSON} gives it no single label"))
            continue
        subject = r.get("subject") or file.rsplit("_", 1)[0]  # e.g. synthetic_open_0.png -> synthetic_open
        samples.append(Sample(str(path.parent / file), label, subject, source, {"kind": r.get("kind") or file.split("_")[0]}))
    return Dataset(samples, skipped, {source: {"root": str(path), "layout": SAMPLES_JSON,
                                               "subjects_from": f"{SAMPLES_JSON} (file names without the number)"}})


def scan_folder(root, source: str | None = None, subject_from: str | None = None) -> Dataset:
    """Find labelled images under `root` (MRL names, class folders, a CSV manifest or a samples.json list), reporting
    the rest; subjects by the layout or by a --subject-from rule (`filenames.subject_rule`); warnings about what
    looks wrong."""
    root = Path(root)
    source = source or (root.stem if root.is_file() else root.name) or "data"
    dataset = _scan(root, source)
    rule = subject_rule(subject_from)
    info = dataset.sources[source]
    if rule:
        dataset = _apply_subject_rule(dataset, rule, subject_from, root.parent if root.is_file() else root)
        info["subjects_from"] = rule[1]
    dataset = expand_face_photos(dataset)
    info = dataset.sources[source]
    info["subject_rule"] = subject_from or "auto"
    info["n_subjects"] = len({s.subject for s in dataset.samples})
    doubt, warning = subject_doubt(source, dataset.samples, info, rule is not None,
                                    sure=not rule and info["subjects_from"] in (MRL_SUBJECTS, MANIFEST_SUBJECTS))
    info["subjects_trusted"], info["subjects_doubt"] = doubt is None, doubt
    info["warnings"] = _skip_warnings(source, len(dataset), dataset.skipped) + ([warning] if warning else [])
    return dataset


def _scan(root: Path, source: str) -> Dataset:
    """The labelled images of one data path in its own layout, and every skipped file with the reason."""
    if not root.exists():
        raise FileNotFoundError(f"data path does not exist: {root}")
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise EyebenchError(f"{root}: --data must be a folder or a CSV manifest")
        return _scan_manifest(root, source)
    for name in MANIFEST_NAMES:
        if (root / name).is_file():
            return _scan_manifest(root / name, source)
    if (root / SAMPLES_JSON).is_file():
        return _scan_samples_json(root / SAMPLES_JSON, source)
    images, _ = _walk_images(root)
    if not images:
        raise EyebenchError(f"{root}: no images found (extensions {', '.join(IMAGE_EXTENSIONS)})")
    samples, skipped, kinds = [], [], Counter()
    root_label = class_from_folder(root.resolve().name)  # `--data mine/open`: the folder given is a class folder
    for p in images:
        found = _label_file(p, root, root_label)
        if isinstance(found, str):
            skipped.append((str(p), found))
            continue
        kind, label, subject, meta = found
        kinds[kind] += 1
        samples.append(Sample(str(p), label, subject, source, meta))
    layout, subjects_from = _folder_layout(kinds)
    return Dataset(samples, skipped, {source: {"root": str(root), "layout": layout, "subjects_from": subjects_from}})


UNLABELLED = "unlabelled: neither an MRL file name nor inside an open/closed class folder"
MRL_SUBJECTS, MANIFEST_SUBJECTS = "MRL file names", "manifest column 'subject'"
def _apply_subject_rule(dataset: Dataset, rule, spec: str, base: Path) -> Dataset:
    """Every sample's subject by the rule; a file the rule gives no subject is skipped with the reason."""
    derive, _ = rule
    kept, skipped = [], list(dataset.skipped)
    for s in dataset.samples:
        subject = derive(s.path, base)
        if subject is None:
            skipped.append((s.path, f"no subject: the file name does not match --subject-from {spec}"))
        else:
            kept.append(dataclasses.replace(s, subject=subject))
    return Dataset(kept, skipped, dataset.sources)


def _label_file(path: Path, root: Path, root_label: int | None = None) -> tuple[str, int, str, dict] | str:
    """(layout, label, subject, metadata) of one image file, decided by its own name and folders (an MRL name, else
    its nearest class folder under `root`, else `root_label`: the class of the data folder itself when it is named
    `open/`, `closed/`, ...), or the reason it has no label (a name and a folder that disagree are refused)."""
    folders = path.relative_to(root).parts[:-1]
    folder_label = next((class_from_folder(d) for d in reversed(folders) if class_from_folder(d) is not None),
                        root_label)
    info = parse_mrl_name(path.name)
    if info is not None:
        if folder_label is not None and folder_label != info["label"]:
            return (f"conflict: the MRL name says {CLASS_NAMES[info['label']]}, "
                    f"the class folder says {CLASS_NAMES[folder_label]}")
        return "mrl", info["label"], info["subject"], info["meta"]
    if folder_label is not None:
        return "class-folders", folder_label, identity_from_name(path.name), {}
    return UNLABELLED


def _folder_layout(kinds: Counter) -> tuple[str, str]:
    """The layout of a folder from its files' own layouts, and where its subjects come from."""
    if kinds["mrl"] and kinds["class-folders"]:
        return "mixed", (f"MRL file names ({kinds['mrl']} images); file names, left/right grouped "
                         f"({kinds['class-folders']} images in class folders)")
    if kinds["mrl"]:
        return "mrl", MRL_SUBJECTS
    return "class-folders", "file names (left/right grouped)"


def _skip_warnings(source: str, n_read: int, skipped: list) -> list[str]:
    """A warning when a large share of a source's files was skipped: results would cover only the remainder."""
    if not skipped or len(skipped) < 0.2 * (n_read + len(skipped)):
        return []
    reasons = Counter(r.split(":")[0] for _, r in skipped)
    return [f"{source}: {len(skipped)} of {n_read + len(skipped)} files were skipped ({dict(reasons)}): everything "
            f"below is about the {n_read} that were read. See the skipped files and their reasons."]


def describe(report: dict) -> list[str]:
    """Lines for the user about a data report: each source's layout and where its subjects came from, then every
    warning (a large share skipped, subjects that look wrong)."""
    lines = [f"data {name}: {info.get('layout')} layout, "
             + (f"{info['n_subjects']} subjects " if "n_subjects" in info else "")
             + f"from {info.get('subjects_from')}"
             + (f"; {info['face_photos']} face photos read as their eyes (head_yaw and head_pitch subsets from the "
                "face landmarks)" if info.get("face_photos") else "") for name, info in report["sources"].items()]
    lines.append(f"found {report['n_read']} labelled images of {report['n_subjects']} subjects; {report['n_skipped']} files "
                 "skipped"
                 + (f" {report['skipped_reasons']}" if report["skipped_reasons"] else ""))
    return lines + [f"WARNING {w}" for w in report.get("warnings", [])]


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A command's --data paths and --subject-from rule (None or "auto": each layout's own), scanned by `load`."""
    paths: tuple
    subject_from: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "paths", (self.paths,) if isinstance(self.paths, (str, os.PathLike)) else tuple(self.paths))

    def load(self) -> Dataset:
        """Scan the paths (`load_dataset`)."""
        return load_dataset(list(self.paths), self.subject_from)


def as_dataset(data) -> Dataset:
    """The Dataset `data` stands for: a Dataset as it is, a DataSpec loaded, paths loaded with each layout's subjects."""
    return data if isinstance(data, Dataset) else (data if isinstance(data, DataSpec) else DataSpec(data)).load()


def load_dataset(roots, subject_from: str | None = None) -> Dataset:
    """Scan one or more data paths; each becomes a source named after its folder (made unique); `subject_from`: a
    --subject-from rule for every path (None or "auto": each layout's own subjects)."""
    roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
    total = Dataset([])
    for root in roots:
        name = Path(root).stem if Path(root).is_file() else Path(root).resolve().name
        while name in total.sources:
            name += "_"
        total = total + scan_folder(root, source=name, subject_from=subject_from)
    total = _drop_duplicates(total)
    if not total.samples:
        raise EyebenchError(f"no labelled images found in {', '.join(map(str, roots))} "
                         f"({len(total.skipped)} files skipped, e.g. {total.skipped[:3]})")
    return total


def _drop_duplicates(dataset: Dataset) -> Dataset:
    """Each file once: a file listed again (the same folder twice, nested folders, a repeated manifest row) is skipped
    as a duplicate; a file listed with both labels is skipped everywhere, since neither label can be trusted."""
    keys = [os.path.normcase(os.path.abspath(s.path)) for s in dataset.samples]
    seen, labels = {}, {}
    for i, (key, s) in enumerate(zip(keys, dataset.samples)):
        seen.setdefault(key, i)
        labels.setdefault(key, set()).add(s.label)
    samples, skipped = [], list(dataset.skipped)
    for i, (key, s) in enumerate(zip(keys, dataset.samples)):
        if len(labels[key]) > 1:
            skipped.append((s.path, f"conflicting labels: listed as both {' and '.join(CLASS_NAMES)}"))
        elif seen[key] != i:
            skipped.append((s.path, f"duplicate: already read from source {dataset.samples[seen[key]].source}"))
        else:
            samples.append(s)
    return dataset if len(samples) == len(dataset.samples) else Dataset(samples, skipped, dataset.sources)


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
    """Decode and resize every sample to uint8 (n, size, size, channels); unreadable files move to skipped. Returns the
    array and the dataset of the samples that decoded, cached in `cache_dir()` by paths, file sizes, mtimes and `size`."""
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
