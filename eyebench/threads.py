"""Torch threads for single-image inference: one thread, so a busy machine does not make threads wait on each other."""
from __future__ import annotations

import contextlib
import sys

SINGLE_IMAGE_THREADS = 1


@contextlib.contextmanager
def single_image_threads(n: int = SINGLE_IMAGE_THREADS):
    """Run the block with `n` torch threads, then restore the count (torch keeps it per thread; nothing happens when
    torch is not loaded). One crop is too small to share: with the default threads on a loaded 2-core machine a
    ResNet18 crop took 121 ms against 6.9 ms with one (`eyebench bench` prints both)."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else n
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
