"""Argument types and options shared by the commands, and the output rule (no input written over, --overwrite)."""
from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from ..config import MAX_ZOOM, MIN_ZOOM, ZOOM_AVERAGE, DataConfig
from ..errors import EyebenchError

EPILOG = """Data layouts accepted by --data (detected automatically):
  1. MRL Eye Dataset names anywhere below a folder (sSSSS_IIIII_G_L_E_R_Q_NN.png; metadata from the name)
  2. class folders: open/ and closed/ (aliases such as Open_Eyes, closedLeftEyes are recognised)
  3. a CSV manifest (a .csv file, or manifest.csv in the folder): path,label[,subject][,other columns...]
     (sample_images/ is labelled by its samples.json, read the same way)
In a folder each file is labelled by its own MRL name, else by its class folder.
Subjects (people) come from MRL names, the manifest's subject column, or file-name stems with left/right
eyes grouped (--subject-from chooses another rule); every split is person-disjoint. Each command prints
where the subjects came from and warns when they look wrong."""


class OutputPath(str):
    """A file or folder the command will write, named on the command line: its folder is made before any work."""

    kind: "Output"


class InputPath(str):
    """A file or folder the command reads, named on the command line: no output of the command may write over it."""

    read: Path


def input_path(text: str) -> InputPath:
    """argparse type of every picture, video, data, checkpoint and result file a command reads."""
    value = InputPath(text)
    value.read = Path(text)
    return value


def recipe_run(text: str) -> InputPath:
    """argparse type of `cv-report ensemble --run [RECIPE=]FOLDER`: the folder is what is read."""
    value = InputPath(text)
    value.read = Path(text.split("=", 1)[-1])
    return value


OVERWRITE_RULE = ("Outputs: no command writes over one of its own inputs (a picture, video, --data, --model or other "
                  "file it reads, or a file already inside a folder it reads), with or without --overwrite. An output file, or "
                  "a file a command writes inside an output folder, that exists already is refused before any work "
                  "(exit code 2) unless --overwrite is given, which replaces it and prints a line saying so. Folders "
                  "a command recognises as its own: `train --out` continues a stopped run (resume.pt) with --resume "
                  "and replaces a finished checkpoint only with --overwrite, as `committee` and `cv-report committee` "
                  "do; `cv --out` holding a cross-validation is continued with --resume and never replaced; "
                  "`heldout --out` replaces an earlier held-out bundle (its bundle.json), saying so.")
OVERWRITE_HELP = ("replace output files that exist already, printing a line saying so (without it they are refused "
                  "before any work); the command's own inputs are never written over")


@dataclasses.dataclass(frozen=True)
class Output:
    """argparse type of an output option: a file, or a folder and the files the command writes in it (`writes`, glob
    patterns). `whole`: the folder is all the command's own (a checkpoint, a cv run), so no input may lie in it;
    `resumes`: with --resume, a folder holding this file is continued, not replaced; `own`: recognises an earlier
    output of the command there, replaced without --overwrite; `note`: what --overwrite's help adds for it."""

    folder: bool = False
    writes: tuple[str, ...] = ()
    whole: bool = False
    resumes: str = ""
    own: object = None
    note: str = ""

    def __call__(self, path: str) -> OutputPath:
        _writable(path, self.folder)
        value = OutputPath(path)
        value.kind = self
        return value

    def existing(self, path) -> list[Path]:
        """The files this output would replace: the file itself, or the folder's files it writes."""
        root = Path(path)
        if not self.folder:
            return [root] if root.exists() else []
        return sorted(p for pattern in self.writes for p in root.glob(pattern) if p.is_file())

    def targets(self, path) -> list[Path]:
        """The resolved paths this output writes (for a `whole` folder: the folder)."""
        root = Path(path).resolve()
        return [root / name for name in self.writes] if self.folder and not self.whole else [root]


def heldout_bundle(folder: Path) -> bool:
    """Whether `folder` holds a bundle `heldout` wrote (evaluate.heldout.is_bundle, imported when outputs are checked)."""
    from ..evaluate.heldout import is_bundle

    return is_bundle(folder)


def _writable(path: str, folder: bool) -> None:
    """Refuse at once (not after the work) an output whose folder cannot be made or written, or a folder given for a
    file; main() makes the missing folders before the command runs."""
    target = Path(path)
    if not folder and target.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder: give a file name")
    if folder and target.exists() and not target.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file: give a folder")
    existing = target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {path}: {existing} is not a writable folder")


output_file = Output()
CHECKPOINT = Output(folder=True, writes=("config.json",), whole=True,
                    note="; a finished checkpoint (config.json) in --out is replaced only with it")


def _add_output(sp, flag: str, kind: Output, **kwargs) -> None:
    """An output option of a command, and (once per command) its --overwrite."""
    sp.add_argument(flag, type=kind, **kwargs)
    if sp.get_default("overwrite") is None:  # the first output option of this command
        sp.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP + kind.note)


def _inputs(args) -> list[Path]:
    """The resolved paths of everything the command reads (its InputPath arguments, --init-weights)."""
    found = []
    for dest, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, InputPath):
                found.append(item.read)
            elif dest == "init_weights" and item:  # a TrainConfig option (typed in train/config.py)
                found.append(Path(item))
    return [p.resolve() for p in found]


def _clash(out: OutputPath, inputs: list[Path]) -> Path | None:
    """The input `out` would write over: one of its files, an existing file inside an input folder, or (a `whole`
    folder) an input that is the folder or lies in it."""
    for target in out.kind.targets(out):
        for read in inputs:
            inside = target in read.parents if out.kind.whole else target.exists() and read in target.parents
            if read == target or inside:
                return read
    return None


def _check_outputs(args) -> list[str]:
    """Refuse, before any work, an output that would write over an input of the command, or over an existing file
    without --overwrite; returns the lines saying what the command replaces, to print once it has."""
    inputs, lines = _inputs(args), []
    for dest, out in vars(args).items():
        if not isinstance(out, OutputPath):
            continue
        read = _clash(out, inputs)
        if read is not None:
            raise EyebenchError(f"--{dest} {out} would write over {read}, an input of this command: give another path")
        kind, existing = out.kind, out.kind.existing(out)
        if not existing or (kind.resumes and getattr(args, "resume", False) and (Path(out) / kind.resumes).is_file()):
            continue
        own = kind.own is not None and kind.own(Path(out))
        if not own and not args.overwrite:
            raise EyebenchError(f"{existing[0]} exists: pass --overwrite to replace it")
        why = "an earlier output of this command" if own else "--overwrite"
        lines.append(f"replaced {', '.join(map(str, existing))} ({why})")
    return lines


def _make_output_folders(args) -> None:
    """Make the folder of every output path of the command (before the work, so that it cannot fail after it)."""
    for value in vars(args).values():
        if isinstance(value, OutputPath):
            Path(value).parent.mkdir(parents=True, exist_ok=True)


def _subject_rule(spec: str) -> str:
    """argparse type of --subject-from: the rule checked when the command line is read."""
    from ..data.filenames import subject_rule

    try:
        subject_rule(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def bounded(kind: type, low: float, high: float | None = None, above: bool = False):
    """argparse type: a number of `kind` (int or float) from `low` (or, with `above`, above it) up to `high`."""
    noun = "a whole number" if kind is int else "a number"
    rule = f"{noun} {'above' if above else 'of at least'} {low:g}" + ("" if high is None else f" and at most {high:g}")

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value != value or (value <= low if above else value < low) \
                or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


SHARE = bounded(float, 0, 1, above=True)  # a risk, a share or a grid step: above 0, at most 1


def zoom_scale(text: str) -> float:
    """argparse type of --zoom-average: a number DataConfig accepts as zoom_average (MIN_ZOOM, off, to MAX_ZOOM)."""
    try:
        return DataConfig(zoom_average=float(text)).zoom_average
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from {MIN_ZOOM:g} (off) to {MAX_ZOOM:g}, got {text!r}") \
            from None


def _add_zoom_average(sp, what: str, default: float | None) -> None:
    """--zoom-average [SCALE]: average over the crop and its centre framed SCALE x tighter (data_config.zoom_average)."""
    sp.add_argument("--zoom-average", type=zoom_scale, nargs="?", const=ZOOM_AVERAGE, default=default, metavar="SCALE",
                    help=f"{what} over the crop and its centre framed SCALE x tighter (the eye larger; meant for crops cut "
                         f"wider than the training crops; stored as data_config.zoom_average; SCALE defaults to "
                         f"{ZOOM_AVERAGE:g}, 1 is off)" + ("; without the option the checkpoint's setting stays"
                                                          if default is None else ""))


def _add_data(sp, help: str = "data folder or CSV manifest (repeatable)", metavar: str | None = None) -> None:
    """--data (repeatable) and --subject-from, the data options of every command that reads data."""
    sp.add_argument("--data", action="append", type=input_path, required=True, metavar=metavar, help=help)
    sp.add_argument("--subject-from", type=_subject_rule, default="auto", metavar="RULE",
                    help="who is who, for person-disjoint splits and per-person results: auto (default: MRL names, a "
                         "manifest's subject column, else file names with left/right eyes grouped), folder (the "
                         "nearest folder above each image that is not open/ or closed/), file (every image a person "
                         "of its own) or regex:PATTERN (the first group of PATTERN in the file name). A manifest's "
                         "subject column is the sure way")


def _add_model_data_args(sp, split: bool = True, seed: bool = True) -> None:
    """--model and --data (repeatable), --split and --seed: the options of the analyses that read checkpoints."""
    sp.add_argument("--model", action="append", type=input_path, required=True,
                    help="checkpoint folder (repeatable)")
    _add_data(sp)
    if split:
        sp.add_argument("--split", choices=["train", "val", "test"], default=None,
                        help="only subjects that every model's saved split put in this part (e.g. test)")
    if seed:
        sp.add_argument("--seed", type=int, default=0, help="seed of image sampling (default 0)")


def _add_image_list_args(sp) -> None:
    """--model, --data, --split and the --csv to write: the options of the commands that list images (triage, audit)."""
    _add_model_data_args(sp, seed=False)
    _add_output(sp, "--csv", output_file, required=True, help="CSV file to write")
