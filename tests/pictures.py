"""Generated pictures for the fine-tuning tests: coloured shapes on noise, as PNG or JPEG bytes."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

#: Class name -> (shape, fill colour). Colour and shape both differ, so any backbone separates them.
SHAPES = {
    "circle": ("ellipse", (220, 40, 40)),
    "square": ("rectangle", (40, 60, 220)),
    "triangle": ("polygon", (40, 180, 60)),
}


def shape_picture(kind: str, seed: int, size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    """One picture of ``kind`` at a random place on a dark noisy background."""
    rng = np.random.default_rng(seed + 1000 * list(SHAPES).index(kind))
    w, h = size
    img = Image.fromarray((rng.random((h, w, 3)) * 70).astype("uint8"))
    draw = ImageDraw.Draw(img)
    s = min(w, h) // 2
    x, y = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
    shape, colour = SHAPES[kind]
    if shape == "polygon":
        draw.polygon([(x, y + s), (x + s // 2, y), (x + s, y + s)], fill=colour)
    else:
        getattr(draw, shape)([x, y, x + s, y + s], fill=colour)
    buffer = io.BytesIO()
    img.save(buffer, fmt)
    return buffer.getvalue()


def shape_files(classes: tuple[str, ...] = ("circle", "square"), per_class: int = 8, **kw: object) -> dict[str, list[tuple[str, bytes]]]:
    """``{class: [(file name, bytes), ...]}`` of generated pictures."""
    return {c: [(f"{c}_{i}.png", shape_picture(c, i, **kw)) for i in range(per_class)] for c in classes}


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip (deflated) of ``{member name: bytes}``, in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def dataset_zip(prefix: str = "", **kw: object) -> bytes:
    """A zip of class folders of generated pictures, optionally inside one wrapping folder."""
    files = shape_files(**kw)  # type: ignore[arg-type]
    return zip_bytes({f"{prefix}{c}/{name}": data for c, items in files.items() for name, data in items})


def write_folder(root: Path, **kw: object) -> Path:
    """An ImageFolder directory of generated pictures under ``root``."""
    for c, items in shape_files(**kw).items():  # type: ignore[arg-type]
        (root / c).mkdir(parents=True, exist_ok=True)
        for name, data in items:
            (root / c / name).write_bytes(data)
    return root


def declare_size(data: bytes, member: str, size: int) -> bytes:
    """``data`` (a zip) with ``member``'s uncompressed size in the central directory set to ``size``.

    What a zip bomb looks like from its directory, without building gigabytes to compress.
    """
    name = member.encode()
    out = bytearray(data)
    i = out.find(b"PK\x01\x02")  # central directory record; the name starts 46 bytes in
    while i >= 0 and out[i + 46 : i + 46 + len(name)] != name:
        i = out.find(b"PK\x01\x02", i + 1)
    assert i >= 0, f"{member} is not in the zip"
    struct.pack_into("<I", out, i + 24, size)
    return bytes(out)
