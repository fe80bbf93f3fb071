"""Class activation maps: Grad-CAM, Grad-CAM++, XGrad-CAM and LayerCAM from one forward pass.

All four methods weight a layer's activations ``A`` (channels k, positions ij) by the gradient
``g = d y_c / d A`` of the class score ``y_c`` *before* the softmax:

* Grad-CAM (Selvaraju et al., 2017, eq. 1-2): ``w_k = mean_ij g``, map ``ReLU(sum_k w_k A_k)``.
* Grad-CAM++ (Chattopadhay et al., 2018, eq. 19 with the exponential's derivatives folded in as
  in the paper's eq. 10): ``alpha = g^2 / (2 g^2 + sum_ab(A) g^3)``, ``w_k = sum_ij alpha ReLU(g)``.
* XGrad-CAM (Fu et al., 2020, eq. 11): ``w_k = sum_ij (A / sum_ab A) g``.
* LayerCAM (Jiang et al., 2021, eq. 6-7): no channel weights; ``ReLU(sum_k ReLU(g) A_k)``.

The map is upsampled bilinearly (``align_corners=False``) to the input size and scaled per image
to [0, 1]. How we get ``A`` and ``g`` is the point of this module: a forward hook captures the
activation, and ``torch.autograd.grad`` differentiates the score with respect to that activation
only. Nothing is propagated further back than the earliest requested layer, no module backward
hooks are used (they break on ResNet's in-place ReLUs), and the model's parameters, their
``requires_grad`` flags and ``.grad`` fields, and its train/eval mode are left exactly as found.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from resnet_core.model_state import evaluating

__all__ = [
    "METHODS",
    "ActivationCapture",
    "CamMap",
    "CamResult",
    "compute_cam",
    "compute_cams",
    "stage_layers",
]

METHODS: tuple[str, ...] = ("gradcam", "gradcam++", "xgradcam", "layercam")
METHOD_LABELS: dict[str, str] = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "xgradcam": "XGrad-CAM",
    "layercam": "LayerCAM",
}

# Below this many positions per side a map is too coarse to show where anything is.
_COARSE_SIDE = 4
# The epsilons of the reference implementation (pytorch-grad-cam), so results agree closely.
_EPS_GRADCAMPP = 1e-6
_EPS_XGRADCAM = 1e-7
_EPS_SCALE = 1e-7


@dataclass(frozen=True)
class CamMap:
    """One method's maps at one layer, for every image of the batch."""

    layer: str
    method: str
    map: Tensor  # (B, H, W) at the input size, per image min-max scaled to [0, 1]
    raw: Tensor  # (B, h, w) at the layer's own resolution: ReLU applied, not upsampled or scaled
    feature_size: tuple[int, int]  # (h, w) of the layer's output
    blank: tuple[bool, ...]  # per image: True where the raw map is zero everywhere
    warning: str | None  # why this map should not be trusted, for the page to show

    @property
    def label(self) -> str:
        return METHOD_LABELS[self.method]


@dataclass(frozen=True)
class CamResult:
    """Everything :func:`compute_cams` computed from one forward pass."""

    logits: Tensor  # (B, num_classes), detached
    targets: tuple[int, ...]  # the class explained, per image
    maps: Mapping[tuple[str, str], CamMap]  # by (layer, method)

    def __getitem__(self, key: tuple[str, str]) -> CamMap:
        return self.maps[key]


def stage_layers(model: nn.Module) -> list[str]:
    """Names of the model's stages, ``layer1`` .. ``layerN``, shallow to deep."""
    names = dict(model.named_modules())
    # Our models say how many stages they have; timm's and torchvision's ResNets do not, but
    # name them layer1 .. layer4 all the same (issue 22).
    n = int(getattr(model, "num_stages", 0)) or sum(1 for i in range(1, 100) if f"layer{i}" in names)
    stages = [f"layer{i}" for i in range(1, n + 1) if f"layer{i}" in names]
    if not stages:
        raise ValueError(f"{type(model).__name__} has no stages named layer1, layer2, ...")
    return stages


class ActivationCapture:
    """Forward hooks that record the outputs of named modules, owned and removed by this object.

    Use as ``with ActivationCapture(model, ["layer4"]) as capture: logits = model(x)``; the hooks
    are removed when the block ends, also when it ends with an exception (which propagates).

    Hooks live on the modules, so every thread that runs the model calls them. Each capture
    therefore records only calls made from the thread that opened it: a concurrent forward pass
    on the same cached model in another session's thread passes through untouched.

    With ``detach_first=True`` the first captured output (in execution order) is replaced in the
    forward pass by a detached copy that requires grad, and grad mode is switched on from there on.
    Run the forward under ``torch.no_grad()`` and autograd then records the graph only from that
    layer to the logits: the backward pass to that layer costs a fraction of a full backward,
    and it works even on a model whose parameters have ``requires_grad=False``. Grad mode is
    thread-local, so this affects only the calling thread, and the caller's ``no_grad`` block
    restores it on exit.
    """

    def __init__(self, model: nn.Module, layers: Sequence[str], *, detach_first: bool = False) -> None:
        modules = dict(model.named_modules())
        missing = [name for name in layers if name not in modules or name == ""]
        if missing:
            stages = ", ".join(n for n in modules if n.startswith("layer") and "." not in n)
            raise ValueError(f"no module named {', '.join(map(repr, missing))} in the model; try one of: {stages}")
        self.layers = list(dict.fromkeys(layers))  # unique, in the caller's order
        self.activations: dict[str, Tensor] = {}
        self._versions: dict[str, int] = {}
        self._calls: dict[str, int] = {}
        self._detach_first = detach_first
        self._thread = threading.get_ident()
        self._handles = [modules[name].register_forward_hook(self._hook_for(name)) for name in self.layers]

    def _hook_for(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: Tensor) -> Tensor | None:
            if threading.get_ident() != self._thread:
                return None  # another thread's forward pass: not ours to record
            self._calls[name] = self._calls.get(name, 0) + 1
            if self._calls[name] > 1:
                raise ValueError(
                    f"module {name!r} runs more than once per forward pass (a shared module such "
                    f"as a ReLU), so its activation is ambiguous; choose a block or a stage instead"
                )
            if not isinstance(output, Tensor):
                raise ValueError(f"module {name!r} returns {type(output).__name__}, not a tensor")
            if self._detach_first and not self.activations:
                output = output.detach().requires_grad_(True)
                torch.set_grad_enabled(True)
            self.activations[name] = output
            self._versions[name] = output._version
            return output

        return hook

    def check_unmodified(self) -> None:
        """Raise if a captured activation was changed in place later in the forward pass."""
        for name, act in self.activations.items():
            if act._version != self._versions[name]:
                raise ValueError(
                    f"the output of {name!r} is modified in place by the next operation (e.g. an "
                    f"in-place ReLU), so it cannot be explained; choose the enclosing block instead"
                )

    def remove(self) -> None:
        """Remove the hooks; safe to call more than once."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> "ActivationCapture":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()  # returns None: an exception raised in the block propagates


def compute_cams(
    model: nn.Module,
    images: Tensor,
    layers: Sequence[str],
    methods: Sequence[str] = ("gradcam",),
    targets: int | Sequence[int] | Tensor | None = None,
) -> CamResult:
    """Maps for every (layer, method) pair from ONE forward pass and ONE ``autograd.grad`` call.

    ``images`` is a normalised batch (B, 3, H, W); ``layers`` are names from
    ``model.named_modules()`` such as ``"layer4"`` or ``"layer3.1"``; ``targets`` is one class
    index per image (or one for all), ``None`` for each image's top prediction.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown CAM method {unknown[0]!r}; choose one of {', '.join(METHODS)}")
    if images.ndim != 4:
        raise ValueError(f"images must be a (B, C, H, W) batch, got shape {tuple(images.shape)}")
    if not layers:
        raise ValueError("name at least one layer")
    input_size = (images.shape[-2], images.shape[-1])

    # inference_mode(False): callers often run under inference_mode, whose tensors cannot take
    # part in autograd; clone() makes the input an ordinary tensor.
    with torch.inference_mode(False), evaluating(model):
        with ActivationCapture(model, layers, detach_first=True) as capture:
            with torch.no_grad():  # the first hook turns grad mode on; see ActivationCapture
                try:
                    logits = model(images.clone())
                except RuntimeError as exc:
                    if "in-place" not in str(exc) and "inplace" not in str(exc):
                        raise
                    raise ValueError(
                        f"the output of one of {', '.join(map(repr, layers))} is modified in place "
                        f"by the next operation (e.g. an in-place ReLU), so it cannot be "
                        f"explained; choose the enclosing block instead"
                    ) from exc
        missing = [name for name in capture.layers if name not in capture.activations]
        if missing:
            raise ValueError(f"layer(s) {', '.join(missing)} did not run in the forward pass")
        capture.check_unmodified()
        target_idx = _resolve_targets(targets, logits)
        with torch.enable_grad():
            score = logits.gather(1, target_idx[:, None]).sum()
        # Images are independent in eval mode, so d(sum of scores)/dA_b = d(score_b)/dA_b.
        acts = [capture.activations[name] for name in capture.layers]
        grads = torch.autograd.grad(score, acts)

    maps: dict[tuple[str, str], CamMap] = {}
    for name, act, grad in zip(capture.layers, acts, grads):
        act = act.detach()
        for method in dict.fromkeys(methods):
            raw = _raw_cam(method, act, grad)
            maps[(name, method)] = _finish(name, method, raw, input_size)
    return CamResult(logits=logits.detach(), targets=tuple(target_idx.tolist()), maps=maps)


def compute_cam(
    model: nn.Module,
    images: Tensor,
    layer: str,
    method: str = "gradcam",
    targets: int | Sequence[int] | Tensor | None = None,
) -> Tensor:
    """(B, H, W) maps in [0, 1] at the input size for one layer and method; see :func:`compute_cams`."""
    return compute_cams(model, images, [layer], [method], targets)[(layer, method)].map


def _resolve_targets(targets: int | Sequence[int] | Tensor | None, logits: Tensor) -> Tensor:
    batch, num_classes = logits.shape
    if targets is None:
        return logits.detach().argmax(dim=1)
    t = torch.as_tensor([targets] * batch if isinstance(targets, int) else targets, dtype=torch.long).flatten()
    if t.numel() != batch:
        raise ValueError(f"got {t.numel()} targets for {batch} images; give one per image")
    if (t < 0).any() or (t >= num_classes).any():
        raise ValueError(f"target classes must be in 0..{num_classes - 1}, got {t.tolist()}")
    return t.to(logits.device)


def _raw_cam(method: str, a: Tensor, g: Tensor) -> Tensor:
    """The (B, h, w) map of ``method`` from activations ``a`` and gradients ``g``, after ReLU."""
    spatial = (2, 3)
    if method == "gradcam":
        weights = g.mean(dim=spatial)
    elif method == "gradcam++":
        g2 = g.pow(2)
        g3 = g2 * g
        sum_a = a.sum(dim=spatial, keepdim=True)
        alpha = g2 / (2 * g2 + sum_a * g3 + _EPS_GRADCAMPP)
        alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))  # 0/0 where nothing flows
        weights = (alpha * g.clamp(min=0)).sum(dim=spatial)
    elif method == "xgradcam":
        weights = (g * a).sum(dim=spatial) / (a.sum(dim=spatial) + _EPS_XGRADCAM)
    elif method == "layercam":
        return (g.clamp(min=0) * a).sum(dim=1).clamp(min=0)
    else:
        raise ValueError(f"unknown CAM method {method!r}")
    return (weights[:, :, None, None] * a).sum(dim=1).clamp(min=0)


def _finish(layer: str, method: str, raw: Tensor, input_size: tuple[int, int]) -> CamMap:
    """Upsample, scale per image to [0, 1], and say whether the map can be trusted."""
    up = F.interpolate(raw[:, None], size=input_size, mode="bilinear", align_corners=False)[:, 0]
    flat = up.flatten(1)
    lo = flat.min(dim=1).values[:, None, None]
    up = up - lo
    hi = up.flatten(1).max(dim=1).values[:, None, None]
    scaled = up / (hi + _EPS_SCALE)
    # A constant raw map (always at 1x1) carries no information, but float rounding in the
    # interpolation leaves ~1e-8 ripples that min-max scaling would blow up into a pattern.
    r = raw.flatten(1)
    constant = (r.amax(dim=1) - r.amin(dim=1)) <= 1e-6 * r.abs().amax(dim=1)
    scaled[constant] = 0.0
    h, w = raw.shape[-2:]
    blank = tuple(bool(b) for b in (raw.flatten(1).amax(dim=1) <= 0).tolist())
    return CamMap(layer, method, scaled, raw, (h, w), blank, _size_warning(layer, h, w, input_size))


def _size_warning(layer: str, h: int, w: int, input_size: tuple[int, int]) -> str | None:
    if h == 1 and w == 1:
        return (
            f"{layer} outputs a single position (1x1) for a {input_size[1]}x{input_size[0]} input, "
            f"so its map has no spatial information at all. Use a larger input or an earlier layer."
        )
    if min(h, w) < _COARSE_SIDE:
        return (
            f"{layer} outputs only {h}x{w} positions for a {input_size[1]}x{input_size[0]} input, "
            f"so its map is very coarse. An earlier layer shows more detail."
        )
    return None

