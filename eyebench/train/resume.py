"""The resumable state written after every epoch (resume.pt): tensors and numbers only, read with weights_only=True."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from ..errors import EyebenchError

RESUME_FILE = "resume.pt"


@dataclasses.dataclass
class Progress:
    """Where a run stands after an epoch: the global optimiser step, the best validation score so far and its
    weights, the epochs since the last improvement, and the history rows."""

    epoch: int = 0
    step: int = 0
    best_score: float = -1.0
    best_state: dict | None = None
    bad_epochs: int = 0
    history: list = dataclasses.field(default_factory=list)

    def improve(self, score: float, net: torch.nn.Module) -> bool:
        """Keep `net`'s weights if `score` beats the best so far; count an epoch without gain otherwise."""
        if score > self.best_score:
            self.best_score, self.bad_epochs = score, 0
            self.best_state = {k: v.clone() for k, v in net.state_dict().items()}
            return True
        self.bad_epochs += 1
        return False


def run_recipe(clf, train, val, config) -> dict:
    """What a resumed run must share with the run that wrote resume.pt: the model and its arguments, the training and
    validation people, and the recipe as config.json records it (`epochs` and `patience` may change)."""
    return json.loads(json.dumps({"model": clf.name, "model_args": clf.model_args,
                                  "train people": sorted(set(train.subjects.tolist())),
                                  "validation people": sorted(set(val.subjects.tolist())), **config.recorded()}))


def check_recipe(state: dict, recipe: dict, out: Path) -> None:
    """Refuse to resume a run started with another model, people or recipe (resume.pt files written before the recipe
    was saved are not checked)."""
    saved = state.get("recipe")
    changed = [key for key in recipe if saved.get(key) != recipe[key]] if saved is not None else []
    if changed:
        raise EyebenchError(f"{Path(out) / RESUME_FILE} was written by a run with another {', '.join(changed)}: resume "
                         "with the same command (and data), or train into a new --out")


def save_state(out: Path, net, optimizer, gen: torch.Generator, progress: Progress, person_log_weights: torch.Tensor,
               ema=None, recipe: dict | None = None) -> None:
    """Write resume.pt into `out`: the live weights (the average apart from them), the history so far and the
    `run_recipe` that resuming checks. history.json is written only when training finishes, so a folder being
    retrained keeps the curves of the weights it holds."""
    torch.save({"recipe": recipe, "history": progress.history, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
                "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "best_model": progress.best_state,
                "best_score": progress.best_score, "bad_epochs": progress.bad_epochs, "epoch": progress.epoch,
                "step": progress.step, "person_log_weights": person_log_weights,
                **({"ema": ema.state_dict()} if ema is not None else {})}, Path(out) / RESUME_FILE)


def load_state(out: Path) -> dict:
    """The saved state (safe to read: no pickled objects), with `step` also for files written before it was saved."""
    state = torch.load(Path(out) / RESUME_FILE, map_location="cpu", weights_only=True)
    if "step" not in state:  # written by the OneCycleLR loop: its scheduler counted the steps
        state["step"] = int(state["scheduler"]["last_epoch"])
    return state


def restore(state: dict, out: Path, net, optimizer, gen: torch.Generator) -> Progress:
    """Put a saved state back into the network, optimiser and generators; the progress to go on from."""
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    gen.set_state(state["generator"])
    if "torch_rng" in state:  # dropout and drop-path draw from the global generator
        torch.set_rng_state(state["torch_rng"])
    epoch = int(state["epoch"])
    history = state.get("history")  # resume.pt files written before it held the history: history.json
    history = (history if history is not None else json.loads((Path(out) / "history.json").read_text()))[:epoch]
    return Progress(epoch=epoch, step=int(state["step"]), best_score=float(state["best_score"]),
                    best_state=state["best_model"], bad_epochs=int(state["bad_epochs"]), history=history)
