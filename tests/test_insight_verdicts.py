"""The sentences under each chart follow the numbers, including where they disagree with the paper."""

from __future__ import annotations

import math
from collections.abc import Sequence

from resnet_core.insight import verdicts
from resnet_core.insight.lesion import BlockLesion
from resnet_core.insight.results import (
    GradientFlowResult,
    LandscapeResult,
    LesionResult,
    ResponsesResult,
    ShatteredResult,
)
from resnet_core.insight.runs import by_label


def flow(depth: int, residual: bool, norms: list[float]) -> GradientFlowResult:
    return GradientFlowResult(model=f"resnet{depth}", depth=depth, residual=residual,
                              layers=tuple(f"conv{i}" for i in range(len(norms))), relative_grad_norms=tuple(norms),
                              log10_spread=math.log10(max(norms) / min(norms)))


def test_gradient_flow_says_grow_or_vanish_as_measured() -> None:
    grow = verdicts.gradient_flow(by_label([flow(56, False, [300.0, 1.0, 0.03]), flow(56, True, [0.5, 0.1, 0.05])]))
    text = " ".join(grow)
    assert "they **grow**, 10,000x from the last conv to the first" in text
    assert "'healthy' gradient norms; plain-56's, measured here, are not" in text
    assert "ResNet-56 keeps its layers within 1.0 orders of magnitude, against 4.0" in text

    vanish = " ".join(verdicts.gradient_flow(by_label([flow(20, False, [0.01, 0.1, 1.0]),
                                                       flow(20, True, [0.5, 0.1, 0.5])])))
    assert "shrink 100x toward the input: they vanish" in vanish and "grow" not in vanish
    worse = " ".join(verdicts.gradient_flow(by_label([flow(20, False, [2.0, 1.0]), flow(20, True, [100.0, 1.0])])))
    assert "no closer together" in worse and "healthy" not in worse


def shat(depth: int, residual: bool, r: float) -> ShatteredResult:
    return ShatteredResult(model=f"resnet{depth}", depth=depth, residual=residual, autocorrelation=r,
                           t=(-1.0, 0.0, 1.0), gradient=(0.0, 0.0, 0.0))


def test_shattered_names_white_noise_and_disagreement() -> None:
    agree = " ".join(verdicts.shattered(by_label([shat(20, False, 0.7), shat(20, True, 0.95),
                                                  shat(56, False, -0.05), shat(56, True, 0.9)])))
    assert "plain-56: correlation near zero" in agree and "as Balduzzi et al. found" in agree
    assert "plain-20:" not in agree.split("Neighbour correlation at depth 56")[1]
    disagree = " ".join(verdicts.shattered(by_label([shat(20, False, 0.9), shat(20, True, 0.8)])))
    assert "Unlike Balduzzi et al., the residual net is not smoother at depth 20" in disagree


def lesioned(residual: bool, baseline: float, accs: list[float | None]) -> LesionResult:
    return LesionResult(model="resnet56", depth=56, residual=residual, baseline_acc=baseline,
                        blocks=tuple(BlockLesion(f"layer1.{i}", a, "") for i, a in enumerate(accs)), multi=(),
                        images=100)


def test_lesion_compares_what_is_left_above_chance() -> None:
    plain = lesioned(False, 0.3, [0.1, None, 0.14])  # mean 12%: keeps 10% of its 20 points above chance
    residual = lesioned(True, 0.6, [0.55, 0.3, 0.55])  # mean 46.7%: keeps 73% of its 50 points
    text = " ".join(verdicts.lesion({"plain-56": plain, "ResNet-56": residual}))
    assert ("**plain-56**: 30.0% intact; 12.0% on average with one block deleted (worst 10.0%, layer1.0), keeping "
            "10% of what it scores above chance; 1 blocks that change the shape cannot be deleted.") in text
    assert "worst 30.0%, layer1.1), keeping 73%" in text
    assert "As Veit et al. found" in text
    text = " ".join(verdicts.lesion({"p": lesioned(False, 0.5, [0.5]), "r": lesioned(True, 0.5, [0.2])}))
    assert "Unlike Veit et al." in text
    text = " ".join(verdicts.lesion({"p": lesioned(False, 0.09, [0.1]), "r": lesioned(True, 0.5, [0.4])}))
    assert "nothing to lose" in text and "Veit" not in text


def responding(stds: dict[str, Sequence[float]]) -> dict[str, ResponsesResult]:
    return {label: ResponsesResult(model="resnet20", residual=label.startswith("ResNet"),
                                   layers=tuple(f"bn{i}" for i in range(len(s))), stds=tuple(s), images=500)
            for label, s in stds.items()}


def test_responses_and_landscape_follow_the_numbers() -> None:
    both = " ".join(verdicts.responses(responding({"plain-20": [1.0, 1.2, 1.1], "ResNet-20": [0.5, 0.6, 0.5]})))
    assert "**ResNet-20**: response std 0.53 on average, 0.50 for the median layer, over 3 layers." in both
    assert "on average and layer by layer, as in the paper's Figure 7" in both
    # A few loud plain layers raise the mean; the typical layer is the same: say so.
    loud = " ".join(verdicts.responses(responding({"plain-20": [6.0, 0.9, 0.9, 0.9],
                                                   "ResNet-20": [0.9, 0.9, 0.9, 0.9]})))
    assert "about equally in all of them (medians 0.90 to 0.90)" in loud and "not throughout" in loud
    assert "unlike the paper's Figure 7" in " ".join(
        verdicts.responses(responding({"plain-20": [0.5], "ResNet-20": [1.0]})))

    def sl(losses: list[float], residual: bool) -> LandscapeResult:
        n = len(losses)
        alphas = tuple(-1 + 2 * i / (n - 1) for i in range(n))
        return LandscapeResult(model="resnet20", residual=residual, alphas=alphas, losses=tuple(losses),
                               accs=(0.5,) * n, images=256)

    def pair(plain: list[float], residual: list[float]) -> dict[str, LandscapeResult]:
        return {"plain-20": sl(plain, False), "ResNet-20": sl(residual, True)}

    valley, bumpy = [5, 3, 2, 1, 2, 3, 5], [2, 1.5, 2, 1.9, 2.1, 1.8, 2.5]
    text = " ".join(verdicts.landscape(pair(bumpy, valley)))
    assert "**ResNet-20**: loss 1.00 at the trained weights (50% accuracy); 1 local minimum along the slice, " \
           "the trained weights at its lowest point" in text
    assert "**plain-20**: loss 1.90 at the trained weights (50% accuracy); 3 local minima along the slice, " \
           "its lowest point at α = -0.67, not at the trained weights" in text
    assert "as Li et al. found" in text
    assert "Unlike Li et al." in " ".join(verdicts.landscape(pair(valley, bumpy)))
    assert "equally bumpy" in " ".join(verdicts.landscape(pair(valley, valley)))
    assert verdicts.local_minima([math.inf, 1.0, None, 0.5, 2.0]) == 2
