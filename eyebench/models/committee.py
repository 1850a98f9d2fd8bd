"""The committee: a checkpoint made of other checkpoints that averages their calibrated closed logits with weights."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config import DataConfig
from ..data.splits import SavedSplit
from ..errors import EyebenchError
from .base import BaseClassifier, check_tensors, weights_sha256

REPO_ROOT = Path(__file__).resolve().parents[2]


class CommitteeClassifier(BaseClassifier):
    """Members are checkpoint folders named in config.json (`model_args.members`, relative to the committee's folder or
    to the repository); its score is sum_i w_i * z_i / T_i, the weighted mean of the members' closed logits, each
    divided by the member's temperature at fitting time (its calibrated logit). The committee has weights of its own
    only in that sense: model.safetensors holds `weights` and `member_temperatures` (one value per member), and its
    metadata the sha256 of every member's model.safetensors, which loading checks. Temperature and band are its own.
    """

    family = "committee"
    fits_temperature = True

    def __init__(self, members: list[str]):
        if not members or not all(isinstance(m, str) and m for m in members):
            raise EyebenchError(f"a committee needs member checkpoint folders, got {members!r}")
        if len(set(members)) != len(members):
            raise EyebenchError(f"a committee's members must differ, got {members}")
        super().__init__(DataConfig())  # set from the members when they are attached or from config.json
        self.member_paths = list(members)
        self.members: list = []
        self.weights = np.full(len(members), 1.0 / len(members))
        self.member_temperatures = np.ones(len(members))
        self.member_sha256: list[str] = []

    # -- members ---------------------------------------------------------------------------------------------
    def attach(self, members: list, hashes: list[str]) -> None:
        """Take the loaded member classifiers (in `member_paths` order) with the sha256 of their weights; they must
        be image classifiers, not committees, and share one saved split. The input is the largest member input."""
        if len(members) != len(self.member_paths):
            raise EyebenchError(f"{len(members)} members loaded for {len(self.member_paths)} names")
        nested = [p for p, m in zip(self.member_paths, members) if getattr(m, "members", None) is not None]
        if nested:
            raise EyebenchError(f"a committee cannot be a member of a committee: {', '.join(nested)}")
        self.info["split"] = SavedSplit.shared(
            {name: m.split for name, m in zip(self.member_paths, members)}, needs="val",
            missing="member {names} has no saved split, so the committee's validation people are unknown",
            differ="members must share one saved split (train them on the same data with the same --seed): {names} "
                   "split the people otherwise than {first}").to_dict()
        self.members, self.member_sha256 = list(members), list(hashes)
        channels = max(m.data_config.channels for m in members)
        self.data_config = DataConfig(max(m.data_config.input_size for m in members), channels, (0.0,) * channels,
                                      (1.0,) * channels, flip_average=self.data_config.flip_average,
                                      zoom_average=self.data_config.zoom_average)

    def load_members(self, folder, load) -> None:
        """Load the members named in config.json with `load` (eyebench's checkpoint loader: safetensors and JSON, no
        pickle) and check that each one still has the weights the committee was fitted with."""
        fitted = json.loads(_safetensors_metadata(Path(folder) / "model.safetensors").get("member_sha256", "null"))
        if not isinstance(fitted, list) or len(fitted) != len(self.member_paths):
            raise EyebenchError("model.safetensors does not record the sha256 of every member's weights")
        folders = [_resolve_member(folder, p) for p in self.member_paths]
        hashes = [weights_sha256(f) for f in folders]
        changed = [p for p, h, f in zip(self.member_paths, hashes, fitted) if h != f]
        if changed:
            raise EyebenchError(f"member {', '.join(changed)} has other weights than when the committee was fitted: fit "
                             "it again with `python -m eyebench committee`")
        data_config = self.data_config
        self.attach([load(f) for f in folders], hashes)
        self.data_config = data_config  # as config.json says (the same input; flip and zoom averaging as stored)
        views = json.loads(_safetensors_metadata(Path(folder) / "model.safetensors").get("member_views", "null"))
        now = _member_views(self.members)
        changed = [p for p, mine, then in zip(self.member_paths, now, views or []) if mine != then]
        if changed:  # `calibrate --flip-average/--zoom-average` on a member changes its logits, not its weights
            raise EyebenchError(f"member {', '.join(changed)} averages other views (flip or zoom averaging) than when the "
                             "committee was fitted: fit it again with `python -m eyebench committee`")

    def member_logits(self, batch: np.ndarray) -> np.ndarray:
        """(members, n) calibrated closed logits of prepared committee inputs, each member at its own input."""
        if not self.members:
            raise EyebenchError("the committee has no members attached: load it with load_classifier")
        return np.stack([m.scores_prepared(m.prepare(batch)) / t for m, t in zip(self.members, self.member_temperatures)])

    def view_scores(self, batch: np.ndarray) -> np.ndarray:
        return self.weights @ self.member_logits(batch)

    def inference_net(self) -> None:
        """Prepare every torch member's fast inference network now (the app calls this once when it loads)."""
        for m in self.members:
            if hasattr(m, "inference_net"):
                m.inference_net()

    # -- checkpoint ------------------------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, np.ndarray]:
        return {"weights": np.asarray(self.weights, np.float64),
                "member_temperatures": np.asarray(self.member_temperatures, np.float64)}

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        n = len(self.member_paths)
        check_tensors(tensors, {"weights": (n,), "member_temperatures": (n,)})
        if not np.all(np.asarray(tensors["member_temperatures"]) > 0):
            raise EyebenchError("member temperatures must be above 0")
        self.weights = np.asarray(tensors["weights"], np.float64)
        self.member_temperatures = np.asarray(tensors["member_temperatures"], np.float64)

    def weights_metadata(self) -> dict[str, str]:
        return {"member_sha256": json.dumps(self.member_sha256),
                "member_views": json.dumps(_member_views(self.members))}

    def num_parameters(self) -> int:
        return int(sum(m.num_parameters() for m in self.members))

    def flops(self) -> int | None:
        """The members' FLOPs per prediction (each member's per image x its views) added up (None when one of them
        cannot be counted, e.g. the SVM)."""
        counts = [m.flops() for m in self.members]
        if not counts or None in counts:
            return None
        return int(sum(c * m.data_config.views for c, m in zip(counts, self.members)))


def _member_views(members: list) -> list[list]:
    """Each member's [flip_average, zoom_average]: the views its logit averages, which the fitted weights assume."""
    return [[bool(m.data_config.flip_average), float(m.data_config.zoom_average)] for m in members]


def committee(members: list[str] | None = None) -> CommitteeClassifier:
    """A committee of saved checkpoints (folders; made and fitted by `python -m eyebench committee`)."""
    if members is None:
        raise EyebenchError("a committee is not trained: fit one from trained checkpoints with `python -m eyebench "
                         "committee --member DIR --member DIR ... --data DIR --out DIR`")
    return CommitteeClassifier(members)


def _resolve_member(folder, member: str) -> Path:
    """A member's folder: the path as given when absolute, else relative to the committee's folder, else to the
    repository (where `checkpoints/` is)."""
    path = Path(member)
    tried = [path] if path.is_absolute() else [Path(folder) / path, REPO_ROOT / path]
    for p in tried:
        if (p / "config.json").is_file():
            return p
    raise EyebenchError(f"member {member} not found (looked in {', '.join(str(p) for p in tried)})")


def _safetensors_metadata(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        return fh.metadata() or {}
