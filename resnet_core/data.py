"""Image datasets held whole in memory: CIFAR-10 from its Python pickles, or generated shapes.

A split is one uint8 tensor ``(N, 3, 32, 32)`` plus int64 labels, so the trainer can move it to
the device once and augment whole batches there (the airbench approach: no ``DataLoader``, no
per-image PIL work). 50,000 CIFAR images take 150 MB as uint8.

CIFAR-10 is read once per process and shared: :func:`load_cifar10` keeps what it read in a small
thread-safe cache (``CACHE_BYTES``), so every run of every visitor uses the same tensors (read-only:
nothing here or in the trainer writes to them). A subset is read file by file, keeping only its
images, so a 5,000-image run never holds the whole training split (issue #10).
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch

from resnet_core.cifar10 import CLASSES, IMAGE_SIZE
from resnet_core.environment import find_cifar10_dir
from resnet_core.settings import DATA_DIR_ENV, cache_dir, data_folder_policy

__all__ = [
    "DataError",
    "DataSource",
    "ImageDataset",
    "RunData",
    "SYNTHETIC_CLASSES",
    "SYNTHETIC_TEST",
    "SYNTHETIC_TRAIN",
    "check_cifar10",
    "clear_cache",
    "download_cifar10",
    "load_cifar10",
    "load_data",
    "load_splits",
    "make_synthetic",
    "stratified_subset",
    "visitor_cifar10_dir",
]

Split = Literal["train", "test"]
DataSource = Literal["cifar10", "synthetic"]  # what a run trains on

_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_FILES = ("test_batch",)
_IMAGES_PER_FILE = 10_000  # every file of the standard layout holds exactly this many
_PIXELS = 3 * IMAGE_SIZE * IMAGE_SIZE  # 3072: one row of b"data", RGB planes, row-major


class DataError(ValueError):
    """A dataset that is missing or malformed; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class ImageDataset:
    """One split of an image-classification dataset, entirely in memory."""

    images: torch.Tensor  # uint8 (N, 3, 32, 32), RGB
    labels: torch.Tensor  # int64 (N,), indices into ``classes``
    classes: tuple[str, ...]
    synthetic: bool
    source: str  # for people: "CIFAR-10 train split (50,000 images at /path)", "Synthetic shapes (not CIFAR-10; ...)"

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise DataError(f"images must be uint8 (N, 3, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise DataError(
                f"labels must be int64 of shape ({self.images.shape[0]},), got {self.labels.dtype} "
                f"{tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])


# --------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only.

    A pickle can run any code when loaded; the CIFAR-10 batches need nothing beyond numpy's
    array reconstruction, so refusing every other global makes a tampered file fail safely.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of a CIFAR-10 batch")


def _read_pickle(path: Path) -> dict[str, Any]:
    """One batch file as a dict with str keys; DataError if it is not a readable pickled dict."""
    try:
        with open(path, "rb") as f:
            # encoding="bytes" is how the Python-3 CIFAR pickles are meant to be read (dataset page).
            obj = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror}); check its permissions") from exc
    except Exception as exc:  # pickle raises EOFError, UnpicklingError, ValueError, ... for bad bytes
        raise DataError(
            f"{path}: not a readable CIFAR-10 batch (truncated or corrupt pickle: {type(exc).__name__}: {exc}); "
            "delete the directory and download CIFAR-10 again"
        ) from exc
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else str(k)): v for k, v in obj.items()}


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(10000, 3072)`` uint8 and labels ``(10000,)`` int64 of one file, validated."""
    batch = _read_pickle(path)
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise DataError(f"{path}: missing key(s) {missing}; found {sorted(batch)}. Is this a CIFAR-10 batch file?")
    data = batch["data"]
    if not isinstance(data, np.ndarray):
        raise DataError(f"{path}: b'data' should be a numpy array, found {type(data).__name__}")
    if data.dtype != np.uint8:
        raise DataError(f"{path}: b'data' has dtype {data.dtype}, expected uint8 pixels 0..255")
    if data.ndim != 2 or data.shape[1] != _PIXELS:
        raise DataError(f"{path}: b'data' has shape {data.shape}, expected (N, {_PIXELS}) for 32x32 RGB images")
    if data.shape[0] != _IMAGES_PER_FILE:
        raise DataError(f"{path}: holds {data.shape[0]} images, expected {_IMAGES_PER_FILE}; the file is incomplete")
    labels = np.asarray(batch["labels"])
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: expected {data.shape[0]} integer labels, found shape {labels.shape} {labels.dtype}")
    bad = (labels < 0) | (labels >= len(CLASSES))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: label {int(labels[i])} at index {i} is outside 0..{len(CLASSES) - 1}")
    return data, labels.astype(np.int64)


def _resolve_cifar_dir(root: str | Path | None) -> Path:
    if root is None:
        found = find_cifar10_dir()
        if found is None:
            raise DataError(
                f"CIFAR-10 is not on this machine: run `python -m resnet_core prefetch` (downloads 170 MB into "
                f"{cache_dir() / 'data'}), or set ${DATA_DIR_ENV} to a cifar-10-batches-py folder (or its parent), "
                "or train on synthetic data"
            )
        return found
    path = Path(root).expanduser()
    if (path / "cifar-10-batches-py").is_dir():
        path = path / "cifar-10-batches-py"
    if not path.is_dir():
        raise DataError(f"CIFAR-10 directory {path} does not exist; point at the cifar-10-batches-py folder")
    return path


def _read_class_names(path: Path) -> tuple[str, ...]:
    """Class names from ``batches.meta`` when present (checked against the known ten)."""
    meta_file = path / "batches.meta"
    if not meta_file.is_file():
        return CLASSES
    meta = _read_pickle(meta_file)
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta.get("label_names", ()))
    if names != CLASSES:
        raise DataError(f"{meta_file}: label_names {names} are not the CIFAR-10 classes {CLASSES}")
    return names


#: Most bytes of CIFAR-10 the process keeps for reuse: the whole training split (150 MB) and the
#: test split (30 MB), or several subsets. Least recently used entries go first.
CACHE_BYTES = 200 * 2**20

_cache_lock = threading.Lock()  # held while reading, so two runs starting together read once
_cache: OrderedDict[tuple[object, ...], ImageDataset] = OrderedDict()


def clear_cache() -> None:
    """Forget every cached CIFAR-10 split (tests; a server that needs the memory back)."""
    with _cache_lock:
        _cache.clear()


def _nbytes(ds: ImageDataset) -> int:
    return ds.images.numel() * ds.images.element_size() + ds.labels.numel() * ds.labels.element_size()


def _fingerprint(path: Path, files: tuple[str, ...]) -> tuple[object, ...]:
    """Identifies the files' current contents cheaply: a rewritten file is read again."""
    stats = [os.stat(path / name) for name in (*files, "batches.meta") if (path / name).is_file()]
    return tuple((st.st_size, st.st_mtime_ns, st.st_ino) for st in stats)


def load_cifar10(
    root: str | Path | None = None, *, split: Split = "train", subset: int | None = None, size: int | None = None
) -> ImageDataset:
    """Read one CIFAR-10 split from the standard ``cifar-10-batches-py`` layout, validated.

    ``root`` is that directory or its parent; ``None`` looks where :func:`find_cifar10_dir`
    does. ``subset``: only the class-balanced first ``subset`` images (:func:`stratified_subset`),
    read without holding the rest. ``size``: the images at ``size`` x ``size`` pixels
    (:func:`downsample`), shrunk file by file, so the 32x32 split is never held whole (the race's
    16x16 split is 38 MB, the full one 150 MB). Results are cached for the process and shared between callers:
    treat the tensors as read-only. We read the pickles ourselves rather than through
    ``torchvision.datasets.CIFAR10`` because torchvision insists on the official files' md5s,
    which re-encoded copies (like the offline one in ``shared/data``) do not have. Every pickle
    goes through the restricted unpickler. Raises :class:`DataError` naming the file.
    """
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use 'train' or 'test'")
    if subset is not None and subset < 1:
        raise DataError(f"subset size must be at least 1, got {subset}")
    path = _resolve_cifar_dir(root)
    files = _TRAIN_FILES if split == "train" else _TEST_FILES
    missing = [name for name in files if not (path / name).is_file()]
    if missing:
        raise DataError(
            f"{path}: missing {', '.join(missing)}; a complete cifar-10-batches-py has data_batch_1..5 and "
            "test_batch. Download CIFAR-10 again"
        )
    if subset is not None and subset >= len(files) * _IMAGES_PER_FILE:
        subset = None  # all of it: share the whole split's cache entry
    if size == IMAGE_SIZE:
        size = None  # the images as they are: share that cache entry
    if size is not None:
        _check_downsample(IMAGE_SIZE, size)  # before any file is read
    key = (str(path.resolve()), split, subset, size, _fingerprint(path, files))
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
        dataset = _read_split(path, split, files, subset, size)
        _cache[key] = dataset
        while sum(_nbytes(d) for d in _cache.values()) > CACHE_BYTES and len(_cache) > 1:
            _cache.popitem(last=False)
        return dataset


def _read_split(
    path: Path, split: Split, files: tuple[str, ...], subset: int | None, size: int | None = None
) -> ImageDataset:
    """Read ``files`` into one uint8 tensor, or only the ``subset`` a stratified subset keeps; at ``size``."""
    classes = _read_class_names(path)
    source = f"CIFAR-10 {split} split ({len(files) * _IMAGES_PER_FILE:,} images at {path})"
    side = size or IMAGE_SIZE
    shrunk = f", downsampled to {side}x{side}" if size else ""

    def shrink(data: np.ndarray) -> torch.Tensor:
        return _pool(torch.from_numpy(data).reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE), side)

    if subset is None:
        # Filled file by file: the peak is the split plus one file, not the split twice.
        images = torch.empty((len(files) * _IMAGES_PER_FILE, 3, side, side), dtype=torch.uint8)
        labels = torch.empty(len(files) * _IMAGES_PER_FILE, dtype=torch.int64)
        for i, name in enumerate(files):
            data, batch_labels = _read_batch(path / name)
            rows = slice(i * _IMAGES_PER_FILE, (i + 1) * _IMAGES_PER_FILE)
            images[rows] = shrink(data)
            labels[rows] = torch.from_numpy(batch_labels)
            del data, batch_labels
        return ImageDataset(images, labels, classes, False, source + shrunk)

    # The first images of each class in file order, as stratified_subset picks them from the whole split.
    k = len(classes)
    quota = np.array([subset // k + (1 if c < subset % k else 0) for c in range(k)])
    taken = np.zeros(k, dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for name in files:
        if (taken >= quota).all():
            break
        data, batch_labels = _read_batch(path / name)
        keep = np.zeros(len(batch_labels), dtype=bool)
        for c in range(k):
            idx = np.flatnonzero(batch_labels == c)[: max(0, quota[c] - taken[c])]
            keep[idx] = True
            taken[c] += len(idx)
        parts.append((shrink(data[keep]), batch_labels[keep]))
        del data, batch_labels
    if (taken < quota).any():  # a class ran short: stratified_subset's fill-up needs the whole split
        return stratified_subset(_read_split(path, split, files, None, size), subset)
    images = torch.cat([p[0] for p in parts])
    labels = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    return ImageDataset(images, labels, classes, False, f"{source}{shrunk}, subset of {subset:,}")


def check_cifar10(root: str | Path | None = None) -> Path:
    """The CIFAR-10 folder at ``root`` (or where :func:`find_cifar10_dir` looks), once checked.

    Every file must be there and the test batch must read and validate; nothing is cached, so
    a page can ask this on every visit without keeping the 30 MB test split. Raises DataError.
    """
    path = _resolve_cifar_dir(root)
    missing = [name for name in (*_TRAIN_FILES, *_TEST_FILES) if not (path / name).is_file()]
    if missing:
        raise DataError(
            f"{path}: missing {', '.join(missing)}; a complete cifar-10-batches-py has data_batch_1..5 and "
            "test_batch. Download CIFAR-10 again"
        )
    _read_class_names(path)
    _read_batch(path / _TEST_FILES[0])
    return path


def visitor_cifar10_dir(text: str, *, local: bool = False) -> Path:
    """The CIFAR-10 folder a visitor typed, if this server lets visitors read it and it holds a copy.

    ``$RESNET_DATA_FOLDERS`` decides which folders may be read (see resnet_core.settings), with
    ``local`` (the app is served on this machine only) deciding its default "auto". The
    :class:`DataError` raised says the same for a folder that does not exist, one that cannot be
    read and one without a valid copy, so the box cannot be used to probe the server's files.
    """
    policy = data_folder_policy(local)
    if policy.mode == "off":
        raise DataError(
            "This server does not read folders typed here. It uses the CIFAR-10 copy it was set up "
            "with; without one, train on synthetic shapes."
        )
    try:
        path = Path(os.path.realpath(Path(text.strip()).expanduser()))  # follows symlinks and ".."
    except (ValueError, OSError, RuntimeError):  # NUL bytes, symlink loops, ...
        path = None
    if path is not None and not policy.allows(path):
        roots = ", ".join(f"`{r}`" for r in policy.roots)
        raise DataError(f"This server reads CIFAR-10 only from folders inside {roots}.")
    generic = DataError(
        "No readable CIFAR-10 copy there. Give the cifar-10-batches-py folder (or the folder that "
        "holds it), with data_batch_1 to data_batch_5 and test_batch from the Python version of CIFAR-10."
    )
    if path is None:
        raise generic
    try:
        return check_cifar10(path)
    except (DataError, OSError, ValueError):
        raise generic from None


def download_cifar10(progress: bool = True) -> Path:
    """Download CIFAR-10 (170 MB) into ``cache_dir()/data`` with torchvision; return its folder.

    Raises :class:`DataError` with what to do instead when the machine is offline.
    """
    import urllib.error

    from torchvision.datasets import CIFAR10  # torchvision is heavy to import; only needed here

    root = cache_dir() / "data"
    root.mkdir(parents=True, exist_ok=True)
    try:
        if progress:
            CIFAR10(str(root), train=True, download=True)
        else:  # torchvision prints its progress bar unconditionally; keep quiet callers quiet
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                CIFAR10(str(root), train=True, download=True)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        raise DataError(
            f"could not download CIFAR-10 into {root} ({type(exc).__name__}: {exc}). This machine may be offline: "
            f"copy a cifar-10-batches-py folder here by hand and set ${DATA_DIR_ENV} to it, or train on synthetic data"
        ) from exc
    return root / "cifar-10-batches-py"


# --------------------------------------------------------------------------------------------
# Synthetic shapes
# --------------------------------------------------------------------------------------------

_SHAPES = ("circle", "square", "triangle", "cross", "ring")
_COLOURS = {"red": (210, 50, 50), "blue": (50, 80, 210)}  # RGB, before per-image jitter
#: Ten classes, each a colour and a shape, so the task needs both colour and spatial features.
SYNTHETIC_CLASSES: tuple[str, ...] = tuple(f"{c} {s}" for s in _SHAPES for c in _COLOURS)


def _shape_masks(kind: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Boolean masks ``(N, 32, 32)``: shape ``kind[i]`` (index into _SHAPES) at centre/radius i."""
    coords = torch.arange(IMAGE_SIZE, dtype=torch.float32)
    dx = coords.view(1, 1, -1) - cx.view(-1, 1, 1)
    dy = coords.view(1, -1, 1) - cy.view(-1, 1, 1)
    r = r.view(-1, 1, 1)
    dist = (dx**2 + dy**2).sqrt()
    masks = torch.stack(
        [
            dist <= r,  # circle
            (dx.abs() <= 0.8 * r) & (dy.abs() <= 0.8 * r),  # square
            (dy <= 0.8 * r) & (dx.abs() <= (dy + r) * 0.55),  # triangle, apex up
            ((dx.abs() <= 0.3 * r) & (dy.abs() <= r)) | ((dy.abs() <= 0.3 * r) & (dx.abs() <= r)),  # cross
            (dist <= r) & (dist >= 0.55 * r),  # ring
        ]
    )  # (shapes, N, 32, 32)
    return masks[kind, torch.arange(kind.shape[0])]


def make_synthetic(n: int, *, split: str = "train", seed: int = 0) -> ImageDataset:
    """``n`` generated 32x32 images of ten classes ("red circle", "blue square", ...).

    Position, size, colour shade and a noisy background vary per image, so a network has
    something to learn but a small one learns it in a few dozen steps. Deterministic in
    ``(n, split, seed)``; ``"train"`` and ``"test"`` draw different images. Classes are balanced.
    """
    if n < 1:
        raise DataError(f"synthetic dataset size must be at least 1, got {n}")
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use 'train' or 'test'")
    g = torch.Generator().manual_seed(seed * 2 + (0 if split == "train" else 1))
    labels = torch.arange(n) % len(SYNTHETIC_CLASSES)
    labels = labels[torch.randperm(n, generator=g)]
    shape_idx, colour_idx = labels // len(_COLOURS), labels % len(_COLOURS)

    r = 6 + 5 * torch.rand(n, generator=g)  # radius, pixels
    cx = r + (IMAGE_SIZE - 1 - 2 * r) * torch.rand(n, generator=g)  # keep the shape inside
    cy = r + (IMAGE_SIZE - 1 - 2 * r) * torch.rand(n, generator=g)
    masks = _shape_masks(shape_idx, cx, cy, r).unsqueeze(1)  # (N, 1, 32, 32)

    base = torch.tensor(list(_COLOURS.values()), dtype=torch.float32)[colour_idx]  # (N, 3)
    fg = (base + 30 * torch.randn(n, 3, generator=g)).view(n, 3, 1, 1)
    bg_level = 60 + 120 * torch.rand(n, 1, 1, 1, generator=g)  # grey background, dark to light
    bg = bg_level + 25 * torch.randn(n, 3, IMAGE_SIZE, IMAGE_SIZE, generator=g)
    images = torch.where(masks, fg.expand(-1, -1, IMAGE_SIZE, IMAGE_SIZE), bg)
    images = images.round().clamp(0, 255).to(torch.uint8)
    return ImageDataset(
        images=images,
        labels=labels.to(torch.int64),
        classes=SYNTHETIC_CLASSES,
        synthetic=True,
        source=f"Synthetic shapes (not CIFAR-10; {n:,} {split} images, seed {seed})",
    )


# --------------------------------------------------------------------------------------------
# Subsets and the trainer's entry point
# --------------------------------------------------------------------------------------------


def stratified_subset(dataset: ImageDataset, n: int | None) -> ImageDataset:
    """The first images of each class, ``n`` in total, classes as balanced as ``n`` allows.

    Deterministic (it keeps dataset order), so a subset is the same on every run and machine.
    """
    if n is None or n >= len(dataset):
        return dataset
    if n < 1:
        raise DataError(f"subset size must be at least 1, got {n}")
    k = len(dataset.classes)
    per_class = [n // k + (1 if c < n % k else 0) for c in range(k)]
    chosen = []
    for c, m in enumerate(per_class):
        idx = torch.nonzero(dataset.labels == c).flatten()[:m]
        chosen.append(idx)
    index = torch.cat(chosen).sort().values
    if index.numel() < n:  # a class ran short: fill up with the first images not yet taken
        taken = torch.zeros(len(dataset), dtype=torch.bool)
        taken[index] = True
        extra = torch.nonzero(~taken).flatten()[: n - index.numel()]
        index = torch.cat([index, extra]).sort().values
    return ImageDataset(
        images=dataset.images[index],
        labels=dataset.labels[index],
        classes=dataset.classes,
        synthetic=dataset.synthetic,
        source=f"{dataset.source}, subset of {n:,}",
    )


SYNTHETIC_TRAIN = 5_000  # images when no subset is given: a few seconds of CPU training
SYNTHETIC_TEST = 1_000


def load_splits(
    data: DataSource,
    data_dir: str | None = None,
    *,
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
    size: int | None = None,
) -> tuple[ImageDataset, ImageDataset]:
    """``(train, test)``: ``data`` ("cifar10" or "synthetic") cut to its subsets, at ``size`` pixels.

    The one loader of every training loop. Synthetic data has no natural size, so it gets
    :data:`SYNTHETIC_TRAIN` and :data:`SYNTHETIC_TEST` images where no subset is given. CIFAR-10
    is read at ``size`` file by file (:func:`load_cifar10`): the 32x32 split is never held.
    """
    if data == "synthetic":
        train = make_synthetic(train_subset or SYNTHETIC_TRAIN, split="train", seed=seed)
        test = make_synthetic(test_subset or SYNTHETIC_TEST, split="test", seed=seed)
        if size is None:
            return train, test
        return downsample(train, size), downsample(test, size)
    if data != "cifar10":
        raise DataError(f"unknown data {data!r}; use 'cifar10' or 'synthetic'")
    train = load_cifar10(data_dir, split="train", subset=train_subset, size=size)
    test = load_cifar10(data_dir, split="test", subset=test_subset, size=size)
    return train, test


class RunData(Protocol):
    """What :func:`load_data` reads off a run's config (:class:`resnet_core.train.TrainConfig`)."""

    data: str
    data_dir: str | None
    subset: int | None
    test_subset: int | None
    seed: int


def load_data(config: RunData) -> tuple[ImageDataset, ImageDataset]:
    """``(train, test)`` for a run: ``config.data`` from ``config.data_dir``, cut to its subsets."""
    return load_splits(
        config.data, config.data_dir, train_subset=config.subset, test_subset=config.test_subset, seed=config.seed
    )


def downsample(dataset: ImageDataset, size: int) -> ImageDataset:
    """``dataset`` at ``size`` x ``size`` pixels by average pooling (``size`` must divide the side).

    Averaging whole 2x2 (or 4x4) blocks is what a camera with bigger pixels would record, so the
    images stay natural, just coarser; the degradation race's quick scale trains on 16x16 CIFAR-10.
    """
    side = dataset.images.shape[-1]
    if size == side:
        return dataset
    _check_downsample(side, size)
    return ImageDataset(
        images=_pool(dataset.images, size),
        labels=dataset.labels,
        classes=dataset.classes,
        synthetic=dataset.synthetic,
        source=f"{dataset.source}, downsampled to {size}x{size}",
    )


def _check_downsample(side: int, size: int) -> None:
    """Raise DataError unless ``side`` x ``side`` images can be averaged down to ``size`` x ``size``."""
    if size < 1 or side % size:
        raise DataError(f"cannot downsample {side}x{side} images to {size}x{size}: the size must divide {side}")


def _pool(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``(N, 3, S, S)`` averaged down to ``size`` x ``size`` (``size`` divides ``S``), rounded."""
    k = images.shape[-1] // size
    if k == 1:
        return images
    chunks = [
        torch.nn.functional.avg_pool2d(part.float(), k).round_().to(torch.uint8)
        for part in images.split(2_000)  # bounded float memory: 2,000 images (25 MB) at a time
    ]
    return torch.cat(chunks)
