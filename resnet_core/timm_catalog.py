"""The curated timm ResNets (issue 22): what they are, and which are in the Hugging Face cache.

timm (pytorch-image-models) is where the strongest published ResNet weights live, e.g. "ResNet
strikes back" (Wightman et al., 2021). The app offers a short list of them beside torchvision's,
as ``timm:<name>`` sources. This module is metadata and file look-ups only: it imports neither
torch nor timm (the pickers and ``--backbone`` choices read it on light paths), and
huggingface_hub only inside the functions that look at the cache. Loading is
:mod:`resnet_core.timm_backbones`.

The weights live in the Hugging Face Hub cache (``$HF_HUB_CACHE``, default ``$HF_HOME/hub``,
default ``~/.cache/huggingface/hub``), where ``timm.create_model(name, pretrained=True)`` puts
them, under ``models--timm--<name>/snapshots/<commit>/model.safetensors``. A cache filled by
timm on another machine and copied here serves the app offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TIMM_MODELS",
    "TIMM_PREFIX",
    "TimmModel",
    "cached_timm_names",
    "cached_weights_file",
    "get_timm_model",
    "hub_cache_dir",
    "is_timm_key",
    "timm_cache_report",
    "timm_names",
    "timm_prefetch_hint",
]

#: Model-source and ``--backbone`` keys of timm models start with this, e.g. "timm:resnet50.a1_in1k".
TIMM_PREFIX = "timm:"

#: What timm's hub loader looks for first (timm.models._hub.load_state_dict_from_hf prefers the
#: safetensors file, then falls back to pytorch_model.bin).
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")

# Source of every top-1 below: pytorch-image-models results/results-imagenet.csv, the row at
# img_size 224 (the input size of the model's pretrained_cfg, which is what the app feeds it),
# at commit 4e5207c7bb6592474ca56e28b2cf85be8f1a550f of github.com/huggingface/pytorch-image-models.
# timm also evaluates the "a1" and "ra2" weights at 288 px (test_input_size), a point or so higher.
# Licences: the pretrained_cfg of each model in timm 1.0.31 (models/resnet.py, _cfg: 'apache-2.0'),
# as on the Hugging Face model cards (huggingface.co/timm/<name>); tests check they agree.


@dataclass(frozen=True)
class TimmModel:
    """One curated timm model: its timm name and what the pickers say about it."""

    name: str  # timm's "architecture.tag", also the Hub repo "timm/<name>"
    title: str  # for people, e.g. "ResNet-50 (timm, ResNet strikes back A1)"
    imagenet_top1: float  # %, timm's published ImageNet-1k validation top-1 at 224 px
    licence: str  # of the weights, as timm's pretrained_cfg gives it
    architecture_note: str = ""

    @property
    def key(self) -> str:
        """The model-source key, e.g. ``"timm:resnet18.a1_in1k"``."""
        return TIMM_PREFIX + self.name

    @property
    def repo_id(self) -> str:
        """The Hugging Face Hub repository timm loads the weights from."""
        return f"timm/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.title}, ImageNet top-1 {self.imagenet_top1:.1f} %"


TIMM_MODELS: tuple[TimmModel, ...] = (
    # results-imagenet.csv: "resnet18.a1_in1k,224,71.504,..."
    TimmModel("resnet18.a1_in1k", "ResNet-18 (timm, ResNet strikes back A1)", 71.504, "apache-2.0"),
    # results-imagenet.csv: "resnet34.a1_in1k,224,76.420,..."
    TimmModel("resnet34.a1_in1k", "ResNet-34 (timm, ResNet strikes back A1)", 76.420, "apache-2.0"),
    # results-imagenet.csv: "resnet50.a1_in1k,224,80.382,..." (torchvision's V1: 76.1 %)
    TimmModel("resnet50.a1_in1k", "ResNet-50 (timm, ResNet strikes back A1)", 80.382, "apache-2.0"),
    # results-imagenet.csv: "resnet50d.ra2_in1k,224,80.546,..."
    TimmModel(
        "resnet50d.ra2_in1k", "ResNet-50-D (timm, RandAugment recipe)", 80.546, "apache-2.0",
        architecture_note="ResNet-D (He et al., 'Bag of Tricks', 2019): a three-conv stem and "
        "average-pool shortcuts, so its conv1 is a Sequential",
    ),
)

_BY_NAME = {m.name: m for m in TIMM_MODELS}


def timm_names() -> list[str]:
    """The curated timm model names, shallow to deep."""
    return list(_BY_NAME)


def is_timm_key(key: str) -> bool:
    """True for a ``timm:<name>`` source or backbone key."""
    return key.startswith(TIMM_PREFIX)


def get_timm_model(name: str) -> TimmModel:
    """The curated entry for ``name`` (with or without the ``timm:`` prefix); ``ValueError`` lists them."""
    bare = name[len(TIMM_PREFIX):] if is_timm_key(name) else name
    try:
        return _BY_NAME[bare]
    except KeyError:
        raise ValueError(f"unknown timm model {name!r}; choose one of {', '.join(TIMM_PREFIX + n for n in _BY_NAME)}") from None


def hub_cache_dir() -> Path:
    """The Hugging Face Hub cache as huggingface_hub resolves it now (``$HF_HUB_CACHE``, ``$HF_HOME/hub``)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_weights_file(name: str) -> Path | None:
    """The cached weights of ``name`` (resolved through ``refs/main`` as the hub client does), or None."""
    from huggingface_hub import try_to_load_from_cache

    model = get_timm_model(name)
    for filename in WEIGHT_FILES:
        path = try_to_load_from_cache(model.repo_id, filename, cache_dir=hub_cache_dir())
        if isinstance(path, str) and Path(path).is_file():  # not None, not _CACHED_NO_EXIST
            return Path(path)
    return None


def cached_timm_names() -> list[str]:
    """The curated timm models whose weights are in the cache, so they load without a network."""
    return [n for n in _BY_NAME if cached_weights_file(n) is not None]


def timm_prefetch_hint(name: str) -> str:
    """How to get the weights of ``name`` onto this machine."""
    model = get_timm_model(name)
    return (
        f"Run `python -m resnet_core prefetch --timm {model.name}` on a machine with internet (it calls "
        f"timm.create_model('{model.name}', pretrained=True)), then copy its Hugging Face cache folder "
        f"models--timm--{model.name} into {hub_cache_dir()} on this one (or set HF_HOME / HF_HUB_CACHE)."
    )


def timm_cache_report() -> dict[str, str]:
    """Every curated model: the cached weights file, or how to fetch it."""
    report: dict[str, str] = {}
    for name in _BY_NAME:
        path = cached_weights_file(name)
        report[name] = f"cached: {path}" if path else "not cached. " + timm_prefetch_hint(name)
    return report
