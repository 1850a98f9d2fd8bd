"""TrainConfig: every training option once, as a dataclass field with its default, flag, help text and check."""
from __future__ import annotations

import argparse
import dataclasses
import json

from ..config import ZOOM_OUT_RANGE
from ..errors import EyebenchError

HARD_PEOPLE_CAP = 4.0  # --hard-people never draws a person more than 4x more (or less) often than balanced sampling
HARD_PEOPLE_MIN_IMAGES = 50  # --hard-people weighs people with fewer training images as one pool per source
RECIPE, TRAIN = "recipe", "train"  # recipe options belong to `train` and `cv`; train options to `train` only


def _as_is(name, value, config) -> dict:
    return {name: value}


def _none_when_off(name, value, config) -> dict:
    return {name: value or None}


def _elsewhere(name, value, config) -> dict:
    return {}  # recorded in another part of config.json (split, calibration, model_args, initialisation, ...)


def option(default, help: str | None, *, scope: str = RECIPE, flag: str | None = None, type=None,
           metavar: str | None = None, choices=None, many: bool = False, check=None, record=_as_is):
    """One field of TrainConfig: `check` is (predicate, what the value must be); `record` gives its entries in
    config.json["trained"] (by default under its own name); `many` is a repeatable flag."""
    return dataclasses.field(default=default, metadata={
        "help": help, "scope": scope, "flag": flag, "type": type, "metavar": metavar, "choices": choices,
        "many": many, "check": check, "record": record})


def _share(low_open: bool = False, high: float = 1.0, high_open: bool = False):
    return lambda v: (0 < v if low_open else 0 <= v) and (v < high if high_open else v <= high)


HARD_PEOPLE_HELP = ("after every epoch, draw the training people whose mean training loss is above average more often "
                    "and the easy ones less: sampling factor exp(STEP x their summed excess loss), at most "
                    f"{HARD_PEOPLE_CAP:g}x either way; people with < {HARD_PEOPLE_MIN_IMAGES} images are pooled per "
                    "source (e.g. 1; default 0 = off)")


PERSON_CAP_HELP = ("torch models: balance people as well as classes: within each source and class, a person counts "
                   "as at most K x the median person's image count there (each image of a person above that is drawn "
                   "less often; no image is drawn more often than another of its source and class), so a few people "
                   "with thousands of images do not dominate; e.g. 1 = nobody weighs more than the median person "
                   "(default 0 = off: every image of a source and class equally likely)")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The options of one training run (`eyebench train`; the recipe part also `eyebench cv`), checked on creation."""

    epochs: int = option(20, "maximum epochs for torch models (default 20)", check=(lambda v: v >= 1, "is at least 1"),
                         record=_elsewhere)
    batch_size: int = option(128, "images per training batch (default 128)", check=(lambda v: v >= 1, "is at least 1"))
    lr: float = option(3e-3, "peak learning rate of OneCycleLR (default 3e-3)", check=(lambda v: v > 0, "is above 0"))
    patience: int = option(6, "early stop after this many epochs without val gain", record=_elsewhere)
    seed: int = option(0, "seed of the split, sampler and initialisation")
    model_args: dict | None = option(
        None, "model option, JSON value (e.g. balance=class_weight, standardize=false, widths=[16,32,64,128]; "
              "contrast=clahe equalises local contrast before small_cnn and student; flip_average=true, for any "
              "model, averages every prediction (validation, calibration, test, later use) over the crop and its "
              "horizontal mirror, stored in config.json as data_config.flip_average)",
        flag="--model-arg", metavar="KEY=VALUE", many=True, record=_elsewhere)
    epoch_size: int | None = option(None, "images drawn per epoch by the balanced sampler (default: the training set "
                                          "size)", type=int, check=(lambda v: v is None or v >= 1, "is at least 1"))
    aug_strength: float = option(1.0, "scale of every augmentation range (0 = none, 1 = default)",
                                 check=(lambda v: v >= 0, "is at least 0"))
    ema_decay: float = option(0.0, "validate and keep an exponential moving average of the weights (e.g. 0.998; "
                                   "default off)", flag="--ema", metavar="DECAY",
                              check=(_share(high_open=True), "is a decay of at least 0 and below 1 (0 = off)"),
                              record=_none_when_off)
    bf16: bool = option(False, "run the forward pass in bfloat16 autocast, weights and optimiser in float32 (faster "
                               "training on CPUs with AVX512-BF16 or AMX; default off)",
                        record=lambda name, v, c: {"autocast": "bfloat16" if v else None})
    glasses: float = option(0.0, "share of training images that get synthetic glasses: a dark frame edge and "
                                 "saturated infrared glare spots (e.g. 0.3; default 0)", metavar="SHARE",
                            check=(_share(), "is a share of the training images, from 0 to 1"), record=_none_when_off)
    zoom_out: float = option(0.0, "share of training images framed wider: the eye shrunk to "
                                  f"{100 * ZOOM_OUT_RANGE[0]:g}-{100 * ZOOM_OUT_RANGE[1]:g}%% of its size, the border "
                                  "filled with the crop's edge pixels, for crops framed wider than the training "
                                  "people's (another eye detector or camera; e.g. 0.3; default 0)",
                             metavar="SHARE", check=(_share(), "is a share of the training images, from 0 to 1"),
                             record=_none_when_off)
    label_smoothing: float = option(
        0.0, "train toward e/2 and 1 - e/2 instead of 0 and 1, for noisy labels (e.g. 0.1; default 0); calibration "
             "on validation still fits the temperature afterwards", metavar="E",
        check=(_share(high=0.5, high_open=True), "must be at least 0 and below 0.5"), record=_none_when_off)
    hard_people: float = option(0.0, HARD_PEOPLE_HELP, metavar="STEP",
                                check=(lambda v: v >= 0, "is a step size of at least 0 (0 = off)"),
                                record=_none_when_off)
    person_cap: float = option(0.0, PERSON_CAP_HELP, metavar="K",
                               check=(lambda v: v >= 0, "is a multiple of the median person's images, at least 0 "
                                                        "(0 = off)"), record=_none_when_off)
    drop_hardest: float = option(
        0.0, "leave the highest-loss SHARE of every batch out of the loss (rounded down: 0.03 of 128 is 3 images), "
             "ramped in over the first sixth of the epochs: loss truncation against noisy labels (e.g. 0.03; default "
             "0 = off; it did not help small_cnn on MRL, README recipe L)", metavar="SHARE",
        check=(_share(high=0.5, high_open=True), "is a share of each batch, at least 0 and below 0.5"),
        record=_none_when_off)
    val_frac: float = option(0.15, "share of subjects for validation (default 0.15)", scope=TRAIN,
                             check=(_share(high_open=True), "is a share of the subjects, at least 0 and below 1"),
                             record=_elsewhere)
    test_frac: float = option(0.15, "share of subjects held out for test (default 0.15)", scope=TRAIN,
                              check=(_share(high_open=True), "is a share of the subjects, at least 0 and below 1"),
                              record=_elsewhere)
    target_risk: float = option(0.01, "selective risk the uncertain band is fitted for on validation (default 0.01 = "
                                      "1%%)", scope=TRAIN, record=_elsewhere)
    band_rule: str = option("per-person", "per-person (default): the band keeps the target risk for every validation "
                                          "person with enough images and for each source's pool of smaller ones; "
                                          "pooled: over all validation images", scope=TRAIN,
                            choices=("per-person", "pooled"), record=_elsewhere)
    resume: bool = option(False, "continue from OUT/resume.pt written after each epoch", scope=TRAIN,
                          record=_elsewhere)
    teachers: list | None = option(
        None, "checkpoint to distil from (repeatable; logits are averaged): soft targets + temperature", scope=TRAIN,
        flag="--teacher", metavar="DIR", many=True,
        record=lambda name, v, c: {"distillation": {"teachers": v, "alpha": c.kd_alpha,
                                                    "temperature": c.kd_temperature} if v else None})
    kd_alpha: float = option(0.7, "weight of the distillation loss (default 0.7)", scope=TRAIN,
                             check=(_share(), "is a weight from 0 to 1"), record=_elsewhere)
    kd_temperature: float = option(2.0, "distillation temperature (default 2)", scope=TRAIN,
                                   check=(lambda v: v > 0, "is above 0"), record=_elsewhere)
    pretrained: bool = option(False, "start from timm hub weights (needs the internet)", scope=TRAIN,
                              record=_elsewhere)
    init_weights: str | None = option(None, "start from a .safetensors state dict (offline)", scope=TRAIN,
                                      type=str, metavar="FILE", record=_elsewhere)
    storage_dtype: str = option("float32", "precision of the saved weights; metrics are measured on the rounded "
                                           "weights", scope=TRAIN, choices=["float32", "float16"])

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value, m = getattr(self, f.name), f.metadata
            if m["choices"] and value not in m["choices"]:
                raise EyebenchError(f"{flag_of(f)} is one of {', '.join(m['choices'])} (got {value!r})")
            if m["check"] and not m["check"][0](value):
                raise EyebenchError(f"{flag_of(f)} {m['check'][1]} (got {value})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TrainConfig":
        """The options a parsed command line holds (fields its command has no flag for keep their defaults)."""
        kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
        if kw.get("model_args") is not None:
            kw["model_args"] = parse_model_args(kw["model_args"])
        return cls(**kw)

    def recorded(self) -> dict:
        """The options as config.json["trained"] keeps them (the keys and values older checkpoints have)."""
        out = {}
        for f in dataclasses.fields(self):
            out.update(f.metadata["record"](f.name, getattr(self, f.name), self))
        return out


def flag_of(f: dataclasses.Field) -> str:
    """The command-line flag of a field: its own `flag`, else --the-field-name."""
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def add_options(parser: argparse.ArgumentParser, *scopes: str) -> None:
    """Add the flags of every TrainConfig field in `scopes` to `parser`, in field order."""
    for f in dataclasses.fields(TrainConfig):
        m = f.metadata
        if m["scope"] not in scopes:
            continue
        flag = flag_of(f)
        kw = {"dest": f.name, "help": m["help"]}
        if isinstance(f.default, bool):
            kw["action"] = "store_true"
        elif m["many"]:
            kw.update(action="append", metavar=m["metavar"])
        else:
            kw.update(type=m["type"] or type(f.default), default=f.default, choices=m["choices"],
                      metavar=m["metavar"] or (None if m["choices"] else flag[2:].replace("-", "_").upper()))
        parser.add_argument(flag, **kw)


def parse_model_args(pairs: list[str]) -> dict:
    """--model-arg KEY=VALUE pairs -> {key: value}; values are read as JSON where they parse, else kept as text."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise EyebenchError(f"--model-arg expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
