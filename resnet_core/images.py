"""Reading user images safely: any common format in, an upright 8-bit RGB ``PIL.Image`` out.

Uploads come from strangers' phones and scanners, so everything here assumes the worst: every
refusal is an :class:`ImageError` with a message a person can act on, and no PIL exception, crash
or runaway allocation gets past :func:`load_image`.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import IO, Union

import numpy as np
from PIL import Image, ImageOps

__all__ = ["ImageError", "MAX_PIXELS", "SUPPORTED_FORMATS", "load_image"]

ImageSource = Union[bytes, bytearray, str, Path, IO[bytes]]

#: Largest image we decode, in pixels. A 50 MP phone photo fits; a decompression bomb (a tiny file
#: that claims to be 100k x 100k) is refused from its header, before any pixel memory is allocated.
#: At 64 MP the decoded RGB image is ~190 MB, a budget Streamlit Community Cloud survives.
MAX_PIXELS = 64_000_000

#: PIL format names we accept. MPO is how PIL names the multi-picture JPEGs many phones write.
SUPPORTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF")
_FRIENDLY = "JPEG, PNG, WebP, BMP, GIF or TIFF"

_WHITE = (255, 255, 255)


class ImageError(ValueError):
    """An image that cannot be used; the message says why and what to do instead."""


def load_image(source: ImageSource, *, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> Image.Image:
    """Decode ``source`` (bytes, a path or a binary file) to an upright 8-bit RGB image.

    Honours the EXIF orientation, takes the first frame of an animation, composites transparency
    on white and scales 16-bit and 32-bit greyscale by their real bit range. ``max_side``: shrink
    to at most this many pixels on the longer side; a JPEG is then decoded at 1/2, 1/4 or 1/8
    scale directly (a 50 MP photo needs ~10 MB instead of 150 MB). Raises :class:`ImageError`
    for anything it refuses.
    """
    data = _read_bytes(source)
    if not data:
        raise ImageError("The file is empty (0 bytes). Choose a photo file and upload it again.")
    if _looks_like_heif(data):
        raise ImageError(
            "HEIC/HEIF photos (the iPhone default) are not supported. Export the photo as JPEG "
            "(on iPhone: Settings > Camera > Formats > Most Compatible) and upload that."
        )

    # PIL's own bomb guard warns from 89 MP and raises from 179 MP. The warning is turned into our
    # error below; catch_warnings restores the filters on exit, so nothing about PIL's or the
    # process's configuration is changed for other callers (Image.MAX_IMAGE_PIXELS is never set).
    # (Before Python 3.14 the filters are process-wide, so a thread decoding at the same moment
    # could briefly share this filter; it only decides whether that warning is shown.)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise _too_large(None, max_pixels) from exc
        except Image.UnidentifiedImageError as exc:
            raise ImageError(
                f"This file is not an image PIL can read (it starts with {data[:8]!r}). "
                f"Upload a photo in {_FRIENDLY} format."
            ) from exc
        except Exception as exc:  # a malformed header can raise almost anything inside PIL
            raise _corrupt(exc) from exc
    if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
        raise _too_large(img.size, max_pixels)

    if img.format not in SUPPORTED_FORMATS:
        raise ImageError(f"{img.format} images are not supported. Convert it to {_FRIENDLY} first.")
    # Decide from the header alone, before load() allocates the pixels.
    width, height = img.size
    if width * height > max_pixels:
        raise _too_large(img.size, max_pixels)
    if width == 0 or height == 0:
        raise ImageError(f"The image has no pixels ({width}x{height}). Upload a different file.")

    # A truncated file decodes lazily, so force the full decode here, inside the guard.
    # ImageFile.LOAD_TRUNCATED_IMAGES is left at False: a half-grey photo must not be classified.
    try:
        img.seek(0)  # first frame of a GIF/APNG/multi-page TIFF
        if max_side is not None and img.format in ("JPEG", "MPO"):
            img.draft("RGB", (max_side, max_side))  # DCT scaling: never smaller than asked
        img.load()
        ImageOps.exif_transpose(img, in_place=True)  # no second copy of a big photo
        img = _to_rgb(img)
        if max_side is not None and max(img.size) > max_side:
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return img
    except ImageError:
        raise
    except MemoryError as exc:
        raise _too_large(img.size, max_pixels) from exc
    except Exception as exc:  # PIL's decoders raise OSError, SyntaxError, ValueError, EOFError...
        raise _corrupt(exc) from exc


def _read_bytes(source: ImageSource) -> bytes:
    """All bytes of ``source``; a missing path is an :class:`ImageError`, not a crash."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise ImageError(f"Cannot read {source}: {exc.strerror or exc}.") from exc
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)  # Streamlit's UploadedFile may have been read by an earlier rerun
        return source.read()
    raise TypeError(f"expected bytes, a path or a binary file, got {type(source).__name__}")


def _looks_like_heif(data: bytes) -> bool:
    """True for an ISO-BMFF file of a HEIF brand (bytes 4..12 are ``ftyp`` plus the brand)."""
    return data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"heif", b"mif1", b"msf1", b"avif")


def _too_large(size: tuple[int, int] | None, max_pixels: int) -> ImageError:
    dims = f"{size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.0f} MP" if size else "far too many pixels"
    return ImageError(
        f"The image is too large to decode safely ({dims}; the limit is {max_pixels / 1e6:.0f} MP). "
        "Resize it to a few thousand pixels on the longer side and upload it again."
    )


def _corrupt(exc: Exception) -> ImageError:
    detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return ImageError(
        f"The image is truncated or corrupt and cannot be decoded ({detail}). "
        "Re-export or re-download it and upload it again."
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB from any PIL mode: alpha composited on white, high bit depths scaled down."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _scale_to_8bit(img).convert("RGB")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        # Palette and greyscale transparency (a tRNS entry) become real alpha in RGBA.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _scale_to_8bit(img: Image.Image) -> Image.Image:
    """Greyscale with more than 8 bits to ``L``, dividing by the range the data was stored with.

    PIL's own ``convert("L")`` clips at 255, which turns a 16-bit photo white. The divisor is the
    full scale of the stored bit depth: a TIFF's BitsPerSample when it says (12-bit sensors), else
    16 bits for the ``I;16`` modes. Mode ``I`` (32-bit) usually holds 16-bit data, so it is taken
    as 16-bit when every value fits; otherwise, and for float images outside [0, 1], the data's
    own min..max is used, which is the only scale left to trust.
    """
    arr = np.asarray(img)
    if img.mode == "F":
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0.0 and hi <= 1.0:
            lo, hi = 0.0, 1.0
    else:
        arr = arr.astype(np.int64)
        lo = 0
        bits = _declared_bits(img)
        if bits is None:
            bits = 16 if arr.min() >= 0 and arr.max() <= 0xFFFF else None
        if bits is not None and arr.min() >= 0 and arr.max() < 2**bits:
            hi = 2**bits - 1
        else:
            lo, hi = int(arr.min()), int(arr.max())
    scaled = (arr.astype(np.float64) - lo) * (255.0 / max(hi - lo, 1e-12))
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def _declared_bits(img: Image.Image) -> int | None:
    """Bits per sample the file declares (TIFF tag 258), when it declares fewer than 32."""
    tags = getattr(img, "tag_v2", None)
    if tags is None:
        return None
    bps = tags.get(258)
    if isinstance(bps, tuple):
        bps = bps[0] if bps else None
    return int(bps) if bps and 8 < int(bps) < 32 else None
