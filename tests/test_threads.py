"""Single-image inference runs with one torch thread (the app and the CLI through workbench.predict_picture)."""
import numpy as np
import torch
from conftest import draw_eye

from eyebench.threads import single_image_threads
from eyebench.workbench import predict_picture


def test_one_thread_inside_and_the_count_restored_after():
    torch.set_num_threads(2)
    try:
        with single_image_threads():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)  # the suite's setting (conftest)


class ThreadSpy:
    """A classifier that notes the torch thread count each time it predicts."""

    uncertain_band = None
    seen: list

    def __init__(self):
        self.seen = []

    def predict_proba(self, images):
        self.seen.append(torch.get_num_threads())
        return np.array([[0.8, 0.2]] * len(images))


def test_predict_picture_runs_single_crops_with_one_thread():
    spy = ThreadSpy()
    torch.set_num_threads(2)
    try:
        res = predict_picture({"spy": spy}, draw_eye(True, np.random.default_rng(0), 48), maps=False)
        assert torch.get_num_threads() == 2  # what a batch evaluation gets afterwards
    finally:
        torch.set_num_threads(1)
    assert spy.seen == [1] and res.eyes[0].answers[0].decision.text == "open"
