"""Fine-tuning: both modes on the shipped backbone, the ImageNet path on a temporary hub cache,
a Train-page checkpoint as backbone, checkpoints, the feature cache, stopping, and the job."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
import torch
from pictures import shape_files

from resnet_core.checkpoint import Checkpoint, load_checkpoint, shipped_checkpoint
from resnet_core.cifar10 import CLASSES, MEAN, STD
from resnet_core.classify import classifier_from_checkpoint
from resnet_core.finetune import (
    SHIPPED,
    FeatureCache,
    FinetuneConfig,
    FinetuneStopped,
    Progress,
    backbone_from_checkpoint,
    backbone_names,
    check_backbone,
    finetune,
    load_backbone,
    weights_choices,
)
from resnet_core.jobs import FinetuneJob
from resnet_core.models import create_model
from resnet_core.pretrained import WeightsUnavailableError
from resnet_core.userdata import PictureSet, read_pictures, stratified_split

pytestmark = pytest.mark.skipif(shipped_checkpoint() is None, reason="the shipped CIFAR-10 checkpoint is not in this install")


@pytest.fixture(scope="module")
def shapes() -> PictureSet:
    """Three classes of coloured shapes, 8 pictures each."""
    return read_pictures(shape_files(("circle", "square", "triangle"), per_class=8))


@pytest.fixture(scope="module")
def shipped_backbone():
    return load_backbone(SHIPPED)


def state_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def held_out_predictions(result, pictures: PictureSet) -> list[str]:
    """What Classify says about the held-out pictures, through a checkpoint written to bytes."""
    buffer = io.BytesIO()
    result.save(buffer)
    classifier = classifier_from_checkpoint(load_checkpoint(buffer.getvalue()), name="fine-tuned")
    _, val = stratified_split(pictures, result.config.val_fraction, result.config.seed)
    items = pictures.items()
    return [top[0].label for top in classifier.classify([items[i][0].image for i in val]).top]


def test_backbone_names_come_from_the_registry() -> None:
    assert backbone_names() == ["shipped", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                                "timm:resnet18.a1_in1k", "timm:resnet34.a1_in1k", "timm:resnet50.a1_in1k",
                                "timm:resnet50d.ra2_in1k"]  # the curated timm ones (issue 22) last
    assert weights_choices("resnet18") == ["V1"] and weights_choices("resnet50") == ["V1", "V2"]
    assert weights_choices(SHIPPED) == []


def test_linear_probe_on_the_shipped_backbone(shapes: PictureSet, shipped_backbone) -> None:
    before = state_of(shipped_backbone.model)
    events: list[Progress] = []
    result = finetune(shapes, shipped_backbone, FinetuneConfig(mode="linear", epochs=20), on_progress=events.append)
    assert result.classes == ("circle", "square", "triangle")
    assert (result.train_images, result.val_images) == (18, 6)
    assert result.val_acc == 1.0
    assert sum(map(sum, result.confusion)) == 6 and all(result.confusion[i][i] == 2 for i in range(3))
    assert [r.epoch for r in result.history] == list(range(1, 21)) and {r.phase for r in result.history} == {"head"}
    assert result.history[-1].train_loss < result.history[0].train_loss / 2
    assert events[0].phase == "features" and events[-1].epoch == result.history[-1]
    # The shared backbone is untouched; the new model keeps every backbone weight but the head.
    after = state_of(shipped_backbone.model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    new = result.model.state_dict()
    assert all(torch.equal(new[k], before[k]) for k in before if not k.startswith("fc."))
    assert new["fc.weight"].shape == (3, before["fc.weight"].shape[1])
    assert not any(p.requires_grad for p in result.model.parameters())
    assert not hasattr(result.backbone, "model")  # a kept result does not keep the backbone's weights alive
    # Classify, reading the saved checkpoint, agrees with the confusion matrix: the head is exact.
    truth = [shapes.classes[label] for i, (_, label) in enumerate(shapes.items()) if i in set(stratified_split(shapes, 0.2, 0)[1])]
    assert held_out_predictions(result, shapes) == truth


@pytest.mark.slow
def test_last_stage_mode_trains_only_the_last_stage_and_the_head(shapes: PictureSet, shipped_backbone) -> None:
    before = state_of(shipped_backbone.model)
    config = FinetuneConfig(mode="last-stage", epochs=2, head_epochs=5, seed=3)
    result = finetune(shapes, shipped_backbone, config)
    assert [r.phase for r in result.history] == ["head"] * 5 + ["last-stage"] * 2
    new = result.model.state_dict()
    changed = {k for k in before if not k.startswith("fc.") and not torch.equal(new[k], before[k])}
    assert changed and all(k.startswith("layer3.") for k in changed), changed  # resnet9's last stage
    assert not any(k.endswith(("running_mean", "running_var")) for k in changed)  # BatchNorm stats kept
    assert all(torch.equal(before[k], state_of(shipped_backbone.model)[k]) for k in before)
    assert result.val_acc == 1.0
    assert held_out_predictions(result, shapes) == [shapes.classes[i // 2] for i in range(6)]


def test_checkpoint_round_trip_keeps_classes_preprocessing_and_outputs(shapes: PictureSet, shipped_backbone, tmp_path: Path) -> None:
    result = finetune(shapes, shipped_backbone, FinetuneConfig(epochs=3))
    path = tmp_path / "ft.pt"
    result.save(path)
    loaded = load_checkpoint(path)
    assert loaded.classes == ("circle", "square", "triangle")
    assert (loaded.model_name, loaded.input_size) == (shipped_backbone.model_name, 32)
    assert loaded.mean == shipped_backbone.mean and loaded.std == shipped_backbone.std
    assert loaded.config["finetune"]["mode"] == "linear" and loaded.config["preprocessing"]["crop"] == 32
    assert loaded.metrics["val_acc"] == result.val_acc and loaded.metrics["confusion"] == [list(r) for r in result.confusion]
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), result.model(x), atol=1e-6)
    in_memory = result.to_checkpoint()
    assert isinstance(in_memory, Checkpoint) and in_memory.classes == loaded.classes


def test_feature_cache_skips_the_backbone_on_a_second_run(shapes: PictureSet, shipped_backbone) -> None:
    cache = FeatureCache()
    first = finetune(shapes, shipped_backbone, FinetuneConfig(epochs=3), cache=cache)
    assert first.cached_features == 0 and len(cache) == len(shapes)
    second = finetune(shapes, shipped_backbone, FinetuneConfig(epochs=3), cache=cache)
    assert second.cached_features == len(shapes)
    assert torch.equal(first.model.fc.weight, second.model.fc.weight)
    other = backbone_from_checkpoint(load_checkpoint(shipped_checkpoint()), label="same weights, other label")
    assert finetune(shapes, other, FinetuneConfig(epochs=1), cache=cache).cached_features == 0  # keyed by backbone


def test_a_train_page_checkpoint_is_a_backbone(shapes: PictureSet) -> None:
    torch.manual_seed(0)
    trained = Checkpoint(model=create_model("resnet20").eval(), model_name="resnet20", residual=True,
                         classes=CLASSES, mean=MEAN, std=STD, input_size=32)
    backbone = backbone_from_checkpoint(trained, label="resnet20 trained here")
    result = finetune(shapes, backbone, FinetuneConfig(epochs=5))
    assert result.model.fc.out_features == 3 and result.backbone.model_name == "resnet20"
    assert backbone.key.startswith("checkpoint:") and "airplane" in backbone.pretrained_on
    assert len(held_out_predictions(result, shapes)) == 6


def test_stop_ends_the_run_with_the_model_so_far(shapes: PictureSet, shipped_backbone) -> None:
    stop = threading.Event()

    def stop_at_epoch_3(p: Progress) -> None:
        if p.epoch is not None and p.epoch.epoch == 3:
            stop.set()

    result = finetune(shapes, shipped_backbone, FinetuneConfig(epochs=30), on_progress=stop_at_epoch_3, stop=stop)
    assert result.stopped and len(result.history) == 3
    stop.set()
    with pytest.raises(FinetuneStopped):
        finetune(shapes, shipped_backbone, FinetuneConfig(epochs=30), stop=stop)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"mode": "all"}, "mode must be"), ({"epochs": 0}, "epochs must be"), ({"val_fraction": 0.0}, "between 0 and 1"),
     ({"head_lr": float("nan")}, "learning rates")],
)
def test_config_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FinetuneConfig(**kwargs)


# --- ImageNet backbones: a random-weight torchvision state dict in a temporary hub cache --------


def test_missing_imagenet_weights_name_the_prefetch_command_and_offer_shipped(hub_dir: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match=r"prefetch --weights resnet18.*--backbone shipped"):
        load_backbone("resnet18")
    with pytest.raises(WeightsUnavailableError, match=r"IMAGENET1K_V2.*get_model\('resnet50', weights='IMAGENET1K_V2'\)"):
        check_backbone("resnet50", "V2")
    with pytest.raises(ValueError, match="no V2 weights for resnet18; it has V1"):
        check_backbone("resnet18", "V2")
    with pytest.raises(ValueError, match="unknown backbone 'resnet20'"):
        check_backbone("resnet20")


def test_a_damaged_cached_file_is_a_clear_error(hub_dir: Path) -> None:
    path = hub_dir / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not torch")
    with pytest.raises(WeightsUnavailableError, match="cannot be read.*shipped"):
        load_backbone("resnet18")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["linear", "last-stage"])
def test_imagenet_resnet18_from_the_cache(cached_resnet18, mode: str) -> None:
    pictures = read_pictures(shape_files(per_class=4, size=(260, 240)))
    backbone = load_backbone("resnet18")
    assert backbone.key == "imagenet:resnet18:IMAGENET1K_V1" and backbone.input_size == 224
    assert torch.equal(backbone.model.conv1.weight, cached_resnet18.conv1.weight)  # our model, their weights
    result = finetune(pictures, backbone, FinetuneConfig(mode=mode, epochs=1, head_epochs=10))
    assert (result.train_images, result.val_images) == (6, 2)
    checkpoint = load_checkpoint(_saved(result))
    assert (checkpoint.model_name, checkpoint.input_size, checkpoint.classes) == ("resnet18", 224, ("circle", "square"))
    assert checkpoint.model.fc.out_features == 2
    if mode == "last-stage":  # layer4 moved, layer3 did not
        assert not torch.equal(checkpoint.model.layer4[1].conv2.weight, cached_resnet18.layer4[1].conv2.weight)
        assert torch.equal(checkpoint.model.layer3[1].conv2.weight, cached_resnet18.layer3[1].conv2.weight)
    classifier = classifier_from_checkpoint(checkpoint, name="fine-tuned resnet18")
    assert classifier.preprocessing.crop == 224
    explanation = classifier.explain(pictures.pictures[0][0].image)
    assert explanation.cams[("layer4", "gradcam")].map.shape[-2:] == (224, 224)


def _saved(result) -> bytes:
    buffer = io.BytesIO()
    result.save(buffer)
    return buffer.getvalue()


# --- The background job ---------------------------------------------------------------------------


def test_job_runs_in_the_background_and_reports_history(shapes: PictureSet) -> None:
    job = FinetuneJob(shapes, lambda: load_backbone(SHIPPED), FinetuneConfig(epochs=4)).start()
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state == "finished" and snap.finished and snap.fraction == 1.0
    assert [r.epoch for r in snap.history] == [1, 2, 3, 4]
    assert snap.result is not None and snap.result.val_acc == 1.0 and "held-out accuracy 100%" in snap.message
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def test_job_reports_a_loading_error_as_failed(shapes: PictureSet, hub_dir: Path) -> None:
    job = FinetuneJob(shapes, lambda: load_backbone("resnet18"), FinetuneConfig()).start()
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state == "failed" and "prefetch --weights resnet18" in snap.message and snap.result is None


def test_job_stop(shapes: PictureSet) -> None:
    gate = threading.Event()

    def slow_loader():
        gate.wait(10)
        return load_backbone(SHIPPED)

    job = FinetuneJob(shapes, slow_loader, FinetuneConfig(epochs=50)).start()
    job.stop()
    gate.set()
    assert job.join(timeout=60)
    assert job.snapshot().state == "stopped" and job.snapshot().result is None
