"""Comparing class activation maps across classes: one shared scale, and what a coarse grid hides.

:func:`compute_cams` scales each map to its own maximum, which answers "where does the evidence
for this class lie?" but makes a class at 14 % look as hot as one at 93 %. Grad-CAM's raw values
are in the same units for every class of one image (activations weighted by gradients of the
class scores), so dividing every class's map by the largest of them all keeps their sizes
comparable: a weak class's map is dim.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from resnet_core import cam as cams
from resnet_core.anatomy import network_anatomy
from resnet_core.classify import Classifier, Prediction

__all__ = ["ClassMaps", "Scaling", "explain_classes", "grid_note", "last_stage_grid"]

Scaling = Literal["per_map", "shared"]
SCALINGS: dict[str, str] = {"per_map": "each map to its own maximum", "shared": "one scale for all classes"}
_EPS = 1e-7


@dataclass(frozen=True)
class ClassMaps:
    """One layer and method's maps for several classes of one picture."""

    view: Image.Image  # the crop the model saw
    predictions: tuple[Prediction, ...]  # the classes explained, in the order asked, with probabilities
    cam: cams.CamMap  # batch axis = the classes above
    model_ms: float

    def maps(self, scaling: Scaling) -> Tensor:
        """(k, H, W) maps in [0, 1]: ``per_map`` min-max scales each, ``shared`` divides all by the largest."""
        if scaling == "per_map":
            return self.cam.map
        if scaling != "shared":
            raise ValueError(f"unknown scaling {scaling!r}; use 'per_map' or 'shared'")
        up = self._upsampled()
        peak = float(up.max())
        return up / peak if peak > _EPS else torch.zeros_like(up)

    def peak_share(self) -> tuple[float, ...]:
        """Each class's brightest value on the shared scale: its map's maximum over the largest of all."""
        peaks = self._upsampled().flatten(1).amax(dim=1)
        top = float(peaks.max())
        return tuple(float(p) / top if top > _EPS else 0.0 for p in peaks)

    def _upsampled(self) -> Tensor:
        """The raw maps at the input size, unscaled (as resnet_core.cam upsamples them)."""
        size = tuple(self.cam.map.shape[-2:])
        return F.interpolate(self.cam.raw[:, None], size=size, mode="bilinear", align_corners=False)[:, 0].clamp(min=0)


def explain_classes(
    classifier: Classifier, image: Image.Image, targets: Sequence[int], layer: str, method: str = "gradcam"
) -> ClassMaps:
    """Maps of ``method`` at ``layer`` for every class in ``targets``, from one batched forward pass."""
    if not targets:
        raise ValueError("name at least one class")
    view = classifier.preprocessing.view(image)
    x = classifier.preprocessing.normalize(view)[None].expand(len(targets), -1, -1, -1)
    t0 = time.perf_counter()
    result = cams.compute_cams(classifier.model, x, [layer], [method], list(targets))
    elapsed = (time.perf_counter() - t0) * 1e3
    probs = result.logits[0].float().softmax(dim=0)
    predictions = tuple(Prediction(t, classifier.classes[t], float(probs[t])) for t in targets)
    return ClassMaps(
        view=Image.fromarray(view.permute(1, 2, 0).contiguous().numpy()),
        predictions=predictions,
        cam=result[(layer, method)],
        model_ms=elapsed,
    )


@functools.lru_cache(maxsize=64)
def last_stage_grid(model_name: str, input_size: int | None = None) -> tuple[int, int]:
    """(height, width) of the last stage's output for a registered variant at ``input_size``."""
    shape = network_anatomy(model_name, input_size=input_size).stages[-1].out_shape
    return shape[1], shape[2]


def grid_note(layer: str, feature_size: tuple[int, int], input_size: tuple[int, int]) -> str | None:
    """Why a map at a coarse layer (4x4 or less) says little, or None for a finer one."""
    h, w = feature_size
    if max(h, w) > 4 or min(h, w) <= 1:
        return None  # 1x1 has its own warning in resnet_core.cam
    ih, iw = input_size
    return (
        f"{layer} is a {h}x{w} grid for this {iw}x{ih} input: each cell summarises {ih // h}x{iw // w} "
        f"pixels, and a map at this layer is just {h * w} numbers stretched over the picture. Every "
        f"method weights the same {h * w} positions, so the four methods look alike. An earlier stage, "
        f"or an ImageNet ResNet (its last stage is 7x7 at 224 px), shows where the evidence lies more finely."
    )
