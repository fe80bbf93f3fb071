"""The trainer: configs, learning, stopping, divergence, checkpoints, budgets.

Small synthetic runs on the narrow ResNet-9 keep the file to well under a minute on 2 cores.
"""

from __future__ import annotations

import dataclasses
import io
import math
import threading
import time

import pytest
import torch

from resnet_core.checkpoint import load_checkpoint
from resnet_core.data import make_synthetic
from resnet_core.train import (
    EpochMetrics,
    GradNorms,
    Metrics,
    StepMetrics,
    TrainConfig,
    Trainer,
    evaluate,
    lr_at,
    resolve_precision,
    weighted_layers,
)
from resnet_core.models import create_model, list_models

TRAIN = make_synthetic(512, split="train", seed=0)
TEST = make_synthetic(200, split="test", seed=0)

# A small, quick run: 8 steps per epoch of 64 images on the 0.4M-parameter ResNet-9. AdamW
# because it learns this task in a couple of dozen steps with little tuning; SGD needs more.
SMALL = TrainConfig(
    model="resnet9_w16",
    data="synthetic",
    epochs=3,
    batch_size=64,
    optimizer="adamw",
    lr=0.003,
    weight_decay=0.0,
    device="cpu",
    precision="fp32",
    log_every=4,
    grad_norm_every=4,
    tta=False,
)


def run(config: TrainConfig, **kwargs: object) -> tuple[object, list[Metrics]]:
    seen: list[Metrics] = []
    result = Trainer(config, callback=seen.append, train_data=TRAIN, test_data=TEST, **kwargs).run()  # type: ignore[arg-type]
    return result, seen


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": "resnet7"}, "unknown model 'resnet7'"),
        ({"lr": -0.1}, "lr must be a positive number"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"epochs": 0}, "epochs must be positive"),
        ({"epochs": None, "budget_s": None}, "set epochs or budget_s"),
        ({"budget_s": -5, "epochs": None}, "budget_s must be positive"),
        ({"budget_s": 60}, "set either epochs or budget_s, not both"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"momentum": 1.0}, "momentum must be in"),
        ({"weight_decay": -1e-4}, "weight_decay must be >= 0"),
        ({"label_smoothing": 1.0}, "label_smoothing must be in"),
        ({"schedule": "step"}, "unknown schedule 'step'"),
        ({"optimizer": "adam"}, "unknown optimizer 'adam'"),
        ({"precision": "fp8"}, "unknown precision 'fp8'"),
        ({"subset": 0}, "subset must be at least 1"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"log_every": 0}, "log_every must be at least 1"),
    ],
)
def test_config_validation(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TrainConfig(), **change)


def test_cpu_and_gpu_defaults_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    import resnet_core.train as train_module

    monkeypatch.setattr(train_module, "cpu_recipe", lambda: "bf16")  # AVX-512 with bf16: the class defaults
    cpu = TrainConfig.for_device("cpu")
    assert cpu == TrainConfig(device="cpu", epochs=None, budget_s=120.0) and cpu.model == "resnet9_w16"
    monkeypatch.setattr(train_module, "cpu_recipe", lambda: "fp32")  # AVX2 only: smaller batches
    avx2 = TrainConfig.for_device("cpu")
    assert (avx2.model, avx2.batch_size, avx2.lr) == ("resnet9_w16", 64, 0.15)
    assert avx2 == dataclasses.replace(cpu, batch_size=64, lr=0.15)  # nothing else differs
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # for_device only asks this
    gpu = TrainConfig.for_device("cuda")
    assert gpu.model == "resnet9" and gpu.device == "cuda"
    assert (gpu.model, gpu.epochs) != (cpu.model, cpu.epochs)


def test_precision_resolution() -> None:
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("auto", cpu) in ("fp32", "bf16")
    with pytest.raises(ValueError, match="fp16' needs a CUDA GPU"):
        resolve_precision("fp16", cpu)


def test_onecycle_and_cosine_schedules() -> None:
    cfg = TrainConfig(lr=1.0, warmup=0.25)
    assert lr_at(cfg, 0.0) == 0.0
    assert lr_at(cfg, 0.125) == pytest.approx(0.5)
    assert lr_at(cfg, 0.25) == pytest.approx(1.0)
    assert lr_at(cfg, 0.625) == pytest.approx(0.5)
    assert lr_at(cfg, 1.0) == pytest.approx(0.0)
    cos = dataclasses.replace(cfg, schedule="cosine")
    assert lr_at(cos, 0.625) == pytest.approx(0.5) and lr_at(cos, 0.4) > lr_at(cfg, 0.4)
    assert lr_at(dataclasses.replace(cfg, schedule="constant"), 0.9) == 1.0


def test_weighted_layers_are_in_data_flow_order() -> None:
    names = [n for n, _ in weighted_layers(create_model("resnet20"))]
    assert names[0] == "conv1" and names[-1] == "fc" and len(names) == 20  # the paper's depth
    assert names.index("layer1.0.conv1") < names.index("layer2.0.conv1") < names.index("layer3.2.conv2")


# --------------------------------------------------------------------------------------------
# Training behaviour
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_learns_synthetic_and_reports_metrics() -> None:
    result, seen = run(SMALL)
    steps = [m for m in seen if isinstance(m, StepMetrics)]
    epochs = [m for m in seen if isinstance(m, EpochMetrics)]
    grads = [m for m in seen if isinstance(m, GradNorms)]
    assert result.status == "finished" and result.epochs_completed == 3
    assert [m.step for m in steps] == [4, 8, 12, 16, 20, 24]
    assert steps[-1].loss < steps[0].loss  # the loss falls
    assert [m.epoch for m in epochs] == [1, 2, 3]
    assert result.test_acc is not None and result.test_acc > 0.3  # chance is 0.1
    assert result.test_acc == epochs[-1].test_acc
    assert all(m.images_per_s > 0 and m.lr >= 0 for m in steps)
    assert [m.progress for m in steps] == [m.step / 24 for m in steps]  # 3 epochs of 8 steps
    # Gradient norms: one per weighted layer (8 convs + fc), input to output, all finite.
    assert len(grads) == 6 and grads[0].names[0] == "prep.0" and grads[0].names[-1] == "fc"
    assert len(grads[0].names) == len(grads[0].norms) == 9
    assert all(math.isfinite(v) and v > 0 for v in grads[0].norms)
    # The model comes back on the CPU in eval mode.
    assert not result.model.training and next(result.model.parameters()).device.type == "cpu"


def test_same_seed_same_weights() -> None:
    cfg = dataclasses.replace(SMALL, epochs=0.5, eval_every_epoch=False)
    a, _ = run(cfg)
    b, _ = run(cfg)
    c, _ = run(dataclasses.replace(cfg, seed=1))
    wa, wb, wc = (r.model.fc.weight for r in (a, b, c))  # type: ignore[attr-defined]
    assert torch.equal(wa, wb)
    assert not torch.equal(wa, wc)


def test_summary_keys_and_ranges() -> None:
    result, _ = run(dataclasses.replace(SMALL, epochs=0.5))
    s = result.summary()  # type: ignore[attr-defined]
    assert set(s) >= {
        "model", "residual", "device", "epochs_completed", "train_seconds", "images_per_second",
        "test_acc", "test_loss", "status", "data",
    }  # fmt: skip
    assert s["model"] == "resnet9_w16" and s["status"] == "finished" and s["device"] == "cpu"
    assert s["residual"] is True and s["epochs_completed"] == 0  # half an epoch
    assert s["test_acc"] == round(result.test_acc, 4) and s["test_loss"] == round(result.test_loss, 4)  # type: ignore[attr-defined]
    assert s["train_seconds"] > 0
    assert s["images_per_second"] > 0 and "Synthetic" in s["data"]


def test_checkpoint_round_trip_gives_same_outputs() -> None:
    result, _ = run(dataclasses.replace(SMALL, epochs=0.5, residual=False))
    buf = io.BytesIO()
    result.save(buf)  # type: ignore[attr-defined]
    ckpt = load_checkpoint(buf.getvalue())
    assert ckpt.model_name == "resnet9_w16" and ckpt.residual is False
    assert ckpt.classes == TRAIN.classes
    assert ckpt.config["lr"] == SMALL.lr and ckpt.metrics["test_acc"] == round(result.test_acc, 4)  # type: ignore[attr-defined]
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ckpt.model(x), result.model(x), atol=1e-5)  # type: ignore[attr-defined]
    # The loaded model scores what the trainer reported (same test set, fp32, no TTA).
    loss, acc = evaluate(ckpt.model, TEST)
    assert acc == pytest.approx(result.test_acc) and loss == pytest.approx(result.test_loss, rel=1e-4)  # type: ignore[attr-defined]
    # Mirror TTA scores the average of each image's and its mirror's logits.
    from resnet_core.augment import normalize
    from resnet_core.cifar10 import MEAN, STD

    x = normalize(TEST.images, MEAN, STD)
    with torch.no_grad():
        both = ckpt.model(x) + ckpt.model(x.flip(3))
    assert evaluate(ckpt.model, TEST, tta=True)[1] == pytest.approx((both.argmax(1) == TEST.labels).float().mean().item())


def test_divergence_is_reported_not_raised() -> None:
    # Far too high a learning rate: weights overflow float32 within a few steps.
    result, _ = run(dataclasses.replace(SMALL, optimizer="sgd", lr=1e30, schedule="constant"))
    assert result.status == "diverged"  # type: ignore[attr-defined]
    assert "loss became" in result.message and "lower the learning rate" in result.message  # type: ignore[attr-defined]
    assert result.test_acc is None  # type: ignore[attr-defined]


def test_injected_inf_is_caught_at_its_step() -> None:
    calls = {"n": 0}

    def poison_third_step(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not isinstance(module, torch.nn.Linear):
            return None
        calls["n"] += 1  # the head runs once per training step
        return output * float("inf") if calls["n"] == 3 else None

    handle = torch.nn.modules.module.register_module_forward_hook(poison_third_step)
    try:
        result, _ = run(dataclasses.replace(SMALL, epochs=1))
    finally:
        handle.remove()
    assert result.status == "diverged"  # type: ignore[attr-defined]
    assert "at step 3" in result.message  # type: ignore[attr-defined]


def test_stop_event_ends_the_run_within_one_step() -> None:
    stop = threading.Event()
    seen: list[Metrics] = []

    def record(m: Metrics) -> None:
        seen.append(m)
        if isinstance(m, StepMetrics) and m.step == 3:
            stop.set()  # as the Stop button does, from another thread, mid-run

    cfg = dataclasses.replace(SMALL, epochs=1000, log_every=1)
    result = Trainer(cfg, callback=record, stop_event=stop, train_data=TRAIN, test_data=TEST).run()
    assert result.status == "stopped" and "stopped by request at step 3" in result.message
    assert [m.step for m in seen if isinstance(m, StepMetrics)] == [1, 2, 3]  # no step after the request
    assert result.test_acc is not None  # the test set is small, so a final evaluation was made


@pytest.mark.slow
def test_a_finite_blow_up_is_divergence() -> None:
    """A loss that stays far above its start ends the run as "diverged", NaN or not."""
    calls = {"n": 0}

    def inflate_after_two_steps(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not isinstance(module, torch.nn.Linear) or not module.training:
            return None
        calls["n"] += 1
        return output * 1e4 if calls["n"] > 2 else None  # huge but finite logits: loss in the thousands

    handle = torch.nn.modules.module.register_module_forward_hook(inflate_after_two_steps)
    try:
        result, _ = run(dataclasses.replace(SMALL, epochs=10, eval_every_epoch=False))
    finally:
        handle.remove()
    assert result.status == "diverged"  # type: ignore[attr-defined]
    assert "blew up" in result.message and "at step 22" in result.message  # type: ignore[attr-defined]
    assert "lower the learning rate" in result.message  # type: ignore[attr-defined]


def test_budget_schedule_follows_the_clock() -> None:
    """With a fake clock that moves 0.05 s per reading the run is deterministic to check."""
    now = {"t": 0.0}

    def fake_clock() -> float:
        now["t"] += 0.05
        return now["t"]

    cfg = dataclasses.replace(SMALL, epochs=None, budget_s=1.0, log_every=1, grad_norm_every=0, batch_size=16)
    result, seen = run(cfg, clock=fake_clock)
    steps = [m for m in seen if isinstance(m, StepMetrics)]
    lrs = [m.lr for m in steps]
    # It stops at the first step boundary past the budget: a step reads the fake clock 3-4 times.
    assert 1.0 <= result.train_seconds < 1.0 + 0.2  # type: ignore[attr-defined]
    assert [m.progress for m in steps] == [min(1.0, m.elapsed_s / 1.0) for m in steps]  # time, not epochs
    peak = lrs.index(max(lrs))
    assert len(lrs) >= 5 and lrs[0] < 0.6 * cfg.lr and lrs[peak] > 0.7 * cfg.lr  # warmed up ...
    assert lrs[peak:] == sorted(lrs[peak:], reverse=True)  # ... then decayed ...
    assert lrs[-1] < 0.25 * cfg.lr  # ... to near zero as the time ran out


@pytest.mark.slow
def test_shipped_checkpoint_matches_its_record(cifar10_dir: object) -> None:
    """The committed model loads and scores on a 2,000-image stratified test sample about what its JSON says."""
    import json

    from resnet_core.checkpoint import SHIPPED_CHECKPOINT
    from resnet_core.cifar10 import CLASSES
    from resnet_core.data import load_cifar10, stratified_subset

    record = json.loads(SHIPPED_CHECKPOINT.with_suffix(".json").read_text())
    ckpt = load_checkpoint(SHIPPED_CHECKPOINT)
    assert ckpt.model_name == record["model"] and ckpt.classes == CLASSES
    assert SHIPPED_CHECKPOINT.stat().st_size < 5_000_000
    test = stratified_subset(load_cifar10(cifar10_dir, split="test"), 2000)  # type: ignore[arg-type]
    _, acc = evaluate(ckpt.model, test)
    assert acc == pytest.approx(record["test_acc"], abs=0.03)  # a sample of the 10,000: within 3 points


@pytest.mark.parametrize("name", list_models("cifar"))
def test_every_cifar_model_trains_a_step_and_round_trips(name: str) -> None:
    """Every network the Train page offers takes an SGD step and survives save/load unchanged."""
    cfg = dataclasses.replace(SMALL, model=name, epochs=1 / 2, grad_norm_every=0, log_every=1, batch_size=8,
                              eval_every_epoch=False)
    train, test = make_synthetic(16, split="train", seed=0), make_synthetic(8, split="test", seed=0)
    result = Trainer(cfg, train_data=train, test_data=test).run()
    assert result.status == "finished" and result.message.startswith("finished 1 steps")
    torch.manual_seed(cfg.seed)
    initial = create_model(name)  # the weights the run started from: the step changed them
    assert any(not torch.equal(p, q) for p, q in zip(initial.state_dict().values(), result.model.state_dict().values()))
    buf = io.BytesIO()
    result.save(buf)
    ckpt = load_checkpoint(buf.getvalue())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ckpt.model(x), result.model(x), atol=1e-5)


def run_with_test_logits_times(factor: float) -> object:
    """One epoch of SMALL with every ``Linear``'s output multiplied by ``factor`` in evaluation only."""

    def scale_in_evaluation(module: torch.nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        return output * factor if isinstance(module, torch.nn.Linear) and not module.training else None

    handle = torch.nn.modules.module.register_module_forward_hook(scale_in_evaluation)
    try:
        result, _ = run(dataclasses.replace(SMALL, epochs=1, eval_every_epoch=False))
    finally:
        handle.remove()
    return result


def test_a_test_loss_orders_of_magnitude_above_training_is_divergence() -> None:
    """A blow-up too short for the step-by-step watch still ends as "diverged" (issue 19, item 4)."""
    result = run_with_test_logits_times(1e4)
    assert result.status == "diverged" and result.outcome == "diverged"  # type: ignore[attr-defined]
    assert "over 100x the training loss" in result.message and "lower the learning rate" in result.message  # type: ignore[attr-defined]
    assert result.test_loss is None and result.summary()["status"] == "diverged"  # type: ignore[attr-defined]


def test_a_run_at_chance_says_it_learned_nothing() -> None:
    # The same logits for every test image: one class for all, chance accuracy, a sane loss.
    result = run_with_test_logits_times(0)
    assert result.status == "finished" and result.outcome == "learned nothing"  # type: ignore[attr-defined]
    assert "learned nothing" in result.message and result.summary()["outcome"] == "learned nothing"  # type: ignore[attr-defined]
    assert "lower the learning rate" in result.message  # type: ignore[attr-defined]
