"""Which training images each epoch draws: balanced by class and source (and by person with --person-cap), hard people
more often (--hard-people)."""
from __future__ import annotations

import numpy as np
import torch

from ..data.dataset import Dataset
from ..evaluate.thresholds import band_groups
from .config import (  # module globals here, so tests can patch them
    HARD_PEOPLE_CAP,
    HARD_PEOPLE_MIN_IMAGES,
)


def balanced_weights(dataset: Dataset, person_cap: float = 0.0) -> np.ndarray:
    """Per-sample weights so classes are equally likely within each source, and sources weigh by sqrt(size).

    With `person_cap` K > 0 people are balanced too: within each source and class a person's share counts at most
    K x the median person's image count of that source and class (see `capped_people`).
    """
    sources = np.array([s.source for s in dataset.samples])
    y, people = dataset.labels, dataset.subjects
    w = np.zeros(len(y))
    names = sorted(set(sources.tolist()))
    shares = np.sqrt([np.sum(sources == n) for n in names])
    shares = shares / shares.sum()
    for name, share in zip(names, shares):
        for c in (0, 1):
            m = (sources == name) & (y == c)
            if m.any():
                w[m] = share / 2 * capped_people(people[m], person_cap)
    return w / w.sum()


def capped_people(people: np.ndarray, cap: float) -> np.ndarray:
    """Weights summing to 1 over these images (one source and class): equal per image, except that a person with more
    than `cap` x the median person's count has their share cut to that many images' worth (each of their images
    drawn less often). No image is drawn more often than another's; `cap` 0 = plain equal weights."""
    if not cap:
        return np.full(len(people), 1.0 / len(people))
    names, person, counts = np.unique(people.astype(str), return_inverse=True, return_counts=True)
    mass = np.minimum(counts, cap * np.median(counts))  # each person's share, in images
    return (mass / counts)[person] / mass.sum()


def person_reweight(log_w: torch.Tensor, loss_sum: torch.Tensor, count: torch.Tensor, step: float) -> torch.Tensor:
    """One epoch's update of the people's log sampling factors: + step x (their mean loss - the mean loss), capped."""
    seen = count > 0
    if not seen.any():
        return log_w
    excess = torch.zeros_like(log_w)
    excess[seen] = loss_sum[seen] / count[seen] - loss_sum.sum() / count.sum()
    cap = float(np.log(HARD_PEOPLE_CAP))
    return (log_w + step * excess).clamp_(-cap, cap)


class PersonSampler:
    """Draws each epoch's batches from balanced weights (people capped with `person_cap`); with `hard_people` > 0
    each person's draws are scaled by exp(their log factor), which moves after every epoch toward the people with the
    higher mean training loss (people with fewer than HARD_PEOPLE_MIN_IMAGES images count as one pool per source)."""

    def __init__(self, train: Dataset, hard_people: float = 0.0, person_cap: float = 0.0):
        self.base = torch.as_tensor(balanced_weights(train, person_cap))
        people = band_groups(train.subjects, [s.source for s in train.samples], HARD_PEOPLE_MIN_IMAGES)
        self.names, person = np.unique(people.astype(str), return_inverse=True)
        self.person, self.hard_people = torch.as_tensor(person), hard_people
        self.log_w = torch.zeros(len(self.names), dtype=torch.float64)  # log sampling factor per person
        self._sums = torch.zeros((2, len(self.names)), dtype=torch.float64)  # this epoch's loss sum, count

    def draw(self, gen: torch.Generator, steps: int, batch_size: int) -> torch.Tensor:
        """(steps, batch_size) image indices for one epoch, drawn with replacement."""
        self._sums.zero_()
        weights = self.base * torch.exp(self.log_w)[self.person] if self.hard_people else self.base
        return torch.multinomial(weights, steps * batch_size, replacement=True, generator=gen).view(steps, batch_size)

    def record(self, idx: torch.Tensor, losses: torch.Tensor) -> None:
        """Add one batch's per-image losses to their people's sums (only what --hard-people needs)."""
        if self.hard_people:
            self._sums[0].index_add_(0, self.person[idx], losses.detach().double().cpu())
            self._sums[1].index_add_(0, self.person[idx], torch.ones(len(idx), dtype=torch.float64))

    def end_epoch(self, world: int = 1, device: torch.device | None = None) -> None:
        """Move the people's factors by this epoch's losses (summed over all processes under DDP)."""
        if not self.hard_people:
            return
        sums = self._sums
        if world > 1:  # every process updates the same factors from the whole batch
            import torch.distributed as dist

            sums = sums.to(device)
            dist.all_reduce(sums)
            sums = sums.cpu()
        self.log_w = person_reweight(self.log_w, sums[0], sums[1], self.hard_people)

    def hardest(self, k: int = 3) -> dict[str, float]:
        """The `k` people drawn most often from the next epoch on, with their sampling factor."""
        top = torch.argsort(self.log_w, descending=True)[:k].tolist()
        return {str(self.names[i]): round(float(torch.exp(self.log_w[i])), 3) for i in top}
