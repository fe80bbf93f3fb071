"""Finished runs for the archive's tests: a tiny race and a tiny training, trained for real on synthetic shapes."""

from __future__ import annotations

import dataclasses
import functools

from resnet_core.jobs import RaceJob, TrainingJob
from resnet_core.lessons import DEGRADATION, QUICK
from resnet_core.train import TrainConfig

TINY_TRAINING = dict(
    model="resnet9_w16", data="synthetic", subset=64, test_subset=32, batch_size=32,
    epochs=1.0, budget_s=None, log_every=1, grad_norm_every=1, device="cpu", precision="fp32",
)


@functools.cache
def finished_race() -> RaceJob:
    """The degradation race, 6 steps at 8 x 8 pixels: curves, evaluations, gradients and a verdict."""
    config = dataclasses.replace(DEGRADATION.config("quick", data="synthetic", device="cpu", steps=6),
                                 train_subset=256, test_subset=64, resolution=8, eval_every=3, grad_norm_every=2)
    job = RaceJob(DEGRADATION, QUICK, config).start()
    assert job.join(timeout=120) and job.state == "finished", job.snapshot().message
    return job


@functools.cache
def finished_training() -> TrainingJob:
    """One epoch of a small ResNet on 64 synthetic images."""
    job = TrainingJob(dataclasses.replace(TrainConfig.for_device("cpu"), **TINY_TRAINING)).start()
    assert job.join(timeout=120) and job.state == "finished", job.snapshot().message
    return job
