"""ResNet building blocks, one configurable ``ResNet`` class and the model registry.

Follows He et al., "Deep Residual Learning for Image Recognition" (2015), and torchvision's
conventions so that the ImageNet variants share torchvision's ``state_dict`` keys and shapes.
Every variant can be built "plain" (``residual=False``): the same layers with the shortcut
additions removed, as in the paper's plain baselines.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Type, TypeVar, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from resnet_core.cifar10 import MEAN as CIFAR_MEAN
from resnet_core.cifar10 import STD as CIFAR_STD

StemType = Literal["imagenet", "cifar", "cifar_small"]
ShortcutType = Literal["projection", "zero_pad"]
#: What a block adds back to its output (He et al. 2015, sections 3.3 and 4.2): its input unchanged,
#: a 1x1 projection (option B), its input subsampled and zero-padded (option A), or nothing.
ShortcutKind = Literal["identity", "projection", "zero_pad", "none"]

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ModelSpec",
    "ResNet",
    "ResNet9",
    "ShortcutKind",
    "create_model",
    "find_twin",
    "get_spec",
    "list_models",
    "register_model",
    "shortcut_kind",
]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Parameter-free shortcut, the paper's "option A" (section 4.2).

    Subsamples by ``stride`` and pads the new channels with zeros, so a CIFAR ResNet has exactly
    as many parameters as its plain twin.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra = out_planes - in_planes

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))


class _PaperBlock(nn.Module):
    """What both of the paper's blocks do: ``relu(f(x) + shortcut(x))``, or ``relu(f(x))`` when plain.

    A subclass builds its layers (``self.relu`` among them) in ``_build`` and computes ``f`` in
    ``branch``; the shortcut, the one thing a plain twin lacks, is written once, here.
    """

    expansion: int = 1
    relu: nn.ReLU

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self._build(inplanes, planes, stride)
        # Registered after the layers, so that named_modules() and state_dict() list the
        # downsample last, as torchvision's blocks do.
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def _build(self, inplanes: int, planes: int, stride: int) -> None:
        raise NotImplementedError

    def branch(self, x: Tensor) -> Tensor:
        """The residual function ``f(x)``, before the shortcut is added and the last ReLU."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        out = self.branch(x)
        if self.residual:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity
        return self.relu(out)


class BasicBlock(_PaperBlock):
    """Two 3x3 convolutions plus a shortcut (the paper's Figure 5, left)."""

    expansion: int = 1

    def _build(self, inplanes: int, planes: int, stride: int) -> None:
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)

    def branch(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(_PaperBlock):
    """1x1 reduce, 3x3, 1x1 expand, plus a shortcut (the paper's Figure 5, right).

    The stride sits on the 3x3 convolution, not the first 1x1 as in the paper: this is
    "ResNet V1.5" as torchvision ships it, which is slightly more accurate and keeps the 1x1
    from throwing away three quarters of its input.
    """

    expansion: int = 4

    def _build(self, inplanes: int, planes: int, stride: int) -> None:
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)

    def branch(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


Block = Type[Union[BasicBlock, Bottleneck]]


class ResNet(nn.Module):
    """A ResNet: a stem, stages of residual blocks, global average pooling and a linear head.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: number of blocks per stage, e.g. ``[2, 2, 2, 2]`` for ResNet-18.
        widths: base width of each stage (before ``block.expansion``).
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max pool), ``"cifar"`` (3x3/1 conv, 64 wide, no
            pool) or ``"cifar_small"`` (3x3/1 conv as wide as the first stage, section 4.2).
        shortcut: ``"projection"`` (1x1 conv + BN where shapes change, option B) or ``"zero_pad"``
            (parameter-free, option A).
        residual: ``False`` builds the plain twin: the same layers, no shortcut additions.
        zero_init_residual: start each block's last BN at zero so every block begins as the
            identity (Goyal et al., 2017); only meaningful when ``residual`` is True.
    """

    def __init__(
        self,
        block: Block,
        layers: list[int],
        *,
        widths: tuple[int, ...] = (64, 128, 256, 512),
        stem: StemType = "imagenet",
        shortcut: ShortcutType = "projection",
        num_classes: int = 1000,
        residual: bool = True,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        if len(layers) != len(widths):
            raise ValueError(f"layers {layers} and widths {widths} must have the same length")
        self.residual = residual
        self.shortcut = shortcut
        self.inplanes = widths[0] if stem == "cifar_small" else 64
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        elif stem in ("cifar", "cifar_small"):
            self.conv1 = conv3x3(3, self.inplanes)
            self.maxpool = nn.Identity()
        else:
            raise ValueError(f"unknown stem {stem!r}; use 'imagenet', 'cifar' or 'cifar_small'")
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        for i, (width, blocks) in enumerate(zip(widths, layers)):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", self._make_layer(block, width, blocks, stride))
        self.num_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1] * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample: nn.Module | None = None
        out_planes = planes * block.expansion
        if stride != 1 or self.inplanes != out_planes:
            if self.shortcut == "zero_pad":
                downsample = ZeroPadShortcut(self.inplanes, out_planes, stride)
            else:
                downsample = nn.Sequential(
                    conv1x1(self.inplanes, out_planes, stride), nn.BatchNorm2d(out_planes)
                )
        # A plain network has no shortcut, so a projection would be dead weight: leave it out.
        if not self.residual:
            downsample = None
        layers = [block(self.inplanes, planes, stride, downsample, residual=self.residual)]
        self.inplanes = out_planes
        layers += [block(self.inplanes, planes, residual=self.residual) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem and all stages: the last feature map, before pooling."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{i}")(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.forward_features(x))
        return self.fc(torch.flatten(x, 1))


def conv_bn(c_in: int, c_out: int, pool: bool = False) -> nn.Sequential:
    """3x3 conv, BN, ReLU and an optional 2x2 max pool: the unit ResNet-9 is built from."""
    mods: list[nn.Module] = [conv3x3(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    if pool:
        mods.append(nn.MaxPool2d(2))
    return nn.Sequential(*mods)


class Residual(nn.Module):
    """``x + f(x)``, or just ``f(x)`` in a plain network."""

    def __init__(self, fn: nn.Module, residual: bool = True) -> None:
        super().__init__()
        self.fn = fn
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fn(x) if self.residual else self.fn(x)


def shortcut_kind(block: nn.Module) -> ShortcutKind:
    """The shortcut of one block: of a paper block, a ResNet-9 ``Residual``; "none" for anything else."""
    if isinstance(block, (BasicBlock, Bottleneck)):
        if not block.residual:
            return "none"
        if block.downsample is None:
            return "identity"
        return "zero_pad" if isinstance(block.downsample, ZeroPadShortcut) else "projection"
    if isinstance(block, Residual):
        return "identity" if block.residual else "none"
    return "none"  # e.g. ResNet-9's single conv_bn units, which never had a shortcut


class ResNet9(nn.Module):
    """The fast CIFAR ResNet of the DAWNBench entries (Page, "How to train your ResNet", 2018).

    prep(64) -> layer1(128, pool, + residual of two convs) -> layer2(256, pool)
    -> layer3(512, pool, + residual of two convs) -> global max pool -> linear;
    ``width`` sets the first of these (64), the others scale with it.
    Its stages are named ``layer1``..``layer3`` so Grad-CAM and summaries address them like the
    other ResNets.
    """

    def __init__(
        self,
        num_classes: int = 10,
        residual: bool = True,
        zero_init_residual: bool = False,
        width: int = 64,
        head_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.residual = residual
        # Page's ResNet-9 multiplies the logits by 0.125: without it the initial logits are large
        # and a high learning rate blows the loss up in the first steps.
        self.head_scale = head_scale
        self.num_stages = 3
        # ``width`` scales every layer: 64 is the original; narrower nets train far faster on a CPU.
        w1, w2, w3, w4 = width, 2 * width, 4 * width, 8 * width
        self.prep = conv_bn(3, w1)
        self.layer1 = nn.Sequential(
            conv_bn(w1, w2, pool=True), Residual(nn.Sequential(conv_bn(w2, w2), conv_bn(w2, w2)), residual)
        )
        self.layer2 = conv_bn(w2, w3, pool=True)
        self.layer3 = nn.Sequential(
            conv_bn(w3, w4, pool=True), Residual(nn.Sequential(conv_bn(w4, w4), conv_bn(w4, w4)), residual)
        )
        # The original uses a global max pool; adaptive keeps any input size working.
        self.pool = nn.AdaptiveMaxPool2d((1, 1))
        self.fc = nn.Linear(w4, num_classes)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Residual):
                    nn.init.constant_(m.fn[-1][1].weight, 0)

    def forward_features(self, x: Tensor) -> Tensor:
        """Prep layer and all stages: the last feature map, before pooling."""
        return self.layer3(self.layer2(self.layer1(self.prep(x))))

    def forward(self, x: Tensor) -> Tensor:
        logits = self.fc(torch.flatten(self.pool(self.forward_features(x)), 1))
        return logits * self.head_scale if self.head_scale != 1.0 else logits


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


#: ImageNet input normalisation in [0, 1] units, as torchvision's weights expect (CIFAR's is in cifar10.py).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    """What the app and tests need to know about a registered variant, kept beside the model (timm-style)."""

    name: str
    builder: Callable[..., nn.Module]
    family: Literal["imagenet", "cifar"]
    num_classes: int  # default head size
    input_size: int  # pixels, square
    depth: int  # weighted layers counted the paper's way (convs + fc, no shortcut projections)
    block: str  # "basic", "bottleneck" or "conv_bn"
    layers: tuple[int, ...] = field(default_factory=tuple)  # blocks per stage
    description: str = ""
    torchvision_name: str | None = None  # same keys and shapes as this torchvision model
    #: torchvision ImageNet weight versions this variant loads (file names come from torchvision's
    #: own ``WeightsEnum``, see resnet_core.pretrained), first = the default.
    weights: tuple[str, ...] = ()
    #: CIFAR-10 test error (%) He et al. report for this network (Table 6; ResNet-110: best of 5 runs, mean 6.61).
    paper_error: float | None = None
    #: One of the paper's 6n+2 CIFAR networks (section 4.2): the family of Figures 1 and 6.
    paper_family: bool = False
    mean: tuple[float, float, float] = CIFAR_MEAN  # input normalisation, [0, 1] units
    std: tuple[float, float, float] = CIFAR_STD
    #: Shown by default where variants are compared (the Architecture page): the paper's ImageNet
    #: nets, the shallowest, middle and deepest of its CIFAR family, and the training default's graph.
    featured: bool = False


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a variant to the registry; the name must be new."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def list_models(family: str | None = None, *, featured: bool = False) -> list[str]:
    """Names of registered variants in registration order; optionally one family, or featured ones only."""
    return [n for n, s in _REGISTRY.items()
            if (family is None or s.family == family) and (s.featured or not featured)]


def get_spec(name: str) -> ModelSpec:
    """The ``ModelSpec`` of a registered variant; a ``KeyError`` that lists the names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(_REGISTRY)}") from None


T = TypeVar("T")


def find_twin(model_name: str, residual: bool, candidates: Mapping[str, T],
              describe: Callable[[T], tuple[str, bool]]) -> tuple[str, T] | None:
    """The first candidate that is the same variant with the shortcuts the other way, or None.

    ``describe(candidate)`` gives its (registry name, residual); e.g. checkpoints trained on the
    Train page's plain-vs-residual race: ``describe = lambda c: (c.model_name, c.residual)``.
    """
    for label, candidate in candidates.items():
        name, res = describe(candidate)
        if name == model_name and bool(res) != bool(residual):
            return label, candidate
    return None


def create_model(name: str, *, num_classes: int | None = None, residual: bool = True, **kwargs: Any) -> nn.Module:
    """Build a registered variant with fresh weights.

    ``num_classes`` defaults to the variant's own (1000 for ImageNet, 10 for CIFAR);
    ``residual=False`` gives the plain twin; other keyword arguments (e.g.
    ``zero_init_residual``) go to the model's constructor.
    """
    spec = get_spec(name)
    n = spec.num_classes if num_classes is None else num_classes
    return spec.builder(num_classes=n, residual=residual, **kwargs)


def _resnet_builder(block: Block, layers: list[int], **fixed: Any) -> Callable[..., nn.Module]:
    """A builder with the variant's architecture fixed; callers may still override ``widths``."""

    def build(**kwargs: Any) -> nn.Module:
        return ResNet(block, layers, **{**fixed, **kwargs})

    return build


def _imagenet(name: str, block: Block, layers: list[int], weights: tuple[str, ...]) -> ModelSpec:
    per_block = 2 if block is BasicBlock else 3
    return ModelSpec(
        name=name,
        builder=_resnet_builder(block, layers),
        family="imagenet",
        num_classes=1000,
        input_size=224,
        depth=2 + per_block * sum(layers),
        block="basic" if block is BasicBlock else "bottleneck",
        layers=tuple(layers),
        description=f"ImageNet ResNet-{name[6:]} (paper Table 1), torchvision-compatible weights",
        torchvision_name=name,
        weights=weights,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        featured=True,
    )


def _cifar(name: str, n: int, paper_error: float, featured: bool = False) -> ModelSpec:
    """A CIFAR net of section 4.2: 6n+2 layers, 3 stages of 16/32/64 filters, option-A shortcuts."""
    depth = 6 * n + 2
    if name != f"resnet{depth}":
        raise ValueError(f"{name} does not have n={n} blocks per stage")
    return ModelSpec(
        name=name,
        builder=_resnet_builder(BasicBlock, [n, n, n], widths=(16, 32, 64), stem="cifar_small", shortcut="zero_pad"),
        family="cifar",
        num_classes=10,
        input_size=32,
        depth=depth,
        block="basic",
        layers=(n, n, n),
        description=f"CIFAR ResNet-{depth} of the paper's section 4.2 (6n+2, n={n}, option A)",
        paper_error=paper_error,
        paper_family=True,
        featured=featured,
    )


def _resnet9(name: str, width: int, description: str, featured: bool = False) -> ModelSpec:
    # Page's ResNet-9 multiplies the logits by 0.125 at every width: without it a high learning
    # rate blows the loss up in the first steps (measured on the narrow nets, bench/RESULTS.md).
    return ModelSpec(
        name=name,
        builder=functools.partial(ResNet9, width=width, head_scale=0.125),
        family="cifar",
        num_classes=10,
        input_size=32,
        depth=9,
        block="conv_bn",
        layers=(1, 1, 1),
        description=description,
        featured=featured,
    )


# The registry, one line per variant. torchvision ships V2 weights for ResNet-50/101/152 only.
# Paper errors: He et al. (2015), Table 6, CIFAR-10 test error (%).
for _spec in (
    _imagenet("resnet18", BasicBlock, [2, 2, 2, 2], ("IMAGENET1K_V1",)),
    _imagenet("resnet34", BasicBlock, [3, 4, 6, 3], ("IMAGENET1K_V1",)),
    _imagenet("resnet50", Bottleneck, [3, 4, 6, 3], ("IMAGENET1K_V1", "IMAGENET1K_V2")),
    _imagenet("resnet101", Bottleneck, [3, 4, 23, 3], ("IMAGENET1K_V1", "IMAGENET1K_V2")),
    _imagenet("resnet152", Bottleneck, [3, 8, 36, 3], ("IMAGENET1K_V1", "IMAGENET1K_V2")),
    _cifar("resnet20", 3, 8.75, featured=True),
    _cifar("resnet32", 5, 7.51),
    _cifar("resnet44", 7, 7.17),
    _cifar("resnet56", 9, 6.97, featured=True),
    _cifar("resnet110", 18, 6.43, featured=True),
    ModelSpec(
        name="resnet18_cifar",
        builder=_resnet_builder(BasicBlock, [2, 2, 2, 2], stem="cifar"),
        family="cifar",
        num_classes=10,
        input_size=32,
        depth=18,
        block="basic",
        layers=(2, 2, 2, 2),
        description="ResNet-18 with a 3x3 stride-1 stem and no max pool, the common CIFAR adaptation",
    ),
    # ResNet-9 at its original width (64) and narrow twins, the same graph at 1/4 and 3/8 of the
    # width (1/16 and 9/64 of the compute): the CPU training default and the shipped checkpoint's model.
    _resnet9("resnet9", 64, "ResNet-9 of the DAWNBench CIFAR-10 results (Page, 2018)", featured=True),
    _resnet9("resnet9_w16", 16, "ResNet-9 at width 16 (the original is 64): CPU-trainable"),
    _resnet9("resnet9_w24", 24, "ResNet-9 at width 24 (the original is 64): CPU-trainable"),
):
    register_model(_spec)
