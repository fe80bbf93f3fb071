"""The words the Classify page puts next to a probability."""

from __future__ import annotations

import pytest

from resnet_core.classify import Prediction
from resnet_core.confidence import confidence_ceiling, must_choose_text, read_confidence


def top(*probs: float) -> list[Prediction]:
    return [Prediction(i, f"class{i}", p) for i, p in enumerate(probs)]


def test_label_smoothing_sets_the_ceiling() -> None:
    assert confidence_ceiling(10, 0.2) == pytest.approx(0.82)  # the shipped model
    assert confidence_ceiling(1000, 0.1) == pytest.approx(0.9001)
    assert confidence_ceiling(10, 0.0) == 1.0
    with pytest.raises(ValueError):
        confidence_ceiling(1, 0.1)
    with pytest.raises(ValueError):
        confidence_ceiling(10, 1.0)


def test_an_obvious_cat_at_73_percent_is_confident_for_a_smoothed_model() -> None:
    reading = read_confidence(top(0.73, 0.05, 0.04), 10, 0.2)
    assert reading.level == "confident" and reading.ceiling == pytest.approx(0.82)
    assert "82%" in reading.why and "89%" in reading.why  # 0.73 / 0.82
    # The same 73 % from a model trained without smoothing, whose ceiling is 100 %, is less sure.
    assert read_confidence(top(0.73, 0.05, 0.04), 10, 0.0).level == "unsure"


def test_close_runners_up_or_low_tops_are_called_guesses() -> None:
    close = read_confidence(top(0.40, 0.35, 0.1), 10, 0.2)
    assert close.level == "guess" and "none of the 10 classes" in close.headline
    low = read_confidence(top(0.30, 0.05), 10, 0.0)
    assert low.level == "guess"
    assert read_confidence(top(0.55, 0.2), 10, 0.2).level == "unsure"


def test_unknown_training_gives_no_ceiling() -> None:
    reading = read_confidence(top(0.9, 0.05), 1000, None)
    assert reading.ceiling is None and "not recorded" in reading.why and reading.level == "confident"
    with pytest.raises(ValueError):
        read_confidence([], 10, 0.2)


def test_the_model_must_choose_among_its_classes() -> None:
    text = must_choose_text(("cat", "dog"))
    assert "2 classes (cat, dog)" in text and "none of these" in text
    many = must_choose_text([f"c{i}" for i in range(1000)])
    assert "1,000 classes" in many and "and 988 more" in many
