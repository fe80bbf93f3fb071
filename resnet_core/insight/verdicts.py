"""What each experiment showed, in a few plain sentences computed from its numbers.

The page says what was measured, including where it disagrees with the paper it illustrates;
nothing here is written in advance of the result. Every verdict takes the same thing: the typed
results of :mod:`resnet_core.insight.results` by the label the page gives each net, in its order.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from resnet_core.insight.nets import net_label
from resnet_core.insight.results import (
    GradientFlowResult,
    LandscapeResult,
    LesionResult,
    ResponsesResult,
    ShatteredResult,
)

CHANCE = 0.1  # ten classes


class _FreshNet(Protocol):
    depth: int
    residual: bool


F = TypeVar("F", bound=_FreshNet)


def _pairs(runs: Iterable[F]) -> list[tuple[int, F | None, F | None]]:
    """(depth, plain run, residual run) for every depth, shallowest first."""
    pick = {(r.depth, r.residual): r for r in runs}
    return [(d, pick.get((d, False)), pick.get((d, True))) for d in sorted({d for d, _ in pick})]


def _times(x: float) -> str:
    """A ratio for people: 2.3x, 640x, 12,000x, 8.4 million times."""
    if not math.isfinite(x):
        return "infinitely"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} million times"
    if x >= 1e4:
        return f"{x:,.0f}x"
    return f"{x:.3g}x"


def gradient_flow(results: Mapping[str, GradientFlowResult]) -> list[str]:
    """One sentence per net, then what the plain nets' gradients did toward the input."""
    lines = []
    for run in results.values():
        g = run.relative_grad_norms
        lines.append(
            f"**{net_label(run.depth, run.residual)}**: first conv {g[0]:.3g}, last conv {g[-1]:.3g}, "
            f"{run.log10_spread:.1f} orders of magnitude between its largest and smallest layer."
        )
    deep = [(d, p, r) for d, p, r in _pairs(results.values()) if p is not None and r is not None]
    if deep:
        d, plain, residual = deep[-1]
        pg = plain.relative_grad_norms
        if pg[0] > pg[-1]:
            lines.append(
                f"With batch norm, plain-{d}'s gradients do not vanish toward the input: they **grow**, "
                f"{_times(pg[0] / pg[-1])} from the last conv to the first. The textbook 'vanishing gradients' "
                "story is not what happens here; the layers get wildly different step sizes instead, so no "
                "single learning rate suits them all."
            )
            if pg[0] / pg[-1] > 100:
                lines.append(
                    f"He et al. (section 4.1) checked that their plain nets with batch norm (34 layers, ImageNet) "
                    f"had 'healthy' gradient norms; plain-{d}'s, measured here, are not."
                )
        else:
            lines.append(f"Plain-{d}'s gradients shrink {_times(pg[-1] / pg[0])} toward the input: they vanish.")
        if residual.log10_spread < plain.log10_spread:
            lines.append(
                f"ResNet-{d} keeps its layers within {residual.log10_spread:.1f} orders of magnitude, against "
                f"{plain.log10_spread:.1f} for plain-{d}: every shortcut carries the gradient past its block unchanged."
            )
        else:
            lines.append(f"Here ResNet-{d}'s layers are no closer together than plain-{d}'s: not what the shortcut promises.")
    return lines


def shattered(results: Mapping[str, ShatteredResult]) -> list[str]:
    """Neighbour correlations per depth, and whether depth shatters plain gradients more than residual ones."""
    lines = []
    pairs = _pairs(results.values())
    for d, plain, residual in pairs:
        parts = [f"{net_label(d, r.residual)} **{r.autocorrelation:.2f}**" for r in (plain, residual) if r]
        lines.append(f"Neighbour correlation at depth {d}: " + ", ".join(parts) + ".")
    both = [(d, p, r) for d, p, r in pairs if p is not None and r is not None]
    if both:
        noise = [f"plain-{d}" for d, p, _ in both if abs(p.autocorrelation) < 0.2]
        if noise:
            lines.append(f"{', '.join(noise)}: correlation near zero, so the gradient is white noise: what it says "
                         "at one input tells nothing about the input next to it.")
        if all(r.autocorrelation > p.autocorrelation for _, p, r in both):
            lines.append("At every depth the residual net's gradient is smoother than its plain twin's, as "
                         "Balduzzi et al. found.")
        else:
            worse = [f"depth {d}" for d, p, r in both if r.autocorrelation <= p.autocorrelation]
            lines.append(f"Unlike Balduzzi et al., the residual net is not smoother at {', '.join(worse)} in this draw; "
                         "try another seed: one line of 256 points is a small sample.")
    return lines


def lesion(results: Mapping[str, LesionResult]) -> list[str]:
    """What one deleted block leaves of a plain and a residual net (the first of each kind in
    ``results``; nothing to say without both), measured above chance so that a net which learnt
    less (a lower baseline) is not flattered by having less to lose."""
    plain_label = next((label for label, r in results.items() if not r.residual), None)
    residual_label = next((label for label, r in results.items() if r.residual), None)
    if plain_label is None or residual_label is None:
        return []
    plain, residual = results[plain_label], results[residual_label]
    lines = []
    kept: dict[str, float] = {}
    for run, label in ((plain, plain_label), (residual, residual_label)):
        accs = [(b.acc, b.name) for b in run.blocks if b.acc is not None]
        if not accs:
            lines.append(f"**{label}** has no block that can be deleted.")
            continue
        base = run.baseline_acc
        mean = sum(a for a, _ in accs) / len(accs)
        worst, worst_name = min(accs)
        skipped = len(run.blocks) - len(accs)
        note = f"; {skipped} blocks that change the shape cannot be deleted" if skipped else ""
        share = ""
        if base > CHANCE:
            kept[label] = (mean - CHANCE) / (base - CHANCE)
            share = f", keeping {max(kept[label], 0.0):.0%} of what it scores above chance"
        lines.append(f"**{label}**: {base:.1%} intact; {mean:.1%} on average with one block deleted (worst "
                     f"{worst:.1%}, {worst_name}){share}{note}.")
    if len(kept) == 2:
        if kept[residual_label] > kept[plain_label]:
            lines.append("As Veit et al. found, the residual net shrugs off a missing block and the plain net does "
                         "not: a residual net is many paths of different lengths, and most survive any one deletion.")
        else:
            lines.append("Unlike Veit et al., the residual net keeps no more of its accuracy than the plain one "
                         "when a block goes.")
    elif plain.baseline_acc <= CHANCE or residual.baseline_acc <= CHANCE:
        lines.append("A net at chance has nothing to lose: train it longer for this comparison to mean something.")
    return lines


def responses(results: Mapping[str, ResponsesResult]) -> list[str]:
    """Mean and median response std per net, and whether the residual nets respond more weakly, as in
    Figure 7: on average, and for the typical (median) layer, which a few loud layers cannot sway."""
    nets = {label: r.stds for label, r in results.items() if r.stds}
    residual = {label: r.residual for label, r in results.items()}
    means = {label: sum(stds) / len(stds) for label, stds in nets.items()}
    medians = {label: statistics.median(stds) for label, stds in nets.items()}
    lines = [f"**{label}**: response std {means[label]:.2f} on average, {medians[label]:.2f} for the median layer, "
             f"over {len(nets[label])} layers." for label in nets]
    plain = [label for label in nets if not residual[label]]
    res = [label for label in nets if residual[label]]
    if plain and res:
        # "Clearly lower": 5 % below the quietest plain net, more than the spread between seeds.
        by_mean = max(means[r] for r in res) < 0.95 * min(means[p] for p in plain)
        by_median = max(medians[r] for r in res) < 0.95 * min(medians[p] for p in plain)
        if by_mean and by_median:
            lines.append("Every residual net responds more weakly than every plain one, on average and layer by "
                         "layer, as in the paper's Figure 7: each residual function stays near zero and only nudges "
                         "the signal.")
        elif by_mean:
            values = [medians[label] for label in nets]
            lines.append(
                "On average every residual net responds more weakly than every plain one, as in the paper's Figure 7, "
                f"but the typical layer responds about equally in all of them (medians {min(values):.2f} to "
                f"{max(values):.2f}): the difference sits in a few loud layers of the plain nets, not throughout as "
                "in the paper."
            )
        elif sum(means[r] for r in res) / len(res) < sum(means[p] for p in plain) / len(plain):
            lines.append("On average the residual nets respond a little more weakly than the plain ones, not clearly "
                         "so for every pair; the paper's Figure 7 shows a clear gap.")
        else:
            lines.append("Here the residual nets do not respond more weakly than the plain ones, unlike the paper's "
                         "Figure 7.")
    return lines


def local_minima(losses: Sequence[float | None]) -> int:
    """Interior points lower than both neighbours (a diverged, non-finite loss counts as infinite)."""
    v = [x if x is not None and math.isfinite(x) else math.inf for x in losses]
    return sum(1 for i in range(1, len(v) - 1) if v[i] < v[i - 1] and v[i] < v[i + 1])


def landscape(slices: Mapping[str, LandscapeResult]) -> list[str]:
    """How bumpy each slice is (local minima along it), and where the trained weights sit in it.

    Li et al.'s finding is about shape: skip connections keep the surface smooth and convex-looking,
    a deep plain net's is chaotic. A net that learnt little sits high on a flat, bumpy plateau, so
    steepness alone would mislead; the number of local minima does not.
    """
    minima = {label: local_minima(s.losses) for label, s in slices.items()}
    residual = {label: s.residual for label, s in slices.items()}
    lines = []
    for label, s in slices.items():
        losses, centre = s.losses, len(s.losses) // 2
        finite = [(x, i) for i, x in enumerate(losses) if x is not None and math.isfinite(x)]
        lowest = min(finite)[1] if finite else centre
        where = ("the trained weights at its lowest point" if lowest == centre
                 else f"its lowest point at α = {s.alphas[lowest]:+.2f}, not at the trained weights")
        count = minima[label]
        lines.append(f"**{label}**: loss {losses[centre]:.2f} at the trained weights ({s.accs[centre]:.0%} "
                     f"accuracy); {count} local minim{'um' if count == 1 else 'a'} along the slice, {where}.")
    plain = [m for label, m in minima.items() if not residual[label]]
    res = [m for label, m in minima.items() if residual[label]]
    if plain and res:
        if max(res) < min(plain):
            lines.append("The residual net's slice is the smoother one, the plain net's the bumpier: as Li et al. "
                         "found, skip connections keep the loss surface smooth and convex-looking, and a deep plain "
                         "net's turns chaotic.")
        elif max(res) == min(plain) == max(plain) == min(res):
            lines.append("Both slices are equally bumpy here; Li et al. saw the difference grow with depth. A 1-D "
                         "slice along one random direction is a narrow view: try another seed.")
        else:
            lines.append("Unlike Li et al., the residual net's slice is not the smoother one here; a 1-D slice "
                         "along one random direction is a narrow view: try another seed.")
    return lines
