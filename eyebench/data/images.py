"""Decode image files into uint8 arrays, convert raw crops into a model's input, and reframe crops about their centre."""
from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps

from ..errors import EyebenchError

MAX_PIXELS = 40_000_000  # decompression-bomb guard
MIN_SIDE = 8


class ImageError(EyebenchError):
    """An input that cannot be used as an image, with a message meant for the user."""


def decode_image(source, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a path or bytes into an RGB uint8 array (H, W, 3); raises ImageError with a clear reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
            if img.width * img.height > max_pixels:
                raise ImageError(f"image too large: {img.width}x{img.height} pixels (limit {max_pixels:,})")
            img.seek(0)  # animated images: first frame
            img = ImageOps.exif_transpose(img)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img, dtype=np.float64)
                arr = (255 * (arr - arr.min()) / max(float(np.ptp(arr)), 1.0)).astype(np.uint8)
                img = Image.fromarray(arr, mode="L")
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                img = img.convert("RGBA")
                background = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, img)
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError("file not found (it may have been moved or deleted)") from None
    except IsADirectoryError:
        raise ImageError("a folder, not an image") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(f"image too large (more than {max_pixels:,} pixels)") from None
    except Image.UnidentifiedImageError:
        raise ImageError("not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated image ({exc})") from None
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise ImageError(f"image too small: {rgb.shape[1]}x{rgb.shape[0]} (need at least {MIN_SIDE}x{MIN_SIDE})")
    return rgb


def to_model_input(image: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Raw crop (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), any dtype -> uint8 (size, size, channels)."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ImageError(f"expected an image array (H, W) or (H, W, 3), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float64)
        if arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if channels == 1 and arr.ndim == 3:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY)
    elif channels == 3 and arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    h, w = arr.shape[:2]
    if (h, w) != (size, size):
        interp = cv2.INTER_AREA if min(h, w) >= size else cv2.INTER_LINEAR
        arr = cv2.resize(np.ascontiguousarray(arr), (size, size), interpolation=interp)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr)


def clahe(batch: np.ndarray) -> np.ndarray:
    """uint8 (n, H, W, C) -> the same with contrast-limited adaptive histogram equalisation per image and channel."""
    tool = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    out = np.empty_like(batch)
    for i in range(batch.shape[0]):
        for c in range(batch.shape[3]):
            out[i, :, :, c] = tool.apply(np.ascontiguousarray(batch[i, :, :, c]))
    return out


def frame(img: np.ndarray, size: float) -> np.ndarray:
    """The eye at `size` x its size in a crop of the same pixels: < 1 framed wider (edges replicated), > 1 tighter."""
    if size == 1:
        return img.copy()
    h, w = img.shape[:2]
    m = np.float32([[size, 0, (w - 1) / 2 * (1 - size)], [0, size, (h - 1) / 2 * (1 - size)]])  # about the centre
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(img.shape)


def framed_batch(batch: np.ndarray, size: float) -> np.ndarray:
    """uint8 (n, H, W, C) -> every image reframed by `frame` (the same shape)."""
    return np.stack([frame(im, size) for im in batch]) if len(batch) else batch.copy()
