"""Lay out explanation maps as one labelled picture: a row per eye, panel titles, each prediction and a colour bar."""
from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
TITLE_LINES = 2
LINE_PX = 16
BAR_TEXT = ("map colour: blue = little, red = most evidence", "for the model's decision (each map scaled 0-1;",
            "UNCERTAIN: for its likelier class)")


def fit_text(text: str, width: int, scale: float = 0.4) -> tuple[str, float]:
    """(text, font scale) that fit `width` pixels: the font shrunk down to 80% first, then the text cut with '..'."""
    room = width - 4
    scale = next((s for s in (scale, 0.9 * scale, 0.8 * scale) if _width(text, s) <= room), 0.8 * scale)
    while text and _width(text, scale) > room:
        text = text[:-3] + ".."
    return text, scale


def _width(text: str, scale: float) -> int:
    return cv2.getTextSize(text, FONT, scale, 1)[0][0]


def _text(canvas: np.ndarray, text: str, x: int, y: int, width: int, scale: float = 0.4) -> None:
    """Write `text` at (x, y) (baseline), fitted to `width` pixels by `fit_text`."""
    text, scale = fit_text(text, width, scale)
    cv2.putText(canvas, text, (x + 2, y), FONT, scale, (20, 20, 20), 1, cv2.LINE_AA)


def _panel(image: np.ndarray, lines: list[str], side: int) -> np.ndarray:
    """One square panel of `side` pixels with its title lines above it, on white."""
    rgb = np.asarray(image)
    rgb = np.repeat(rgb[:, :, None], 3, axis=2) if rgb.ndim == 2 else rgb[:, :, :3]
    head = TITLE_LINES * LINE_PX + 6
    out = np.full((head + side, side, 3), 255, np.uint8)
    out[head:] = cv2.resize(np.ascontiguousarray(rgb), (side, side), interpolation=cv2.INTER_LINEAR)
    for i, line in enumerate(lines[:TITLE_LINES]):
        _text(out, line, 0, (i + 1) * LINE_PX, side)
    return out


def colour_bar(width: int, height: int = 14) -> np.ndarray:
    """The JET scale of the overlays from 0 (left) to 1 (right) with its ends and its meaning written under it."""
    ramp = np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1))
    bar = cv2.cvtColor(cv2.applyColorMap(ramp, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    out = np.full((height + 3 * LINE_PX + 8, width, 3), 255, np.uint8)
    out[4:4 + height] = bar
    _text(out, "0", 0, height + LINE_PX + 2, 30)
    _text(out, "1", width - 14, height + LINE_PX + 2, 30)
    for i, line in enumerate(BAR_TEXT):
        _text(out, line, 20, height + (i + 1) * LINE_PX + 2, width - 40)
    return out


def explanation_figure(rows: list[dict], side: int = 160) -> np.ndarray:
    """RGB figure: per row (one eye) its input and one titled overlay per model, then a colour bar under all.

    `rows`: [{"title": "right eye", "image": crop, "panels": [(["model", "CLOSED p(closed)=0.93"], overlay), ...]}].
    """
    strips = []
    for row in rows:
        tiles = [_panel(row["image"], [row["title"], "input"], side)]
        tiles += [_panel(image, lines, side) for lines, image in row["panels"]]
        strips.append(np.hstack([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=255) for t in tiles]))
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 4), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in strips]
    return np.vstack(strips + [colour_bar(width)])
