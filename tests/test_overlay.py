"""The numpy jet colormap and PIL overlays behind the Grad-CAM page's picture and download."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_core.overlay import jet, overlay, png_bytes


def test_jet_runs_from_dark_blue_through_green_to_dark_red() -> None:
    colours = jet(np.array([0.0, 0.125, 0.375, 0.5, 0.625, 0.875, 1.0]))
    assert colours.dtype == np.uint8 and colours.shape == (7, 3)
    assert colours.tolist() == [
        [0, 0, 128],  # dark blue
        [0, 0, 255],  # blue
        [0, 255, 255],  # cyan
        [128, 255, 128],
        [255, 255, 0],  # yellow
        [255, 0, 0],  # red
        [128, 0, 0],  # dark red
    ]
    assert jet(np.array([-1.0, 2.0])).tolist() == [[0, 0, 128], [128, 0, 0]]  # clipped, not wrapped


def test_overlay_blends_by_alpha_and_keeps_the_image_size() -> None:
    image = Image.new("RGB", (40, 20), (10, 200, 30))
    cam = torch.zeros(5, 10)
    cam[:, 5:] = 1.0  # hot right half
    assert np.array_equal(np.asarray(overlay(image, cam, alpha=0.0)), np.asarray(image))
    full = np.asarray(overlay(image, cam, alpha=1.0))
    assert full.shape == (20, 40, 3)
    assert full[10, 2].tolist() == [0, 0, 128] and full[10, 37].tolist() == [128, 0, 0]
    half = np.asarray(overlay(image, cam, alpha=0.5)).astype(int)
    assert np.abs(half[10, 2] - [5, 100, 79]).max() <= 1


def test_small_images_are_enlarged_crisply_and_bad_arguments_refused() -> None:
    tiny = Image.new("RGB", (32, 32), (255, 255, 255))
    tiny.putpixel((0, 0), (0, 0, 0))
    big = overlay(tiny, np.zeros((32, 32)), alpha=0.0, size=256)
    assert big.size == (256, 256)
    arr = np.asarray(big)
    assert arr[:8, :8].max() == 0 and arr[8, 8].min() == 255  # nearest neighbour: a sharp 8x8 block
    with pytest.raises(ValueError, match="alpha"):
        overlay(tiny, np.zeros((4, 4)), alpha=1.5)
    with pytest.raises(ValueError, match="2-D"):
        overlay(tiny, np.zeros((1, 4, 4)))


def test_png_bytes_round_trip() -> None:
    image = overlay(Image.new("RGB", (16, 16), (0, 0, 0)), np.linspace(0, 1, 16)[None].repeat(16, 0), 0.7)
    back = Image.open(io.BytesIO(png_bytes(image)))
    assert back.format == "PNG" and np.array_equal(np.asarray(back), np.asarray(image))
