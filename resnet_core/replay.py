"""Replaying a recorded race: its real curves revealed step by step, the verdict at the end.

A live quick race takes minutes on a quiet 2-core CPU and far longer on a busy shared server; the
shipped full run (:mod:`resnet_core.reference_curves`) tells the same story in seconds when it is
replayed. Each frame is the recorded curves cut at one step, nothing interpolated or invented; the
verdict comes only with the last frame, as it would at the end of a live race.
"""

from __future__ import annotations

from dataclasses import dataclass

from resnet_core.reference_curves import RecordedRace
from resnet_core.verdict import Verdict, data_words, verdict

__all__ = ["DURATION_S", "FRAMES", "TICK_S", "ReplayFrame", "next_position", "recorded_verdict", "replay_frame"]

FRAMES = 40  # frames after the empty first one: one step in 50 of a 2,000-step race
DURATION_S = 24.0  # seconds a whole replay takes; at most 30 s (issue 18)
TICK_S = DURATION_S / FRAMES  # seconds between frames


@dataclass(frozen=True)
class ReplayFrame:
    """What a replay shows at one position: the recorded curves up to ``step``."""

    position: int  # 0 .. frames
    frames: int
    step: int  # recorded steps shown so far
    steps: int  # steps of the whole recorded race
    train_step: tuple[int, ...]
    train_error: dict[str, tuple[float | None, ...]]
    test_step: tuple[int, ...]
    test_error: dict[str, tuple[float | None, ...]]
    verdict: Verdict | None  # only on the last frame

    @property
    def done(self) -> bool:
        return self.position >= self.frames


def recorded_verdict(race: RecordedRace) -> Verdict:
    """The verdict of a recorded race, computed from its recorded numbers like a live race's."""
    return verdict(race.experiment, race.results, planned_steps=race.steps,
                   data=data_words(race.data) if race.data else "CIFAR-10")


def replay_frame(race: RecordedRace, position: int, frames: int = FRAMES) -> ReplayFrame:
    """Frame ``position`` of ``frames`` (clamped to 0..frames): the curves cut at that share of the steps."""
    if frames < 1:
        raise ValueError(f"a replay needs at least one frame, got {frames}")
    position = max(0, min(int(position), frames))
    step = round(race.steps * position / frames)
    n_train = sum(1 for s in race.train_step if s <= step)
    n_test = sum(1 for s in race.test_step if s <= step)
    return ReplayFrame(
        position=position, frames=frames, step=step, steps=race.steps,
        train_step=race.train_step[:n_train],
        train_error={k: v[:n_train] for k, v in race.train_error.items()},
        test_step=race.test_step[:n_test],
        test_error={k: v[:n_test] for k, v in race.test_error.items()},
        verdict=recorded_verdict(race) if position >= frames else None,
    )  # fmt: skip


def next_position(position: int, elapsed_s: float, frames: int = FRAMES, duration_s: float = DURATION_S) -> int:
    """The frame after ``position``, ``elapsed_s`` into a replay: at least one further, and caught up with
    the clock, so a server too busy to redraw every tick still ends the replay within ``duration_s``."""
    by_clock = int(elapsed_s / duration_s * frames) if duration_s > 0 else frames
    return min(frames, max(position + 1, by_clock))
