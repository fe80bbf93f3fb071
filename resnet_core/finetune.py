"""Transfer learning: a pretrained ResNet taught the user's own classes (issue #9).

Two modes, as the transfer-learning tutorials teach them:

* **linear probe** (``"linear"``): the backbone stays frozen, so each picture's pooled features
  are computed once (and kept in a :class:`FeatureCache`) and only a new linear head trains, on
  those cached vectors: seconds on a CPU.
* **last stage** (``"last-stage"``): the linear probe first, then the last stage (``layer4`` of an
  ImageNet ResNet, ``layer3`` of the CIFAR ones) and the head trained together at a lower
  learning rate, on augmented pictures. Fitting the head first is LP-FT (Kumar et al., "Fine-
  Tuning can Distort Pretrained Features", 2022): a random head's large early gradients would
  otherwise scramble the pretrained features it is meant to reuse.

Backbones come from the one registry: torchvision's ImageNet weights for the ImageNet variants
(from torch's hub cache, as Classify loads them; never downloaded here), the CIFAR-10 model
shipped with the package, or any :class:`~resnet_core.checkpoint.Checkpoint` (e.g. a model just
trained on the Train page). The result is an ordinary registry model with a new ``fc``, saved
with :mod:`resnet_core.checkpoint`, so Classify and Grad-CAM use it like any trained model.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any, Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from resnet_core.augment import augment, normalize
from resnet_core.checkpoint import SHIPPED_KEY as SHIPPED  # the backbone name of the shipped model
from resnet_core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint, shipped_checkpoint
from resnet_core.classify import Preprocessing
from resnet_core.device import set_cpu_threads
from resnet_core.engine.step import apply_update, backward
from resnet_core.models import ResNet, ResNet9, create_model, get_spec
from resnet_core.optim import AdamW
from resnet_core.pretrained import (
    WeightsUnavailableError,
    imagenet_weights,
    is_cached,
    load_pretrained,
    prefetch_hint,
    pretrained_names,
    weights_variants,
)
from resnet_core.timm_backbones import TimmResNet, data_config, load_timm_model, timm_architecture
from resnet_core.timm_catalog import cached_weights_file, get_timm_model, is_timm_key, timm_names, timm_prefetch_hint
from resnet_core.userdata import PictureSet, UserPicture, stratified_split
from resnet_core.weights_file import WeightsFileError, load_weights_file

__all__ = [
    "Backbone",
    "BackboneInfo",
    "EpochRecord",
    "FeatureCache",
    "FinetuneConfig",
    "FinetuneResult",
    "FinetuneStopped",
    "MODES",
    "Progress",
    "SHIPPED",
    "backbone_from_checkpoint",
    "backbone_names",
    "check_backbone",
    "finetune",
    "load_backbone",
    "weights_choices",
]

Mode = Literal["linear", "last-stage"]
MODES: tuple[str, ...] = ("linear", "last-stage")
#: Short names for torchvision's weight sets, as the CLI's ``--weights`` takes them.
WEIGHTS = {"V1": "IMAGENET1K_V1", "V2": "IMAGENET1K_V2"}
_BATCH_FEATURES = 32  # pictures per forward pass while extracting features


class FinetuneStopped(RuntimeError):
    """Stopped before any head was trained, so there is no model to return."""


# --- Backbones ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackboneInfo:
    """What a fine-tuned model keeps of its backbone: everything but the weights."""

    key: str  # identity for the feature cache, e.g. "imagenet:resnet18:IMAGENET1K_V1"
    label: str  # for people, e.g. "ImageNet ResNet-18 (IMAGENET1K_V1)"
    model_name: str  # registry name: the fine-tuned model is create_model(model_name, num_classes=...)
    residual: bool
    mean: tuple[float, float, float]  # input normalisation, [0, 1] units
    std: tuple[float, float, float]
    input_size: int  # pixels, the square crop the model sees
    pretrained_on: str  # e.g. "ImageNet-1k (1,000 classes)"

    @property
    def preprocessing(self) -> Preprocessing:
        """What Classify will do with the fine-tuned model: resize and crop to the input size."""
        return Preprocessing(resize=self.input_size, crop=self.input_size, mean=self.mean, std=self.std)


@dataclass(frozen=True)
class Backbone(BackboneInfo):
    """A pretrained model to start from. :func:`finetune` never modifies ``model``: it may be shared."""

    model: nn.Module = field(default=None, repr=False)  # type: ignore[assignment]  # eval mode, CPU

    def __post_init__(self) -> None:
        if self.model is None:
            raise ValueError("a Backbone needs a model")

    @property
    def info(self) -> BackboneInfo:
        """The description alone, so a result does not keep the backbone's weights alive."""
        return BackboneInfo(**{f.name: getattr(self, f.name) for f in fields(BackboneInfo)})


def backbone_names() -> list[str]:
    """What ``--backbone`` accepts: the shipped CIFAR-10 model, every ImageNet variant, the timm ones."""
    return [SHIPPED, *pretrained_names(), *(get_timm_model(n).key for n in timm_names())]


def weights_choices(name: str) -> list[str]:
    """The short weight names (``"V1"``, ``"V2"``) torchvision has for ``name``; none for shipped."""
    if name == SHIPPED or is_timm_key(name):
        return []  # one weight set each: the timm name carries its tag
    full = set(weights_variants(name))
    return [short for short, variant in WEIGHTS.items() if variant in full]


_OFFLINE_HINT = (
    " Meanwhile the CIFAR-10 model shipped with the app works offline as a backbone "
    "(`--backbone shipped` on the command line, the first choice on the Fine-tune page)."
)


def check_backbone(name: str, weights: str = "V1", *, weights_file: str | Path | None = None) -> None:
    """Raise what :func:`load_backbone` would for a missing or unknown backbone, reading nothing.

    :class:`WeightsUnavailableError` for weights not on this machine (naming the prefetch command
    and offering the shipped backbone), ``ValueError`` for a name or weight set that does not exist.
    With ``weights_file`` (a state dict) the caches are not consulted: only that the file exists.
    """
    if weights_file is not None:
        if name != SHIPPED and name not in pretrained_names() and not is_timm_key(name):
            raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(backbone_names())}")
        if is_timm_key(name):
            get_timm_model(name)  # a ValueError naming the curated ones
        if not Path(weights_file).expanduser().is_file():
            raise WeightsFileError(f"weights file not found: {weights_file}")
        return
    if is_timm_key(name):
        if cached_weights_file(get_timm_model(name).name) is None:
            raise WeightsUnavailableError(
                f"The timm weights of {get_timm_model(name).name} are not on this machine. " + timm_prefetch_hint(name) + _OFFLINE_HINT
            )
        return
    if name == SHIPPED:
        if shipped_checkpoint() is None:
            raise WeightsUnavailableError(
                "The CIFAR-10 model that ships with the app is not in this install "
                "(resnet_core/checkpoints/cifar10_default.pt). Pick an ImageNet backbone instead."
            )
        return
    if name not in pretrained_names():
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(backbone_names())}")
    if weights not in weights_choices(name):
        raise ValueError(f"torchvision has no {weights} weights for {name}; it has {', '.join(weights_choices(name))}")
    if not is_cached(name, WEIGHTS[weights]):
        raise WeightsUnavailableError(
            f"The ImageNet weights for {name} ({WEIGHTS[weights]}) are not on this machine. "
            + prefetch_hint(name, WEIGHTS[weights]) + _OFFLINE_HINT
        )


def load_backbone(name: str = SHIPPED, weights: str = "V1", *, weights_file: str | Path | None = None) -> Backbone:
    """The backbone called ``name`` (see :func:`backbone_names`), from local files only.

    Raises what :func:`check_backbone` raises, and :class:`WeightsUnavailableError` for a cached
    file that cannot be read. ``weights_file`` (a state dict, e.g. ``torch.save(model.state_dict())``)
    replaces the cached weights, for offline use and tests; :class:`WeightsFileError` if it does not fit.
    """
    check_backbone(name, weights, weights_file=weights_file)
    if is_timm_key(name):
        return _timm_backbone(name, weights_file)
    if name == SHIPPED:
        ckpt = load_checkpoint(shipped_checkpoint())  # type: ignore[arg-type]
        if weights_file is not None:
            load_weights_file(ckpt.model, weights_file)
        return backbone_from_checkpoint(
            ckpt, label=f"CIFAR-10 {ckpt.model_name} (shipped)", key=None if weights_file else SHIPPED,
            pretrained_on="CIFAR-10 (10 classes, 32x32)",
        )
    variant = WEIGHTS[weights]
    try:
        model = (load_weights_file(create_model(name), weights_file).eval() if weights_file is not None
                 else load_pretrained(name, variant=variant))
    except WeightsUnavailableError as exc:  # a damaged file: say so, and offer the offline backbone
        raise WeightsUnavailableError(str(exc) + _OFFLINE_HINT) from exc
    transform = imagenet_weights(name, variant).transforms()
    return Backbone(
        key=f"file:{name}:{_fingerprint(model)}" if weights_file is not None else f"imagenet:{name}:{variant}",
        label=f"ImageNet ResNet-{get_spec(name).depth} ({variant})",
        model=model,
        model_name=name,
        residual=True,
        mean=tuple(transform.mean),  # type: ignore[arg-type]
        std=tuple(transform.std),  # type: ignore[arg-type]
        input_size=get_spec(name).input_size,
        pretrained_on="ImageNet-1k (1,000 classes, 224x224)",
    )


def _timm_backbone(name: str, weights_file: str | Path | None) -> Backbone:
    """A curated timm ResNet (issue 22), its normalisation and input size from its pretrained_cfg."""
    info = get_timm_model(name)
    try:
        model = load_timm_model(info.name, weights_file=weights_file)
    except WeightsUnavailableError as exc:
        raise WeightsUnavailableError(str(exc) + _OFFLINE_HINT) from exc
    config = data_config(model)
    return Backbone(
        key=f"file:{info.key}:{_fingerprint(model)}" if weights_file is not None else info.key,
        label=info.label,
        model=model,
        model_name=info.key,  # checkpoints rebuild it with timm_architecture (resnet_core.checkpoint)
        residual=True,
        mean=tuple(float(m) for m in config["mean"]),  # type: ignore[arg-type]
        std=tuple(float(v) for v in config["std"]),  # type: ignore[arg-type]
        input_size=int(config["input_size"][-1]),
        pretrained_on=f"ImageNet-1k (1,000 classes, {config['input_size'][-1]}x{config['input_size'][-1]})",
    )


def backbone_from_checkpoint(
    checkpoint: Checkpoint, *, label: str, key: str | None = None, pretrained_on: str | None = None
) -> Backbone:
    """Start from a checkpoint (the shipped model, or one trained on the Train page)."""
    _check_supported(checkpoint.model)
    classes = len(checkpoint.classes)
    return Backbone(
        key=key or f"checkpoint:{_fingerprint(checkpoint.model)}",
        label=label,
        model=checkpoint.model,
        model_name=checkpoint.model_name,
        residual=checkpoint.residual,
        mean=checkpoint.mean,
        std=checkpoint.std,
        input_size=checkpoint.input_size,
        pretrained_on=pretrained_on or f"{classes} classes ({', '.join(checkpoint.classes[:4])}{'...' if classes > 4 else ''})",
    )


def _fingerprint(model: nn.Module) -> str:
    """A digest of the weights: two checkpoints with one label must not share cached features."""
    sha = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        sha.update(name.encode())
        sha.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()[:16]


# --- Where a backbone splits into frozen trunk, last stage and head ---------------------------------


def _check_supported(model: nn.Module) -> None:
    if not isinstance(model, (ResNet, ResNet9, TimmResNet)):
        raise ValueError(f"cannot fine-tune a {type(model).__name__}: expected a registered ResNet")


def _trunk(model: nn.Module, x: Tensor) -> Tensor:
    """Everything before the last stage: frozen in both modes."""
    if isinstance(model, ResNet9):
        return model.layer2(model.layer1(model.prep(x)))
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    for i in range(1, model.num_stages):
        x = getattr(model, f"layer{i}")(x)
    return x


def _last_stage(model: nn.Module) -> nn.Module:
    return getattr(model, f"layer{model.num_stages}")


def _pooled(model: nn.Module, x: Tensor) -> Tensor:
    """The last stage's output pooled to the vector ``fc`` reads."""
    pool = model.pool if isinstance(model, ResNet9) else model.avgpool
    return torch.flatten(pool(_last_stage(model)(x)), 1)


def _head_scale(model: nn.Module) -> float:
    """ResNet-9 multiplies its logits by 0.125 (Page's trick); a new ``fc`` must undo that."""
    return float(getattr(model, "head_scale", 1.0))


# --- Configuration, progress, result --------------------------------------------------------------


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tuning run. ``epochs`` are passes over the training pictures."""

    mode: Mode = "linear"
    epochs: int | None = None  # None: DEFAULT_EPOCHS[mode]
    val_fraction: float = 0.2  # share of each class held out to measure accuracy
    seed: int = 0
    batch_size: int = 32  # pictures per step
    head_lr: float = 1e-2  # AdamW, for the linear head on standardised features
    head_weight_decay: float = 1e-3
    head_epochs: int = 30  # linear-probe passes before the last stage trains (last-stage mode)
    stage_lr: float = 1e-4  # AdamW, last stage and head together: 100x lower, to adjust not overwrite
    stage_weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {self.val_fraction}")
        if self.batch_size < 1 or self.head_epochs < 1:
            raise ValueError("batch_size and head_epochs must be at least 1")
        for lr in (self.head_lr, self.stage_lr):
            if not (math.isfinite(lr) and lr > 0):
                raise ValueError(f"learning rates must be positive, got {lr}")

    @property
    def total_epochs(self) -> int:
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.mode]


DEFAULT_EPOCHS: dict[str, int] = {"linear": 30, "last-stage": 5}


@dataclass(frozen=True)
class EpochRecord:
    """Metrics after one pass over the training pictures."""

    phase: Literal["head", "last-stage"]
    epoch: int  # 1-based, counted over the whole run (head epochs first)
    train_loss: float  # mean cross-entropy over the epoch
    train_acc: float
    val_loss: float
    val_acc: float  # on the held-out pictures
    seconds: float  # since the run started


@dataclass(frozen=True)
class Progress:
    """What :func:`finetune` reports to ``on_progress`` as it goes."""

    phase: Literal["loading", "features", "head", "last-stage"]
    done: int  # pictures through the backbone, or epochs finished
    total: int
    message: str
    epoch: EpochRecord | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class FinetuneResult:
    """The fine-tuned model and how it did on the pictures it never trained on."""

    model: nn.Module  # eval mode, CPU; a registry model with a new fc
    classes: tuple[str, ...]
    backbone: BackboneInfo
    config: FinetuneConfig
    train_images: int
    val_images: int
    val_acc: float
    confusion: tuple[tuple[int, ...], ...]  # [true class][predicted class] counts, held-out pictures
    history: tuple[EpochRecord, ...]
    seconds: float  # wall time of the whole run, features included
    feature_seconds: float  # of which the backbone's forward passes over the pictures
    cached_features: int  # pictures whose features came from the cache
    stopped: bool = False  # stopped early: the model is the one trained so far

    def to_checkpoint(self) -> Checkpoint:
        """The model as a :class:`Checkpoint`, ready for ``classify.classifier_from_checkpoint``."""
        return Checkpoint(model=self.model, **self._provenance())

    def save(self, path_or_file: Any) -> None:
        """Write a checkpoint :func:`resnet_core.checkpoint.load_checkpoint` reads (weights_only)."""
        save_checkpoint(path_or_file, self.model, **self._provenance())

    def _provenance(self) -> dict[str, Any]:
        """What a checkpoint records beside the weights: one list for the in-memory and the saved form."""
        return {
            "model_name": self.backbone.model_name,
            "residual": self.backbone.residual,
            "classes": self.classes,
            "mean": self.backbone.mean,
            "std": self.backbone.std,
            "input_size": self.backbone.input_size,
            "config": self._config(),
            "metrics": self._metrics(),
        }

    def summary(self) -> dict[str, Any]:
        """The CLI's JSON line."""
        return {
            "backbone": self.backbone.label,
            "mode": self.config.mode,
            "classes": list(self.classes),
            "train_images": self.train_images,
            "val_images": self.val_images,
            "val_acc": round(self.val_acc, 4),
            "seconds": round(self.seconds, 2),
        }

    def _config(self) -> dict[str, Any]:
        # Plain str/int/float/list only: checkpoints load with weights_only=True.
        size = self.backbone.input_size
        return {
            "finetune": {k: v for k, v in asdict(self.config).items()},
            "backbone": self.backbone.label,
            "backbone_key": self.backbone.key,
            "pretrained_on": self.backbone.pretrained_on,
            "preprocessing": {"resize": size, "crop": size, "mean": list(self.backbone.mean), "std": list(self.backbone.std)},
        }

    def _metrics(self) -> dict[str, Any]:
        return {
            "val_acc": self.val_acc,
            "train_images": self.train_images,
            "val_images": self.val_images,
            "confusion": [list(row) for row in self.confusion],
            "stopped": self.stopped,
        }


# --- Features, cached ---------------------------------------------------------------------------


class FeatureCache:
    """Pooled backbone features per (backbone, picture), least recently used dropped first.

    In linear-probe mode the backbone never changes, so a second run on the same pictures (more
    epochs, a new held-out split) skips every forward pass. Thread-safe: a job thread fills it.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[tuple[str, str], Tensor] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, backbone_key: str, digest: str) -> Tensor | None:
        with self._lock:
            value = self._data.get((backbone_key, digest))
            if value is not None:
                self._data.move_to_end((backbone_key, digest))
            return value

    def put(self, backbone_key: str, digest: str, features: Tensor) -> None:
        with self._lock:
            self._data[(backbone_key, digest)] = features
            self._data.move_to_end((backbone_key, digest))
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


def _views(pictures: list[UserPicture], backbone: BackboneInfo) -> Tensor:
    """uint8 (N, 3, S, S): exactly the crops Classify will feed the fine-tuned model."""
    prep = backbone.preprocessing
    return torch.stack([prep.view(p.image) for p in pictures])


def _extract(
    model: nn.Module,
    views: Tensor,
    backbone: Backbone,
    *,
    head_input: bool,
    report: Callable[[int], None],
    stop: threading.Event | None,
) -> Tensor:
    """The trunk's output (``head_input=False``) or the pooled features, in batches, frozen."""
    out: list[Tensor] = []
    # no_grad, not inference_mode: these tensors feed training afterwards, which inference
    # tensors may not do.
    with torch.no_grad():
        for start in range(0, len(views), _BATCH_FEATURES):
            if stop is not None and stop.is_set():
                raise FinetuneStopped("stopped while computing features")
            x = normalize(views[start : start + _BATCH_FEATURES], backbone.mean, backbone.std)
            t = _trunk(model, x)
            out.append((_pooled(model, t) if head_input else t).float().contiguous())
            report(min(start + _BATCH_FEATURES, len(views)))
    return torch.cat(out)


# --- Training -----------------------------------------------------------------------------------

#: Called after each epoch with (loss, accuracy, held-out loss, held-out accuracy).
EpochCallback = Callable[[float, float, float, float], None]


@dataclass(frozen=True)
class _Fit:
    """What every phase of one run shares: its settings, its one random stream, its stop event."""

    config: FinetuneConfig
    generator: torch.Generator  # batch order and augmentation, in the order the phases draw them
    stop: threading.Event | None


@dataclass(frozen=True)
class _Split:
    """A phase's inputs: pooled features (the head) or pictures and trunk outputs (the last stage)."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor


def _new_model(backbone: Backbone, num_classes: int) -> nn.Module:
    """The backbone's architecture with a fresh ``num_classes`` head and the backbone's weights."""
    if is_timm_key(backbone.model_name):
        model = timm_architecture(backbone.model_name, num_classes=num_classes)
    else:
        model = create_model(backbone.model_name, num_classes=num_classes, residual=backbone.residual)
    state = {k: v for k, v in backbone.model.state_dict().items() if not k.startswith("fc.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("fc.") for k in missing):
        raise ValueError(f"the backbone's weights do not fit {backbone.model_name}: {missing or unexpected}")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()  # BatchNorm keeps the pretrained statistics: a few dozen pictures cannot replace them


def _epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    return list(torch.randperm(n, generator=generator).split(batch_size))


def _fit_head(
    data: _Split, fit: _Fit, epochs: int, on_epoch: EpochCallback, num_classes: int
) -> tuple[Tensor, Tensor, bool]:
    """Multinomial logistic regression on standardised features; (weight, bias) in raw feature units.

    Standardising makes one learning rate work for every backbone (a ResNet-50's 2048 features
    and the shipped model's 192 live on very different scales); the scaling is folded back into
    the returned weights, so the head reads the backbone's features as they come.
    """
    mu = data.train_x.mean(0)
    sigma = data.train_x.std(0, unbiased=False).clamp_min(1e-6)
    zx, zv = (data.train_x - mu) / sigma, (data.val_x - mu) / sigma
    head = nn.Linear(data.train_x.shape[1], num_classes)
    nn.init.zeros_(head.weight)  # the problem is convex: start at zero, deterministic
    nn.init.zeros_(head.bias)
    opt = AdamW(head.parameters(), lr=fit.config.head_lr, weight_decay=fit.config.head_weight_decay)

    def val_logits() -> Tensor:
        with torch.no_grad():
            return head(zv)

    phase = _Phase(opt, lambda idx: head(zx[idx]), data.train_y, val_logits, data.val_y, stop_mid_epoch=False)
    stopped = _train_epochs(phase, fit, epochs, on_epoch)
    with torch.no_grad():
        weight = head.weight / sigma
        bias = head.bias - (head.weight * mu / sigma).sum(1)
    return weight.detach(), bias.detach(), stopped


def _install_head(model: nn.Module, weight: Tensor, bias: Tensor) -> None:
    """Put ``weight``/``bias`` in ``model.fc`` so that ``model(x)`` gives exactly those logits."""
    scale = _head_scale(model)
    with torch.no_grad():
        model.fc.weight.copy_(weight / scale)
        model.fc.bias.copy_(bias / scale)


def finetune(
    pictures: PictureSet,
    backbone: Backbone,
    config: FinetuneConfig = FinetuneConfig(),
    *,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    cache: FeatureCache | None = None,
) -> FinetuneResult:
    """Teach ``backbone`` the classes of ``pictures``; see the module docstring for the modes.

    Reports to ``on_progress`` as features are computed and after every epoch. Setting ``stop``
    ends the run early: the result holds the model trained so far (``stopped=True``), or
    :class:`FinetuneStopped` is raised if no epoch had finished.
    """
    _check_supported(backbone.model)
    set_cpu_threads()  # fine-tuning runs on the CPU: one thread per core this process may use, quota included
    t0 = time.perf_counter()
    report = on_progress or (lambda _p: None)
    generator = torch.Generator().manual_seed(config.seed)
    items = pictures.items()
    train_idx, val_idx = stratified_split(pictures, config.val_fraction, config.seed)
    num_classes = len(pictures.classes)
    labels = torch.tensor([label for _, label in items])
    train_y, val_y = labels[train_idx], labels[val_idx]
    model = _new_model(backbone, num_classes)

    # 1. Pooled features of every picture, from the cache where the backbone has seen it before.
    n = len(items)
    feats: list[Tensor | None] = [cache.get(backbone.key, p.digest) if cache else None for p, _ in items]
    todo = [i for i, f in enumerate(feats) if f is None]
    cached = n - len(todo)
    views = _views([p for p, _ in items], backbone)
    tf0 = time.perf_counter()
    report(Progress("features", cached, n, f"Features: {cached} of {n} pictures"))
    if todo:
        fresh = _extract(model, views[todo], backbone, head_input=True, stop=stop,
                         report=lambda k: report(Progress("features", cached + k, n, f"Features: {cached + k} of {n} pictures")))
        for i, f in zip(todo, fresh):
            feats[i] = f
            if cache is not None:
                cache.put(backbone.key, items[i][0].digest, f)
    feature_seconds = time.perf_counter() - tf0
    features = torch.stack(feats)  # type: ignore[arg-type]

    # 2. The linear head (the whole of linear mode, the warm start of last-stage mode).
    history: list[EpochRecord] = []
    head_epochs = config.total_epochs if config.mode == "linear" else config.head_epochs
    stage_epochs = config.total_epochs if config.mode == "last-stage" else 0
    all_epochs = head_epochs + stage_epochs

    def record(phase: Literal["head", "last-stage"], *metrics: float) -> None:
        rec = EpochRecord(phase, len(history) + 1, *metrics, seconds=time.perf_counter() - t0)
        history.append(rec)
        report(Progress(phase, rec.epoch, all_epochs,
                        f"Epoch {rec.epoch} of {all_epochs} ({phase}): held-out accuracy {rec.val_acc:.0%}", rec))

    fit = _Fit(config, generator, stop)
    head_data = _Split(features[train_idx], train_y, features[val_idx], val_y)
    weight, bias, stopped = _fit_head(head_data, fit, head_epochs, lambda *m: record("head", *m), num_classes)
    if not history:
        raise FinetuneStopped("stopped before the first epoch")
    _install_head(model, weight, bias)

    # 3. Last stage and head together, lower learning rate, augmented pictures.
    if stage_epochs and not stopped:
        # The held-out pictures are never augmented, so their trunk outputs are computed once.
        val_trunk = _extract(model, views[val_idx], backbone, head_input=False, report=lambda k: None, stop=None)
        stage_data = _Split(views[train_idx], train_y, val_trunk, val_y)
        stopped = _fit_last_stage(model, backbone, stage_data, fit, stage_epochs, lambda *m: record("last-stage", *m))
        with torch.inference_mode():
            val_logits = _logits_from_trunk(model, val_trunk)
    else:
        with torch.inference_mode():
            val_logits = model.fc(features[val_idx]) * _head_scale(model)

    predicted = val_logits.argmax(1)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((val_y, predicted), torch.ones_like(val_y), accumulate=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return FinetuneResult(
        model=model.eval(),
        classes=pictures.classes,
        backbone=backbone.info,
        config=config,
        train_images=len(train_idx),
        val_images=len(val_idx),
        val_acc=float((predicted == val_y).float().mean()),
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
        history=tuple(history),
        seconds=time.perf_counter() - t0,
        feature_seconds=feature_seconds,
        cached_features=cached,
        stopped=stopped,
    )


def _logits_from_trunk(model: nn.Module, trunk_out: Tensor) -> Tensor:
    return model.fc(_pooled(model, trunk_out)) * _head_scale(model)


def _fit_last_stage(
    model: nn.Module, backbone: Backbone, data: _Split, fit: _Fit, epochs: int, on_epoch: EpochCallback
) -> bool:
    """Train the last stage and ``fc`` in place; returns True if stopped early.

    ``data`` holds the training pictures and the held-out pictures' trunk outputs.

    The trunk runs without gradients on every augmented batch. The model stays in eval mode, so
    BatchNorm keeps its pretrained statistics: batches of a few user pictures of two or three
    classes would give running statistics nothing like the backbone's.
    """
    trainable = [*_last_stage(model).parameters(), *model.fc.parameters()]
    for p in trainable:
        p.requires_grad_(True)
    opt = AdamW(trainable, lr=fit.config.stage_lr, weight_decay=fit.config.stage_weight_decay)
    padding = max(1, backbone.input_size // 8)  # 4 px at 32, 28 px at 224: the CIFAR recipe, scaled

    def forward(idx: Tensor) -> Tensor:
        x = normalize(augment(data.train_x[idx], padding=padding, generator=fit.generator), backbone.mean, backbone.std)
        with torch.no_grad():
            t = _trunk(model, x)
        return _logits_from_trunk(model, t)

    def val_logits() -> Tensor:
        with torch.inference_mode():
            return _logits_from_trunk(model, data.val_x)

    phase = _Phase(opt, forward, data.train_y, val_logits, data.val_y, stop_mid_epoch=True)
    return _train_epochs(phase, fit, epochs, on_epoch)


@dataclass(frozen=True)
class _Phase:
    """One phase of fine-tuning: what its optimiser trains and how it scores itself."""

    optimizer: AdamW
    forward: Callable[[Tensor], Tensor]  # indices of training pictures -> their logits
    train_y: Tensor
    val_logits: Callable[[], Tensor]  # the held-out pictures' logits, without gradients
    val_y: Tensor
    stop_mid_epoch: bool  # a stop ends the epoch at once (slow steps) or after it (fast ones)


def _train_epochs(phase: _Phase, fit: _Fit, epochs: int, on_epoch: EpochCallback) -> bool:
    """Train ``phase`` for ``epochs``, reporting (loss, acc, val loss, val acc) after each; True if stopped."""
    cpu, stop = torch.device("cpu"), fit.stop
    for _ in range(epochs):
        total, correct, loss_sum = 0, 0, 0.0
        for idx in _epoch_batches(len(phase.train_y), fit.config.batch_size, fit.generator):
            y = phase.train_y[idx]
            loss, logits = backward(phase.forward, idx, y, phase.optimizer, device=cpu)
            apply_update(phase.optimizer)
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
            total += len(idx)
            if phase.stop_mid_epoch and stop is not None and stop.is_set():
                break
        val_logits = phase.val_logits()
        val_loss = float(F.cross_entropy(val_logits, phase.val_y))
        val_acc = float((val_logits.argmax(1) == phase.val_y).float().mean())
        on_epoch(loss_sum / max(total, 1), correct / max(total, 1), val_loss, val_acc)
        if stop is not None and stop.is_set():
            return True
    return False
