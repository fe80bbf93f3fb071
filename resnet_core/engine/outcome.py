"""How a run that ran to its end actually ended: learned, learned nothing, or diverged after all.

The step-by-step watch (:mod:`~resnet_core.engine.divergence`) needs a blow-up to last
``EXPLODE_PATIENCE`` steps; a short run can blow up and end before that (issue 19, item 4: a
20 s run at lr 10 makes 8-18 steps and tested at a loss of 1e4-1e7 while saying "finished"). So
the end is judged again on the held-out numbers: a non-finite test loss, or one orders of
magnitude above the training loss, is divergence; so is accuracy at chance after the training
loss blew up, even briefly (lr 10 on CIFAR-10: spikes to 11x the first loss, then a network that
answers uniformly); accuracy at chance without a blow-up is a run that learned nothing.
"""

from __future__ import annotations

import math
from typing import Literal

from resnet_core.engine.divergence import EXPLODE_FACTOR

__all__ = ["CHANCE_MARGIN", "LOSS_GAP", "Outcome", "judge_end"]

Outcome = Literal["learned", "learned nothing", "diverged"]

#: A test loss this many times the training loss is not a network that generalises a little
#: worse: it is one whose predictions blew up (a CIFAR test loss is rarely 3x its training loss).
LOSS_GAP = 100.0
#: Accuracy within this of chance (1 / classes) is chance.
CHANCE_MARGIN = 0.02


def judge_end(
    test_loss: float, test_acc: float, train_loss: float | None, num_classes: int, lr: float,
    blew_up: float = 0.0,
) -> tuple[Outcome, str]:
    """The outcome of a finished run from its final evaluation, and a sentence for people ("" if learned).

    ``blew_up`` is the highest training loss over the first (``DivergenceWatch.peak_ratio``).
    """
    hint = f"lower the learning rate (now {lr:g})"
    if not math.isfinite(test_loss):
        return "diverged", f"diverged: the test loss is {test_loss}; {hint}"
    if train_loss is not None and math.isfinite(train_loss) and test_loss > LOSS_GAP * max(train_loss, 0.01):
        return "diverged", (
            f"diverged: the test loss {test_loss:.3g} is over {LOSS_GAP:g}x the training loss "
            f"{train_loss:.3g}; {hint} (or train longer, so BatchNorm's running statistics settle)"
        )
    chance = 1 / num_classes
    if test_acc <= chance + CHANCE_MARGIN and blew_up > EXPLODE_FACTOR:
        return "diverged", (
            f"diverged: the training loss blew up to {blew_up:.3g}x its first value and the network never "
            f"recovered (test accuracy {test_acc:.1%}, chance is {chance:.0%}); {hint}"
        )
    if test_acc <= chance + CHANCE_MARGIN:
        return "learned nothing", (
            f"learned nothing: test accuracy {test_acc:.1%} is chance ({chance:.0%}); {hint} or train longer"
        )
    return "learned", ""
