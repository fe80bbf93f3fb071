"""Log axes labelled once per decade."""

from __future__ import annotations

import math

import pytest

from webui.log_axes import decade_label, decade_ticks, log_axis


def test_decade_labels_use_si_prefixes() -> None:
    assert [decade_label(e) for e in range(0, 11)] == ["1", "10", "100", "1k", "10k", "100k", "1M", "10M", "100M", "1G", "10G"]
    assert decade_label(-1) == "100m" and decade_label(-7) == "1e-7"  # milli, then plain exponents


def test_ticks_cover_the_values_with_whole_decades_only() -> None:
    values, labels = decade_ticks([269_722, 60_192_808])
    assert values == [1e5, 1e6, 1e7, 1e8] and labels == ["100k", "1M", "10M", "100M"]
    assert all(math.log10(v).is_integer() for v in values)
    assert decade_ticks([1000])[0] == [1e3, 1e4]  # never a single tick
    with pytest.raises(ValueError):
        decade_ticks([0, -5])


def test_log_axis_layout() -> None:
    axis = log_axis([40e6, 11.5e9], title="MACs")
    assert axis["type"] == "log" and axis["tickmode"] == "array"
    assert axis["ticktext"] == ["10M", "100M", "1G", "10G", "100G"]
    assert axis["range"] == [7.0, 11.0] and axis["title"] == "MACs"
    assert "showticklabels" not in axis["minor"]  # minor ticks carry no labels
    # Minor ticks listed at 2..9 of each decade in range, none past the last labelled decade.
    minor = axis["minor"]["tickvals"]
    assert minor[:3] == [2e7, 3e7, 4e7] and minor[-1] == 9e10 and len(minor) == 8 * 4
    assert not set(minor) & set(axis["tickvals"])


def test_power_labels_and_values_a_diverged_run_leaves() -> None:
    values, labels = decade_ticks([0.03, 2.4, float("inf"), float("nan"), None], labels="power")
    assert values == [0.01, 0.1, 1.0, 10.0]  # inf and NaN left out: a blown-up loss keeps its axis
    assert labels == ["10<sup>-2</sup>", "10<sup>-1</sup>", "1", "10"]
    assert log_axis([3e-6, 4e-3], labels="power")["ticktext"][0] == "10<sup>-6</sup>"


def test_one_two_five_labels_are_plain_numbers_that_never_repeat() -> None:
    # A loss slice from 1.3 to 20: "1, 2, 5, 10, 20", not "1, 10, 10<sup>2</sup>" with minor "2, 5" beside them.
    axis = log_axis([1.32, 2.1, 19.7, float("inf")], labels="125")
    assert axis["type"] == "log" and axis["ticktext"] == ["1", "2", "5", "10", "20"]
    assert axis["tickvals"] == [1.0, 2.0, 5.0, 10.0, 20.0] and "minor" not in axis
    assert axis["range"] == [0.0, math.log10(20)]  # the data's range, not whole decades
    assert len(set(axis["ticktext"])) == len(axis["ticktext"])
    assert log_axis([0.03, 0.4], labels="125")["ticktext"] == ["0.02", "0.05", "0.1", "0.2", "0.5"]
    assert log_axis([2.0], labels="125")["ticktext"] == ["2", "5"]  # never a single tick
    # A diverged slice spanning many decades gets one label per decade instead.
    assert log_axis([1.5, 3e14], labels="125")["ticktext"] == log_axis([1.5, 3e14], labels="power")["ticktext"]
