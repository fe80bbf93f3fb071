"""The user's own pictures, grouped by class, for fine-tuning (issue #9).

Three ways in, one :class:`PictureSet` out:

* :func:`read_folder`: an ImageFolder layout, one sub-folder per class (torchvision's convention);
* :func:`read_zip`: a ``.zip`` of such a layout, read **in memory** with :mod:`zipfile` and never
  extracted, so no entry name can write anywhere; unsafe names (``..``, absolute paths) are
  refused all the same, since they mark an archive nobody should trust;
* :class:`PictureCollection`: pictures added one upload at a time, as the Fine-tune page does.

Every file goes through :func:`resnet_core.images.load_image`. Files that are not readable
pictures are **skipped and counted** (:attr:`PictureSet.skipped` says which and why); refusing a
whole folder for one stray ``notes.txt`` would help nobody. What cannot be trusted is refused
with a :class:`DatasetError` before anything is read: more files or bytes than :class:`Limits`
allows, checked from the zip's directory or the file system.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Iterable, Mapping, Sequence, Union

import torch
from PIL import Image

from resnet_core.images import ImageError, load_image
from resnet_core.models import get_spec, list_models

__all__ = [
    "DEFAULT_LIMITS",
    "DatasetError",
    "Limits",
    "PictureCollection",
    "PictureSet",
    "Skipped",
    "UserPicture",
    "clean_class_name",
    "read_folder",
    "read_pictures",
    "read_zip",
    "stratified_split",
]

ZipSource = Union[str, Path, bytes, IO[bytes]]

MIN_CLASSES = 2
#: One picture to learn from and one to check on: fewer and the held-out accuracy means nothing.
MIN_PER_CLASS = 2
MAX_NAME_CHARS = 60


class DatasetError(ValueError):
    """Pictures that cannot be used as a dataset; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Caps that keep a stranger's upload from exhausting the server. All are checked up front.

    The defaults fit Streamlit Community Cloud: 1,000 pictures kept at 224 px on the shorter side
    are ~200 MB of RAM.
    """

    max_files: int = 2_000  # entries of one zip or folder, pictures or not
    max_pictures: int = 1_000  # readable pictures in one dataset, all classes together
    max_total_bytes: int = 256 * 2**20  # uncompressed bytes of one zip or folder
    max_file_bytes: int = 32 * 2**20  # bytes of one picture file
    max_classes: int = 50


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class UserPicture:
    """One decoded picture, shrunk to what the largest backbone sees."""

    name: str  # the file name as given, for captions and messages
    image: Image.Image  # RGB; shorter side at most store_side() pixels
    digest: str  # SHA-256 of the file's bytes (16 hex digits): the picture's identity


@dataclass(frozen=True)
class Skipped:
    """A file that was not used, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class PictureSet:
    """A validated dataset: at least two classes, each with at least two readable pictures."""

    classes: tuple[str, ...]
    pictures: tuple[tuple[UserPicture, ...], ...]  # per class, in class order
    skipped: tuple[Skipped, ...] = ()

    def __post_init__(self) -> None:
        _validate(self.classes, self.pictures)

    def items(self) -> list[tuple[UserPicture, int]]:
        """Every picture with its class index, class by class."""
        return [(pic, label) for label, pics in enumerate(self.pictures) for pic in pics]

    def counts(self) -> dict[str, int]:
        return {name: len(pics) for name, pics in zip(self.classes, self.pictures)}

    def __len__(self) -> int:
        return sum(len(p) for p in self.pictures)


def store_side() -> int:
    """Shorter side pictures are kept at: the largest input any registered backbone takes.

    Resizing once on the way in (antialiased, as the classifier's preprocessing does) keeps
    1,000 phone photos at ~200 MB instead of ~36 GB, and changes nothing the models see.
    """
    return max(get_spec(name).input_size for name in list_models())


def clean_class_name(name: str, existing: Iterable[str] = ()) -> str:
    """``name`` trimmed, or a :class:`DatasetError` if it is empty, too long or already taken.

    Names are compared case-insensitively: "Cat" and "cat" would be two classes a person cannot
    tell apart in a confusion matrix.
    """
    cleaned = " ".join(unicodedata.normalize("NFC", str(name)).split())
    if not cleaned:
        raise DatasetError("A class needs a name: type one (e.g. 'mug') before adding pictures.")
    if len(cleaned) > MAX_NAME_CHARS:
        raise DatasetError(f"The class name '{cleaned[:20]}...' is longer than {MAX_NAME_CHARS} characters.")
    if not cleaned.isprintable():
        raise DatasetError(f"The class name {cleaned!r} contains control characters.")
    taken = {e.casefold(): e for e in existing}
    if cleaned.casefold() in taken:
        raise DatasetError(
            f"There is already a class called '{taken[cleaned.casefold()]}'; class names must differ "
            "(ignoring upper/lower case)."
        )
    return cleaned


def _validate(classes: Sequence[str], pictures: Sequence[Sequence[UserPicture]]) -> None:
    if len(classes) != len(pictures):
        raise DatasetError(f"{len(classes)} class names for {len(pictures)} groups of pictures")
    seen: list[str] = []
    for name in classes:
        if clean_class_name(name, seen) != name:
            raise DatasetError(f"The class name {name!r} has leading, trailing or repeated spaces.")
        seen.append(name)
    if len(classes) < MIN_CLASSES:
        found = f"only '{classes[0]}'" if classes else "none"
        raise DatasetError(
            f"Fine-tuning needs at least {MIN_CLASSES} classes to tell apart; found {found}. "
            "Add a second class (a second folder in a zip or folder)."
        )
    short = [f"'{n}' ({len(p)})" for n, p in zip(classes, pictures) if len(p) < MIN_PER_CLASS]
    if short:
        raise DatasetError(
            f"Every class needs at least {MIN_PER_CLASS} readable pictures (one to train on, one to "
            f"check on); these have fewer: {', '.join(short)}."
        )


# --- Decoding -----------------------------------------------------------------------------------


def _decode(name: str, data: bytes, limits: Limits) -> UserPicture:
    """Bytes to a :class:`UserPicture`; :class:`ImageError` if it is not a usable picture."""
    if len(data) > limits.max_file_bytes:
        raise ImageError(f"larger than the {_size(limits.max_file_bytes)} limit per picture")
    image = load_image(data)
    side = store_side()
    w, h = image.size
    if min(w, h) > side:
        scale = side / min(w, h)
        image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR,
                             reducing_gap=None)
    digest = hashlib.sha256(data).hexdigest()[:16]
    return UserPicture(name=name, image=image, digest=digest)


def _size(n: int) -> str:
    """Bytes for people: "256 MB", "1.5 MB", "900 bytes"."""
    if n >= 10 * 2**20:
        return f"{n / 2**20:,.0f} MB"
    return f"{n / 2**20:.1f} MB" if n >= 2**20 // 10 else f"{n:,} bytes"


def _first_sentence(exc: Exception) -> str:
    text = str(exc).strip()
    return text.split(". ")[0].rstrip(".") if text else type(exc).__name__


# --- Pictures added one at a time ---------------------------------------------------------------


@dataclass
class AddReport:
    """What one upload (files or a zip) did to a :class:`PictureCollection`."""

    added: int = 0
    duplicates: int = 0  # the same bytes were already in that class
    skipped: list[Skipped] = field(default_factory=list)


class PictureCollection:
    """Classes and their pictures as a user builds them, before they become a :class:`PictureSet`.

    Plain Python state with no UI in it: the Fine-tune page keeps one in ``st.session_state``,
    so pictures survive reruns. Every method validates and raises :class:`DatasetError` (caps,
    names) or :class:`ImageError` (one unusable picture) with a message for the user.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._classes: dict[str, list[UserPicture]] = {}

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self._classes)

    def pictures(self, name: str) -> tuple[UserPicture, ...]:
        return tuple(self._classes[name])

    def counts(self) -> dict[str, int]:
        return {name: len(pics) for name, pics in self._classes.items()}

    def __len__(self) -> int:
        return sum(len(p) for p in self._classes.values())

    def add_class(self, name: str) -> str:
        """Add an empty class; returns its cleaned name."""
        cleaned = clean_class_name(name, self._classes)
        if len(self._classes) >= self.limits.max_classes:
            raise DatasetError(f"At most {self.limits.max_classes} classes.")
        self._classes[cleaned] = []
        return cleaned

    def remove_class(self, name: str) -> None:
        self._classes.pop(name, None)

    def remove_picture(self, name: str, digest: str) -> None:
        self._classes[name] = [p for p in self._classes[name] if p.digest != digest]

    def add_picture(self, name: str, file_name: str, data: bytes) -> UserPicture | None:
        """Decode and add one picture to class ``name``; ``None`` if that class already has it."""
        if name not in self._classes:
            raise DatasetError(f"There is no class called '{name}'; add it first.")
        if len(self) >= self.limits.max_pictures:
            raise DatasetError(
                f"This dataset already holds {len(self)} pictures, the limit is {self.limits.max_pictures}. "
                "Remove some before adding more."
            )
        picture = _decode(file_name, data, self.limits)
        if any(p.digest == picture.digest for p in self._classes[name]):
            return None
        self._classes[name].append(picture)
        return picture

    def add_files(self, name: str, files: Iterable[tuple[str, bytes]]) -> AddReport:
        """Add several uploads to class ``name``; unreadable files are skipped and reported."""
        report = AddReport()
        for file_name, data in files:
            try:
                added = self.add_picture(name, file_name, data)
            except ImageError as exc:
                report.skipped.append(Skipped(file_name, _first_sentence(exc)))
                continue
            if added is None:
                report.duplicates += 1
            else:
                report.added += 1
        return report

    def add_zip(self, source: ZipSource) -> AddReport:
        """Merge a zip of class folders in, creating classes it names (case-insensitively matched)."""
        grouped, skipped = _zip_files(source, self.limits)
        _check_picture_count(len(self) + sum(len(files) for files in grouped.values()), self.limits)
        by_fold = {c.casefold(): c for c in self._classes}
        report = AddReport(skipped=list(skipped))
        for folder, files in grouped.items():
            name = by_fold.get(folder.casefold())
            created = name is None
            name = name or self.add_class(folder)
            by_fold[name.casefold()] = name
            part = self.add_files(name, files)
            if created and not self._classes[name]:  # a folder with no readable picture is no class
                self.remove_class(name)
                del by_fold[name.casefold()]
            report.added += part.added
            report.duplicates += part.duplicates
            report.skipped += part.skipped
        return report

    def to_picture_set(self) -> PictureSet:
        """The validated dataset (:class:`DatasetError` says what is missing)."""
        return PictureSet(tuple(self._classes), tuple(tuple(p) for p in self._classes.values()))


def _check_picture_count(n: int, limits: Limits) -> None:
    """Refuse before decoding anything when there are more candidate pictures than the cap."""
    if n > limits.max_pictures:
        raise DatasetError(
            f"That is {n:,} files in class folders; the limit is {limits.max_pictures:,} pictures. "
            "A few dozen per class are plenty for fine-tuning."
        )


# --- Zips and folders ---------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe(name: str) -> bool:
    """True for a member name that would leave an extraction folder: absolute, a drive, or ``..``."""
    posix = name.replace("\\", "/")
    return posix.startswith("/") or bool(_DRIVE.match(posix)) or ".." in PurePosixPath(posix).parts


def _hidden(parts: Sequence[str]) -> bool:
    """macOS resource forks, ``.DS_Store`` and other dot files: metadata, never pictures."""
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _class_layout(paths: list[tuple[str, ...]]) -> int:
    """How many leading folders to drop so the first remaining one names the class.

    A zip made by compressing a folder wraps everything in that folder ("pets/cat/1.jpg"), so a
    folder that holds every file and at least two sub-folders is stripped, repeatedly.
    """
    strip = 0
    while paths and len({p[strip] for p in paths}) == 1:
        subfolders = {p[strip + 1] for p in paths if len(p) > strip + 2}
        if len(subfolders) < 2:
            break
        strip += 1
    return strip


def _group(entries: list[tuple[str, tuple[str, ...], object]]) -> tuple[dict[str, list], list[Skipped]]:
    """Entries ``(name, parts, handle)`` grouped by class folder; loose and hidden files skipped."""
    skipped: list[Skipped] = []
    visible = []
    for name, parts, handle in entries:
        if _hidden(parts):
            skipped.append(Skipped(name, "hidden or system file"))
        else:
            visible.append((name, parts, handle))
    strip = _class_layout([parts for _, parts, _ in visible])
    grouped: dict[str, list] = {}
    for name, parts, handle in visible:
        rest = parts[strip:]
        if len(rest) < 2:
            skipped.append(Skipped(name, "not inside a class folder"))
            continue
        grouped.setdefault(rest[0], []).append((name, handle))
    folded: dict[str, str] = {}
    for folder in sorted(grouped):  # ImageFolder's order: classes sorted by name
        clean_class_name(folder, folded.values())  # duplicates (Cat/cat) or odd names refuse the set
        folded[folder.casefold()] = folder
    return {k: sorted(grouped[k], key=lambda item: item[0]) for k in sorted(grouped)}, skipped


def _open_zip(source: ZipSource) -> zipfile.ZipFile:
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        return zipfile.ZipFile(source)  # type: ignore[arg-type]
    except FileNotFoundError:
        raise DatasetError(f"No such file: {source}") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DatasetError(f"This is not a readable zip file ({_first_sentence(exc)}).") from exc


def _zip_files(source: ZipSource, limits: Limits) -> tuple[dict[str, list[tuple[str, bytes]]], list[Skipped]]:
    """Class folder -> ``[(name, bytes)]`` from a zip, never touching the disk.

    Every check uses the zip's central directory before one byte is decompressed: the number of
    entries, each name, and the total uncompressed size (the classic zip bomb is a few KB that
    declare gigabytes). A member whose data inflates past what the directory declared is refused
    while it is read, so a lying directory cannot get past the caps either.
    """
    with _open_zip(source) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > limits.max_files:
            raise DatasetError(
                f"The zip holds {len(infos):,} files; the limit is {limits.max_files:,}. Use fewer pictures."
            )
        for info in infos:
            if _unsafe(info.filename):
                raise DatasetError(
                    f"The zip contains an unsafe path, {info.filename!r} (absolute, or with '..'): refusing "
                    "the whole archive. Zip the class folders themselves."
                )
        total = sum(i.file_size for i in infos)
        if total > limits.max_total_bytes:
            raise DatasetError(
                f"The zip unpacks to {_size(total)}; the limit is {_size(limits.max_total_bytes)} "
                "(a zip bomb, or far more pictures than fine-tuning needs)."
            )
        entries = [(i.filename, tuple(p for p in i.filename.replace("\\", "/").split("/") if p), i) for i in infos]
        grouped, skipped = _group(entries)
        out: dict[str, list[tuple[str, bytes]]] = {}
        for folder, members in grouped.items():
            files = out.setdefault(folder, [])
            for name, info in members:
                if info.file_size > limits.max_file_bytes:
                    skipped.append(Skipped(name, f"larger than the {_size(limits.max_file_bytes)} limit per picture"))
                    continue
                if info.flag_bits & 0x1:
                    skipped.append(Skipped(name, "encrypted"))
                    continue
                try:
                    with archive.open(info) as member:
                        data = member.read(info.file_size + 1)  # never more than declared, plus one
                except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
                    skipped.append(Skipped(name, f"cannot be read from the zip ({_first_sentence(exc)})"))
                    continue
                if len(data) > info.file_size:
                    raise DatasetError(f"The zip entry {name!r} holds more data than its directory declares: refusing it.")
                files.append((name, data))
        return out, skipped


def _folder_files(root: Path, limits: Limits) -> tuple[dict[str, list[tuple[str, Path]]], list[Skipped]]:
    """Class folder -> ``[(relative name, path)]`` of an ImageFolder layout, sizes checked first."""
    entries: list[tuple[str, tuple[str, ...], Path]] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            rel = path.relative_to(root)
            entries.append((rel.as_posix(), rel.parts, path))
            if len(entries) > limits.max_files:
                raise DatasetError(f"{root} holds more than {limits.max_files:,} files; use fewer pictures.")
            try:
                total += path.stat().st_size
            except OSError:
                pass  # a dangling link: reading it below skips it with the reason
    if total > limits.max_total_bytes:
        raise DatasetError(
            f"{root} holds {_size(total)} of files; the limit is {_size(limits.max_total_bytes)}."
        )
    return _group(entries)


def read_pictures(
    grouped: Mapping[str, Sequence[tuple[str, bytes]]], limits: Limits = DEFAULT_LIMITS, skipped: Sequence[Skipped] = ()
) -> PictureSet:
    """A :class:`PictureSet` from in-memory uploads per class, ``{"mug": [(name, bytes), ...]}``."""
    _check_picture_count(sum(len(files) for files in grouped.values()), limits)
    collection = PictureCollection(limits)
    all_skipped = list(skipped)
    for name, files in grouped.items():
        cleaned = collection.add_class(name)  # trimmed; empty or duplicate names refused
        all_skipped += collection.add_files(cleaned, files).skipped
    pictures = collection.to_picture_set()
    return PictureSet(pictures.classes, pictures.pictures, tuple(all_skipped))


def read_zip(source: ZipSource, limits: Limits = DEFAULT_LIMITS) -> PictureSet:
    """A zip of class folders (optionally inside one wrapping folder), read in memory."""
    grouped, skipped = _zip_files(source, limits)
    return read_pictures(grouped, limits, skipped)


def read_folder(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> PictureSet:
    """An ImageFolder directory: one sub-folder per class, pictures anywhere below it."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder. Give a folder with one sub-folder per class, or a .zip of one.")
    grouped, skipped = _folder_files(root, limits)
    files: dict[str, list[tuple[str, bytes]]] = {}
    for folder, members in grouped.items():
        files[folder] = []
        for name, file_path in members:
            try:
                size = file_path.stat().st_size
                if size > limits.max_file_bytes:
                    skipped.append(Skipped(name, f"larger than the {_size(limits.max_file_bytes)} limit per picture"))
                    continue
                files[folder].append((name, file_path.read_bytes()))
            except OSError as exc:
                skipped.append(Skipped(name, f"cannot be read ({exc.strerror or exc})"))
    return read_pictures(files, limits, skipped)


# --- Train / held-out split ---------------------------------------------------------------------


def stratified_split(pictures: PictureSet, val_fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices into :meth:`PictureSet.items` for training and for the held-out check.

    Each class keeps its own share: ``round(n * val_fraction)`` held out, at least one and at
    most ``n - 1``, so every class is both learned and checked however small it is.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    generator = torch.Generator().manual_seed(seed)
    train: list[int] = []
    val: list[int] = []
    start = 0
    for pics in pictures.pictures:
        n = len(pics)
        n_val = min(max(round(n * val_fraction), 1), n - 1)
        order = (torch.randperm(n, generator=generator) + start).tolist()
        val += sorted(order[:n_val])
        train += sorted(order[n_val:])
        start += n
    return train, val
