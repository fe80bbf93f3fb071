"""ImageNet-pretrained ResNets: torchvision's published weights loaded into our own models.

Our ImageNet variants share torchvision's ``state_dict`` keys exactly, so torchvision's weights
load into :func:`resnet_core.models.create_model` with ``strict=True``. The files live in torch's
hub cache (``torch.hub.get_dir()/checkpoints``, movable with ``$TORCH_HOME``) under the names
torchvision itself uses, so a cache filled by torchvision, by ``python -m resnet_core prefetch``
or by this module serves all three. Nothing here downloads unless asked to.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models import WeightsEnum, get_model_weights

from resnet_core.models import create_model, get_spec, list_models
from resnet_core.weights_file import read_tensors

__all__ = [
    "WEIGHTS_VARIANT",
    "WeightsUnavailableError",
    "download_weights",
    "imagenet_weights",
    "is_cached",
    "load_pretrained",
    "prefetch_hint",
    "pretrained_names",
    "weights_path",
    "weights_variants",
]

#: torchvision's original recipe for every depth (top-1 69.8 % for ResNet-18 .. 78.3 % for
#: ResNet-152), the closest to the paper's training. ResNet-50's DEFAULT is the later V2 recipe,
#: which wants a 232-pixel resize; one preprocessing for all depths keeps the comparison fair.
WEIGHTS_VARIANT = "IMAGENET1K_V1"

#: ``on_progress(bytes_done, bytes_total_or_None)``, called as a download proceeds.
ProgressCallback = Callable[[int, "int | None"], None]

_CHUNK = 1 << 20  # bytes per read while downloading
_TIMEOUT = 30  # seconds without data before a download is given up


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights that are not in the cache and cannot be fetched or read now."""


def pretrained_names() -> list[str]:
    """Registered variants that have torchvision ImageNet weights, shallow to deep."""
    return [n for n in list_models("imagenet") if get_spec(n).torchvision_name]


def weights_variants(name: str) -> list[str]:
    """torchvision's ImageNet weight sets for ``name``, e.g. ``["IMAGENET1K_V1", "IMAGENET1K_V2"]``."""
    spec = get_spec(name)  # the registry lists them (ModelSpec.weights), one place for that fact
    if spec.torchvision_name is None:
        raise ValueError(f"{name} has no ImageNet weights; choose one of {', '.join(pretrained_names())}")
    return list(spec.weights)


def imagenet_weights(name: str, variant: str = WEIGHTS_VARIANT) -> WeightsEnum:
    """torchvision's ``WeightsEnum`` member for variant ``name`` (e.g. ``ResNet50_Weights.IMAGENET1K_V1``).

    ``variant`` picks another weight set where torchvision has one (``IMAGENET1K_V2`` for
    ResNet-50/101/152, used by fine-tuning, issue #9); a ``ValueError`` lists those that exist.
    """
    available = weights_variants(name)
    if variant not in available:
        raise ValueError(f"torchvision has no {variant} weights for {name}; it has {', '.join(available)}")
    return get_model_weights(get_spec(name).torchvision_name)[variant]  # type: ignore[arg-type]


def _weights_url(name: str, variant: str = WEIGHTS_VARIANT) -> str:
    return imagenet_weights(name, variant).url


def _url(name: str, variant: str) -> str:
    # Tests replace _weights_url(name) to serve files locally; keep its one-argument form for V1.
    return _weights_url(name) if variant == WEIGHTS_VARIANT else _weights_url(name, variant)


def weights_path(name: str, variant: str = WEIGHTS_VARIANT) -> Path:
    """Where torch's hub cache keeps (or will keep) the weights of ``name``."""
    filename = os.path.basename(urlparse(_url(name, variant)).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def is_cached(name: str, variant: str = WEIGHTS_VARIANT) -> bool:
    """True if the weights of ``name`` are in the cache, so loading needs no network."""
    return weights_path(name, variant).is_file()


def prefetch_hint(name: str, variant: str = WEIGHTS_VARIANT) -> str:
    """The command that puts the weights of ``name`` in the cache, and where the file goes."""
    path = weights_path(name, variant)
    if variant == WEIGHTS_VARIANT:
        command = f"python -m resnet_core prefetch --weights {name}"
    else:  # the prefetch command fetches the V1 set; torchvision itself fetches any other
        command = f"python -c \"import torchvision; torchvision.models.get_model('{name}', weights='{variant}')\""
    return f"Run `{command}` on a machine with internet, then copy {path.name} into {path.parent} on this one."


def download_weights(
    name: str, progress: bool = True, *, on_progress: ProgressCallback | None = None, variant: str = WEIGHTS_VARIANT
) -> Path:
    """Put the weights of ``name`` in the cache (downloading only if missing); return the file.

    ``progress`` prints a progress line to stderr; ``on_progress`` receives bytes done and the
    total for a progress bar. The file is checked against the SHA-256 prefix in its name, written
    to a temporary file and moved into place, so an interrupted download never looks cached.
    Raises :class:`WeightsUnavailableError` if the download fails.
    """
    dest = weights_path(name, variant)
    if dest.is_file():
        return dest
    try:
        _download(_url(name, variant), dest, progress=progress, on_progress=on_progress)
    except WeightsUnavailableError:
        raise
    except (OSError, urllib.error.URLError) as exc:  # no network, DNS, timeout, disk full
        reason = getattr(exc, "reason", None) or exc
        raise WeightsUnavailableError(
            f"ImageNet weights for {name} are not cached and could not be downloaded ({reason}). "
            + prefetch_hint(name, variant)
        ) from exc
    return dest


def _download(url: str, dest: Path, *, progress: bool, on_progress: ProgressCallback | None) -> None:
    """Stream ``url`` to ``dest`` via a temporary file, verifying the hash prefix in its name."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    match = torch.hub.HASH_REGEX.search(dest.name)  # "resnet18-f37072fd.pth" -> "f37072fd"
    expected = match.group(1) if match else None
    sha = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".partial", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response, os.fdopen(fd, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            done = 0
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, total)
                if progress:
                    of = f" of {total / 1e6:.1f}" if total else ""
                    print(f"\r{dest.name}: {done / 1e6:.1f}{of} MB", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        if expected and not sha.hexdigest().startswith(expected):
            raise WeightsUnavailableError(
                f"the download of {dest.name} is corrupt (SHA-256 {sha.hexdigest()[:8]}..., expected "
                f"{expected}...). Try again, or fetch it with `python -m resnet_core prefetch`."
            )
        os.replace(tmp, dest)  # atomic: a reader sees no file or the whole file
    finally:
        tmp.unlink(missing_ok=True)


def load_pretrained(
    name: str,
    *,
    download: bool = False,
    on_progress: ProgressCallback | None = None,
    variant: str = WEIGHTS_VARIANT,
) -> nn.Module:
    """Our ``create_model(name)`` with torchvision's ImageNet weights, in eval mode on the CPU.

    With ``download=False`` (what tests and offline demos want) missing weights raise
    :class:`WeightsUnavailableError` naming the prefetch command; with ``download=True`` they
    are fetched first, reporting to ``on_progress``.
    """
    path = weights_path(name, variant)
    if not path.is_file():
        if not download:
            raise WeightsUnavailableError(
                f"ImageNet weights for {name} ({variant}) are not downloaded yet. " + prefetch_hint(name, variant)
            )
        download_weights(name, progress=False, on_progress=on_progress, variant=variant)
    state = read_tensors(path, lambda error: WeightsUnavailableError(
        f"the cached weights file {path} cannot be read ({error}); delete it and "
        f"run `python -m resnet_core prefetch --weights {name}` again."
    ))
    model = create_model(name)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsUnavailableError(
            f"the cached file {path} does not hold {name} weights ({str(exc).splitlines()[0]}); delete it "
            f"and prefetch again."
        ) from exc
    return model.eval()
