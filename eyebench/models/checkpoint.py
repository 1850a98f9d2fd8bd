"""Load checkpoint folders (model.safetensors + config.json) safely: no pickle, clear errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..config import CLASS_NAMES, DataConfig
from ..errors import EyebenchError
from .base import FORMAT
from .registry import create_classifier, list_classifiers


class CheckpointError(EyebenchError):
    """A checkpoint folder that cannot be loaded; the message names the folder and the problem."""


def read_config(directory) -> dict:
    """The parsed config.json of a checkpoint folder, with a clear error when missing or invalid."""
    folder = Path(directory)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint {folder}: not a folder")
    cfg_file = folder / "config.json"
    if not cfg_file.is_file():
        raise CheckpointError(f"checkpoint {folder}: config.json is missing")
    try:
        config = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {folder}: config.json is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {folder}: config.json is not an eyebench checkpoint config")
    return config


def load_classifier(directory):
    """Rebuild a trained classifier from its checkpoint folder."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(directory)
    config = read_config(folder)
    arch = config.get("architecture")
    if arch not in list_classifiers():
        raise CheckpointError(f"checkpoint {folder}: unknown architecture {arch!r} "
                              f"(known: {', '.join(list_classifiers())})")
    if tuple(config.get("class_names", ())) != CLASS_NAMES:
        raise CheckpointError(f"checkpoint {folder}: class names {config.get('class_names')} do not match "
                              f"eyebench's {list(CLASS_NAMES)}")
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {folder}: model.safetensors is missing")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {folder}: model.safetensors is unreadable or truncated ({exc})") from None
    try:
        clf = create_classifier(arch, **config.get("model_args", {}))
        clf.data_config = DataConfig.from_dict(config["data_config"])
    except (KeyError, TypeError, ValueError, RuntimeError, AssertionError) as exc:
        raise CheckpointError(f"checkpoint {folder}: config.json's model_args or data_config do not make a {arch} "
                              f"({short_message(exc)})") from None
    try:
        clf.load_state_tensors(tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {folder}: weights do not match config.json ({short_message(exc)})") from None
    clf.storage_dtype = str(config.get("storage_dtype", "float32"))
    clf.temperature, clf.uncertain_band = _calibration(folder, config)
    clf.info = {k: v for k, v in config.items() if k not in _OWN_KEYS}
    clf.checkpoint = str(folder)
    if hasattr(clf, "load_members"):  # a committee: its member checkpoints, each loaded by this function
        try:
            clf.load_members(folder, load_classifier)
        except (ValueError, OSError) as exc:
            raise CheckpointError(f"checkpoint {folder}: {exc}") from None
    return clf


def _calibration(folder: Path, config: dict) -> tuple[float, list[float] | None]:
    """config.json's temperature (a number above 0) and uncertain band (none, or low <= high within [0, 1])."""
    t, band = config.get("temperature", 1.0), config.get("uncertain_band")
    if not _number(t) or t <= 0:
        raise CheckpointError(f"checkpoint {folder}: config.json is damaged: its temperature is not a number above 0 "
                              f"({t!r})")
    valid_band = isinstance(band, list) and len(band) == 2 and all(map(_number, band)) and 0 <= band[0] <= band[1] <= 1
    if band and not valid_band:
        raise CheckpointError(f"checkpoint {folder}: config.json is damaged: its uncertain_band is not [low, high] "
                              f"with 0 <= low <= high <= 1 ({band!r})")
    return float(t), [float(b) for b in band] if band else None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_OWN_KEYS = {"format", "format_version", "architecture", "family", "model_args", "class_names", "data_config",
             "temperature", "uncertain_band", "num_parameters", "storage_dtype", "flops_per_image"}


def short_message(exc: Exception, limit: int = 300) -> str:
    """An exception's text on one line, cut to `limit` characters."""
    text = str(exc).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


def update_record(directory, key: str, value) -> None:
    """Store a measurement (e.g. `bench`) in a checkpoint's config.json and rewrite its model card."""
    from .card import model_card

    folder = Path(directory)
    config = read_config(folder)
    config[key] = value
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "README.md").write_text(model_card(config))
