"""Reference curves: a full quick-scale race, run once with the CLI and shipped with the package.

A live race on a small CPU shows only the start of its schedule, and on a busy server even that
takes many minutes; the shipped run of the whole schedule (same seed, same code) is what the Train
page opens on, replays, and draws faintly under a live race so the end of the story is visible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_core.lessons import Experiment, ScaleName
from resnet_core.race import ContenderResult

__all__ = ["REFERENCE_DIR", "RecordedRace", "recorded_race", "reference_curves"]


REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def reference_curves(experiment: Experiment, scale: ScaleName = "quick") -> dict[str, Any] | None:
    """The shipped curves of ``experiment`` at ``scale`` (with command, date, machine), or None.

    Written by ``python -m resnet_core experiment degradation --save-curves`` (see the file's
    ``command``); plain JSON, so reading it can run no code.
    """
    path = REFERENCE_DIR / f"{experiment.key}_{scale}.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "curves" in data else None


@dataclass(frozen=True)
class RecordedRace:
    """A shipped race of one experiment, typed: its curves, its final numbers and how it was made.

    Only the experiment's own contenders are kept (the file may hold more: it was made when the race
    had four networks, and the same seed gives the same curves for the three it has now).
    """

    experiment: Experiment
    steps: int  # SGD steps every network took
    train_step: tuple[int, ...]  # x of every training-error point (the end of each 10-step block)
    train_error: dict[str, tuple[float | None, ...]]  # label -> mean mini-batch error of each block
    test_step: tuple[int, ...]
    test_error: dict[str, tuple[float | None, ...]]  # label -> error on the test subset at each evaluation
    results: tuple[ContenderResult, ...]  # the final numbers, as a live race reports them
    command: str  # the CLI command that made it
    date: str  # ISO date
    machine: str  # for people, e.g. "AMD EPYC, 2 cores, CPU"
    data: str  # the training set, for people, as the file says it
    seed: int
    wall_s: float | None  # seconds the recorded run took (a shared machine: see ``note``)
    note: str

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(r.contender.label for r in self.results)

    @property
    def on_cifar10(self) -> bool:
        """True when the file says it trained on the real CIFAR-10 (not the synthetic shapes)."""
        return self.data.startswith("CIFAR-10")

    @property
    def from_local_copy(self) -> bool:
        """True when the command read CIFAR-10 from a folder (an offline copy), not a download."""
        return "--data-dir" in self.command


def _machine_words(machine: dict[str, Any]) -> str:
    parts = [str(machine.get("cpu") or "unknown CPU")]
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    parts.append(f"GPU {machine['gpu']}" if machine.get("gpu") else "no GPU")
    return ", ".join(parts)


def recorded_race(experiment: Experiment, scale: ScaleName = "quick") -> RecordedRace | None:
    """The shipped race of ``experiment`` at ``scale``, typed; None if none is shipped or it lacks a network."""
    data = reference_curves(experiment, scale)
    if data is None:
        return None
    curves, runs = data["curves"], {r["label"]: r for r in data.get("runs", [])}
    if not all(c.label in runs and c.label in curves["runs"] for c in experiment.contenders):
        return None
    results = tuple(
        ContenderResult(c, runs[c.label]["status"], int(runs[c.label]["steps"]), runs[c.label]["train_error"],
                        None, runs[c.label]["test_error"], f"{c.label}: {runs[c.label]['steps']} steps (recorded)")
        for c in experiment.contenders
    )  # fmt: skip
    return RecordedRace(
        experiment=experiment,
        steps=max(r.steps for r in results),
        train_step=tuple(curves["train_step"]),
        train_error={c.label: tuple(curves["runs"][c.label]["train_error"]) for c in experiment.contenders},
        test_step=tuple(curves["test_step"]),
        test_error={c.label: tuple(curves["runs"][c.label]["test_error"]) for c in experiment.contenders},
        results=results,
        command=str(data.get("command", "")),
        date=str(data.get("date", "")),
        machine=_machine_words(data.get("machine") or {}),
        data=str(data.get("data", "")),
        seed=int(data.get("seed", 0)),
        wall_s=data.get("wall_s"),
        note=str(data.get("note", "")),
    )
