"""load_image: every format and mode we promise, and every refusal as an ImageError."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from resnet_core.images import MAX_PIXELS, ImageError, load_image


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def quadrants(size: int = 64) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    arr = np.zeros((size, size, 3), np.uint8)
    h = size // 2
    arr[:h, :h] = (255, 0, 0)
    arr[:h, h:] = (0, 255, 0)
    arr[h:, :h] = (0, 0, 255)
    arr[h:, h:] = (255, 255, 255)
    return Image.fromarray(arr)


def png_with_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height``: a decompression bomb's calling card."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))  # type + 13 data bytes
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"])
def test_formats_decode_to_rgb_with_the_right_colours(fmt: str) -> None:
    img = load_image(encode(quadrants(), fmt))
    assert img.mode == "RGB" and img.size == (64, 64)
    arr = np.asarray(img).astype(int)
    tol = 40 if fmt in ("JPEG", "WEBP") else 0  # lossy formats blur the edges
    for (y, x), colour in {(8, 8): (255, 0, 0), (8, 56): (0, 255, 0), (56, 8): (0, 0, 255), (56, 56): (255, 255, 255)}.items():
        assert np.abs(arr[y, x] - colour).max() <= tol, (fmt, (y, x), arr[y, x])


def test_sources_bytes_path_and_file_object(tmp_path: Path) -> None:
    data = encode(quadrants(), "PNG")
    path = tmp_path / "q.png"
    path.write_bytes(data)
    f = io.BytesIO(data)
    f.read()  # an upload already read once by an earlier rerun must still work
    for source in (data, bytearray(data), path, str(path), f):
        assert np.array_equal(np.asarray(load_image(source)), np.asarray(quadrants()))


def test_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    assert tuple(np.asarray(load_image(buf.getvalue()))[0, 0]) == (255, 0, 0)


def test_greyscale_becomes_three_equal_channels() -> None:
    grey = Image.fromarray(np.tile(np.arange(0, 256, 4, dtype=np.uint8), (8, 1)), "L")
    arr = np.asarray(load_image(encode(grey, "PNG")))
    assert np.array_equal(arr[..., 0], np.asarray(grey)) and np.array_equal(arr[..., 0], arr[..., 2])


def test_rgba_is_composited_on_white() -> None:
    arr = np.zeros((2, 2, 4), np.uint8)
    arr[0, 0] = (255, 0, 0, 255)  # opaque red
    arr[0, 1] = (0, 0, 0, 0)  # fully transparent black: must become white, not black
    arr[1, 0] = (0, 0, 0, 128)  # half-transparent black: mid grey
    out = np.asarray(load_image(encode(Image.fromarray(arr, "RGBA"), "PNG"))).astype(int)
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 1]) == (255, 255, 255)
    assert np.abs(out[1, 0] - 127).max() <= 1


def test_la_is_composited_on_white() -> None:
    la = Image.merge("LA", [Image.new("L", (4, 4), 0), Image.new("L", (4, 4), 0)])
    assert np.asarray(load_image(encode(la, "PNG"))).min() == 255


def test_palette_transparency_is_composited_on_white() -> None:
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    pal.putpixel((0, 0), 1)
    data = encode(pal, "PNG", transparency=0)  # index 0 (black) is transparent
    out = np.asarray(load_image(data))
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[3, 3]) == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_is_converted(fmt: str) -> None:
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # full magenta + yellow = red
    out = np.asarray(load_image(encode(cmyk, fmt))).astype(int)
    assert np.abs(out[4, 4] - (255, 0, 0)).max() <= 10


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_gradient_keeps_its_tones(fmt: str) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (16, 1))
    img16 = Image.fromarray(ramp)  # mode I;16
    assert img16.mode == "I;16"
    out = np.asarray(load_image(encode(img16, fmt)))[..., 0].astype(int)
    # Neither blown out (PIL's convert clips at 255) nor black: a straight 0..255 ramp.
    assert out[0, 0] == 0 and out[0, -1] == 255
    assert np.all(np.diff(out[0]) >= 0)
    assert np.abs(out[0] - np.arange(256)).max() <= 1


def test_big_endian_16bit_tiff() -> None:
    ramp = np.tile(np.linspace(0, 65535, 64).round().astype(">u2"), (4, 1))
    out = np.asarray(load_image(encode(Image.fromarray(ramp), "TIFF")))[..., 0].astype(int)
    assert out[0, 0] == 0 and out[0, -1] == 255 and abs(out[0, 32] - 130) <= 2


def test_32bit_int_image_holding_16bit_data_is_scaled_as_16bit() -> None:
    values = np.tile(np.array([0, 32768, 65535], np.int32), (2, 1))
    out = np.asarray(load_image(encode(Image.fromarray(values), "TIFF")))[..., 0]
    assert out[0].tolist() == [0, 128, 255]


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 10, 10))  # red marker, top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = load_image(encode(img, "JPEG", exif=exif, quality=95))
    assert out.size == (20, 40)
    arr = np.asarray(out).astype(int)
    assert arr[5, 15, 0] > 200 and arr[5, 15, 2] < 60  # the marker is now top-right


def test_empty_file() -> None:
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")


def test_not_an_image() -> None:
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"name,score\nada,1\n" * 10)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="Cannot read"):
        load_image(tmp_path / "nope.jpg")


def test_truncated_jpeg_is_refused_and_the_global_flag_stays_off() -> None:
    data = encode(Image.effect_noise((256, 256), 60).convert("RGB"), "JPEG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_data_is_refused() -> None:
    data = bytearray(encode(Image.effect_noise((64, 64), 60), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 20 : idat + 60] = bytes(40)  # zeros in the compressed stream: CRC and zlib fail
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(bytes(data))


@pytest.mark.parametrize("fmt", ["TGA", "PCX", "ICO"])
def test_unsupported_format_is_named(fmt: str) -> None:
    with pytest.raises(ImageError, match=f"{fmt}.*not supported"):
        load_image(encode(Image.new("RGB", (16, 16)), fmt))


def test_heic_gets_an_export_hint() -> None:
    with pytest.raises(ImageError, match="HEIC.*JPEG"):
        load_image(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))


@pytest.mark.parametrize(
    "size",
    [
        (9000, 9000),  # 81 MP: over our limit, under PIL's warning threshold
        (10000, 10000),  # 100 MP: PIL warns (DecompressionBombWarning)
        (20000, 20000),  # 400 MP: PIL raises (DecompressionBombError)
    ],
)
def test_decompression_bombs_are_refused_before_decoding(size, monkeypatch) -> None:
    loads = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(1) or original(self))
    filters_before = list(warnings.filters)
    limit_before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may leak out either
        with pytest.raises(ImageError, match="too large"):
            load_image(png_with_size(*size))
    assert loads == []  # refused from the header: no pixel memory was ever allocated
    assert Image.MAX_IMAGE_PIXELS == limit_before and list(warnings.filters) == filters_before


def test_a_50_megapixel_phone_photo_loads() -> None:
    big = Image.new("RGB", (8660, 5773), (200, 120, 40))  # 50.0 MP
    out = load_image(encode(big, "JPEG", quality=80))
    assert out.size == (8660, 5773) and out.mode == "RGB"
    assert 8660 * 5773 < MAX_PIXELS


def test_real_sample_photos(sample_photos: Path) -> None:
    paths = sorted(p for p in sample_photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert paths, f"no photos in {sample_photos}"
    for path in paths:
        img = load_image(path)
        with Image.open(path) as raw:
            expected = raw.size  # none of the samples carries a rotating EXIF tag
        assert img.mode == "RGB" and img.size == expected, path.name
        assert 20 < np.asarray(img).mean() < 240, path.name  # a real picture, not a blank


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_max_side_shrinks_big_photos_keeping_shape_colours_and_orientation(fmt: str) -> None:
    img = quadrants(1600).resize((1600, 1200))  # landscape, 4:3
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": portrait once upright
    kwargs = {"exif": exif, "quality": 95} if fmt == "JPEG" else {}
    full = load_image(encode(img, fmt, **kwargs))
    small = load_image(encode(img, fmt, **kwargs), max_side=400)
    assert small.mode == "RGB" and max(small.size) == 400
    expected = (300, 400) if fmt == "JPEG" else (400, 300)  # upright first, then shrunk
    assert small.size == expected and full.size == (expected[0] * 4, expected[1] * 4)
    # The same picture, only smaller: corner colours survive.
    ref = np.asarray(full.resize(small.size, Image.Resampling.BOX)).astype(int)
    assert np.abs(np.asarray(small).astype(int) - ref).mean() < 6
    assert load_image(encode(quadrants(64), fmt), max_side=400).size == (64, 64)  # never enlarged
