"""PIL overlays, colour bars and annotated figures behind the Grad-CAM page's pictures and download."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_core.colormaps import colormap_lut
from resnet_core.overlay import annotated_overlay, colorbar, colorbar_legend, crop_preview, jet, overlay, png_bytes


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
    full = np.asarray(overlay(image, cam, alpha=1.0, colormap="jet"))
    assert full.shape == (20, 40, 3)
    assert full[10, 2].tolist() == [0, 0, 128] and full[10, 37].tolist() == [128, 0, 0]
    half = np.asarray(overlay(image, cam, alpha=0.5, colormap="jet")).astype(int)
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


def test_viridis_is_the_default_and_a_full_size_map_is_not_resampled() -> None:
    image = Image.new("RGB", (4, 4), (0, 0, 0))
    cam = np.zeros((4, 4))
    cam[1, 2] = 1.0  # one hot pixel: bilinear resampling would smear it into its neighbours
    arr = np.asarray(overlay(image, cam, alpha=1.0))
    lut = colormap_lut("viridis")
    assert arr[1, 2].tolist() == lut[255].tolist() and arr[1, 1].tolist() == lut[0].tolist()


def test_enlarged_overlay_keeps_one_square_per_map_cell_like_the_page() -> None:
    image = Image.new("RGB", (8, 8), (0, 0, 0))
    cam = np.zeros((8, 8))
    cam[:, 4:] = 1.0
    big = np.asarray(overlay(image, cam, alpha=1.0, size=64))
    lut = colormap_lut("viridis")
    # Columns 0..31 are cold and 32..63 hot with nothing in between: cells, not a smooth ramp.
    assert (big[:, :32] == lut[0]).all() and (big[:, 32:] == lut[255]).all()


def test_colorbar_runs_from_0_to_1() -> None:
    bar = np.asarray(colorbar("inferno", 100, 10))
    lut = colormap_lut("inferno")
    assert bar.shape == (100, 10, 3)
    assert bar[-1, 0].tolist() == lut[0].tolist() and bar[0, 0].tolist() == lut[255].tolist()  # 1 on top
    flat = np.asarray(colorbar("inferno", 100, 10, vertical=False))
    assert flat.shape == (10, 100, 3) and flat[0, 0].tolist() == lut[0].tolist()
    legend = colorbar_legend("viridis", width=300)
    assert legend.width == 300 and np.asarray(legend)[5, 299].tolist() != [255, 255, 255]


def test_annotated_overlay_contains_the_page_overlay_a_colour_bar_and_text() -> None:
    view = Image.new("RGB", (32, 32), (120, 120, 120))
    cam = np.linspace(0, 1, 32)[None].repeat(32, 0)
    fig = annotated_overlay(view, cam, 0.5, colormap="viridis", title="Grad-CAM for cat (73.2%)", notes=["model"], size=256)
    arr = np.asarray(fig)
    page = np.asarray(overlay(view, cam, 0.5, size=256, colormap="viridis"))
    # The overlay itself is pasted unchanged: the download looks like the page.
    top = 16 + 28
    assert np.array_equal(arr[top : top + 256, 16 : 16 + 256], page)
    bar_x = 16 + 256 + 10
    lut = colormap_lut("viridis")
    assert arr[top + 1, bar_x + 5].tolist() == lut[254].tolist()  # row 0 is the outline; 1 is the top of the bar
    assert arr[top + 254, bar_x + 5].tolist() == lut[1].tolist()
    assert (arr[:top, :] != 255).any()  # the title was drawn
    assert fig.height > top + 256  # room for the notes underneath


def test_crop_preview_fades_outside_the_box() -> None:
    image = Image.new("RGB", (400, 200), (0, 0, 200))
    preview = np.asarray(crop_preview(image, (100, 0, 300, 200), size=200))
    assert preview.shape == (100, 200, 3)  # scaled to 200 px on the longer side
    assert preview[50, 100].tolist() == [0, 0, 200]  # inside: untouched
    assert preview[50, 10].tolist() != [0, 0, 200] and preview[50, 10, 0] > 100  # outside: faded to white
