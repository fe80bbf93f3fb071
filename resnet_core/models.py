"""ResNet building blocks, one configurable ``ResNet`` class and the model registry.

Follows He et al., "Deep Residual Learning for Image Recognition" (2015), and torchvision's
conventions so that the ImageNet variants share torchvision's ``state_dict`` keys and shapes.
Every variant can be built "plain" (``residual=False``): the same layers with the shortcut
additions removed, as in the paper's plain baselines.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Type, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

StemType = Literal["imagenet", "cifar", "cifar_small"]
ShortcutType = Literal["projection", "zero_pad"]

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ModelSpec",
    "ResNet",
    "ResNet9",
    "create_model",
    "get_spec",
    "list_models",
    "register_model",
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


class BasicBlock(nn.Module):
    """Two 3x3 convolutions plus a shortcut (the paper's Figure 5, left)."""

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand, plus a shortcut (the paper's Figure 5, right).

    The stride sits on the 3x3 convolution, not the first 1x1 as in the paper: this is
    "ResNet V1.5" as torchvision ships it, which is slightly more accurate and keeps the 1x1
    from throwing away three quarters of its input.
    """

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
    ) -> None:
        super().__init__()
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            identity = x if self.downsample is None else self.downsample(x)
            out = out + identity
        return self.relu(out)


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


@dataclass(frozen=True)
class ModelSpec:
    """What the app and tests need to know about a registered variant, kept beside the model."""

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


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a variant to the registry; the name must be new."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def list_models(family: str | None = None) -> list[str]:
    """Names of all registered variants, in registration order; optionally one family only."""
    return [n for n, s in _REGISTRY.items() if family is None or s.family == family]


def get_spec(name: str) -> ModelSpec:
    """The ``ModelSpec`` of a registered variant; a ``KeyError`` that lists the names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(_REGISTRY)}") from None


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
    def build(**kwargs: Any) -> nn.Module:
        return ResNet(block, layers, **fixed, **kwargs)

    return build


_IMAGENET = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
    "resnet152": (Bottleneck, [3, 8, 36, 3]),
}
for _name, (_block, _layers) in _IMAGENET.items():
    _per_block = 2 if _block is BasicBlock else 3
    register_model(
        ModelSpec(
            name=_name,
            builder=_resnet_builder(_block, _layers),
            family="imagenet",
            num_classes=1000,
            input_size=224,
            depth=2 + _per_block * sum(_layers),
            block="basic" if _block is BasicBlock else "bottleneck",
            layers=tuple(_layers),
            description=f"ImageNet ResNet-{_name[6:]} (paper Table 1), torchvision-compatible weights",
            torchvision_name=_name,
        )
    )

# CIFAR nets of section 4.2: 6n+2 layers, 3 stages of 16/32/64 filters, option-A shortcuts.
for _n in (3, 5, 7, 9, 18):
    _depth = 6 * _n + 2
    register_model(
        ModelSpec(
            name=f"resnet{_depth}",
            builder=_resnet_builder(
                BasicBlock, [_n, _n, _n], widths=(16, 32, 64), stem="cifar_small", shortcut="zero_pad"
            ),
            family="cifar",
            num_classes=10,
            input_size=32,
            depth=_depth,
            block="basic",
            layers=(_n, _n, _n),
            description=f"CIFAR ResNet-{_depth} of the paper's section 4.2 (6n+2, n={_n}, option A)",
        )
    )

register_model(
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
    )
)

# ResNet-9 at its original width (64), and narrow twins: the same graph at 1/4 and 3/8 of the
# width (1/16 and 9/64 of the compute), the CPU training default and the shipped checkpoint's
# model (see bench/RESULTS.md, "Training"). The narrow ones scale their logits by 0.125 as Page
# does: without it a high learning rate blows the loss up in the first steps.
for _name, _width, _head_scale, _description in (
    ("resnet9", 64, 1.0, "ResNet-9 of the DAWNBench CIFAR-10 results (Page, 2018)"),
    ("resnet9_w16", 16, 0.125, "ResNet-9 at width 16 (the original is 64), logits x 0.125 as Page's: CPU-trainable"),
    ("resnet9_w24", 24, 0.125, "ResNet-9 at width 24 (the original is 64), logits x 0.125 as Page's: CPU-trainable"),
):
    register_model(
        ModelSpec(
            name=_name,
            builder=functools.partial(ResNet9, width=_width, head_scale=_head_scale),
            family="cifar",
            num_classes=10,
            input_size=32,
            depth=9,
            block="conv_bn",
            layers=(1, 1, 1),
            description=_description,
        )
    )
