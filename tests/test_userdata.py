"""The user's pictures: folders, zips read in memory, uploads; every bad input refused or skipped."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pictures import dataset_zip, declare_size, shape_files, shape_picture, write_folder, zip_bytes

from resnet_core.images import ImageError
from resnet_core.userdata import (
    DatasetError,
    Limits,
    PictureCollection,
    PictureSet,
    clean_class_name,
    read_folder,
    read_pictures,
    read_zip,
    store_side,
    stratified_split,
)


@pytest.fixture
def no_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to extract a zip member to disk."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a zip member was extracted to disk")

    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)


@pytest.fixture
def no_member_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any zip member is opened for reading: caps come from the directory."""
    original = zipfile.ZipFile.open

    def refuse_reads(self: zipfile.ZipFile, name: object, mode: str = "r", *args: object, **kwargs: object):
        if mode == "r":
            raise AssertionError("a zip member was read before the caps were checked")
        return original(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse_reads)


# --- Zips ---------------------------------------------------------------------------------------


def test_zip_of_class_folders_inside_a_wrapping_folder(no_extraction: None, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = shape_files(("square", "circle"), per_class=3)
    entries = {f"pets/{c}/{n}": d for c, items in files.items() for n, d in items}
    entries["pets/circle/notes.txt"] = b"not a picture"
    entries["pets/.DS_Store"] = b"\x00\x01"
    entries["__MACOSX/pets/circle/._circle_0.png"] = b"\x00"
    entries["pets/loose.png"] = shape_picture("circle", 9)
    pictures = read_zip(zip_bytes(entries))
    assert pictures.classes == ("circle", "square")  # sorted, as ImageFolder does
    assert pictures.counts() == {"circle": 3, "square": 3}
    reasons = {s.name: s.reason for s in pictures.skipped}
    assert "not an image" in reasons["pets/circle/notes.txt"]
    assert reasons["pets/.DS_Store"] == "hidden or system file"
    assert reasons["__MACOSX/pets/circle/._circle_0.png"] == "hidden or system file"
    assert reasons["pets/loose.png"] == "not inside a class folder"
    assert list(tmp_path.iterdir()) == []  # nothing written to disk


def test_zip_from_a_path_and_nested_folders_count_for_their_class(tmp_path: Path) -> None:
    entries = {"a/x/1.png": shape_picture("circle", 1), "a/2.png": shape_picture("circle", 2),
               "b/1.png": shape_picture("square", 1), "b/deep/er/2.png": shape_picture("square", 2)}
    path = tmp_path / "set.zip"
    path.write_bytes(zip_bytes(entries))
    assert read_zip(path).counts() == {"a": 2, "b": 2}


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/etc/evil.png", "C:/evil.png", "a\\..\\..\\evil.png"])
def test_zip_with_traversal_or_absolute_path_is_refused(name: str, no_member_reads: None) -> None:
    data = zip_bytes({"a/1.png": b"x", "b/1.png": b"y", name: b"z"})
    with pytest.raises(DatasetError, match="unsafe path"):
        read_zip(data)


def test_zip_bomb_is_refused_from_the_directory_before_reading(no_member_reads: None) -> None:
    bomb = zip_bytes({"a/zeros.png": bytes(8 * 2**20), "b/zeros.png": bytes(8 * 2**20)})
    assert len(bomb) < 100_000  # 16 MB of zeros deflate to a few KB
    with pytest.raises(DatasetError, match="unpacks to 16 MB; the limit is 10 MB"):
        read_zip(bomb, Limits(max_total_bytes=10 * 2**20))
    # The default cap, against a directory that declares 4 GB.
    with pytest.raises(DatasetError, match="unpacks to 4,096 MB; the limit is 256 MB"):
        read_zip(declare_size(dataset_zip(per_class=2), "circle/circle_0.png", 2**32 - 1))


def test_zip_with_too_many_files_is_refused_before_reading(no_member_reads: None) -> None:
    data = zip_bytes({f"c{i % 2}/{i}.png": b"x" for i in range(6)})
    with pytest.raises(DatasetError, match="holds 6 files; the limit is 5"):
        read_zip(data, Limits(max_files=5))


def test_more_pictures_than_the_cap_are_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    import resnet_core.userdata as userdata

    monkeypatch.setattr(userdata, "load_image", lambda *_: pytest.fail("decoded before the count was checked"))
    with pytest.raises(DatasetError, match="6 files in class folders; the limit is 5 pictures"):
        read_zip(dataset_zip(per_class=3), Limits(max_pictures=5))


def test_a_member_larger_than_the_per_file_cap_is_skipped() -> None:
    files = shape_files(per_class=2)
    big = shape_picture("circle", 7, size=(600, 400))
    entries = {f"{c}/{n}": d for c, items in files.items() for n, d in items} | {"circle/big.png": big}
    pictures = read_zip(zip_bytes(entries), Limits(max_file_bytes=len(big) - 1))
    assert pictures.counts() == {"circle": 2, "square": 2}
    assert [s.name for s in pictures.skipped] == ["circle/big.png"]
    assert "limit per picture" in pictures.skipped[0].reason


def test_a_member_whose_directory_understates_its_size_is_not_inflated_past_it() -> None:
    """A lying central directory: the member is cut at the declared size and fails its CRC."""
    files = shape_files(per_class=2)
    entries = {f"{c}/{n}": d for c, items in files.items() for n, d in items}
    entries["circle/liar.png"] = bytes(2**20)
    pictures = read_zip(declare_size(zip_bytes(entries), "circle/liar.png", 10))
    assert pictures.counts() == {"circle": 2, "square": 2}
    assert [s.name for s in pictures.skipped] == ["circle/liar.png"]
    assert "cannot be read from the zip" in pictures.skipped[0].reason


def test_not_a_zip_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match="not a readable zip"):
        read_zip(b"hello, I am text")


def test_zip_with_one_class_is_refused() -> None:
    with pytest.raises(DatasetError, match="at least 2 classes to tell apart; found only 'circle'"):
        read_zip(dataset_zip(classes=("circle",), per_class=3))


def test_zip_with_a_class_of_one_readable_picture_is_refused() -> None:
    entries = {"a/1.png": shape_picture("circle", 1), "a/2.png": shape_picture("circle", 2),
               "b/1.png": shape_picture("square", 1), "b/2.png": b"not a picture at all"}
    with pytest.raises(DatasetError, match=r"at least 2 readable pictures.*'b' \(1\)"):
        read_zip(zip_bytes(entries))


def test_zip_with_class_folders_differing_only_in_case_is_refused() -> None:
    entries = {"Cat/1.png": shape_picture("circle", 1), "cat/2.png": shape_picture("circle", 2),
               "dog/1.png": shape_picture("square", 1)}
    with pytest.raises(DatasetError, match="already a class called 'Cat'"):
        read_zip(zip_bytes(entries))


# --- Folders ------------------------------------------------------------------------------------


def test_read_folder(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "data", per_class=3)
    (root / "circle" / "notes.txt").write_text("hello")
    pictures = read_folder(root)
    assert pictures.counts() == {"circle": 3, "square": 3}
    assert [s.name for s in pictures.skipped] == ["circle/notes.txt"]


def test_folder_caps_are_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_folder(tmp_path / "data", per_class=3)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self} before checking the caps"))
    with pytest.raises(DatasetError, match="more than 5 files"):
        read_folder(root, Limits(max_files=5))
    with pytest.raises(DatasetError, match=r"holds [0-9,]+ bytes of files; the limit is 1,000 bytes"):
        read_folder(root, Limits(max_total_bytes=1000))


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is not a folder"):
        read_folder(tmp_path / "absent")


# --- Uploads, names, collections -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_empty_class_name_is_refused(name: str) -> None:
    with pytest.raises(DatasetError, match="needs a name"):
        clean_class_name(name)


def test_class_names_are_trimmed_and_compared_ignoring_case() -> None:
    assert clean_class_name("  red   mug ") == "red mug"
    with pytest.raises(DatasetError, match="already a class called 'Mug'"):
        clean_class_name("mug", ["Mug"])
    with pytest.raises(DatasetError, match="longer than 60"):
        clean_class_name("x" * 61)


def test_uploads_per_class_with_duplicate_names_are_refused() -> None:
    files = shape_files(per_class=2)
    with pytest.raises(DatasetError, match="already a class"):
        read_pictures({"circle": files["circle"], "Circle ": files["square"]})


def test_picture_set_refuses_duplicate_or_too_few() -> None:
    pics = read_pictures(shape_files(per_class=2)).pictures
    with pytest.raises(DatasetError, match="already a class"):
        PictureSet(("a", "A"), pics)
    with pytest.raises(DatasetError, match="needs a name"):
        PictureSet(("a", ""), pics)
    with pytest.raises(DatasetError, match="at least 2 classes"):
        PictureSet(("a",), pics[:1])


def test_collection_dedupes_skips_non_images_and_merges_zips() -> None:
    files = shape_files(per_class=3)
    collection = PictureCollection()
    collection.add_class("Circle")
    report = collection.add_files("Circle", files["circle"] + files["circle"][:1] + [("x.png", b"text")])
    assert (report.added, report.duplicates) == (3, 1)
    assert [s.name for s in report.skipped] == ["x.png"]
    report = collection.add_zip(dataset_zip(per_class=4))  # "circle" folder lands in "Circle"
    assert collection.classes == ("Circle", "square")
    collection.add_zip(zip_bytes({"docs/readme.txt": b"text", "square/notes.txt": b"text"}))
    assert collection.classes == ("Circle", "square")  # no empty "docs" class
    assert collection.counts() == {"Circle": 4, "square": 4} and report.duplicates == 3
    with pytest.raises(ImageError):
        collection.add_picture("Circle", "y.png", b"\x89PNG broken")
    digest = collection.pictures("Circle")[0].digest
    collection.remove_picture("Circle", digest)
    assert collection.counts()["Circle"] == 3
    collection.remove_class("square")
    with pytest.raises(DatasetError, match="at least 2 classes"):
        collection.to_picture_set()


def test_collection_caps_pictures_and_classes() -> None:
    collection = PictureCollection(Limits(max_pictures=2, max_classes=1))
    collection.add_class("a")
    with pytest.raises(DatasetError, match="At most 1 classes"):
        collection.add_class("b")
    for i in range(2):
        collection.add_picture("a", f"{i}.png", shape_picture("circle", i))
    with pytest.raises(DatasetError, match="limit is 2"):
        collection.add_picture("a", "2.png", shape_picture("circle", 2))


def test_big_pictures_are_kept_at_the_largest_backbone_input() -> None:
    collection = PictureCollection()
    collection.add_class("a")
    picture = collection.add_picture("a", "big.jpg", shape_picture("circle", 0, size=(1200, 800), fmt="JPEG"))
    assert store_side() == 224
    assert picture is not None and picture.image.size == (336, 224)
    small = collection.add_picture("a", "small.png", shape_picture("circle", 1, size=(40, 30)))
    assert small is not None and small.image.size == (40, 30)  # never enlarged


# --- Split --------------------------------------------------------------------------------------


def test_stratified_split_keeps_every_class_on_both_sides() -> None:
    files = shape_files(("circle", "square", "triangle"), per_class=2)
    files["circle"] = shape_files(("circle",), per_class=10)["circle"]
    pictures = read_pictures(files)
    train, val = stratified_split(pictures, 0.2, seed=1)
    labels = [label for _, label in pictures.items()]
    assert sorted(train + val) == list(range(len(pictures)))
    assert [labels[i] for i in val].count(0) == 2  # round(10 * 0.2)
    assert all([labels[i] for i in val].count(c) == 1 for c in (1, 2))  # at least one held out...
    assert all([labels[i] for i in train].count(c) == 1 for c in (1, 2))  # ...and one left to learn
    assert stratified_split(pictures, 0.2, seed=1) == (train, val)
    assert stratified_split(pictures, 0.2, seed=2) != (train, val)
    with pytest.raises(ValueError, match="between 0 and 1"):
        stratified_split(pictures, 1.0)


def test_zip_read_from_a_file_object() -> None:
    assert read_zip(io.BytesIO(dataset_zip(per_class=2))).counts() == {"circle": 2, "square": 2}
