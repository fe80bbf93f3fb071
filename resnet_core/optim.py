"""SGD (momentum, optionally Nesterov) and AdamW, each written out in a few tensor ops.

Why not ``torch.optim``: its ``Optimizer`` imports ``torch._dynamo`` the first time a parameter
group is added or a step is taken (those methods are wrapped in ``torch._disable_dynamo``), and
that import brings sympy, triton's bindings and ``torch.distributed`` with it. In a server that
never compiles anything that is ~155 MB of resident memory, 81 MB of it anonymous (issue #10,
bench/RESULTS.md, "Server memory"). The update rules below are ``torch.optim``'s own, written
out; the tests step both side by side and compare the weights.

Only what the trainers here use: parameter groups with their own ``lr`` and ``weight_decay``,
``zero_grad`` and ``step``. No closures, no state dicts (runs are never resumed mid-way).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["SGD", "AdamW", "Optimizer"]

ParamsT = Iterable[torch.Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Parameter groups (dicts with ``"params"`` and the hyper-parameters) and per-parameter state."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        items = list(params)
        if not items:
            raise ValueError("the optimizer got an empty list of parameters")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        self.param_groups: list[dict[str, Any]] = [{**defaults, **g, "params": list(g["params"])} for g in groups]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None``, so the next backward writes them instead of adding)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def _with_grads(self, group: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        params = [p for p in group["params"] if p.grad is not None]
        return params, [p.grad for p in params]

    def step(self) -> None:  # pragma: no cover - every optimizer defines it
        raise NotImplementedError


class SGD(Optimizer):
    """``torch.optim.SGD`` without dampening: ``g += wd * p``; ``buf = momentum * buf + g``
    (``buf = g`` on the first step); ``p -= lr * (g + momentum * buf if nesterov else buf)``."""

    def __init__(
        self, params: ParamsT, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False
    ) -> None:
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov})

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            params, grads = self._with_grads(group)
            if not params:
                continue
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            if wd:
                grads = torch._foreach_add(grads, params, alpha=wd)
            if mu:
                bufs = []
                for p, g in zip(params, grads):
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.detach().clone()
                    else:
                        state["momentum_buffer"].mul_(mu).add_(g)
                    bufs.append(state["momentum_buffer"])
                grads = torch._foreach_add(grads, bufs, alpha=mu) if group["nesterov"] else bufs
            torch._foreach_add_(params, grads, alpha=-lr)


class AdamW(Optimizer):
    """``torch.optim.AdamW`` (Loshchilov & Hutter): decoupled weight decay ``p *= 1 - lr * wd``,
    then the bias-corrected Adam step."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p, g in zip(*self._with_grads(group)):
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                p.mul_(1 - lr * wd)
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v.sqrt() / math.sqrt(1 - b2**t)).add_(eps)
                p.addcdiv_(m, denom, value=-lr / (1 - b1**t))
