"""Log axes labelled at whole decades only (1k, 10k, 100k, 1M, ...), for any Plotly chart.

Plotly's default log axis labels minor ticks too ("5, 2, 10M, 5, 2, 1M"), which reads as noise,
and its automatic ticks are slow to draw (bench/RESULTS.md, "First views", 2026-11-26).
``log_axis(values)`` returns the layout dict of an axis that labels each power of ten once, in SI
units (counts) or as powers of ten (gradient norms), with unlabelled minor ticks between. Values
that span a decade or two (a loss from 1.3 to 20) get ``labels="125"`` instead: ticks at 1, 2 and 5
times each power of ten, as plain numbers, over the data's own range, so no label repeats and a
reader never has to tell a major "2" from a minor one. Pure Python; figures use it through
``webui.style``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

__all__ = ["decade_label", "decade_ticks", "log_axis", "minor_ticks", "number_label", "one_two_five_ticks", "power_label"]

_PREFIXES = {0: "", 3: "k", 6: "M", 9: "G", 12: "T", -3: "m"}


def decade_label(exponent: int) -> str:
    """10**exponent in SI units: 0 -> "1", 4 -> "10k", 9 -> "1G"."""
    base = 3 * math.floor(exponent / 3)
    if base not in _PREFIXES:
        return f"1e{exponent}"
    return f"{10 ** (exponent - base)}{_PREFIXES[base]}"


def power_label(exponent: int) -> str:
    """10**exponent as a power of ten: 0 -> "1", 1 -> "10", -3 -> "10<sup>-3</sup>" (Plotly's markup)."""
    return {0: "1", 1: "10"}.get(exponent, f"10<sup>{exponent}</sup>")


def number_label(value: float) -> str:
    """A 1-2-5 tick as a plain number: 0.05 -> "0.05", 2.0 -> "2", 20000.0 -> "20000"."""
    return f"{value:.10g}"


def one_two_five_ticks(values: Iterable[float | None]) -> tuple[list[float], list[str]]:
    """1, 2 and 5 times each power of ten, from the largest at or below the smallest of ``values``
    to the smallest at or above the largest: (tick values, labels as plain numbers)."""
    positive = _positive(values)
    lo, hi = min(positive), max(positive)
    ticks = [m * 10.0**e for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1) for m in (1, 2, 5)]
    first = max(i for i, t in enumerate(ticks) if t <= lo * (1 + 1e-9))
    last = min(i for i, t in enumerate(ticks) if t >= hi * (1 - 1e-9))
    chosen = ticks[first : max(last, first + 1) + 1]
    return chosen, [number_label(t) for t in chosen]


#: The widest span, in decades, that ``labels="125"`` labels at 1, 2 and 5; wider falls back to "power".
ONE_TWO_FIVE_DECADES = 2


def _decades(values: Iterable[float | None]) -> float:
    """How many decades the positive, finite ``values`` span."""
    positive = _positive(values)
    return math.log10(max(positive) / min(positive))


def _positive(values: Iterable[float | None]) -> list[float]:
    """The positive, finite ``values``: a diverged run's inf and NaN are left out rather than breaking the axis."""
    positive = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    if not positive:
        raise ValueError("a log axis needs at least one positive value")
    return positive


LABELS: dict[str, Callable[[int], str]] = {"si": decade_label, "power": power_label}


def decade_ticks(values: Iterable[float | None], labels: str = "si") -> tuple[list[float], list[str]]:
    """Powers of ten spanning the positive, finite ``values``: (tick values, labels).

    ``labels``: "si" (1k, 10M: counts) or "power" (10<sup>-3</sup>: losses, gradient norms).
    Non-finite values (a diverged run's inf and NaN) are left out rather than breaking the axis.
    """
    positive = _positive(values)
    lo = math.floor(math.log10(min(positive)))
    hi = math.ceil(math.log10(max(positive)))
    if hi == lo:
        hi += 1
    exponents = range(lo, hi + 1)
    return [10.0**e for e in exponents], [LABELS[labels](e) for e in exponents]


def minor_ticks(decades: list[float]) -> list[float]:
    """2..9 times each power of ten in ``decades`` but the last: where a log axis's minor ticks go."""
    return [m * d for d in decades[:-1] for m in range(2, 10)]


def log_axis(values: Iterable[float | None], labels: str = "si", **extra: Any) -> dict[str, Any]:
    """Layout of a log axis over ``values`` with a label at each whole decade and nothing else.

    Use as ``fig.update_yaxes(**log_axis(ys))``; ``labels`` as in :func:`decade_ticks`, or "125"
    (:func:`one_two_five_ticks`: labelled ticks at 1, 2 and 5 per decade over the data's range, no
    minor ticks; "power" where the values span more than ``ONE_TWO_FIVE_DECADES``); ``extra`` (e.g. ``title``) is merged in.
    """
    axis: dict[str, Any] = {"type": "log", "tickmode": "array"}
    values = list(values)
    if labels == "125" and _decades(values) > ONE_TWO_FIVE_DECADES:
        labels = "power"  # a diverged slice spans many decades: 1, 2 and 5 of each would crowd the axis
    if labels == "125":
        tickvals, ticktext = one_two_five_ticks(values)
    else:
        tickvals, ticktext = decade_ticks(values, labels)
        # Unlabelled minor ticks at 2..9 keep the scale readable without crowding it with numbers.
        # Listed, not left to Plotly: its automatic minor ticks on an array-ticked log axis cost
        # browser time on every chart (bench/RESULTS.md, "First views", 2026-11-26).
        axis["minor"] = {"tickmode": "array", "tickvals": minor_ticks(tickvals), "ticks": "outside", "ticklen": 3,
                         "showgrid": False}
    axis.update(tickvals=tickvals, ticktext=ticktext, range=[math.log10(tickvals[0]), math.log10(tickvals[-1])])
    axis.update(extra)
    return axis
