"""Comparing CAMs across classes on one scale, and the note on coarse grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_core.cam_compare import explain_classes, grid_note, last_stage_grid
from resnet_core.classify import load_classifier


def photo(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.slow
def test_per_map_and_shared_scales(shipped) -> None:
    clf = load_classifier("shipped")
    image = photo(64, 64, seed=3)
    top = clf.classify(image).top[0]
    targets = [p.index for p in top]
    maps = explain_classes(clf, image, targets, "layer3", "gradcam")
    assert [p.index for p in maps.predictions] == targets
    assert [p.probability for p in maps.predictions] == pytest.approx([p.probability for p in top], abs=1e-5)

    per_map, shared = maps.maps("per_map"), maps.maps("shared")
    assert per_map.shape == shared.shape == (5, 32, 32)
    # Per map: the same maps as explaining each class on its own.
    for i, t in enumerate(targets):
        alone = clf.explain(image, target=t).cams[("layer3", "gradcam")].map[0]
        assert torch.allclose(per_map[i], alone, atol=1e-4)
    # Shared: one scale, so only the strongest class reaches 1 and the others keep their proportions.
    share = maps.peak_share()
    assert max(share) == 1.0 and float(shared.max()) == pytest.approx(1.0, abs=1e-6)
    for i in range(5):
        assert float(shared[i].max()) == pytest.approx(share[i], abs=1e-6)
        # Same shape as the per-map view where the map starts at 0: only the brightness differs.
        if float(shared[i].min()) == 0.0 and share[i] > 0:
            assert torch.allclose(shared[i] / share[i], per_map[i], atol=1e-4)
    assert min(share) < 0.99  # the classes do differ in how much evidence they have
    with pytest.raises(ValueError, match="scaling"):
        maps.maps("log")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        explain_classes(clf, image, [], "layer3")


def test_last_stage_grids() -> None:
    assert last_stage_grid("resnet9_w24") == (4, 4)  # the shipped model
    assert last_stage_grid("resnet20") == (8, 8)
    assert last_stage_grid("resnet50") == (7, 7)
    assert last_stage_grid("resnet18", 32) == (1, 1)


def test_grid_note_explains_a_4x4_grid_only() -> None:
    note = grid_note("layer3", (4, 4), (32, 32))
    assert note is not None and "8x8 pixels" in note and "16 numbers" in note and "look alike" in note
    assert grid_note("layer4", (7, 7), (224, 224)) is None
    assert grid_note("layer4", (1, 1), (32, 32)) is None  # cam.py warns about 1x1 itself
