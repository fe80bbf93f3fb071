"""Training a registered model on an in-memory dataset: one config, one loop, metrics out.

The design follows airbench (Jordan, 2024): the whole split lives on the device as one uint8
tensor, batches are augmented there with tensor ops, and the hyperparameters sit in one frozen
config with units in comments. The loop reports progress through a callback (step metrics,
per-epoch test metrics, per-layer gradient norms) and stops promptly when asked.
"""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any, Literal, Union, get_args

import torch
import torch.distributed as dist
from torch import nn

from resnet_core.checkpoint import save_checkpoint
from resnet_core.cifar10 import MEAN, STD
from resnet_core.data import DataSource, ImageDataset, load_data
from resnet_core.device import cpu_recipe, cpu_supports_bf16, pick_device, set_cpu_threads
from resnet_core.engine.batches import Batches
from resnet_core.engine.batchnorm import SETTLED_STEPS, recalibrate_batchnorm
from resnet_core.engine.divergence import DivergenceWatch
from resnet_core.engine.evaluate import eval_totals
from resnet_core.engine.layers import weighted_layers
from resnet_core.engine.outcome import LOSS_GAP, judge_end
from resnet_core.engine.runner import Runner
from resnet_core.engine.schedule import Schedule, lr_at_progress
from resnet_core.engine.step import apply_update, backward, grad_norms
from resnet_core.models import create_model, get_spec
from resnet_core.optim import SGD, AdamW, Optimizer

__all__ = [
    "EpochMetrics",
    "GradNorms",
    "Metrics",
    "StepMetrics",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "evaluate",
    "lr_at",
    "resolve_precision",
    "single_run_recipe",
    "train",
    "weighted_layers",
]

Precision = Literal["auto", "fp32", "bf16", "fp16"]
OptimizerName = Literal["sgd", "adamw"]

#: The allowed values of TrainConfig's text fields, read off their Literal types (one list each).
_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": get_args(OptimizerName),
    "schedule": get_args(Schedule),
    "precision": get_args(Precision),
    "data": get_args(DataSource),
}


CPU_BUDGET_S = 120.0  # seconds of training in the CPU recipes: a visitor watches the whole run


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. The defaults are the bf16 CPU recipe, run for 8 epochs.

    Build variants with ``dataclasses.replace(config, lr=...)``; :meth:`for_device` gives the
    tuned default for a CPU (a 120 s budget) or a GPU.
    """

    model: str = "resnet9_w16"  # a registered name, see resnet_core.models.list_models()
    residual: bool = True  # False trains the plain twin (no shortcut additions)
    epochs: float | None = 8.0  # passes over the training set; None when budget_s sets the length
    budget_s: float | None = None  # seconds of training (evaluation not counted); set epochs=None with it
    batch_size: int = 256  # images per step (per process when distributed); 256 beat 512 on 2 cores
    #                        (more steps in a short run, and faster per image: bench/RESULTS.md)
    optimizer: OptimizerName = "sgd"  # SGD uses Nesterov momentum
    lr: float = 0.3  # peak learning rate of the schedule for this batch_size (not rescaled for others)
    momentum: float = 0.9  # SGD momentum; AdamW's beta1
    weight_decay: float = 5e-4  # L2 on conv/linear weights only, per step; BN and biases get none
    schedule: Schedule = "onecycle"
    warmup: float = 0.2  # fraction of the run spent ramping the lr linearly up from 0 (onecycle, cosine)
    label_smoothing: float = 0.2  # probability mass spread over all classes (Szegedy et al., 2016)
    tta: bool = True  # test-time augmentation: average logits of the image and its mirror (2x eval cost)
    train_size: int | None = None  # pixels: train on random crops this big (cheaper steps); None: full
    #                                images. Evaluation always sees the whole image.
    subset: int | None = None  # train on this many images (class-balanced, first of each class)
    test_subset: int | None = None  # evaluate on this many test images; None: all
    seed: int = 0  # weights, data order and augmentation all derive from it
    device: str = "auto"  # auto|cpu|cuda
    precision: Precision = "auto"  # auto|fp32|bf16|fp16; auto: see resolve_precision()
    data: DataSource = "cifar10"
    data_dir: str | None = None  # cifar-10-batches-py or its parent; None: $RESNET_DATA_DIR / cache
    log_every: int = 20  # steps between StepMetrics (each is one host sync on a GPU)
    grad_norm_every: int = 50  # steps between GradNorms; 0: never
    eval_every_epoch: bool = True  # evaluate after each epoch (EpochMetrics); the end is always evaluated

    def __post_init__(self) -> None:
        try:
            get_spec(self.model)
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None
        if self.epochs is None and self.budget_s is None:
            raise ValueError("set epochs or budget_s: with neither the run would never end")
        if self.epochs is not None and self.budget_s is not None:
            raise ValueError("set either epochs or budget_s, not both (give the other None): a run has one length")
        if self.epochs is not None and not self.epochs > 0:
            raise ValueError(f"epochs must be positive, got {self.epochs}")
        if self.budget_s is not None and not self.budget_s > 0:
            raise ValueError(f"budget_s must be positive seconds, got {self.budget_s}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup is a fraction of the run in [0, 1), got {self.warmup}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        for name, value in (("subset", self.subset), ("test_subset", self.test_subset)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 image (or None for all), got {value}")
        if self.train_size is not None and self.train_size < 8:
            raise ValueError(f"train_size must be at least 8 pixels (or None for whole images), got {self.train_size}")
        if self.log_every < 1:
            raise ValueError(f"log_every must be at least 1 step, got {self.log_every}")
        if self.grad_norm_every < 0:
            raise ValueError(f"grad_norm_every must be >= 0 (0: never), got {self.grad_norm_every}")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; use one of {', '.join(allowed)}")
        if self.device != "auto" and self.device.split(":")[0] not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {self.device!r}; use 'auto', 'cpu' or 'cuda'")

    @classmethod
    def for_device(cls, device: str = "auto") -> "TrainConfig":
        """The tuned default for ``device`` ("auto" resolves to what this machine has).

        GPU: the full-width ResNet-9 of Page (2018) for 10 epochs (not measured here: no GPU on the
        dev machine). CPU: a ResNet-9 at 1/4 width for a 2-minute budget, in the variant that fits
        what the CPU can do (:func:`resnet_core.device.cpu_recipe`): the class defaults with bf16
        autocast where the CPU has AVX512-BF16 or AMX; batch 64 at lr 0.15 in fp32 where it has
        only AVX2, as many cloud vCPUs do (batch 64 because its steps need less memory, which keeps
        a server under 1 GB, issue #10). Measurements: bench/RESULTS.md, "Training".
        """
        if pick_device(device).type == "cuda":
            return cls(model="resnet9", epochs=10.0, batch_size=512, lr=0.4, device=device, log_every=50)
        if cpu_recipe() == "fp32":
            return cls(epochs=None, budget_s=CPU_BUDGET_S, batch_size=64, lr=0.15, device=device)
        return cls(epochs=None, budget_s=CPU_BUDGET_S, device=device)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def single_run_recipe(device: str = "auto") -> TrainConfig:
    """The default single-network run for ``device``: :meth:`TrainConfig.for_device`, live.

    The Train page and ``python -m resnet_core train`` both start from this; on a CPU it also logs
    every step (a CPU step is long, so a metric costs nothing next to it and the charts stay live).
    """
    recipe = TrainConfig.for_device(device)
    if recipe.device == "cpu" or (recipe.device == "auto" and pick_device("auto").type == "cpu"):
        recipe = replace(recipe, log_every=1, grad_norm_every=1)
    return recipe


# --------------------------------------------------------------------------------------------
# What the loop reports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepMetrics:
    """Training progress, averaged over the steps since the previous report."""

    step: int  # optimizer steps done
    epoch: float  # passes over the training set done, fractional
    loss: float  # mean training loss (with label smoothing) over the window
    acc: float  # training accuracy over the window, 0..1 (on augmented images)
    lr: float  # learning rate of the last step
    images_per_s: float  # training throughput over the window (all processes)
    elapsed_s: float  # training seconds so far, evaluation excluded
    progress: float = 0.0  # 0..1 of the run: steps / total steps, or elapsed / budget


@dataclass(frozen=True)
class EpochMetrics:
    """Held-out results after an epoch (or at the end of a run)."""

    epoch: int  # epochs completed
    test_loss: float  # mean cross-entropy, no label smoothing
    test_acc: float  # 0..1
    elapsed_s: float  # training seconds so far, evaluation excluded


@dataclass(frozen=True)
class GradNorms:
    """L2 norm of each weighted layer's weight gradient at one step, input to output."""

    step: int
    names: tuple[str, ...]  # module names, e.g. "layer1.0.conv1"
    norms: tuple[float, ...]


Metrics = Union[StepMetrics, EpochMetrics, GradNorms]


@dataclass
class TrainResult:
    """The outcome of :meth:`Trainer.run`."""

    status: Literal["finished", "stopped", "diverged"]
    message: str
    config: TrainConfig
    model: nn.Module  # trained, eval mode, on CPU, float32
    epochs_completed: int
    train_seconds: float  # evaluation excluded
    images_per_second: float  # training images per second, all processes together
    test_acc: float | None  # 0..1, None when there was no evaluation
    test_loss: float | None
    device: str = "cpu"  # where it trained, e.g. "cpu", "cuda:0"
    #: For people and scripts: "learned", "learned nothing" (chance accuracy at the end),
    #: "diverged" or "stopped"; "" where there was no final evaluation to judge.
    outcome: str = ""
    precision: str = "fp32"  # what "auto" resolved to
    data: str = ""  # ImageDataset.source of the training set
    classes: tuple[str, ...] = ()  # class names of the training set, index = label

    def summary(self) -> dict[str, Any]:
        """The one-line JSON summary of a run."""
        return {
            "model": self.config.model,
            "residual": self.config.residual,
            "device": self.device,
            "precision": self.precision,
            "epochs_completed": self.epochs_completed,
            "train_seconds": round(self.train_seconds, 2),
            "images_per_second": round(self.images_per_second, 1),
            "test_acc": None if self.test_acc is None else round(self.test_acc, 4),
            "test_loss": None if self.test_loss is None else round(self.test_loss, 4),
            "status": self.status,
            "outcome": self.outcome,
            "message": self.message,
            "data": self.data,
        }

    def save(self, path: str | Path | IO[bytes]) -> None:
        """Write a checkpoint :func:`resnet_core.checkpoint.load_checkpoint` reads back."""
        classes = self.classes or tuple(str(i) for i in range(self._num_classes()))
        save_checkpoint(
            path,
            self.model,
            model_name=self.config.model,
            residual=self.config.residual,
            classes=classes,
            mean=MEAN,
            std=STD,
            config=self.config.to_dict(),
            metrics=self.summary(),
        )

    def _num_classes(self) -> int:
        return int(next(m for m in reversed(list(self.model.modules())) if isinstance(m, nn.Linear)).out_features)


# --------------------------------------------------------------------------------------------
# Pieces of the loop
# --------------------------------------------------------------------------------------------


def resolve_precision(precision: str, device: torch.device) -> str:
    """What "auto" means on ``device``: bf16 autocast where the hardware runs bf16 natively.

    On CUDA that is Ampere and newer. On a CPU it needs AVX512-BF16 or AMX, where bf16 autocast
    trains nearly twice as fast as fp32 (bench/RESULTS.md, "training throughput, fp32 vs bf16").
    Without those instructions bf16 is emulated and slower than fp32: "auto" stays fp32.
    """
    if precision != "auto":
        if precision == "fp16" and device.type != "cuda":
            raise ValueError("precision 'fp16' needs a CUDA GPU; on a CPU use 'bf16' or 'fp32'")
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_supports_bf16() else "fp32"


def lr_at(config: TrainConfig, progress: float) -> float:
    """Learning rate at ``progress`` (0 at the start, 1 at the end of the run)."""
    return lr_at_progress(config.schedule, config.lr, config.warmup, progress)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on conv/linear weights only: decaying BN scales and biases only hurts."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def evaluate(
    model: nn.Module, data: ImageDataset, *, tta: bool = False, device: str = "cpu", batch_size: int = 500
) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy 0..1)`` of ``model`` on all of ``data``, in fp32."""
    dev = pick_device(device)
    model = model.to(dev)
    totals = eval_totals(model, data.images, data.labels, device=dev, precision="fp32", tta=tta, batch_size=batch_size)
    assert totals is not None  # no stop callback was given
    loss_sum, correct, count = totals.tolist()
    return loss_sum / max(count, 1), correct / max(count, 1)


# --------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------


@dataclass
class _RunState:
    """Everything one run of :class:`Trainer` changes as it goes; made by ``Trainer._setup``."""

    device: torch.device
    precision: str
    rank: int
    world: int
    train_data: ImageDataset
    test_data: ImageDataset
    net: nn.Module  # the network itself (what is saved and evaluated)
    model: nn.Module  # what is called in training: ``net``, or its DDP wrapper
    optimizer: Optimizer  # resnet_core.optim: torch.optim would import torch._dynamo (+155 MB)
    scaler: torch.amp.GradScaler
    batches: Batches  # this process's augmented mini-batches, on the device
    total_steps: int | None  # None under a time budget
    layers: list[tuple[str, nn.Module]]  # for gradient norms
    window: torch.Tensor  # loss sum, correct, images since the last report
    watch: DivergenceWatch
    check_every: int  # steps between divergence checks on the host
    clock_start: float  # self.clock() when the training clock last (re)started
    train_s: float = 0.0  # training seconds banked before clock_start
    window_start: float = 0.0
    step: int = 0
    epochs_done: int = 0
    status: Literal["finished", "stopped", "diverged"] | None = None  # None while running
    message: str = ""
    last_eval: tuple[float, float] | None = None
    last_train_loss: float | None = None  # mean training loss of the latest report window


class Trainer(Runner[TrainConfig, Metrics]):
    """Trains ``config.model`` on in-memory data and reports through ``callback``.

    ``train_data``/``test_data`` override what :func:`resnet_core.data.load_data` would load.
    ``stop_event`` is checked between steps: set it and :meth:`run` returns within about one
    step with status "stopped". The callback runs on the training thread; keep it quick.
    ``clock`` (seconds) times the budget; tests inject a fake one.
    """

    # -- distributed helpers: no-ops in a single process ------------------------------------

    def _dist(self) -> tuple[int, int]:
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def _all_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self._dist()[1] > 1:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def _all_max(self, t: torch.Tensor) -> torch.Tensor:
        if self._dist()[1] > 1:
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t

    def _any_rank(self, flag: torch.Tensor) -> bool:
        """True if ``flag`` is set on any process (every process gets the same answer)."""
        return bool(self._all_max(flag.reshape(1).to(torch.float32))[0] > 0)

    def _emit(self, metric: Metrics) -> None:
        """Report a metric to the callback (the caller keeps the history); rank 0 only, as it holds the averages."""
        if self._dist()[0] == 0:
            super()._emit(metric)

    # -- evaluation ------------------------------------------------------------------------------

    def evaluate(
        self, model: nn.Module, data: ImageDataset, device: torch.device, precision: str
    ) -> tuple[float, float] | None:
        """``(loss, accuracy)`` of ``model`` on ``data`` (sharded over processes), or None if stopped.

        In batches of the training batch size (at least 64): evaluation's activations then fit in
        the memory the training steps have just freed; bigger batches raised a server's peak
        memory and were no faster on 2 cores (bench/RESULTS.md, "Server memory").
        """
        rank, world = self._dist()
        totals = eval_totals(
            model, data.images[rank::world], data.labels[rank::world], device=device, precision=precision,
            tta=self.config.tta, batch_size=max(self.config.batch_size, 64), should_stop=self.stop_event.is_set,
        )  # fmt: skip
        if totals is None:
            return None
        loss_sum, correct, count = self._all_sum(totals).tolist()
        return loss_sum / max(count, 1), correct / max(count, 1)

    # -- the loop: setup, step, epoch end, finish -----------------------------------------------

    def run(self) -> TrainResult:
        """Train until the epochs or the time budget are used up, or until stopped or diverged."""
        state = self._setup()
        while state.status is None:
            for b, idx in enumerate(state.batches.epoch()):
                if self._should_end(state):
                    break
                self._step(state, idx, b)
                if state.status is not None:
                    break
            else:
                state.epochs_done += 1
            self._end_epoch(state)
        return self._finish(state)

    def _setup(self) -> _RunState:
        """Device, data on it, network, optimiser and the counters of one run."""
        cfg = self.config
        rank, world = self._dist()
        device = pick_device(cfg.device)
        if world > 1 and device.type == "cuda":
            device = torch.device("cuda", torch.cuda.current_device())
        precision = resolve_precision(cfg.precision, device)
        if device.type == "cpu":
            set_cpu_threads(divide_by=world)  # one thread per core this process may use, quota included
        if self.train_data is None or self.test_data is None:
            loaded_train, loaded_test = load_data(cfg)
            train_data, test_data = self.train_data or loaded_train, self.test_data or loaded_test
        else:
            train_data, test_data = self.train_data, self.test_data

        torch.manual_seed(cfg.seed)
        net = create_model(cfg.model, num_classes=len(train_data.classes), residual=cfg.residual)
        net = net.to(device=device, memory_format=torch.channels_last)
        model: nn.Module = net
        if world > 1:
            model = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
        groups = _param_groups(net, cfg.weight_decay)
        if cfg.optimizer == "sgd":
            optimizer: Optimizer = SGD(groups, lr=0.0, momentum=cfg.momentum, nesterov=True)
        else:
            optimizer = AdamW(groups, lr=0.0, betas=(cfg.momentum, 0.999))

        # The whole split on the device, once. Each process trains on its own slice per epoch;
        # every rank draws the same permutation (same seed) and augments with its own generator.
        batches = Batches(
            train_data.images.to(device), train_data.labels.to(device), cfg.batch_size, size=cfg.train_size,
            order=torch.Generator(device=device).manual_seed(cfg.seed),
            augmentation=torch.Generator(device=device).manual_seed(cfg.seed * 1_000_003 + rank + 1),
            rank=rank, world=world,
        )  # fmt: skip
        model.train()
        return _RunState(
            device=device, precision=precision, rank=rank, world=world, train_data=train_data, test_data=test_data,
            net=net, model=model, optimizer=optimizer,
            # fp16 needs loss scaling to keep small gradients from flushing to zero; bf16 does not.
            scaler=torch.amp.GradScaler("cuda", enabled=precision == "fp16"),
            batches=batches,
            total_steps=None if cfg.budget_s is not None else max(1, math.ceil(cfg.epochs * batches.steps_per_epoch)),
            layers=weighted_layers(net),
            window=torch.zeros(3, device=device, dtype=torch.float64),
            watch=DivergenceWatch(device),
            # On a CPU every op is synchronous, so checking the loss each step costs nothing; on a
            # GPU it would stall the queue, so there we only look at the logging syncs.
            check_every=1 if device.type == "cpu" else cfg.log_every,
            clock_start=self.clock(),
        )  # fmt: skip

    def _elapsed(self, state: _RunState) -> float:
        """Training seconds so far: the clock runs while training and pauses around evaluation."""
        return state.train_s + (self.clock() - state.clock_start)

    def _progress(self, state: _RunState, seconds: float) -> float:
        """0..1 of the run after ``seconds`` of training and ``state.step`` steps."""
        if self.config.budget_s is not None:
            return min(1.0, seconds / self.config.budget_s)
        return state.step / state.total_steps  # type: ignore[operator]

    def _should_end(self, state: _RunState) -> bool:
        """Before a step: has the run been stopped, run out of steps or time, or diverged elsewhere?"""
        cfg = self.config
        stop_now = self.stop_event.is_set()
        over = cfg.budget_s is not None and self._elapsed(state) >= cfg.budget_s
        if state.world > 1:
            stop_now, over, diverged = self._agree(state, stop_now, over)
            if diverged:
                state.status = "diverged"
                return True
        if stop_now:
            state.status, state.message = "stopped", f"stopped by request at step {state.step}"
            return True
        if over or (state.total_steps is not None and state.step >= state.total_steps):
            state.status = "finished"
            return True
        return False

    def _agree(self, state: _RunState, stop_now: bool, over: bool) -> tuple[bool, bool, bool]:
        """Multi-process only: one small all-reduce so every rank stops at the same step.

        Divergence travels in the same all-reduce: a rank that left the loop alone would leave the
        others waiting in their next collective forever. The stop button lives on rank 0.
        """
        local = [float(stop_now), float(over), float(state.watch.tripped)]
        flags = self._all_max(torch.tensor(local, device=state.device)).tolist()
        return flags[0] > 0, flags[1] > 0, flags[2] > 0

    def _step(self, state: _RunState, idx: torch.Tensor, b: int) -> None:
        """One optimiser step on the mini-batch ``idx``; sets ``state.status`` when the loss diverges."""
        cfg = self.config
        lr = lr_at(cfg, self._progress(state, self._elapsed(state)))
        for g in state.optimizer.param_groups:
            g["lr"] = lr
        x, y = state.batches.batch(idx)
        loss, logits = backward(
            state.model, x, y, state.optimizer, device=state.device, precision=state.precision,
            scaler=state.scaler, label_smoothing=cfg.label_smoothing,
        )  # fmt: skip
        state.step += 1
        state.watch.update(loss, state.step)
        state.window[0] += loss.double() * len(y)
        state.window[1] += (logits.argmax(1) == y).sum()
        state.window[2] += len(y)
        if state.world == 1 and state.step % state.check_every == 0 and bool(state.watch.tripped):
            state.status = "diverged"
            return

        if cfg.grad_norm_every and state.step % cfg.grad_norm_every == 0:
            state.scaler.unscale_(state.optimizer)
            # After DDP's all-reduce every rank holds the same averaged gradients.
            self._emit(GradNorms(state.step, tuple(n for n, _ in state.layers), tuple(grad_norms(state.layers))))
        apply_update(state.optimizer, state.scaler)

        if state.step % cfg.log_every == 0:
            stats = self._all_sum(state.window.clone()).tolist()
            if state.device.type == "cuda":
                torch.cuda.synchronize(state.device)
            now = self._elapsed(state)
            seen = stats[2]
            state.last_train_loss = stats[0] / max(seen, 1)
            self._emit(StepMetrics(
                step=state.step, epoch=state.epochs_done + (b + 1) / state.batches.steps_per_epoch,
                loss=stats[0] / max(seen, 1), acc=stats[1] / max(seen, 1), lr=lr,
                images_per_s=seen / max(now - state.window_start, 1e-9), elapsed_s=now,
                progress=self._progress(state, now),
            ))  # fmt: skip
            state.window.zero_()
            state.window_start = now

    def _end_epoch(self, state: _RunState) -> None:
        """After an epoch (or a break): agree on divergence, evaluate with the training clock paused."""
        if state.status == "diverged" or self._any_rank(state.watch.tripped):
            state.status = "diverged"
            return
        if state.status is not None or not self.config.eval_every_epoch:
            return
        if state.device.type == "cuda":
            torch.cuda.synchronize(state.device)
        state.train_s = self._elapsed(state)  # the training clock stops here and restarts after evaluation
        state.last_eval = self.evaluate(state.net, state.test_data, state.device, state.precision)
        state.clock_start = self.clock()
        if state.last_eval is None:
            state.status, state.message = "stopped", f"stopped by request at step {state.step}"
            return
        self._emit(EpochMetrics(state.epochs_done, state.last_eval[0], state.last_eval[1], state.train_s))

    def _divergence_message(self, state: _RunState) -> str:
        """What went wrong, at which step (the earliest over all ranks), and what to do."""
        watch = state.watch
        never = torch.iinfo(torch.int64).max
        bad = -int(self._all_max(torch.where(watch.first_bad < 0, -never, -watch.first_bad).reshape(1))[0])
        if self._any_rank(~torch.isfinite(watch.bad_loss)):
            what = "became " + ("nan" if self._any_rank(torch.isnan(watch.bad_loss)) else "inf")
        else:
            what = (f"blew up to {float(watch.bad_loss):.3g} (over {watch.factor:g}x its first value for "
                    f"{watch.patience} steps)")  # fmt: skip
        return (
            f"loss {what} at step {bad}; lower the learning rate (now {self.config.lr:g})"
            + (" or use precision 'fp32'" if state.precision != "fp32" else "")
        )

    def _finish(self, state: _RunState) -> TrainResult:
        """The final evaluation and message for how the run ended; the network back on the CPU."""
        cfg = self.config
        if state.device.type == "cuda":
            torch.cuda.synchronize(state.device)
        state.train_s = self._elapsed(state)
        steps_per_epoch = state.batches.steps_per_epoch
        outcome = ""
        if state.status == "diverged":
            state.message = self._divergence_message(state)
            state.last_eval = None
        elif state.status == "stopped":
            # A final evaluation is cheap on small test sets and tells the user where the model got;
            # skip it on big ones so "stop" stays prompt.
            state.last_eval = None
            if len(state.test_data) <= 2_000:
                state.last_eval = self._evaluate_ignoring_stop(state.net, state.test_data, state.device, state.precision)
            state.message += f" after {state.epochs_done} epochs ({state.train_s:.1f} s of training)"
        else:
            # The last epoch was evaluated already unless the run ended mid-epoch or skipped evals.
            if (state.last_eval is None or not cfg.eval_every_epoch
                    or self._ended_mid_epoch(state.step, steps_per_epoch)):
                state.last_eval = self.evaluate(state.net, state.test_data, state.device, state.precision)
                if state.last_eval is not None:
                    self._emit(EpochMetrics(state.epochs_done, state.last_eval[0], state.last_eval[1], state.train_s))
            state.message = (f"finished {state.step} steps ({state.epochs_done} full epochs) "
                             f"in {state.train_s:.1f} s of training")  # fmt: skip
            if state.last_eval is not None:
                outcome, words = self._judge(state)
                state.message += f"; test accuracy {state.last_eval[1]:.2%}"
                if outcome == "diverged":
                    state.status = "diverged"
                    state.message = state.message.replace("finished", "ran", 1)  # it did not end well
                    state.last_eval = None  # a blown-up network's scores mean nothing
                if words:
                    state.message += f", but {words}"
        if state.status in ("stopped", "diverged"):
            outcome = state.status
        state.net.eval()
        return TrainResult(
            status=state.status or "finished",
            message=state.message,
            config=cfg,
            model=state.net.to("cpu", memory_format=torch.contiguous_format).float(),
            epochs_completed=state.epochs_done,
            train_seconds=state.train_s,
            images_per_second=state.step * state.batches.batch_size * state.world / max(state.train_s, 1e-9),
            test_acc=None if state.last_eval is None else state.last_eval[1],
            test_loss=None if state.last_eval is None else state.last_eval[0],
            device=str(state.device),
            precision=state.precision,
            data=state.train_data.source,
            classes=state.train_data.classes,
            outcome=outcome,
        )

    def _judge(self, state: _RunState) -> tuple[str, str]:
        """The outcome of a finished run from its final evaluation, and a sentence ("" if it learned).

        A short run's BatchNorm statistics may not describe its network yet (see
        :mod:`resnet_core.engine.batchnorm`): where its test loss is orders of magnitude above its
        training loss, the statistics are re-estimated from training images, and if that explains
        the gap the network keeps them and the run is scored with them.
        """
        assert state.last_eval is not None
        stats = self._all_sum(state.window.clone()).tolist()  # the steps since the last report
        train_loss = stats[0] / stats[2] if stats[2] else state.last_train_loss
        note = ""
        gap = train_loss is not None and state.last_eval[0] > LOSS_GAP * max(train_loss, 0.01)
        if gap and state.step < SETTLED_STEPS:
            settled = copy.deepcopy(state.net)
            recalibrate_batchnorm(settled, state.batches.images, state.batches.batch_size)
            again = self._evaluate_ignoring_stop(settled, state.test_data, state.device, state.precision)
            if again is not None and math.isfinite(again[0]) and again[0] <= LOSS_GAP * max(train_loss, 0.01):
                note = (f" (BatchNorm's running statistics had not settled after {state.step} steps: the test "
                        f"loss was {state.last_eval[0]:.3g} with them, {again[0]:.3g} with statistics "
                        f"re-estimated from training images, which the model now keeps)")  # fmt: skip
                state.net.load_state_dict(settled.state_dict())
                state.last_eval = again
                self._emit(EpochMetrics(state.epochs_done, again[0], again[1], state.train_s))
        test_loss, test_acc = state.last_eval
        blew_up = float(self._all_max(state.watch.peak_ratio().reshape(1))[0])
        outcome, words = judge_end(test_loss, test_acc, train_loss, len(state.train_data.classes), self.config.lr,
                                   blew_up=blew_up)
        if note:
            words = (words + note) if words else note.strip(" ()")
        return outcome, words

    @staticmethod
    def _ended_mid_epoch(step: int, steps_per_epoch: int) -> bool:
        return step % steps_per_epoch != 0

    def _evaluate_ignoring_stop(
        self, model: nn.Module, data: ImageDataset, device: torch.device, precision: str
    ) -> tuple[float, float] | None:
        saved, self.stop_event = self.stop_event, threading.Event()
        try:
            return self.evaluate(model, data, device, precision)
        finally:
            self.stop_event = saved


def train(config: TrainConfig, **kwargs: Any) -> TrainResult:
    """Shorthand for ``Trainer(config, **kwargs).run()``."""
    return Trainer(config, **kwargs).run()

