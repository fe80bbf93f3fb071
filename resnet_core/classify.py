"""Classifying photos with any of the app's models, and explaining the answer with CAMs.

Three sources, one :class:`Classifier`: the CIFAR-10 model shipped with the package (the offline
default), torchvision's ImageNet-pretrained ResNets (see :mod:`resnet_core.pretrained`), and any
:class:`~resnet_core.checkpoint.Checkpoint`, e.g. a model trained on the Train page.

A classifier's model may be cached and shared by every session of the app, so nothing here
changes it: inference runs under ``torch.inference_mode()`` in eval mode, and CAMs go through
:func:`resnet_core.cam.compute_cams`, which leaves mode, flags and hooks as it found them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image
from torch import Tensor, nn
from torchvision.transforms import InterpolationMode

from resnet_core import cam as cams
from resnet_core.augment import normalize
from resnet_core.checkpoint import SHIPPED_KEY, Checkpoint, load_checkpoint, shipped_checkpoint
from resnet_core.model_state import evaluating
from resnet_core.models import get_spec
from resnet_core.pretrained import (
    ProgressCallback,
    WeightsUnavailableError,
    imagenet_weights,
    is_cached,
    load_pretrained,
    pretrained_names,
)
from resnet_core.timm_catalog import TIMM_PREFIX, cached_timm_names, get_timm_model

__all__ = [
    "Classification",
    "Classifier",
    "Explanation",
    "ModelInput",
    "ModelSource",
    "Prediction",
    "Preprocessing",
    "classifier_from_checkpoint",
    "load_classifier",
    "model_sources",
]

IMAGENET_PREFIX = "imagenet:"


@dataclass(frozen=True)
class Preprocessing:
    """Resize the shorter side, centre-crop a square, scale to [0, 1], normalise.

    The same recipe for every source: torchvision's ImageNet evaluation transform (shorter side
    256, crop 224) and, for the 32x32 CIFAR-10 models, shorter side 32 and crop 32. Cropping,
    rather than squashing the whole photo to a square, keeps the object's proportions the way
    the network saw them in training, at the price of the photo's outer edges.
    """

    resize: int  # pixels, the shorter side after resizing
    crop: int  # pixels, side of the centre square the model sees
    mean: tuple[float, float, float]  # per channel, [0, 1] units
    std: tuple[float, float, float]
    interpolation: InterpolationMode = InterpolationMode.BILINEAR

    @classmethod
    def from_torchvision(cls, transform: nn.Module) -> "Preprocessing":
        """Read a torchvision ``ImageClassification`` transform (``weights.transforms()``)."""
        return cls(
            resize=int(transform.resize_size[0]),
            crop=int(transform.crop_size[0]),
            mean=tuple(transform.mean),  # type: ignore[arg-type]
            std=tuple(transform.std),  # type: ignore[arg-type]
            interpolation=transform.interpolation,
        )

    @classmethod
    def from_timm_config(cls, config: Mapping[str, Any]) -> "Preprocessing":
        """Read timm's data config (``timm.data.resolve_data_config``; issue 22).

        timm's evaluation transform resizes the shorter side to ``floor(size / crop_pct)`` and
        centre-crops ``size`` (timm.data.transforms_factory), which is this recipe exactly.
        """
        if config.get("crop_mode", "center") != "center":
            raise ValueError(f"timm crop mode {config['crop_mode']!r} is not supported; only 'center' is")
        crop = int(config["input_size"][-1])
        return cls(
            resize=int(math.floor(crop / float(config["crop_pct"]))),
            crop=crop,
            mean=tuple(float(m) for m in config["mean"]),  # type: ignore[arg-type]
            std=tuple(float(s) for s in config["std"]),  # type: ignore[arg-type]
            interpolation=InterpolationMode(config["interpolation"]),
        )

    def view(self, image: Image.Image) -> Tensor:
        """The uint8 (3, crop, crop) picture the model sees, before normalisation."""
        # Same order as torchvision's ImageClassification: to tensor, then antialiased resize,
        # so our input equals weights.transforms()(image) exactly.
        x = TF.pil_to_tensor(image.convert("RGB"))
        x = TF.resize(x, [self.resize], interpolation=self.interpolation, antialias=True)
        return TF.center_crop(x, [self.crop])

    def normalize(self, view: Tensor) -> Tensor:
        """(…, 3, H, W) uint8 to the normalised float input of the model."""
        return normalize(view, self.mean, self.std)

    def __call__(self, image: Image.Image) -> Tensor:
        return self.normalize(self.view(image))

    def denormalize(self, x: Tensor) -> Tensor:
        """The inverse of :meth:`normalize`: (…, 3, H, W) model input back to uint8 pixels, for display."""
        mean = torch.tensor(self.mean, dtype=x.dtype)[:, None, None]
        std = torch.tensor(self.std, dtype=x.dtype)[:, None, None]
        return ((x * std + mean) * 255.0).round().clamp(0, 255).to(torch.uint8)

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) after resizing the shorter side, as torchvision computes it."""
        if width <= height:
            return self.resize, int(self.resize * height / width)
        return int(self.resize * width / height), self.resize

    def crop_box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the part of a ``width`` x ``height`` picture the model sees.

        In the original picture's pixels: everything outside this box is cropped away.
        """
        rw, rh = self.resized_size(width, height)
        # torchvision's center_crop: offsets rounded half to even, as int(round(...)) does.
        left, top = int(round((rw - self.crop) / 2.0)), int(round((rh - self.crop) / 2.0))
        sx, sy = width / rw, height / rh
        return left * sx, top * sy, (left + self.crop) * sx, (top + self.crop) * sy

    def describe(self) -> str:
        mean = ", ".join(f"{m:.3f}" for m in self.mean)
        std = ", ".join(f"{s:.3f}" for s in self.std)
        return (
            f"shorter side resized to {self.resize} px ({self.interpolation.value}, antialiased), "
            f"centre crop {self.crop}x{self.crop}, normalised with mean ({mean}) and std ({std})"
        )


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float

    def __str__(self) -> str:
        return f"{self.label} ({self.probability:.1%})"


@dataclass(frozen=True)
class ModelInput:
    """Exactly what the model receives for one picture, and how to show it."""

    tensor: Tensor  # (1, 3, crop, crop), normalised: the model's input
    shown: Image.Image  # that tensor de-normalised to pixels, crop x crop
    crop_box: tuple[float, float, float, float]  # (left, top, right, bottom) in the original picture
    resized: tuple[int, int]  # (width, height) of the picture after resizing, before cropping


@dataclass(frozen=True)
class Classification:
    """Top-k predictions per image, and how long it took."""

    top: list[list[Prediction]]  # per image, most probable first
    probabilities: Tensor  # (B, num_classes), softmax
    preprocess_ms: float
    model_ms: float  # the forward pass alone

    @property
    def best(self) -> Prediction:
        """The most probable class of the first image: ``print(result.best)`` gives "cat (73.2%)"."""
        return self.top[0][0]


@dataclass(frozen=True)
class Explanation:
    """A photo's top predictions and its class activation maps, from one forward pass."""

    view: Image.Image  # the crop the model saw, RGB, crop x crop
    top: list[Prediction]
    target: Prediction  # the class the maps explain
    cams: cams.CamResult  # every stage x every method, for this one image
    model_ms: float  # forward + autograd to the earliest stage


@dataclass(frozen=True)
class Classifier:
    """A model with its class names and preprocessing; never modifies the model."""

    model: nn.Module
    classes: tuple[str, ...]
    preprocessing: Preprocessing
    name: str  # what the page shows, e.g. "ImageNet ResNet-50 (torchvision IMAGENET1K_V1)"
    model_name: str  # the registry name
    source: str  # "shipped", "imagenet", "timm" or "trained"
    details: Mapping[str, object] = field(default_factory=dict)

    def preprocess(self, images: Image.Image | Sequence[Image.Image]) -> Tensor:
        """One PIL image or a list of them to a normalised (B, 3, crop, crop) batch."""
        batch = [images] if isinstance(images, Image.Image) else list(images)
        if not batch:
            raise ValueError("no images to preprocess")
        return torch.stack([self.preprocessing(img) for img in batch])

    @property
    def label_smoothing(self) -> float | None:
        """The label smoothing the model was trained with, None where that is not recorded."""
        value = self.details.get("label_smoothing")
        return float(value) if isinstance(value, (int, float)) else None

    def model_input(self, image: Image.Image) -> ModelInput:
        """The normalised tensor the model receives for ``image``, de-normalised again for display."""
        x = self.preprocessing(image)[None]
        shown = self.preprocessing.denormalize(x[0]).permute(1, 2, 0).contiguous().numpy()
        rgb = image.convert("RGB")
        return ModelInput(
            tensor=x,
            shown=Image.fromarray(shown),
            crop_box=self.preprocessing.crop_box(rgb.width, rgb.height),
            resized=self.preprocessing.resized_size(rgb.width, rgb.height),
        )

    def classify(self, images: Image.Image | Sequence[Image.Image], k: int = 5) -> Classification:
        """Top-``k`` classes with probabilities for one image or a batch."""
        t0 = time.perf_counter()
        x = self.preprocess(images)
        t1 = time.perf_counter()
        with torch.inference_mode(), evaluating(self.model):
            logits = self.model(x)
        t2 = time.perf_counter()
        probs = logits.float().softmax(dim=1)
        return Classification(self._top(probs, k), probs, (t1 - t0) * 1e3, (t2 - t1) * 1e3)

    def explain(self, image: Image.Image, target: int | None = None, layers: Sequence[str] | None = None, k: int = 5) -> Explanation:
        """CAMs of every method at every stage (or ``layers``) for ``target`` (None: the top class)."""
        view = self.preprocessing.view(image)
        x = self.preprocessing.normalize(view)[None]
        layers = list(layers) if layers else cams.stage_layers(self.model)
        t0 = time.perf_counter()
        result = cams.compute_cams(self.model, x, layers, cams.METHODS, None if target is None else [target])
        elapsed = (time.perf_counter() - t0) * 1e3
        probs = result.logits.float().softmax(dim=1)
        t = result.targets[0]
        return Explanation(
            view=Image.fromarray(view.permute(1, 2, 0).contiguous().numpy()),
            top=self._top(probs, k)[0],
            target=Prediction(t, self.classes[t], float(probs[0, t])),
            cams=result,
            model_ms=elapsed,
        )

    def _top(self, probs: Tensor, k: int) -> list[list[Prediction]]:
        values, indices = probs.topk(min(k, probs.shape[1]), dim=1)
        return [
            [Prediction(int(i), self.classes[int(i)], float(p)) for p, i in zip(row_p, row_i)]
            for row_p, row_i in zip(values, indices)
        ]


def classifier_from_checkpoint(checkpoint: Checkpoint, *, name: str, source: str = "trained") -> Classifier:
    """A classifier for a CIFAR-style checkpoint: resize and crop to its input size, its mean/std."""
    size = checkpoint.input_size
    details = {
        "metrics": dict(checkpoint.metrics),
        "residual": checkpoint.residual,
        # How confident the model can be depends on it (resnet_core.confidence).
        "label_smoothing": checkpoint.config.get("label_smoothing"),
    }
    return Classifier(
        model=checkpoint.model,
        classes=tuple(checkpoint.classes),
        preprocessing=Preprocessing(resize=size, crop=size, mean=checkpoint.mean, std=checkpoint.std),
        name=name,
        model_name=checkpoint.model_name,
        source=source,
        details=details,
    )


# torchvision's recipes: V1 weights were trained with plain cross-entropy, V2 with label smoothing
# 0.1 ("How to train state-of-the-art models using TorchVision's latest primitives", 2021).
_TORCHVISION_LABEL_SMOOTHING = {"IMAGENET1K_V1": 0.0, "IMAGENET1K_V2": 0.1}


def imagenet_classifier(
    name: str, *, download: bool = False, on_progress: ProgressCallback | None = None
) -> Classifier:
    """An ImageNet-pretrained ResNet with torchvision's class names and evaluation transform."""
    weights = imagenet_weights(name)
    model = load_pretrained(name, download=download, on_progress=on_progress)
    top1 = weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    return Classifier(
        model=model,
        classes=tuple(weights.meta["categories"]),
        preprocessing=Preprocessing.from_torchvision(weights.transforms()),
        name=f"ImageNet ResNet-{get_spec(name).depth} (torchvision {weights.name}, top-1 {top1:.1f} %)",
        model_name=name,
        source="imagenet",
        details={
            "weights": f"{type(weights).__name__}.{weights.name}",
            "imagenet_top1": top1,
            "residual": True,
            "label_smoothing": _TORCHVISION_LABEL_SMOOTHING.get(weights.name),
        },
    )


def timm_classifier(name: str) -> Classifier:
    """A curated timm ResNet (issue 22) with its own pretrained_cfg preprocessing, from the local cache."""
    from resnet_core.timm_backbones import data_config, load_timm_model  # timm: only when used

    info = get_timm_model(name)
    model = load_timm_model(info.name)
    return Classifier(
        model=model,
        # timm's in1k weights use the standard ImageNet-1k class order, the one torchvision names.
        classes=tuple(imagenet_weights("resnet18").meta["categories"]),
        preprocessing=Preprocessing.from_timm_config(data_config(model)),
        name=info.label,
        model_name=info.key,
        source="timm",
        details={"weights": f"timm {info.name}", "imagenet_top1": info.imagenet_top1, "licence": info.licence,
                 "residual": True},
    )


def shipped_classifier() -> Classifier:
    """The CIFAR-10 model shipped with the package; :class:`WeightsUnavailableError` if absent."""
    path = shipped_checkpoint()
    if path is None:
        raise WeightsUnavailableError(
            "The CIFAR-10 model that ships with the app is not in this install "
            "(resnet_core/checkpoints/cifar10_default.pt). Train one on the Train page, or pick an "
            "ImageNet model."
        )
    ckpt = load_checkpoint(path)
    # Classify predicts one view, so the label quotes single-view accuracy; the mirror-TTA figure
    # (what the trainer reports) is named as such.
    acc, tta = ckpt.metrics.get("test_acc"), ckpt.metrics.get("test_acc_mirror_tta")
    acc_text = f", {100 * acc:.2f}% CIFAR-10 test accuracy" if isinstance(acc, float) else ""
    if isinstance(tta, float):
        acc_text += f"; {100 * tta:.2f}% with mirror TTA"
    return classifier_from_checkpoint(ckpt, name=f"CIFAR-10 {ckpt.model_name} (shipped{acc_text})", source="shipped")


def load_classifier(key: str, *, download: bool = False, on_progress: ProgressCallback | None = None) -> Classifier:
    """The classifier for a :class:`ModelSource` key: ``"shipped"``, ``"imagenet:<name>"`` or ``"timm:<name>"``."""
    if key == SHIPPED_KEY:
        return shipped_classifier()
    if key.startswith(IMAGENET_PREFIX):
        return imagenet_classifier(key[len(IMAGENET_PREFIX) :], download=download, on_progress=on_progress)
    if key.startswith(TIMM_PREFIX):
        return timm_classifier(key)
    raise ValueError(f"unknown model source {key!r}")


@dataclass(frozen=True)
class ModelSource:
    """One entry of the model picker."""

    key: str  # "shipped", "imagenet:resnet50", "timm:resnet50.a1_in1k" or "trained:<label>"
    label: str
    available: bool  # loads without a download
    kind: str  # "shipped", "imagenet", "timm" or "trained"


def model_sources(trained_labels: Sequence[str] = ()) -> list[ModelSource]:
    """Every model the pages can offer, the offline default first."""
    sources: list[ModelSource] = []
    if shipped_checkpoint() is not None:
        sources.append(ModelSource(SHIPPED_KEY, "CIFAR-10 model shipped with the app", True, "shipped"))
    for label in trained_labels:
        sources.append(ModelSource(f"trained:{label}", f"Trained this session: {label}", True, "trained"))
    for name in pretrained_names():
        cached = is_cached(name)
        state = "downloaded" if cached else "not downloaded yet"
        sources.append(
            ModelSource(f"{IMAGENET_PREFIX}{name}", f"ImageNet ResNet-{get_spec(name).depth} ({state})", cached, "imagenet")
        )
    for name in cached_timm_names():  # only what loads offline; `python -m resnet_core info` lists the rest
        info = get_timm_model(name)
        sources.append(ModelSource(info.key, info.label, True, "timm"))
    return sources
