"""The recorded race, typed, and its replay: real recorded curves cut step by step, the verdict at the end."""

from __future__ import annotations

import dataclasses

import pytest

from resnet_core.lessons import DEGRADATION, QUICK, twins_experiment
from resnet_core.race_pace import measure_step_s
from resnet_core.reference_curves import recorded_race, reference_curves
from resnet_core.replay import DURATION_S, FRAMES, TICK_S, next_position, recorded_verdict, replay_frame


@pytest.fixture(scope="module")
def race():
    found = recorded_race(DEGRADATION, "quick")
    assert found is not None, "resnet_core/reference/degradation_quick.json is missing: the Train page opens on it"
    return found


def test_the_recorded_race_is_the_experiments_networks_with_the_files_numbers(race) -> None:
    raw = reference_curves(DEGRADATION, "quick")
    assert race.labels == ("plain-20", "plain-56", "ResNet-56")  # the file's ResNet-20 is not in the race now
    assert race.steps == 2000 and race.train_step[-1] == 2000 and race.test_step[0] == 0
    runs = {r["label"]: r for r in raw["runs"]}
    for r in race.results:
        assert (r.train_error, r.test_error, r.steps) == (runs[r.contender.label]["train_error"],
                                                          runs[r.contender.label]["test_error"], 2000)
    assert race.train_error["plain-56"] == tuple(raw["curves"]["runs"]["plain-56"]["train_error"])
    assert race.command == raw["command"] and race.date == raw["date"] == "2026-11-25"
    assert race.machine == "AMD EPYC, 2 cores, no GPU"
    assert race.on_cifar10 and race.from_local_copy  # the real CIFAR-10, read from a folder
    assert recorded_race(twins_experiment(110), "quick") is None  # none shipped


def test_the_recorded_verdict_is_computed_from_the_recorded_numbers(race) -> None:
    v = recorded_verdict(race)
    assert [f.outcome for f in v.findings] == ["as in the paper", "as in the paper"]
    assert v.headline == "This run reproduced the paper on CIFAR-10: degradation; the fix."
    assert v.findings[0].gap == pytest.approx(0.769 - 0.4878)
    assert "plain-56 ends 28.1 points above plain-20" in v.findings[0].text
    assert "plain-56 ends 29.7 points above ResNet-56" in v.findings[1].text
    # Change a recorded number and the verdict follows it: nothing is typed in.
    flipped = dataclasses.replace(race, results=tuple(
        dataclasses.replace(r, train_error=0.30) if r.contender.label == "plain-56" else r for r in race.results))
    assert recorded_verdict(flipped).findings[0].outcome == "opposite of the paper"


def test_replay_frames_reveal_the_recorded_curves_step_by_step(race) -> None:
    first = replay_frame(race, 0)
    assert first.step == 0 and first.train_step == () and first.verdict is None and not first.done
    seen = 0
    for position in range(1, FRAMES + 1):
        frame = replay_frame(race, position)
        assert frame.step == round(2000 * position / FRAMES)
        assert all(s <= frame.step for s in frame.train_step + frame.test_step)
        assert len(frame.train_step) > seen  # every frame shows more
        seen = len(frame.train_step)
        for label, values in frame.train_error.items():  # the recorded values themselves, cut
            assert values == race.train_error[label][: len(frame.train_step)]
        assert (frame.verdict is None) == (position < FRAMES)
    last = replay_frame(race, FRAMES)
    assert last.done and last.train_step == race.train_step and last.test_step == race.test_step
    assert last.verdict == recorded_verdict(race)
    assert replay_frame(race, FRAMES + 5).position == FRAMES and replay_frame(race, -3).position == 0
    with pytest.raises(ValueError):
        replay_frame(race, 0, frames=0)


def test_a_replay_ends_within_30_seconds_even_when_ticks_come_late() -> None:
    assert DURATION_S <= 30 and TICK_S * FRAMES == pytest.approx(DURATION_S)
    assert next_position(0, 0.0) == 1  # a tick always moves on
    assert next_position(3, 0.1) == 4
    assert next_position(2, DURATION_S / 2) == FRAMES // 2  # late ticks catch up with the clock
    assert next_position(FRAMES - 1, DURATION_S + 5) == FRAMES and next_position(FRAMES, 99) == FRAMES
    position, clock, ticks = 0, 0.0, 0
    while position < FRAMES:  # a server so busy that each tick comes 3 s late
        clock += TICK_S + 3
        position = next_position(position, clock)
        ticks += 1
    assert clock <= DURATION_S + TICK_S + 3


def test_the_race_pace_is_measured_on_random_images() -> None:
    tiny = dataclasses.replace(twins_experiment(20).config("quick", device="cpu"), resolution=8, batch_size=16)
    seconds = measure_step_s(tiny, steps=2)
    assert 0 < seconds < 30
    with pytest.raises(ValueError):
        measure_step_s(tiny, steps=0)
    assert QUICK.cpu_step_s is not None  # the quiet-machine pace the live race's pace note compares against
