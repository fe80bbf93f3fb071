"""Stand-ins for the degradation race's shipped nets: the same four networks, trained for a few steps.

Same architecture and file format as the real ones (half width, 16x16 inputs, a ``.json`` beside
each file), trained on synthetic shapes for seconds, so tests never need the shipped files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from resnet_core.checkpoint import save_checkpoint
from resnet_core.cifar10 import MEAN, STD
from resnet_core.data import downsample, make_synthetic
from resnet_core.insight.nets import QUICK, build_net
from resnet_core.insight.probe import normalise
from resnet_core.insight.trained import RACE_NETS

WIDTHS = [8, 16, 32]


def train_race_nets(directory: Path, *, steps: int = 4, batch: int = 32, seed: int = 0) -> Path:
    """Write plain20/plain56/resnet20/resnet56 ``.pt`` + ``.json`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    data = downsample(make_synthetic(steps * batch, split="train", seed=seed), QUICK.resolution)
    images = normalise(data.images)
    for net in RACE_NETS:
        model = build_net(net.depth, net.residual, scale=QUICK, seed=seed)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        model.train()
        for x, y in zip(images.split(batch), data.labels.split(batch)):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        model.eval()
        config = {"data": "synthetic", "model": net.model, "residual": net.residual, "steps": steps}
        save_checkpoint(directory / f"{net.label}.pt", model, model_name=net.model, residual=net.residual,
                        classes=data.classes, mean=MEAN, std=STD, input_size=QUICK.resolution, config=config,
                        metrics={"test_acc": 0.1}, model_kwargs={"widths": WIDTHS})
        (directory / f"{net.label}.json").write_text(json.dumps({"note": "test stand-in", **config}))
    return directory


def assert_shared_net_untouched(experiment: Callable[[torch.nn.Module], object]) -> None:
    """``experiment(net)`` on a shared trained net must neither run it nor hook any of its modules.

    The app shares its trained nets between sessions (threads): an experiment works on a private copy.
    """
    net = build_net(20, True, scale=QUICK).eval()
    calls = []
    handle = net.register_forward_pre_hook(lambda module, args: calls.append(module is net))
    hooked = []
    original = torch.nn.Module.register_forward_hook
    ids = {id(m) for m in net.modules()}

    def spy(self, *args, **kwargs):
        hooked.append(id(self) in ids)
        return original(self, *args, **kwargs)

    torch.nn.Module.register_forward_hook = spy
    try:
        experiment(net)
    finally:
        torch.nn.Module.register_forward_hook = original
        handle.remove()
    assert not any(calls) and not any(hooked)
