"""When a loss has diverged: not finite, or blown up for long enough.

One rule for every loop. A loss that is NaN or infinite has diverged at once. A loss that stays
more than ``factor`` times the run's first loss for ``patience`` steps in a row has diverged too,
though every number is finite: lr 10 on CIFAR-10 ended at a test loss of 1,166 and 9% accuracy
without ever producing a NaN. The watch keeps its state in tensors on the loss's device, so
updating it costs no host sync; the caller decides when to look (every step on a CPU, where
every op is synchronous anyway; only at logging syncs on a GPU).
"""

from __future__ import annotations

import math

import torch

__all__ = ["EXPLODE_FACTOR", "EXPLODE_PATIENCE", "DivergenceWatch"]

EXPLODE_FACTOR = 5.0  # "blown up": above this many times the first loss ...
EXPLODE_PATIENCE = 20  # ... for this many steps in a row


class DivergenceWatch:
    """Watches one network's training loss, step by step."""

    def __init__(
        self,
        device: torch.device | str = "cpu",
        *,
        factor: float = EXPLODE_FACTOR,
        patience: int = EXPLODE_PATIENCE,
    ) -> None:
        self.factor, self.patience = factor, patience
        self.first_loss = torch.full((), math.inf, device=device)  # inf until the first update
        self.streak = torch.zeros((), device=device, dtype=torch.int64)  # steps in a row blown up
        self.first_bad = torch.full((), -1, device=device, dtype=torch.int64)  # -1 while none
        self.bad_loss = torch.zeros((), device=device)  # the loss at first_bad
        self.peak = torch.zeros((), device=device)  # the highest finite loss so far

    def update(self, loss: torch.Tensor | float, step: int) -> torch.Tensor:
        """Record the loss of step ``step``; returns a 0-d bool tensor: "this loss has diverged".

        The first such step stays recorded (:attr:`first_bad`, :attr:`tripped`), so a caller that
        looks only now and then still learns where it happened.
        """
        value = torch.as_tensor(loss, dtype=self.first_loss.dtype, device=self.first_loss.device)
        self.first_loss = torch.where(torch.isinf(self.first_loss), value, self.first_loss)
        # The floor keeps a first loss near zero from making every later loss "blown up".
        scale = self.factor * self.first_loss.clamp_min(1e-3)
        self.streak = torch.where(value > scale, self.streak + 1, 0)
        bad = ~torch.isfinite(value) | (self.streak >= self.patience)
        newly_bad = (self.first_bad < 0) & bad
        self.first_bad = torch.where(newly_bad, step, self.first_bad)
        self.bad_loss = torch.where(newly_bad, value, self.bad_loss)
        self.peak = torch.where(torch.isfinite(value), torch.maximum(self.peak, value), self.peak)
        return bad

    def peak_ratio(self) -> torch.Tensor:
        """0-d tensor: the highest loss so far over the first (0 before any update).

        Above ``factor``, the loss blew up at least once, if too briefly to trip the watch: what
        tells a run that collapsed after a blow-up from one that merely learned too little.
        """
        return self.peak / self.first_loss.clamp_min(1e-3)

    @property
    def tripped(self) -> torch.Tensor:
        """0-d bool tensor: has any loss so far diverged? (No host sync until you look.)"""
        return self.first_bad >= 0

    def what(self) -> str:
        """What the first diverged loss did, for a message: "became nan", or how it blew up."""
        bad = float(self.bad_loss)
        if not math.isfinite(bad):
            return f"became {bad}"
        return (
            f"stayed above {self.factor:g}x its starting value ({float(self.first_loss):.2f}) "
            f"for {int(self.streak)} steps, up to {bad:.3g}"
        )
