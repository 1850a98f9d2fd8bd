"""A group photo in the Predict tab (headless Chromium, as in test_app_browser.py): every face's eyes are answered.

The picture is made in code: three copies of the astronaut's head (scikit-image's public-domain photo) of different
sizes side by side on a 1000x500 light-grey canvas. Skipped when /usr/bin/chromium or `playwright` is missing.
"""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from app_server import MODEL_NAMES, server  # noqa: F401  (module-scoped app fixture)
from chromium import app_page, browser, require_browser, shot  # noqa: F401

sync_api = require_browser()
expect = sync_api.expect

HEAD_HEIGHTS = (330, 250, 190)  # the three faces, largest first (the order the app numbers them in)
LABEL = r"(OPEN|CLOSED|UNCERTAIN)"


def group_photo() -> np.ndarray:
    """1000x500 RGB: the astronaut's head (rows 10-230, columns 110-290 of data.astronaut()) at three sizes, left to
    right from the largest, each centred in its third of the canvas."""
    from skimage import data

    head = data.astronaut()[10:230, 110:290]
    canvas = np.full((500, 1000, 3), 225, np.uint8)
    for k, height in enumerate(HEAD_HEIGHTS):
        scale = height / head.shape[0]
        face = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        fh, fw = face.shape[:2]
        x, y = int((k + 0.5) * 1000 / 3) - fw // 2, (500 - fh) // 2
        canvas[y:y + fh, x:x + fw] = face
    return canvas


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """The group photo as PNG, after checking that the eye search finds its 3 faces and 6 eyes (else the browser
    test would test the picture, not the app)."""
    from eyebench.faces import locate_eyes

    rgb = group_photo()
    search = locate_eyes(rgb)
    assert len(search.faces) == 3, search.message
    assert sorted((e.face, e.side) for e in search.eyes) == [(f, s) for f in range(3) for s in ("left", "right")]
    assert search.message.startswith("6 eye(s) found in 3 face(s)."), search.message
    path = tmp_path_factory.mktemp("group") / "group_of_three.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def page(browser, server):
    with app_page(browser, server.url) as pg:
        yield pg


def test_group_photo_answers_every_face(page, photo):
    page.locator("#predict-image input[type=file]").set_input_files(str(photo))  # an upload runs the prediction
    message = page.locator("#predict-message")
    expect(message).to_contain_text("6 eye(s) found in 3 face(s).")
    for face in (1, 2, 3):
        expect(message).to_contain_text(f"face {face}: ")  # a line per face (head pose)

    # every model: a label line and a map for each of the six eyes, named by face and side
    eyes = [f"face {f} {s}" for f in (1, 2, 3) for s in ("right", "left")]
    for i in range(len(MODEL_NAMES)):
        result = page.locator(f"#model-result-{i}")
        for eye in eyes:
            expect(result).to_contain_text(re.compile(rf"{eye}: {LABEL}"))
        expect(page.locator(f"#model-maps-{i} img")).to_have_count(6)

    # the details JSON (all results, per eye, per model) lists 3 faces and 6 eyes, a right and a left on each of
    # faces 0, 1 and 2 (the tree shows each eye's face and side; its per-model answers are folded)
    details = page.locator(".block", has=page.get_by_text("All results (per eye, per model)", exact=True)).last
    expect(details).to_contain_text('"6 eye(s) found in 3 face(s)."')
    tree = "".join(details.inner_text().split())  # one line per token in the page: joined without spaces
    assert tree.count('"eye_distance_px":') == 3, tree
    eyes_listed = re.findall(r'"face":(\d+),"side":"(\w+)"', tree)
    assert sorted(eyes_listed) == [(str(f), s) for f in range(3) for s in ("left", "right")], tree
    assert tree.count('"models":{') == 6, tree  # each eye has its models' answers (folded: Object(2))
    shot(page, "predict_group_photo")
