"""resnet_core.optim: the same updates as torch.optim, without importing torch._dynamo."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest
import torch
import torch.nn.functional as F

from resnet_core import optim
from resnet_core.models import create_model
from resnet_core.train import _param_groups

ROOT = Path(__file__).resolve().parents[1]


def _trajectories(make_ours: Callable, make_ref: Callable, steps: int = 6) -> list[tuple[torch.Tensor, ...]]:
    """Train two copies of one net on the same batches, each with its optimizer, changing the lr
    every step as the trainers do; (start, ours, reference) for each parameter."""
    torch.manual_seed(0)
    ours_net = create_model("resnet9_w16", num_classes=10)
    ref_net = copy.deepcopy(ours_net)
    start = [p.detach().clone() for p in ours_net.parameters()]
    ours, ref = make_ours(ours_net), make_ref(ref_net)
    gen = torch.Generator().manual_seed(1)
    for step in range(steps):
        x, y = torch.randn(8, 3, 32, 32, generator=gen), torch.randint(0, 10, (8,), generator=gen)
        for net, opt in ((ours_net, ours), (ref_net, ref)):
            for group in opt.param_groups:
                group["lr"] = group["lr"] * 0.9 + 0.001 * step  # a schedule: new lr each step
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()
    return list(zip(start, ours_net.parameters(), ref_net.parameters()))


CASES = {
    # The trainer's SGD: Nesterov momentum, weight decay only on the group of conv/linear weights.
    "sgd nesterov, decay per group": (
        lambda n: optim.SGD(_param_groups(n, 5e-4), lr=0.2, momentum=0.9, nesterov=True),
        lambda n: torch.optim.SGD(_param_groups(n, 5e-4), lr=0.2, momentum=0.9, nesterov=True),
    ),
    # The race's SGD: heavy-ball momentum, weight decay on everything.
    "sgd momentum, decay everywhere": (
        lambda n: optim.SGD(n.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4),
        lambda n: torch.optim.SGD(n.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4),
    ),
    "sgd without momentum": (
        lambda n: optim.SGD(n.parameters(), lr=0.05),
        lambda n: torch.optim.SGD(n.parameters(), lr=0.05),
    ),
    # The trainer's AdamW (betas from its momentum) and fine-tuning's.
    "adamw, decay per group": (
        lambda n: optim.AdamW(_param_groups(n, 5e-4), lr=3e-3, betas=(0.85, 0.999)),
        lambda n: torch.optim.AdamW(_param_groups(n, 5e-4), lr=3e-3, betas=(0.85, 0.999)),
    ),
    "adamw defaults": (
        lambda n: optim.AdamW(n.parameters(), lr=1e-2),
        lambda n: torch.optim.AdamW(n.parameters(), lr=1e-2),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_updates_match_torch_optim(case: str) -> None:
    triples = _trajectories(*CASES[case])
    moved = max(float((ours.detach() - start).abs().max()) for start, ours, _ in triples)
    assert moved > 1e-3, "the parameters did not move: the comparison would prove nothing"
    for _, ours, ref in triples:
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_zero_grad_forgets_gradients() -> None:
    w = torch.nn.Parameter(torch.ones(3))
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and torch.equal(w.grad, torch.zeros(3))


def test_parameters_without_gradients_are_left_alone() -> None:
    used, unused = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    for opt in (optim.SGD([used, unused], lr=0.1, momentum=0.9, weight_decay=0.1), optim.AdamW([used, unused])):
        (used * 3).sum().backward()
        opt.step()
        assert torch.equal(unused, torch.ones(2)) and not torch.equal(used, torch.ones(2))
        opt.zero_grad()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, nesterov=True)


def test_training_never_imports_dynamo() -> None:
    """The point of the module: a training run and a race leave torch._dynamo (and sympy) unimported.

    A fresh interpreter, because anything else in the test process may have imported it already.
    """
    code = textwrap.dedent(
        """
        import sys
        from resnet_core.race import Contender, Race, RaceConfig
        from resnet_core.train import TrainConfig, train
        result = train(TrainConfig(model="resnet9_w16", data="synthetic", subset=64, test_subset=32,
                                   batch_size=32, epochs=1, optimizer="sgd"))
        assert result.status == "finished", result.message
        train(TrainConfig(model="resnet9_w16", data="synthetic", subset=64, test_subset=32,
                          batch_size=32, epochs=1, optimizer="adamw"))
        race = Race(RaceConfig(contenders=(Contender("plain", "resnet20", False),), steps=2, batch_size=16,
                               resolution=16, widths=(4, 8, 16), device="cpu", data="synthetic",
                               train_subset=64, test_subset=32, grad_norm_every=0)).run()
        assert race.results[0].status == "finished", race.results
        print(sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
