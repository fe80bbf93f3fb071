"""Heatmap overlays, colour bars and annotated figures, rendered with PIL and numpy alone.

What the Grad-CAM page shows and what its PNG download contains are drawn the same way: the map
is coloured at the image's own resolution, blended, and only then enlarged with nearest-neighbour
resampling, exactly as the page's Plotly heatmap draws one cell per input pixel.
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from resnet_core.colormaps import apply_colormap, jet

__all__ = ["annotated_overlay", "colorbar", "colorbar_legend", "crop_preview", "enlarge", "jet", "overlay", "png_bytes"]


def enlarge(image: Image.Image, size: int) -> Image.Image:
    """``image`` with its longer side scaled up to ``size`` pixels by nearest neighbour (never shrunk).

    Nearest neighbour keeps a 32x32 CIFAR picture's pixels, and a map's cells, crisp squares.
    """
    if max(image.size) >= size:
        return image
    scale = size / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.NEAREST)


def overlay(
    image: Image.Image,
    cam: np.ndarray | Tensor,
    alpha: float = 0.5,
    size: int | None = None,
    colormap: str = "viridis",
) -> Image.Image:
    """Blend the coloured ``cam`` (h, w) in [0, 1] over ``image``, ``alpha`` being the heat's weight.

    A map of another size than the image is stretched to it bilinearly first; ``size`` (pixels,
    longer side) then enlarges the blend with nearest neighbour, as the page shows it.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    arr = cam.detach().cpu().numpy() if isinstance(cam, Tensor) else np.asarray(cam)
    if arr.ndim != 2:
        raise ValueError(f"cam must be a 2-D map, got shape {arr.shape}")
    base = image.convert("RGB")
    heat = arr.astype(np.float32)
    if heat.shape != (base.height, base.width):
        heat = np.asarray(Image.fromarray(heat).resize(base.size, Image.Resampling.BILINEAR))
    blended = Image.blend(base, Image.fromarray(apply_colormap(heat, colormap)), alpha)
    return blended if size is None else enlarge(blended, size)


def colorbar(colormap: str, length: int, thickness: int, *, vertical: bool = True) -> Image.Image:
    """The colour map as a bar, 0 at the bottom (vertical) or the left (horizontal)."""
    ramp = np.linspace(1.0, 0.0, length) if vertical else np.linspace(0.0, 1.0, length)
    rgb = apply_colormap(ramp, colormap)
    bar = np.repeat(rgb[:, None], thickness, axis=1) if vertical else np.repeat(rgb[None], thickness, axis=0)
    return Image.fromarray(np.ascontiguousarray(bar))


def colorbar_legend(colormap: str, width: int = 360, low: str = "0", high: str = "1") -> Image.Image:
    """A horizontal colour bar with its two ends labelled, to put above a row of overlays."""
    bar_h, text_h, pad = 14, 18, 4
    font = _font(13)
    canvas = Image.new("RGB", (width, bar_h + text_h + pad), "white")
    canvas.paste(colorbar(colormap, width, bar_h, vertical=False), (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, width - 1, bar_h - 1], outline="#7a8699")
    draw.text((0, bar_h + pad), low, fill="#1d2330", font=font)
    right = draw.textlength(high, font=font)
    draw.text((width - right, bar_h + pad), high, fill="#1d2330", font=font)
    return canvas


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 scales its bundled font
    except TypeError:
        return ImageFont.load_default()


def annotated_overlay(
    image: Image.Image,
    cam: np.ndarray | Tensor,
    alpha: float,
    *,
    colormap: str = "viridis",
    title: str = "",
    notes: Sequence[str] = (),
    size: int = 448,
    bar_label: str = "map value",
) -> Image.Image:
    """The overlay as the page shows it, with a title, a colour bar (0 to 1) and notes underneath.

    This is the PNG download: what someone pastes into slides, so it carries its own legend.
    """
    picture = overlay(image, cam, alpha, size=size, colormap=colormap)
    pad, bar_w, gap = 16, 18, 10
    title_font, text_font = _font(18), _font(14)
    line_h = 20
    top = pad + (28 if title else 0)
    width = pad + picture.width + gap + bar_w + 60 + pad
    height = top + picture.height + pad + line_h * len(notes) + (pad if notes else 0)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((pad, pad), title, fill="#1d2330", font=title_font)
    canvas.paste(picture, (pad, top))
    x_bar = pad + picture.width + gap
    canvas.paste(colorbar(colormap, picture.height, bar_w), (x_bar, top))
    draw.rectangle([x_bar, top, x_bar + bar_w - 1, top + picture.height - 1], outline="#7a8699")
    for value in (0.0, 0.5, 1.0):
        y = top + round((1.0 - value) * (picture.height - 1))
        draw.line([x_bar + bar_w, y, x_bar + bar_w + 4, y], fill="#1d2330")
        draw.text((x_bar + bar_w + 7, min(max(y - 8, top), top + picture.height - 16)), f"{value:g}", fill="#1d2330", font=text_font)
    draw.text((x_bar - 2, top + picture.height + 2), bar_label, fill="#5a6478", font=_font(11))
    for i, note in enumerate(notes):
        draw.text((pad, top + picture.height + pad + i * line_h), note, fill="#1d2330", font=text_font)
    return canvas


def crop_preview(
    image: Image.Image, box: tuple[float, float, float, float], size: int = 480, colour: str = "#d6452f"
) -> Image.Image:
    """The picture at most ``size`` pixels on its longer side, faded outside ``box`` and the box outlined.

    Shows what a centre crop keeps: ``box`` is (left, top, right, bottom) in ``image``'s pixels.
    """
    rgb = image.convert("RGB")
    scale = min(1.0, size / max(rgb.size))
    small = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.Resampling.BILINEAR) if scale < 1 else rgb.copy()
    left, top, right, bottom = (round(v * scale) for v in box)
    faded = Image.blend(small, Image.new("RGB", small.size, "white"), 0.65)
    faded.paste(small.crop((left, top, right, bottom)), (left, top))
    line = max(2, round(max(small.size) / 160))
    ImageDraw.Draw(faded).rectangle([left, top, right - 1, bottom - 1], outline=colour, width=line)
    return faded


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG, for a download button."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
