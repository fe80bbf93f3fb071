"""Pretrained weights from torch's cache, the shipped model, trained checkpoints, and classifying."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from resnet_core import pretrained
from resnet_core.cam import METHODS, stage_layers
from resnet_core.checkpoint import load_checkpoint, save_checkpoint
from resnet_core.cifar10 import CLASSES, MEAN, STD
from resnet_core.classify import (
    Preprocessing,
    classifier_from_checkpoint,
    load_classifier,
    model_sources,
)
from resnet_core.environment import cached_pretrained
from resnet_core.images import load_image
from resnet_core.models import create_model
from resnet_core.pretrained import (
    WeightsUnavailableError,
    download_weights,
    imagenet_weights,
    is_cached,
    load_pretrained,
    pretrained_names,
    weights_path,
)


def photo(width: int = 300, height: int = 200, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def model_fingerprint(model: torch.nn.Module) -> tuple:
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        {n: m.training for n, m in model.named_modules()},
        {n: (p.requires_grad, p.grad) for n, p in model.named_parameters()},
        sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules()),
    )


def assert_unchanged(model: torch.nn.Module, before: tuple) -> None:
    state, modes, flags, hooks = model_fingerprint(model)
    assert all(torch.equal(state[k], before[0][k]) for k in state)
    assert modes == before[1] and flags == before[2] and hooks == before[3]


# --- torchvision weights and the hub cache ---------------------------------------------------


def test_sidebar_finds_exactly_the_cached_weight_files(hub_dir: Path) -> None:
    """The sidebar's pattern match (no torchvision import) agrees with torchvision's file names."""
    assert pretrained_names() == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert cached_pretrained() == ()
    for name in pretrained_names():
        path = weights_path(name)
        assert path.parent == hub_dir / "checkpoints"
        assert imagenet_weights(name).url.endswith("/" + path.name)
    weights_path("resnet50").parent.mkdir(parents=True)
    weights_path("resnet50").write_bytes(b"x")
    weights_path("resnet101", "IMAGENET1K_V2").write_bytes(b"x")
    assert cached_pretrained() == ("resnet50", "resnet101")
    assert weights_path("resnet50", "IMAGENET1K_V2") != weights_path("resnet50")
    with pytest.raises(ValueError, match="no ImageNet weights"):
        imagenet_weights("resnet20")
    with pytest.raises(ValueError, match="no IMAGENET1K_V2 weights"):
        imagenet_weights("resnet18", "IMAGENET1K_V2")


def test_missing_weights_raise_with_the_prefetch_command(hub_dir: Path) -> None:
    assert not is_cached("resnet50")
    with pytest.raises(WeightsUnavailableError, match=r"python -m resnet_core prefetch --weights resnet50"):
        load_pretrained("resnet50")
    assert not (hub_dir / "checkpoints" / "resnet50-0676ba61.pth").exists()  # nothing was fetched


def test_cached_weights_load_strictly_into_our_model(cached_resnet18) -> None:
    assert is_cached("resnet18") and "resnet18" in cached_pretrained()
    ours = load_pretrained("resnet18")
    assert type(ours).__module__ == "resnet_core.models" and not ours.training
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(ours(x), cached_resnet18(x), atol=1e-5)


def test_a_corrupt_cached_file_says_to_fetch_again(hub_dir: Path) -> None:
    path = weights_path("resnet34")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<html>captive portal</html>")
    with pytest.raises(WeightsUnavailableError, match="cannot be read.*prefetch --weights resnet34"):
        load_pretrained("resnet34")


def test_weights_of_the_wrong_model_are_refused(hub_dir: Path) -> None:
    path = weights_path("resnet34")
    path.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(WeightsUnavailableError, match="does not hold resnet34 weights"):
        load_pretrained("resnet34")


def test_download_streams_verifies_the_hash_and_reports_progress(hub_dir: Path, tmp_path: Path, monkeypatch) -> None:
    payload = bytes(range(256)) * 20_000  # 5 MB, several chunks
    digest = hashlib.sha256(payload).hexdigest()
    served = tmp_path / f"resnet18-{digest[:8]}.pth"
    served.write_bytes(payload)
    monkeypatch.setattr(pretrained, "_weights_url", lambda name, version="IMAGENET1K_V1": served.as_uri())  # file:// : no network
    seen: list[tuple[int, int | None]] = []
    path = download_weights("resnet18", progress=False, on_progress=lambda done, total: seen.append((done, total)))
    assert path == hub_dir / "checkpoints" / served.name and path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload)) and len(seen) >= 5
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert list(path.parent.glob("*.partial")) == []


def test_a_download_with_the_wrong_hash_is_discarded(hub_dir: Path, tmp_path: Path, monkeypatch) -> None:
    served = tmp_path / "resnet18-00000000.pth"
    served.write_bytes(b"not the weights")
    monkeypatch.setattr(pretrained, "_weights_url", lambda name, version="IMAGENET1K_V1": served.as_uri())
    with pytest.raises(WeightsUnavailableError, match="corrupt"):
        download_weights("resnet18", progress=False)
    assert list((hub_dir / "checkpoints").iterdir()) == []  # neither the file nor a .partial


def test_no_network_gives_the_prefetch_command(hub_dir: Path, monkeypatch) -> None:
    # Port 9 (discard) on localhost: refused at once, no real network touched.
    monkeypatch.setattr(pretrained, "_weights_url", lambda name, version="IMAGENET1K_V1": "http://127.0.0.1:9/resnet18-f37072fd.pth")
    with pytest.raises(WeightsUnavailableError, match="could not be downloaded.*prefetch --weights resnet18"):
        download_weights("resnet18", progress=False)
    with pytest.raises(WeightsUnavailableError):
        load_pretrained("resnet18", download=True)


def test_download_of_cached_weights_touches_no_network(cached_resnet18, monkeypatch) -> None:
    monkeypatch.setattr(pretrained, "_weights_url", lambda name, version="IMAGENET1K_V1": "http://127.0.0.1:9/resnet18-f37072fd.pth")
    assert download_weights("resnet18").name == "resnet18-f37072fd.pth"


# --- preprocessing ---------------------------------------------------------------------------


def test_imagenet_preprocessing_is_exactly_torchvisions_transform() -> None:
    weights = imagenet_weights("resnet50")
    prep = Preprocessing.from_torchvision(weights.transforms())
    assert (prep.resize, prep.crop) == (256, 224)
    img = photo(300, 200)
    assert torch.allclose(prep(img), weights.transforms()(img), atol=1e-6)
    assert "centre crop 224x224" in prep.describe() and "0.485" in prep.describe()


def test_cifar_preprocessing_resizes_and_centre_crops_to_32() -> None:
    prep = Preprocessing(resize=32, crop=32, mean=MEAN, std=STD)
    img = Image.new("RGB", (400, 200), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 80, 200))  # a blue strip on the left fifth: cropped away
    view = prep.view(img)
    assert view.shape == (3, 32, 32) and view[2].max() == 0  # no blue left
    x = prep(img)
    assert torch.allclose(x[0], torch.full((32, 32), (1 - MEAN[0]) / STD[0]), atol=1e-3)


# --- classifiers -----------------------------------------------------------------------------


def test_imagenet_classifier_gives_top5_with_torchvisions_class_names(cached_resnet18) -> None:
    clf = load_classifier("imagenet:resnet18")
    assert len(clf.classes) == 1000 and clf.classes[0] == "tench" and "IMAGENET1K_V1" in clf.name
    before = model_fingerprint(clf.model)
    result = clf.classify([photo(seed=1), photo(seed=2)], k=5)
    assert len(result.top) == 2 and all(len(t) == 5 for t in result.top)
    expected = torch.softmax(cached_resnet18(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()(photo(seed=1))[None]), 1)[0]
    top = expected.topk(5)
    assert [p.index for p in result.top[0]] == top.indices.tolist()
    assert [p.probability for p in result.top[0]] == pytest.approx(top.values.tolist(), abs=1e-5)
    assert [p.label for p in result.top[0]] == [clf.classes[i] for i in top.indices.tolist()]
    assert result.model_ms > 0 and result.preprocess_ms > 0
    assert_unchanged(clf.model, before)


def test_shipped_model_is_the_offline_default(shipped, hub_dir) -> None:
    sources = model_sources(["my run"])
    assert sources[0].key == "shipped" and sources[0].available
    assert [s.kind for s in sources] == ["shipped", "trained"] + ["imagenet"] * 5
    assert not any(s.available for s in sources if s.kind == "imagenet")
    clf = load_classifier("shipped")
    assert clf.classes == CLASSES and clf.preprocessing.crop == 32
    assert "91.23% CIFAR-10 test accuracy; 92.34% with mirror TTA" in clf.name  # single view first, as Classify predicts
    assert clf.preprocessing.mean == MEAN


def test_without_the_shipped_model_the_other_sources_remain(no_shipped, cached_resnet18) -> None:
    sources = model_sources()
    assert [s.key for s in sources][0] == "imagenet:resnet18" and sources[0].available
    assert "downloaded" in sources[0].label and "not downloaded" in sources[1].label
    with pytest.raises(WeightsUnavailableError, match="Train page"):
        load_classifier("shipped")


def test_a_trained_checkpoint_classifies_like_its_model(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = create_model("resnet9").eval()
    save_checkpoint(tmp_path / "c.pt", model, model_name="resnet9", residual=True, classes=CLASSES, mean=MEAN, std=STD)
    clf = classifier_from_checkpoint(load_checkpoint(tmp_path / "c.pt"), name="run 1")
    img = photo(64, 64)
    result = clf.classify(img, k=3)
    with torch.no_grad():
        probs = model(clf.preprocess(img)).softmax(1)[0]
    assert [p.index for p in result.top[0]] == probs.topk(3).indices.tolist()
    assert result.probabilities.shape == (1, 10) and float(result.probabilities.sum()) == pytest.approx(1.0, abs=1e-5)


def test_a_model_left_in_train_mode_is_run_in_eval_mode_and_left_in_train_mode(tmp_path: Path) -> None:
    torch.manual_seed(4)
    model = create_model("resnet20")
    save_checkpoint(tmp_path / "c.pt", model, model_name="resnet20", residual=True, classes=CLASSES, mean=MEAN, std=STD)
    ckpt = load_checkpoint(tmp_path / "c.pt")
    ckpt.model.train()
    clf = classifier_from_checkpoint(ckpt, name="training")
    before = model_fingerprint(clf.model)
    img = photo(40, 40)
    got = clf.classify(img).probabilities
    assert_unchanged(clf.model, before)  # also: BN running stats untouched
    eval_copy = copy.deepcopy(clf.model).eval()
    with torch.no_grad():
        assert torch.allclose(got, eval_copy(clf.preprocess(img)).softmax(1), atol=1e-5)


def test_explain_gives_every_stage_and_method_for_the_chosen_class(shipped) -> None:
    clf = load_classifier("shipped")
    before = model_fingerprint(clf.model)
    img = photo(80, 60)
    top = clf.explain(img)
    assert top.target == top.top[0]  # default: the top class
    assert top.view.size == (32, 32)
    assert set(top.cams.maps) == {(layer, m) for layer in stage_layers(clf.model) for m in METHODS}
    chosen = clf.explain(img, target=CLASSES.index("ship"))
    assert chosen.target.label == "ship" and chosen.cams.targets == (8,)
    assert [p.index for p in chosen.top] == [p.index for p in clf.classify(img).top[0]]
    assert_unchanged(clf.model, before)


def test_real_photos_through_the_pipeline(sample_photos: Path, shipped) -> None:
    clf = load_classifier("shipped")
    images = [load_image(p) for p in sorted(sample_photos.glob("*.jpg"))[:4]]
    result = clf.classify(images, k=5)
    assert len(result.top) == 4
    for top in result.top:
        probs = [p.probability for p in top]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert all(p.label in CLASSES for p in top)


def test_the_real_shipped_model_is_labelled_with_the_accuracy_classify_measures() -> None:
    """The committed checkpoint's label quotes its single-view accuracy, the figure in its JSON."""
    import json

    from resnet_core.checkpoint import SHIPPED_CHECKPOINT

    record = json.loads(SHIPPED_CHECKPOINT.with_suffix(".json").read_text())
    name = load_classifier("shipped").name
    assert f"{100 * record['test_acc']:.2f}% CIFAR-10 test accuracy" in name
    assert f"{100 * record['test_acc_mirror_tta']:.2f}% with mirror TTA" in name
    assert "/work/" not in json.dumps(record) and "/home/" not in json.dumps(record)

# --- What the model receives, and the answer in one line (issue 12) ----------------------------


def test_model_input_is_the_tensor_the_model_gets_and_shows_as_the_crop(shipped) -> None:
    clf = load_classifier("shipped")
    image = photo(400, 300)
    seen = clf.model_input(image)
    assert torch.equal(seen.tensor, clf.preprocess(image))
    view = clf.preprocessing.view(image).permute(1, 2, 0).numpy().astype(int)
    assert seen.shown.size == (32, 32)
    assert np.abs(np.asarray(seen.shown).astype(int) - view).max() <= 1  # de-normalising undoes normalising
    assert seen.resized == (42, 32)  # torchvision: int(32 * 400 / 300)
    left, top, right, bottom = seen.crop_box
    assert (top, bottom) == (0, 300) and left == pytest.approx(5 * 400 / 42) and right - left == pytest.approx(32 * 400 / 42)


def test_crop_box_is_where_the_view_comes_from() -> None:
    # A smooth picture, so that cropping the box and resizing matches the view closely.
    y, x = np.mgrid[0:300, 0:640]
    image = Image.fromarray(np.stack([x * 255 // 639, y * 255 // 299, (x + y) * 255 // 938], -1).astype(np.uint8))
    prep = Preprocessing(resize=32, crop=32, mean=MEAN, std=STD)
    box = prep.crop_box(*image.size)
    again = image.crop(tuple(round(v) for v in box)).resize((32, 32), Image.Resampling.BILINEAR)
    view = prep.view(image).permute(1, 2, 0).numpy().astype(int)
    assert np.abs(np.asarray(again).astype(int) - view).mean() < 3
    tall = prep.crop_box(300, 640)  # portrait: the crop cuts top and bottom instead
    assert tall[0] == 0 and tall[2] == 300 and tall[1] > 0


def test_best_prints_the_top_class_and_its_probability(shipped) -> None:
    result = load_classifier("shipped").classify(photo())
    best = result.best
    assert best == result.top[0][0]
    assert str(best) == f"{best.label} ({best.probability:.1%})"


def test_classifiers_know_the_label_smoothing_they_were_trained_with(tmp_path: Path, cached_resnet18) -> None:
    save_checkpoint(tmp_path / "t.pt", create_model("resnet20").eval(), model_name="resnet20", residual=False,
                    classes=CLASSES, mean=MEAN, std=STD, config={"label_smoothing": 0.2})
    clf = classifier_from_checkpoint(load_checkpoint(tmp_path / "t.pt"), name="t")
    assert clf.label_smoothing == 0.2 and clf.details["residual"] is False
    save_checkpoint(tmp_path / "u.pt", create_model("resnet20").eval(), model_name="resnet20", residual=True,
                    classes=CLASSES, mean=MEAN, std=STD)
    assert classifier_from_checkpoint(load_checkpoint(tmp_path / "u.pt"), name="u").label_smoothing is None
    assert load_classifier("imagenet:resnet18").label_smoothing == 0.0  # torchvision's V1 recipe
