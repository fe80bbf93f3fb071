"""Heatmap overlays rendered with PIL and numpy alone (no matplotlib in the app)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from torch import Tensor

__all__ = ["jet", "overlay", "png_bytes"]


def jet(values: np.ndarray) -> np.ndarray:
    """The "jet" colormap (blue → cyan → yellow → red) of values in [0, 1], as uint8 RGB.

    Jet is what the Grad-CAM papers' figures use, so maps here look like theirs. Each channel is
    a trapezoid 1.5 - |4v - c|, clipped to [0, 1], centred at c = 3 (red), 2 (green), 1 (blue).
    """
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0], dtype=np.float32)
    rgb = np.clip(1.5 - np.abs(4.0 * v - centres), 0.0, 1.0)
    return np.rint(rgb * 255.0).astype(np.uint8)


def overlay(image: Image.Image, cam: np.ndarray | Tensor, alpha: float = 0.5, size: int | None = None) -> Image.Image:
    """Blend the jet-coloured ``cam`` (h, w) in [0, 1] over ``image``, ``alpha`` being the heat's weight.

    The map is stretched to the image with bilinear interpolation; ``size`` (pixels, longer side)
    enlarges small images first, with nearest-neighbour so a 32x32 CIFAR picture stays crisp.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    arr = cam.detach().cpu().numpy() if isinstance(cam, Tensor) else np.asarray(cam)
    if arr.ndim != 2:
        raise ValueError(f"cam must be a 2-D map, got shape {arr.shape}")
    base = image.convert("RGB")
    if size is not None and max(base.size) < size:
        scale = size / max(base.size)
        base = base.resize((round(base.width * scale), round(base.height * scale)), Image.Resampling.NEAREST)
    heat = Image.fromarray(arr.astype(np.float32)).resize(base.size, Image.Resampling.BILINEAR)
    colours = Image.fromarray(jet(np.asarray(heat)))
    return Image.blend(base, colours, alpha)


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG, for a download button."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
