"""The pace of a race on this machine, measured in seconds: a few steps on random images.

The Train page says before Start how long a live race will take here. A shared server may run
several times slower than a quiet one (issue 18: 11 min 38 s for a race that takes about 3 on a
quiet 2-core CPU), so the estimate is measured, not taken from a benchmark.
"""

from __future__ import annotations

import dataclasses
import time

import torch

from resnet_core.data import ImageDataset
from resnet_core.race import Race, RaceConfig

__all__ = ["measure_step_s"]


def _random_split(n: int, resolution: int, seed: int) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, resolution, resolution), dtype=torch.uint8, generator=g)
    labels = torch.arange(n, dtype=torch.int64) % 10
    return ImageDataset(images, labels, tuple(str(i) for i in range(10)), synthetic=True,
                        source="random images (pace measurement)")


def measure_step_s(config: RaceConfig, steps: int = 2) -> float:
    """Seconds one step of ``config``'s race takes here: the mean of ``steps`` timed steps.

    The networks, batch size and resolution are ``config``'s; the images are random (the pace does
    not depend on what they show) and one untimed step first pays the allocations.
    """
    if steps < 1:
        raise ValueError(f"measure at least one step, got {steps}")
    cfg = dataclasses.replace(config, steps=steps + 1, eval_every=10**9, grad_norm_every=0, data="synthetic",
                              data_dir=None)
    n = 2 * cfg.batch_size
    race = Race(cfg, train_data=_random_split(n, cfg.resolution, 0), test_data=_random_split(10, cfg.resolution, 1))
    try:
        race.setup()
        race.step(0)
        if race.device.type == "cuda":
            torch.cuda.synchronize(race.device)
        start = time.perf_counter()
        for step in range(1, steps + 1):
            race.step(step)
        if race.device.type == "cuda":
            torch.cuda.synchronize(race.device)
        return (time.perf_counter() - start) / steps
    finally:
        race.close()
