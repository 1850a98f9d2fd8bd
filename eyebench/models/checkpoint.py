"""Load checkpoint folders (model.safetensors + config.json) safely: no pickle, clear errors."""
from __future__ import annotations

import json
from pathlib import Path

from ..config import CLASS_NAMES, DataConfig
from .base import FORMAT
from .registry import create_classifier, list_classifiers


class CheckpointError(ValueError):
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
        clf.load_state_tensors(tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {folder}: weights do not match config.json ({_short(exc)})") from None
    clf.storage_dtype = str(config.get("storage_dtype", "float32"))
    clf.temperature = float(config.get("temperature", 1.0))
    band = config.get("uncertain_band")
    clf.uncertain_band = [float(b) for b in band] if band else None
    clf.info = {k: v for k, v in config.items() if k not in _OWN_KEYS}
    clf.checkpoint = str(folder)
    if hasattr(clf, "load_members"):  # a committee: its member checkpoints, each loaded by this function
        try:
            clf.load_members(folder, load_classifier)
        except (ValueError, OSError) as exc:
            raise CheckpointError(f"checkpoint {folder}: {exc}") from None
    return clf


_OWN_KEYS = {"format", "format_version", "architecture", "family", "model_args", "class_names", "data_config",
             "temperature", "uncertain_band", "num_parameters", "storage_dtype", "flops_per_image"}


def _short(exc: Exception, limit: int = 300) -> str:
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
