"""What a classifier's probability means, in words: how sure it is, and how sure it could be.

A classifier must answer with one of its classes; it has no "none of these". Its top probability
is a weak hint that a picture shows none of them (Hendrycks and Gimpel, "A baseline for detecting
misclassified and out-of-distribution examples", ICLR 2017), never a proof that it shows one.

Label smoothing (Szegedy et al., "Rethinking the Inception architecture", CVPR 2016, section 7)
trains towards ``1 - eps + eps / K`` for the right class instead of 1, so a well-trained model's
probabilities top out near that value: the shipped CIFAR-10 model (eps = 0.2, K = 10) aims at
82 %, and an obvious cat at 73 % is close to as sure as it was taught to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from resnet_core.classify import Prediction

__all__ = ["ConfidenceReading", "confidence_ceiling", "must_choose_text", "read_confidence"]

Level = Literal["confident", "unsure", "guess"]

# Fractions of the ceiling (see read_confidence). Rules of thumb for the words on the page, not
# calibrated probabilities.
_CONFIDENT_TOP = 0.8
_CONFIDENT_MARGIN = 0.4
_GUESS_TOP = 0.5
_GUESS_MARGIN = 0.15


def confidence_ceiling(num_classes: int, label_smoothing: float) -> float:
    """The probability training aimed at for the right class: ``1 - eps + eps / K``."""
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label smoothing must be in [0, 1), got {label_smoothing}")
    return 1.0 - label_smoothing + label_smoothing / num_classes


@dataclass(frozen=True)
class ConfidenceReading:
    """The page's words about one prediction."""

    level: Level
    headline: str  # one sentence: how sure the model is
    ceiling: float | None  # the most confident training taught it to be; None where unknown
    why: str  # what the number can and cannot mean for this model


def read_confidence(top: Sequence[Prediction], num_classes: int, label_smoothing: float | None) -> ConfidenceReading:
    """Judge a top-k list (most probable first) against what the model could reach.

    ``confident``: the top class has at least 80 % of the ceiling and leads the runner-up by 40 %
    of it; ``guess``: under 50 % of the ceiling, or within 15 % of it from the runner-up;
    ``unsure`` in between. Without label smoothing the ceiling is 1.
    """
    if not top:
        raise ValueError("no predictions to judge")
    best = top[0]
    second = top[1].probability if len(top) > 1 else 0.0
    ceiling = confidence_ceiling(num_classes, label_smoothing or 0.0)
    share, margin = best.probability / ceiling, (best.probability - second) / ceiling
    runner = f"{top[1].label} ({top[1].probability:.1%})" if len(top) > 1 else ""
    if share >= _CONFIDENT_TOP and margin >= _CONFIDENT_MARGIN:
        level: Level = "confident"
        headline = f"Confident: {best.label} at {best.probability:.1%}, far ahead of {runner}."
    elif share < _GUESS_TOP or margin < _GUESS_MARGIN:
        level = "guess"
        headline = (
            f"Low confidence: {best.label} at {best.probability:.1%}, with {runner} close behind. "
            f"This is a guess: the picture may show none of the {num_classes} classes, or none of them clearly."
        )
    else:
        level = "unsure"
        headline = f"Unsure: {best.label} at {best.probability:.1%}, ahead of {runner} but not by much."

    if label_smoothing is None:
        why = (
            "How this model was trained is not recorded, so it is not known how confident it was "
            "taught to be."
        )
        return ConfidenceReading(level, headline, None, why)
    if label_smoothing > 0:
        rest = label_smoothing / num_classes
        why = (
            f"This model was trained with label smoothing {label_smoothing:g}: its target for the right "
            f"class was {ceiling:.0%}, not 100 %, with {rest:.0%} for each of the other "
            f"{num_classes - 1} classes. So about {ceiling:.0%} is as sure as it learned to be, and "
            f"{best.probability:.1%} is {share:.0%} of that."
        )
    else:
        why = (
            "This model was trained without label smoothing, so its probabilities can approach 100 %; "
            "deep networks trained this way are often more confident than they are right "
            "(Guo et al., \"On calibration of modern neural networks\", 2017)."
        )
    return ConfidenceReading(level, headline, ceiling, why)


def must_choose_text(classes: Sequence[str], shown: int = 12) -> str:
    """A sentence saying the model must answer with one of its classes, listing them (or some)."""
    names = ", ".join(classes[:shown]) + (f" and {len(classes) - shown:,} more" if len(classes) > shown else "")
    return (
        f"This model knows {len(classes):,} classes ({names}) and must answer with one of them: it "
        f"has no \"none of these\". A picture of anything else still gets one of these labels."
    )
