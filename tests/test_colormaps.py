"""Colour maps in numpy: matplotlib's tables, lightness that rises steadily, and jet that does not."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_core.colormaps import COLORMAPS, apply_colormap, colormap_lut, jet, plotly_colorscale


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (0..100) of uint8 sRGB colours."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(y > (6 / 29) ** 3, 116 * np.cbrt(y) - 16, y * (29 / 3) ** 3)


@pytest.mark.parametrize("name", ["viridis", "inferno"])
def test_perceptual_maps_get_steadily_lighter(name: str) -> None:
    L = lightness(colormap_lut(name))
    assert np.diff(L).min() > -0.6  # never visibly darker (8-bit rounding wobbles by a fraction of a unit)
    steps = np.diff(L[::15])  # over every 15th entry the rise is clear
    assert (steps > 0).all()
    assert steps.max() < 2 * steps.mean()  # and even: no stretch rises twice as fast as the average
    assert L[-1] - L[0] > 60  # from dark to light


def test_jet_is_not_monotonic_in_lightness() -> None:
    L = lightness(colormap_lut("jet"))
    assert L.argmax() not in (0, 255)  # its brightest colour (cyan-yellow) sits in the middle
    assert L[-1] < L.max() - 30  # 1.0 (dark red) is far darker than mid values


@pytest.mark.parametrize("name", ["viridis", "inferno"])
def test_tables_match_matplotlib(name: str) -> None:
    matplotlib = pytest.importorskip("matplotlib")  # a test-only dependency (via grad-cam)
    reference = np.rint(matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    assert np.array_equal(colormap_lut(name), reference)


def test_apply_colormap_indexes_the_table_and_clips() -> None:
    values = np.array([[0.0, 0.5], [1.0, 2.0]])
    rgb = apply_colormap(values, "viridis")
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    lut = colormap_lut("viridis")
    assert rgb[0, 0].tolist() == lut[0].tolist() and rgb[1, 0].tolist() == lut[255].tolist()
    assert rgb[0, 1].tolist() == lut[128].tolist() and rgb[1, 1].tolist() == lut[255].tolist()
    assert apply_colormap(np.array([np.nan]), "inferno")[0].tolist() == colormap_lut("inferno")[0].tolist()
    assert np.array_equal(apply_colormap(np.linspace(0, 1, 256), "jet"), jet(np.linspace(0, 1, 256)))
    with pytest.raises(ValueError, match="viridis"):
        apply_colormap(values, "rainbow")


def test_plotly_colorscale_uses_the_same_colours() -> None:
    scale = plotly_colorscale("viridis", stops=3)
    assert [p for p, _ in scale] == [0.0, 0.5, 1.0]
    lut = colormap_lut("viridis")
    assert scale[0][1] == "rgb({},{},{})".format(*lut[0]) and scale[-1][1] == "rgb({},{},{})".format(*lut[255])
    assert set(COLORMAPS) == {"viridis", "inferno", "jet"} and COLORMAPS[0] == "viridis"
